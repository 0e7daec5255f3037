// The CPU kernel of var.batch_norm_grad_max_pool: var.max_pool_grad_indices
// into a temporary, then var.batch_norm_grad of it, the very kernels of the
// unfused pair, so that the fused op is bit-identical to it by
// construction. Only the CUDA backend saves the temporary.
#include "runtime/cpu/CpuOps.h"

#include <cstddef>
#include <string>
#include <vector>

namespace var::cpu {

namespace {

/// The kernels of the pair, from their families' tables.
struct PairKernels {
  OpFn routeGrad = nullptr, normGrad = nullptr;
};

const PairKernels &getPairKernels() {
  static const PairKernels kernels = [] {
    OpTable ops;
    registerConvPoolOps(ops);
    registerNormLstmOps(ops);
    return PairKernels{ops.at("var.max_pool_grad_indices"),
                       ops.at("var.batch_norm_grad")};
  }();
  return kernels;
}

/// Operands (input, indices, grad, weight, saved_mean, saved_invstd[,
/// activation_value]); the instruction's attributes serve both kernels
/// (the window for the one, layout and activation for the other).
std::string batchNormGradMaxPool(OpCall &call) {
  if (call.operands.size() < 6 || call.operands.size() > 7 ||
      call.results.size() != 3)
    return "expects 6 or 7 operands and 3 results, got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  const PairKernels &kernels = getPairKernels();
  const TensorView &input = call.operands[0];
  TensorView routed;
  routed.dtype = call.operands[2].dtype;
  routed.shape = input.shape;
  std::vector<std::byte> storage(static_cast<size_t>(routed.bytes()));
  routed.data = storage.data();
  OpCall route{call.inst,
               {call.operands[1], call.operands[2]},
               {routed},
               call.scalars,
               call.batch};
  if (std::string error = kernels.routeGrad(route); !error.empty())
    return "routing the pooled gradient: " + error;
  OpCall norm{
      call.inst, {input, routed}, call.results, call.scalars, call.batch};
  norm.operands.insert(norm.operands.end(), call.operands.begin() + 3,
                       call.operands.end());
  return kernels.normGrad(norm);
}

} // namespace

void registerPoolGradNormOps(OpTable &table) {
  table["var.batch_norm_grad_max_pool"] = batchNormGradMaxPool;
}

} // namespace var::cpu
