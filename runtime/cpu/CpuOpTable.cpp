// Every CPU kernel, by op name. Separate from the kernels so that a test of
// one family links only that family.
#include "runtime/cpu/CpuOps.h"

namespace var::cpu {

const OpTable &getCpuOps() {
  static const OpTable table = [] {
    OpTable ops;
    registerConvPoolOps(ops);
    registerElementwiseOps(ops);
    registerShapeOps(ops);
    registerNormLstmOps(ops);
    registerPoolGradNormOps(ops);
    registerFusedElementwiseOps(ops);
    registerNormPoolOps(ops);
    return ops;
  }();
  return table;
}

} // namespace var::cpu
