// var.batch_norm_train_max_pool on the CPU: var.batch_norm_train into a
// temporary, then var.max_pool_with_indices of it, by their own kernels, so
// that the fused op computes the pair's bits by construction (the CUDA
// kernel never stores the temporary; here it costs nothing that matters).
#include "runtime/cpu/CpuOps.h"
#include "runtime/cpu/KernelChecks.h"

#include <cstddef>

namespace var::cpu {
namespace {

/// Operands: input, weight, bias, running mean and variance; results: the
/// pooled output and its indices, then batch norm's saved mean and 1/std
/// and new running mean and variance.
std::string batchNormTrainMaxPool(OpCall &call) {
  if (std::string error = checkCall(call, 5, 6, /*allFloat=*/false);
      !error.empty())
    return error;
  // The batch norm's result: the input's shape and type, as its verifier
  // has it.
  TensorView normalized{call.operands[0].dtype, call.operands[0].shape,
                        nullptr};
  std::vector<std::byte> storage(static_cast<size_t>(normalized.bytes()));
  normalized.data = storage.data();
  OpCall norm{call.inst,
              call.operands,
              {normalized, call.results[2], call.results[3], call.results[4],
               call.results[5]},
              call.scalars,
              call.batch};
  if (std::string error = batchNormTrain(norm); !error.empty())
    return error;
  OpCall pool{call.inst,
              {normalized},
              {call.results[0], call.results[1]},
              call.scalars,
              call.batch};
  return maxPoolWithIndices(pool);
}

} // namespace

void registerNormPoolOps(OpTable &table) {
  table["var.batch_norm_train_max_pool"] = batchNormTrainMaxPool;
}

} // namespace var::cpu
