// The seam between the executor and a device: memory, copies, kernels and
// synchronization. The executor holds one Backend and never asks which one
// it is; the CPU backend's "device" memory is host memory, the CUDA
// backend's is GPU memory (runtime/cuda/CudaBackend.h).
#ifndef VAR_RUNTIME_EXEC_BACKEND_H
#define VAR_RUNTIME_EXEC_BACKEND_H

#include "runtime/cpu/CpuOps.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>

namespace var::exec {

class Backend {
public:
  virtual ~Backend() = default;

  /// "cpu", "cuda".
  virtual std::string_view getName() const = 0;
  /// True when device memory is host memory, so that the executor's host
  /// code (dist ops, parameter loads) may read and write it in place.
  virtual bool isHostMemory() const = 0;

  /// Device memory of `bytes` for `what` (named in the error), or an error;
  /// allocated once per plan function, never inside a step.
  virtual std::string allocate(int64_t bytes, const std::string &what,
                               void **memory) = 0;
  virtual void release(void *memory) = 0;
  virtual std::string zero(void *device, int64_t bytes) = 0;
  /// Copies complete before they return: the host side may be reused.
  virtual std::string copyToDevice(void *device, const void *host,
                                   int64_t bytes) = 0;
  virtual std::string copyToHost(void *host, const void *device,
                                 int64_t bytes) = 0;

  /// Whether this backend has a kernel for `op` ("var.conv"); the executor
  /// runs the others with the CPU kernel on host copies of their tensors.
  virtual bool hasKernel(std::string_view op) const = 0;
  /// Runs (or, on an asynchronous device, launches) the kernel of
  /// call.inst.op on device tensors. Empty on success, else the error.
  virtual std::string runOp(cpu::OpCall &call) = 0;
  /// Waits for everything launched so far; reports errors that kernels
  /// could only record on the device (a label out of range).
  virtual std::string synchronize() = 0;
  /// Device memory this process holds beyond what it held when the backend
  /// started (arenas, workspaces, library buffers), for the training log;
  /// none where device memory is host memory.
  virtual std::optional<int64_t> getDeviceBytesInUse() const {
    return std::nullopt;
  }
  /// Host memory this backend copies to and from fastest (page-locked on a
  /// GPU), 64-byte aligned, for staging buffers such as the data
  /// pipeline's; nullptr when there is none to be had.
  virtual void *allocateHost(size_t bytes) {
    return ::operator new(bytes, std::align_val_t(64), std::nothrow);
  }
  virtual void releaseHost(void *memory) {
    ::operator delete(memory, std::align_val_t(64));
  }
};

/// The reference backend: host memory and the CPU kernels.
std::unique_ptr<Backend> createCpuBackend();

/// Device memory owned through a backend, released when destroyed.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  ~DeviceBuffer() { reset(); }

  std::string allocate(Backend &owner, int64_t size, const std::string &what);
  void reset();
  void *data() const { return memory; }
  int64_t size() const { return bytes; }

private:
  Backend *backend = nullptr;
  void *memory = nullptr;
  int64_t bytes = 0;
};

} // namespace var::exec

#endif
