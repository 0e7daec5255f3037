// Memory held through a backend, and the default (host) implementation of
// the dist ops' primitives.
#include "runtime/exec/Backend.h"
#include "runtime/exec/HostDistKernels.h"

namespace var::exec {

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    reset();
    backend = other.backend;
    memory = other.memory;
    bytes = other.bytes;
    host = other.host;
    other.backend = nullptr;
    other.memory = nullptr;
    other.bytes = 0;
  }
  return *this;
}

std::string DeviceBuffer::allocate(Backend &owner, int64_t size,
                                   const std::string &what, bool onHost) {
  reset();
  void *allocated = nullptr;
  if (onHost) {
    allocated = owner.allocateHost(static_cast<size_t>(size));
    if (!allocated)
      return what + ": cannot allocate " + std::to_string(size) +
             " bytes of page-locked host memory";
  } else if (std::string error = owner.allocate(size, what, &allocated);
             !error.empty()) {
    return error;
  }
  backend = &owner;
  memory = allocated;
  bytes = size;
  host = onHost;
  return {};
}

void DeviceBuffer::reset() {
  if (backend && memory) {
    if (host)
      backend->releaseHost(memory);
    else
      backend->release(memory);
  }
  backend = nullptr;
  memory = nullptr;
  bytes = 0;
  host = false;
}

//===----------------------------------------------------------------------===//
// The primitives' host implementation
//===----------------------------------------------------------------------===//

std::string Backend::convert(void *dst, plan::DType dstType, const void *src,
                             plan::DType srcType, int64_t count) {
  host::convert(dst, dstType, src, srcType, count);
  return {};
}

std::string Backend::accumulate(float *sum, const void *addend,
                                plan::DType addendType, int64_t count) {
  host::accumulate(sum, addend, addendType, count);
  return {};
}

std::string Backend::updateOptimizer(const OptimizerStep &step) {
  host::updateOptimizer(step);
  return {};
}

std::string Backend::sumSquares(const std::vector<FlatInput> &inputs,
                                float *result) {
  host::sumSquares(inputs, result);
  return {};
}

std::string Backend::clipCoefficient(const float *squares, double maxNorm,
                                     float *coefficient, double *norm) {
  host::clipCoefficient(squares, maxNorm, coefficient, norm);
  return {};
}

PlanStream parsePlanStream(const std::string *name) {
  if (!name)
    return PlanStream::Compute;
  if (*name == "comm")
    return PlanStream::Comm;
  if (*name == "copy")
    return PlanStream::Copy;
  if (*name == "host")
    return PlanStream::Host;
  return PlanStream::Compute;
}

std::unique_ptr<comm::DeviceCommunicator>
Backend::createDeviceCommunicator(comm::Communicator &, std::string &error) {
  error.clear();
  return nullptr;
}

std::string Backend::markTime(size_t slot, bool) {
  if (slot >= hostMarks.size())
    hostMarks.resize(slot + 1);
  hostMarks[slot] = std::chrono::steady_clock::now();
  return {};
}

std::string Backend::readTimes(size_t count, std::vector<double> &seconds) {
  if (count > hostMarks.size())
    return "time slot " + std::to_string(count - 1) + " was never marked";
  seconds.resize(count);
  for (size_t i = 0; i < count; ++i)
    seconds[i] =
        std::chrono::duration<double>(hostMarks[i] - hostMarks[0]).count();
  return {};
}

} // namespace var::exec
