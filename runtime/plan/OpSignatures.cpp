// The runtime's table of the ops a plan function may hold, with their
// operand and result counts: the loader checks every instruction against it,
// and the emitter refuses ops missing from it.
#include "runtime/plan/FusedOpcodes.h"
#include "runtime/plan/PlanFile.h"

#include <algorithm>

using namespace var::plan;

// Operand and result counts of every op a function body may hold, as the
// dialects' ODS declares them (PlanFileTest checks this table against the
// registered ops). Optional operands give a range; -1 is "no upper bound".
static const std::vector<OpSignature> kOpSignatures = {
    {"dist.adamw_update", 3, 4, 1, 1},
    {"dist.all_gather", 1, 1, 1, 1},
    {"dist.all_reduce", 1, 1, 1, 1},
    {"dist.clip_coefficient", 1, 1, 1, 1},
    {"dist.load_params", 0, 0, 1, 1},
    {"dist.pack", 1, -1, 1, 1},
    {"dist.record_event", 0, 0, 0, 0},
    {"dist.reduce_scatter", 1, 1, 1, 1},
    {"dist.release", 1, 1, 0, 0},
    {"dist.sgd_update", 3, 4, 1, 1},
    {"dist.store_params", 1, 1, 0, 0},
    {"dist.sum_squares", 1, -1, 1, 1},
    {"dist.to_device", 1, 1, 1, 1},
    {"dist.to_host", 1, 1, 1, 1},
    {"dist.unpack", 1, 1, 1, 1},
    {"dist.wait_event", 0, 0, 0, 0},
    {"var.adamw_update", 3, 3, 0, 0},
    {"var.add", 2, 2, 1, 1},
    {"var.avg_pool", 1, 1, 1, 1},
    {"var.avg_pool_grad", 1, 1, 1, 1},
    {"var.batch_norm", 5, 5, 1, 1},
    {"var.batch_norm_apply", 5, 5, 1, 1},
    {"var.batch_norm_frozen_grad", 5, 5, 3, 3},
    {"var.batch_norm_grad", 5, 6, 3, 3},
    {"var.batch_norm_grad_max_pool", 6, 7, 3, 3},
    {"var.batch_norm_train", 5, 5, 5, 5},
    {"var.batch_norm_train_max_pool", 5, 5, 6, 6},
    {"var.cast", 1, 1, 1, 1},
    {"var.concat", 1, -1, 1, 1},
    {"var.conv", 2, 3, 1, 1},
    {"var.conv_grad_input", 2, 2, 1, 1},
    {"var.conv_grad_weight", 2, 2, 1, 1},
    {"var.dropout", 1, 1, 1, 1},
    {"var.dropout_grad", 1, 1, 1, 1},
    {"var.dropout_train", 1, 1, 1, 1},
    {"var.fill", 0, 0, 1, 1},
    {"var.flatten", 1, 1, 1, 1},
    {"var.fold_time", 1, 1, 1, 1},
    {"var.fused_elementwise", 1, var::fused::kMaxInputs, 1,
     var::fused::kMaxResults},
    {"var.get_param", 0, 0, 1, 1},
    {"var.global_avg_pool", 1, 1, 1, 1},
    {"var.global_avg_pool_grad", 1, 1, 1, 1},
    {"var.hardswish", 1, 1, 1, 1},
    {"var.hardswish_grad", 2, 2, 1, 1},
    {"var.linear", 2, 3, 1, 1},
    {"var.linear_grad_input", 2, 2, 1, 1},
    {"var.linear_grad_weight", 2, 2, 1, 1},
    {"var.lstm", 5, 5, 2, 2},
    {"var.lstm_grad", 7, 7, 5, 5},
    {"var.max_pool", 1, 1, 1, 1},
    {"var.max_pool_grad", 3, 3, 1, 1},
    {"var.max_pool_grad_indices", 2, 2, 1, 1},
    {"var.max_pool_with_indices", 1, 1, 2, 2},
    {"var.mean_time", 1, 1, 1, 1},
    {"var.mean_time_grad", 1, 1, 1, 1},
    {"var.mul", 2, 2, 1, 1},
    {"var.param_grad", 1, 1, 0, 0},
    {"var.reduce_sum", 1, 1, 1, 1},
    {"var.relu", 1, 1, 1, 1},
    {"var.relu6", 1, 1, 1, 1},
    {"var.relu6_grad", 2, 2, 1, 1},
    {"var.relu_grad", 2, 2, 1, 1},
    {"var.reshape", 1, 1, 1, 1},
    {"var.sgd_update", 3, 3, 0, 0},
    {"var.sigmoid", 1, 1, 1, 1},
    {"var.sigmoid_grad", 2, 2, 1, 1},
    {"var.silu", 1, 1, 1, 1},
    {"var.silu_grad", 2, 2, 1, 1},
    {"var.slice", 1, 1, 1, 1},
    {"var.softmax_cross_entropy", 2, 2, 1, 1},
    {"var.softmax_cross_entropy_grad", 3, 3, 1, 1},
    {"var.transpose", 1, 1, 1, 1},
    {"var.unfold_time", 1, 1, 1, 1},
    {"var.update_buffer", 1, 1, 0, 0},
};

const std::vector<OpSignature> &var::plan::getOpSignatures() {
  return kOpSignatures;
}

const OpSignature *var::plan::lookupOpSignature(std::string_view op) {
  auto it = std::lower_bound(kOpSignatures.begin(), kOpSignatures.end(), op,
                             [](const OpSignature &sig, std::string_view name) {
                               return sig.op < name;
                             });
  if (it == kOpSignatures.end() || it->op != op)
    return nullptr;
  return &*it;
}
