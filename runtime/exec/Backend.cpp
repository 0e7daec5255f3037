// Device memory held through a backend.
#include "runtime/exec/Backend.h"

namespace var::exec {

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    reset();
    backend = other.backend;
    memory = other.memory;
    bytes = other.bytes;
    other.backend = nullptr;
    other.memory = nullptr;
    other.bytes = 0;
  }
  return *this;
}

std::string DeviceBuffer::allocate(Backend &owner, int64_t size,
                                   const std::string &what) {
  reset();
  void *allocated = nullptr;
  if (std::string error = owner.allocate(size, what, &allocated);
      !error.empty())
    return error;
  backend = &owner;
  memory = allocated;
  bytes = size;
  return {};
}

void DeviceBuffer::reset() {
  if (backend && memory)
    backend->release(memory);
  backend = nullptr;
  memory = nullptr;
  bytes = 0;
}

} // namespace var::exec
