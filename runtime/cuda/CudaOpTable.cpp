// Every CUDA kernel, by op name.
#include "runtime/cuda/CudaOps.h"

namespace var::cuda {

const CudaOpTable &getCudaOps() {
  static const CudaOpTable table = [] {
    CudaOpTable ops;
    registerElementwiseOps(ops);
    registerReduceOps(ops);
    registerLossOps(ops);
    registerShapeOps(ops);
    registerConvOps(ops);
    registerPoolOps(ops);
    registerLinearOps(ops);
    registerNormOps(ops);
    registerLstmOps(ops);
    registerFusedElementwiseOps(ops);
    return ops;
  }();
  return table;
}

} // namespace var::cuda
