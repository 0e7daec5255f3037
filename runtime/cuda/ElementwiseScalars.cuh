// The per-element device functions of the CUDA elementwise kernels (the
// CPU's formulas, runtime/cpu/ElementwiseScalars.h), shared by the kernel of
// each op (ElementwiseKernels.cu) and the fused kernel
// (FusedElementwiseKernels.cu). Add and multiply use the _rn intrinsics,
// which the compiler never contracts into an FMA with a neighbouring step.
#ifndef VAR_RUNTIME_CUDA_ELEMENTWISESCALARS_CUH
#define VAR_RUNTIME_CUDA_ELEMENTWISESCALARS_CUH

#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <cstdint>
#include <vector>

namespace var::cuda {

__device__ inline float deviceSigmoid(float x) {
  if (x >= 0)
    return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}
// fmaxf/fminf drop NaN; the CPU's std::max(x, 0) keeps it.
__device__ inline float deviceRelu(float x) { return x < 0.0f ? 0.0f : x; }
__device__ inline float deviceRelu6(float x) {
  float low = x < 0.0f ? 0.0f : x;
  return 6.0f < low ? 6.0f : low;
}

struct Relu {
  __device__ float operator()(float x) const { return deviceRelu(x); }
};
struct Relu6 {
  __device__ float operator()(float x) const { return deviceRelu6(x); }
};
struct Sigmoid {
  __device__ float operator()(float x) const { return deviceSigmoid(x); }
};
struct Silu {
  __device__ float operator()(float x) const { return x * deviceSigmoid(x); }
};
struct Hardswish {
  __device__ float operator()(float x) const {
    return x * deviceRelu6(x + 3.0f) / 6.0f;
  }
};

// Gradients from the forward's output y or input x, with dy.
struct ReluGrad {
  __device__ float operator()(float y, float dy) const {
    return y > 0 ? dy : 0.0f;
  }
};
struct Relu6Grad {
  __device__ float operator()(float y, float dy) const {
    return y > 0 && y < 6 ? dy : 0.0f;
  }
};
struct SigmoidGrad {
  __device__ float operator()(float y, float dy) const {
    return dy * y * (1.0f - y);
  }
};
struct SiluGrad {
  __device__ float operator()(float x, float dy) const {
    float s = deviceSigmoid(x);
    return dy * s * (1.0f + x * (1.0f - s));
  }
};
struct HardswishGrad {
  __device__ float operator()(float x, float dy) const {
    if (x < -3)
      return 0.0f;
    if (x > 3)
      return dy;
    return dy * (2.0f * x + 3.0f) / 6.0f;
  }
};
struct Add {
  __device__ float operator()(float a, float b) const {
    return __fadd_rn(a, b);
  }
};
struct Mul {
  __device__ float operator()(float a, float b) const {
    return __fmul_rn(a, b);
  }
};
struct Identity {
  __device__ float operator()(float x) const { return x; }
};

/// runtime/cpu's dropoutKeep, bit for bit: SplitMix64's finalizer over
/// (seed, key, index), the top 24 bits as a uniform number.
__device__ inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Element `index` (global) of dropout_train and dropout_grad.
__device__ inline float deviceDropout(float x, uint64_t seed, int64_t key,
                                      int64_t index, double p, float scale) {
  uint64_t h = mix(seed ^ mix(static_cast<uint64_t>(key) ^
                              mix(static_cast<uint64_t>(index))));
  double u = static_cast<double>(h >> 40) / 16777216.0;
  return u >= p ? x * scale : 0.0f;
}

/// The offset of row-major element `flat` of `shape` in a tensor read with
/// `strides` (0 along broadcast dimensions).
__device__ inline int64_t
broadcastOffset(const Dims8 &shape, const int64_t *strides, int64_t flat) {
  int64_t offset = 0;
  for (int d = shape.rank - 1; d >= 0; --d) {
    int64_t index = flat % shape.size[d];
    flat /= shape.size[d];
    offset += index * strides[d];
  }
  return offset;
}

/// Strides reading `shape` right-aligned in `result` (0 where stretched).
inline void stretchStrides(const std::vector<int64_t> &shape,
                           const std::vector<int64_t> &result,
                           int64_t *strides) {
  size_t extra = result.size() - shape.size();
  std::vector<int64_t> own = cpu::rowMajorStrides(shape);
  for (size_t d = 0; d < result.size(); ++d)
    strides[d] = d < extra || shape[d - extra] == 1 ? 0 : own[d - extra];
}

} // namespace var::cuda

#endif
