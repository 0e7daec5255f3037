// The per-element functions of the CPU elementwise kernels, shared by the
// kernel of each op (ElementwiseKernels.cpp) and the fused kernel
// (FusedElementwiseKernels.cpp), so that both compute the same bits.
#ifndef VAR_RUNTIME_CPU_ELEMENTWISESCALARS_H
#define VAR_RUNTIME_CPU_ELEMENTWISESCALARS_H

#include "runtime/cpu/CpuOps.h"

#include <algorithm>
#include <cmath>

namespace var::cpu::scalar {

// NaN propagates: std::max/std::min return their first argument when the
// comparison is false.
inline float relu(float x) { return std::max(x, 0.0f); }
inline float relu6(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
inline float sigmoid(float x) {
  // Never exp of a large positive number.
  if (x >= 0)
    return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}
inline float silu(float x) { return x * sigmoid(x); }
inline float hardswish(float x) { return x * relu6(x + 3.0f) / 6.0f; }

// Gradients from the forward's output y (ReLU, ReLU6, sigmoid) or input x
// (SiLU, hard-swish), as in VarTrainOps.td.
inline float reluGrad(float y, float dy) { return y > 0 ? dy : 0.0f; }
inline float relu6Grad(float y, float dy) { return y > 0 && y < 6 ? dy : 0.0f; }
inline float sigmoidGrad(float y, float dy) { return dy * y * (1.0f - y); }
inline float siluGrad(float x, float dy) {
  float s = sigmoid(x);
  return dy * s * (1.0f + x * (1.0f - s));
}
inline float hardswishGrad(float x, float dy) {
  if (x < -3)
    return 0.0f;
  if (x > 3)
    return dy;
  return dy * (2.0f * x + 3.0f) / 6.0f;
}

inline float addValues(float a, float b) { return a + b; }
inline float mulValues(float a, float b) { return a * b; }

/// Element `index` (global, see OpCall::firstSample) of dropout_train and
/// dropout_grad: the mask of (step seed, key), survivors scaled.
inline float dropout(float x, uint64_t seed, int64_t key, int64_t index,
                     double p, float scale) {
  return dropoutKeep(seed, key, index, p) ? x * scale : 0.0f;
}

} // namespace var::cpu::scalar

#endif
