// The dist ops' primitives on host memory: the CPU backend's implementation
// and the executor's for state a GPU job keeps in page-locked host memory
// (offload). Optimizer updates are split over threads in fixed chunks, so
// results, the gradient's sum of squares included, do not depend on the
// thread count.
#ifndef VAR_RUNTIME_EXEC_HOSTDISTKERNELS_H
#define VAR_RUNTIME_EXEC_HOSTDISTKERNELS_H

#include "runtime/exec/Backend.h"

#include <cmath>
#include <cstdint>
#include <vector>

#ifdef __CUDACC__
#define VAR_HOST_DEVICE __host__ __device__
#else
#define VAR_HOST_DEVICE
#endif

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

// The per-element optimizer arithmetic, in f32, shared by the host loops
// (HostDistKernels.cpp) and the CUDA kernel (runtime/cuda/DistKernels.cu) so
// that both do the same operations in the same order. Both files are built
// without contraction into fused multiply-adds, and '/' and sqrtf round
// correctly on both sides, so the results are the same bits.

/// One step's factors of the update, rounded once to f32 from the f64
/// options and the step's scalars.
struct UpdateFactors {
  // From the options (optionFactors).
  float weightDecay = 0;
  float beta1 = 0, oneMinusBeta1 = 0, beta2 = 0, oneMinusBeta2 = 0, eps = 0;
  float momentum = 0, oneMinusDampening = 0;
  bool hasMomentum = false, nesterov = false;
  // From the step (addStepFactors), which a GPU reads from device memory.
  float coef = 1; // the gradient's clipping coefficient
  float lr = 0, lrDecay = 0, stepSize = 0, biasCorrection2Sqrt = 1;
  bool firstStep = false;
};

VAR_HOST_DEVICE inline UpdateFactors optionFactors(const OptimizerStep &s) {
  UpdateFactors f;
  f.weightDecay = static_cast<float>(s.weightDecay);
  f.beta1 = static_cast<float>(s.beta1);
  f.oneMinusBeta1 = static_cast<float>(1.0 - s.beta1);
  f.beta2 = static_cast<float>(s.beta2);
  f.oneMinusBeta2 = static_cast<float>(1.0 - s.beta2);
  f.eps = static_cast<float>(s.eps);
  f.momentum = static_cast<float>(s.momentum);
  f.oneMinusDampening = static_cast<float>(1.0 - s.dampening);
  f.hasMomentum = s.momentum != 0.0;
  f.nesterov = s.nesterov;
  return f;
}

/// The learning rate's products in f64 (AdamW's step size is PyTorch's
/// lr / (1 - beta1^step), its denominator's divisor sqrt(1 - beta2^step)).
VAR_HOST_DEVICE inline void addStepFactors(UpdateFactors &f,
                                           const OptimizerStep &s,
                                           const cpu::UpdateScalars &scalars,
                                           float coef) {
  double lr = scalars.lr;
  f.coef = coef;
  f.lr = scalars.lr;
  f.lrDecay = static_cast<float>(lr * s.weightDecay);
  f.stepSize = static_cast<float>(lr / scalars.biasCorrection1);
  f.biasCorrection2Sqrt = static_cast<float>(::sqrt(scalars.biasCorrection2));
  f.firstStep = scalars.step == 1;
}

/// AdamW on one element, as PyTorch's fused AdamW orders it: updates `m`
/// and `v` and returns the new weight.
VAR_HOST_DEVICE inline float adamwElement(const UpdateFactors &f, float grad,
                                          float &m, float &v, float weight) {
  float g = grad * f.coef;
  m = f.beta1 * m + f.oneMinusBeta1 * g;
  v = f.beta2 * v + f.oneMinusBeta2 * g * g;
  float denom = sqrtf(v) / f.biasCorrection2Sqrt + f.eps;
  float decayed = weight - f.lrDecay * weight;
  return decayed - f.stepSize * m / denom;
}

/// SGD on one element: updates the momentum buffer `buf` (when there is
/// momentum) and returns the new weight.
VAR_HOST_DEVICE inline float sgdElement(const UpdateFactors &f, float grad,
                                        float &buf, float weight) {
  float g = grad * f.coef + f.weightDecay * weight;
  if (f.hasMomentum) {
    buf = f.firstStep ? g : f.momentum * buf + f.oneMinusDampening * g;
    g = f.nesterov ? g + f.momentum * buf : buf;
  }
  return weight - f.lr * g;
}

/// 1 - beta1^step and 1 - beta2^step of `scalars.step`, as every backend's
/// AdamW uses them.
void computeBiasCorrections(double beta1, double beta2,
                            cpu::UpdateScalars &scalars);

} // namespace var::exec

#endif
