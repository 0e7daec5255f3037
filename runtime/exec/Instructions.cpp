// Executor::execute: each instruction to the dist ops (DistOps.cpp), to the
// backend's kernel, or, where the backend has none or a tensor lives in
// host memory, to the CPU kernel on host copies of its device tensors.
#include "runtime/exec/Executor.h"
#include "runtime/exec/HostDistKernels.h"

#include <string>
#include <vector>

namespace var::exec {

std::string Executor::execute(const plan::PlanFunction &function,
                              const FunctionLayout &layout, size_t index,
                              std::vector<cpu::TensorView> &views) {
  const plan::Instruction &inst = function.instructions[index];
  if (layout.skipped[index])
    return ""; // an update did its work (fuseStores)
  if (inst.op == "var.get_param" || inst.op == "var.update_buffer" ||
      inst.op.rfind("dist.", 0) == 0)
    return executeDist(function, layout, index, views);
  bool onHost = false;
  for (const auto *ids : {&inst.operands, &inst.results})
    for (uint32_t id : *ids)
      onHost = onHost || layout.onHost[id];
  if (onHost || !backend->hasKernel(inst.op))
    return executeOnHost(layout, inst, views);
  cpu::OpCall call{inst, {}, {}, runScalars};
  call.batch = runBatch;
  for (uint32_t id : inst.operands)
    call.operands.push_back(views[id]);
  for (uint32_t id : inst.results)
    call.results.push_back(views[id]);
  return backend->runOp(call);
}

namespace {

/// A var op's CPU kernel on host tensors; a cast between f32 and bf16 (an
/// offloaded ZeRO-3 step narrows every master parameter on the host) takes
/// the threaded conversion, which gives the same elements.
std::string runHostKernel(const cpu::OpFn &kernel, cpu::OpCall &call) {
  auto convertible = [](plan::DType type) {
    return type == plan::DType::F32 || type == plan::DType::BF16;
  };
  if (call.inst.op != "var.cast" || call.operands.size() != 1 ||
      call.results.size() != 1 ||
      call.operands[0].shape != call.results[0].shape ||
      !convertible(call.operands[0].dtype) ||
      !convertible(call.results[0].dtype))
    return kernel(call);
  host::convert(call.results[0].data, call.results[0].dtype,
                call.operands[0].data, call.operands[0].dtype,
                call.results[0].numel());
  return "";
}

} // namespace

std::string Executor::executeOnHost(const FunctionLayout &layout,
                                    const plan::Instruction &inst,
                                    std::vector<cpu::TensorView> &views) {
  const cpu::OpTable &cpuOps = cpu::getCpuOps();
  auto kernel = cpuOps.find(inst.op);
  if (kernel == cpuOps.end())
    return "no backend has a kernel for it";
  // The host block: written before the run, readable here.
  cpu::OpCall call{inst, {}, {}, runHostScalars};
  call.batch = runBatch;
  for (uint32_t id : inst.operands)
    call.operands.push_back(views[id]);
  for (uint32_t id : inst.results)
    call.results.push_back(views[id]);
  if (backend->isHostMemory())
    return runHostKernel(kernel->second, call);

  // Device tensors go through host copies (results start zeroed, as in the
  // arena); host ones are used in place.
  std::vector<std::vector<uint64_t>> copies;
  auto hostCopy = [&](cpu::TensorView &tensor, uint32_t id,
                      bool read) -> std::string {
    if (layout.onHost[id])
      return "";
    copies.emplace_back(static_cast<size_t>((tensor.bytes() + 7) / 8), 0);
    void *host = copies.back().data();
    if (read)
      if (std::string error =
              backend->copyToHost(host, tensor.data, tensor.bytes());
          !error.empty())
        return error;
    tensor.data = host;
    return "";
  };
  for (size_t i = 0; i < inst.operands.size(); ++i)
    if (std::string error = hostCopy(call.operands[i], inst.operands[i], true);
        !error.empty())
      return error;
  for (size_t i = 0; i < inst.results.size(); ++i)
    if (std::string error = hostCopy(call.results[i], inst.results[i], false);
        !error.empty())
      return error;
  if (std::string error = runHostKernel(kernel->second, call); !error.empty())
    return error;
  for (size_t i = 0; i < inst.results.size(); ++i) {
    uint32_t id = inst.results[i];
    if (!layout.onHost[id])
      if (std::string error = backend->copyToDevice(
              views[id].data, call.results[i].data, views[id].bytes());
          !error.empty())
        return error;
  }
  return "";
}

} // namespace var::exec
