// Batch norm's per-element arithmetic with a fused activation: the
// forward's normalize (Normalize, which the pooling kernels of
// var.batch_norm_train_max_pool share), and how the backward passes read dy
// through the activation (ActivationMask): its gradient from its output or
// from the pre-activation recomputed from x, compiled for one kind of mask
// or reading the kind at run time (NormPassKernels.cu, NormApplyKernels.cu).
#pragma once

#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/ElementwiseScalars.cuh"
#include "runtime/cuda/NormPassKernels.cuh"

#include <type_traits>

namespace var::cuda::norm {

/// y as `type` stores it: the value a later kernel reads back.
__device__ inline float roundToType(float y, int type) {
  return type == kBF16 ? bf16BitsToFloat(floatToBf16Bits(y)) : y;
}

/// Where var.relu and var.relu6 of y as `type` stores it change, as
/// bounds on the unrounded y, so that the ReLUs and their masks need not
/// round y first: rounded to bf16, y is above 0 exactly when y > 2^-134
/// (half the least subnormal bf16, a tie that rounds to the even 0),
/// below 0 when y < -2^-134, below 6 when y < 6 - 2^-6 and above 6 when
/// y > 6 + 2^-6 (ties that round to the even 6). NaN is on neither side.
/// Other types store y as it is (roundToType).
struct StoredBounds {
  float zero, belowSix, aboveSix;
};
__device__ inline StoredBounds storedBounds(int type) {
  if (type == kBF16)
    return {0x1p-134f, 0x1.7fp+2f, 0x1.81p+2f};
  return {0.0f, 6.0f, 6.0f};
}

/// The fused SiLU's sigmoid, in the fast intrinsics: the batch norm
/// passes are bound by memory only while an element costs a few dozen
/// instructions, and the accurate expf and division take most of them.
/// The forward and the backward's recomputation use the same one.
__device__ inline float fastSigmoid(float x) {
  return __frcp_rn(1.0f + __expf(-x));
}

/// What a kernel knows of its mask when it is compiled: kAnyMask reads
/// the activation and whether it recomputes at run time; any other kind is
/// that Activation, recomputing (or kNoActivation). The hot kernels are
/// compiled for each, so that no element branches on the mask.
constexpr int kAnyMask = -1;

/// The kind a kernel compiled for `mask` may be.
inline int maskKind(const ActivationMask &mask) {
  if (mask.activation == kNoActivation || mask.recompute)
    return mask.activation;
  return kAnyMask;
}

/// f(std::integral_constant<int, kind>()), kAnyMask for any other kind.
template <typename F> void withKind(int kind, F &&f) {
  switch (kind) {
  case kNoActivation:
    return f(std::integral_constant<int, kNoActivation>());
  case kReluActivation:
    return f(std::integral_constant<int, kReluActivation>());
  case kRelu6Activation:
    return f(std::integral_constant<int, kRelu6Activation>());
  case kSiluActivation:
    return f(std::integral_constant<int, kSiluActivation>());
  default:
    return f(std::integral_constant<int, kAnyMask>());
  }
}

/// Whether a mask of `Kind` reads its value.
template <int Kind>
__device__ inline bool readsValue(const ActivationMask &mask) {
  return Kind == kAnyMask && mask.readsValue();
}

/// A recomputing mask's per-channel scale and shift (zeros for the
/// others), read once for the elements of a channel that a thread takes.
struct MaskChannel {
  float scale = 0.0f, shift = 0.0f;
};
template <int Kind = kAnyMask>
__device__ inline MaskChannel maskChannel(const ActivationMask &mask,
                                          int64_t c) {
  if (Kind == kNoActivation || (Kind == kAnyMask && !mask.recompute))
    return {};
  return {mask.scaleShift[c], mask.scaleShift[mask.channels + c]};
}

/// dy through the fused activation (ActivationMask of `Kind`) at an
/// element whose input is x: its gradient from the activation's output
/// `value`, or with recompute from the pre-activation recomputed with `ch`
/// and rounded to zType; SiLU's rounded to gradType.
template <int Kind = kAnyMask>
__device__ inline float maskGrad(const ActivationMask &mask, float value,
                                 float x, MaskChannel ch, float dy, int zType,
                                 int gradType) {
  const int activation = Kind == kAnyMask ? mask.activation : Kind;
  if (activation == kNoActivation)
    return dy;
  bool recompute = Kind != kAnyMask || mask.recompute;
  if (recompute && activation != kSiluActivation) {
    // ReluGrad or Relu6Grad of the rounded pre-activation, tested on the
    // unrounded one against storedBounds.
    float z = __fmaf_rn(x, ch.scale, ch.shift);
    StoredBounds bounds = storedBounds(zType);
    bool passes = z > bounds.zero &&
                  (activation == kReluActivation || z < bounds.belowSix);
    return passes ? dy : 0.0f;
  }
  if (recompute)
    value = roundToType(__fmaf_rn(x, ch.scale, ch.shift), zType);
  if (activation == kReluActivation)
    return ReluGrad()(value, dy);
  if (activation == kRelu6Activation)
    return Relu6Grad()(value, dy);
  float s = fastSigmoid(value);
  return roundToType(dy * s * (1.0f + value * (1.0f - s)), gradType);
}
__device__ inline float maskGrad(const ActivationMask &mask, float value,
                                 float x, MaskChannel ch, float dy) {
  return maskGrad(mask, value, x, ch, dy, mask.zType, mask.gradType);
}

/// y = x * scale + shift, then the fused activation of y as stored in
/// yType (storing ReLU's or ReLU6's result is exact: it is y or a bound;
/// SiLU's is the fast sigmoid's, which the backward recomputes).
struct Normalize {
  static constexpr int kInputs = 1;
  const float *scaleShift;
  int64_t channels;
  int activation, yType;
  struct Channel {
    float scale, shift;
  };
  __device__ Channel channel(int64_t c) const {
    return {scaleShift[c], scaleShift[channels + c]};
  }
  /// With a Kind other than kAnyMask, that is the activation (a kernel
  /// compiled for it, NormApplyKernels.cu's rowPassKernel), else
  /// `activation`. The batch norm's forward pass and
  /// var.batch_norm_train_max_pool's pool (PoolVectorKernels.cu) both
  /// normalize with it, so that the pool compares the very values the
  /// forward would store.
  /// YType, where not -1, is yType known when the kernel is compiled.
  template <int Kind = kAnyMask, int YType = -1>
  __device__ float apply(const Channel &ch, float x, float) const {
    const int act = Kind == kAnyMask ? activation : Kind;
    const int type = YType < 0 ? yType : YType;
    float y = __fmaf_rn(x, ch.scale, ch.shift);
    if (act == kNoActivation)
      return y;
    if (act == kSiluActivation) {
      y = roundToType(y, type);
      return y * fastSigmoid(y);
    }
    // deviceRelu or deviceRelu6 of y rounded to `type`, rounded once when
    // stored: y itself or a bound (storedBounds), the same bits.
    StoredBounds bounds = storedBounds(type);
    if (y < -bounds.zero)
      return 0.0f;
    return act == kRelu6Activation && y > bounds.aboveSix ? 6.0f : y;
  }
  /// apply's value as a tensor of yType holds it: what a reader of the
  /// stored result (var.max_pool_with_indices after the unfused op) gets.
  template <int Kind = kAnyMask, int YType = -1>
  __device__ float stored(const Channel &ch, float x) const {
    return roundToType(apply<Kind, YType>(ch, x, 0.0f),
                       YType < 0 ? yType : YType);
  }
};

} // namespace var::cuda::norm
