// The dist ops' primitives on host memory: the CPU backend's implementation
// and the executor's for state a GPU job keeps in page-locked host memory
// (offload). Optimizer updates are split over threads in fixed chunks, so
// results, the gradient's sum of squares included, do not depend on the
// thread count.
#ifndef VAR_RUNTIME_EXEC_HOSTDISTKERNELS_H
#define VAR_RUNTIME_EXEC_HOSTDISTKERNELS_H

#include "runtime/exec/Backend.h"

#include <cstdint>
#include <vector>

namespace var::exec::host {

void convert(void *dst, plan::DType dstType, const void *src,
             plan::DType srcType, int64_t count);
void accumulate(float *sum, const void *addend, plan::DType addendType,
                int64_t count);
void updateOptimizer(const OptimizerStep &step);
void sumSquares(const std::vector<FlatInput> &inputs, float *result);
void clipCoefficient(const float *squares, double maxNorm, float *coefficient,
                     double *norm);

} // namespace var::exec::host

namespace var::exec {

/// 1 - beta1^step and 1 - beta2^step of `scalars.step`, as every backend's
/// AdamW uses them.
void computeBiasCorrections(double beta1, double beta2,
                            cpu::UpdateScalars &scalars);

} // namespace var::exec

#endif
