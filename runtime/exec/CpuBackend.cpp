// The CPU backend: host memory and the reference kernels of runtime/cpu.
#include "runtime/exec/Backend.h"

#include <cstdlib>
#include <cstring>

namespace var::exec {

namespace {

class CpuBackend final : public Backend {
public:
  std::string_view getName() const override { return "cpu"; }
  bool isHostMemory() const override { return true; }

  std::string allocate(int64_t bytes, const std::string &what,
                       void **memory) override {
    // 64-byte alignment serves every element type and vector loads.
    size_t rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
    *memory = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!*memory)
      return what + ": cannot allocate " + std::to_string(bytes) +
             " bytes of host memory";
    return {};
  }
  void release(void *memory) override { std::free(memory); }
  std::string fill(void *device, int64_t bytes, uint8_t value) override {
    std::memset(device, value, static_cast<size_t>(bytes));
    return {};
  }
  std::string copyToDevice(void *device, const void *host,
                           int64_t bytes) override {
    if (device != host)
      std::memcpy(device, host, static_cast<size_t>(bytes));
    return {};
  }
  std::string copyToHost(void *host, const void *device,
                         int64_t bytes) override {
    if (device != host)
      std::memcpy(host, device, static_cast<size_t>(bytes));
    return {};
  }

  bool hasKernel(std::string_view op) const override {
    return ops.find(op) != ops.end();
  }
  std::string runOp(cpu::OpCall &call) override {
    auto kernel = ops.find(call.inst.op);
    if (kernel == ops.end())
      return "the CPU backend has no kernel for it";
    return kernel->second(call);
  }
  std::string synchronize() override { return {}; }

private:
  const cpu::OpTable &ops = cpu::getCpuOps();
};

} // namespace

std::unique_ptr<Backend> createCpuBackend() {
  return std::make_unique<CpuBackend>();
}

} // namespace var::exec
