// How the batch norm backward passes read dy through a fused activation
// (ActivationMask): the activation's gradient from its output or from the
// pre-activation recomputed from x, compiled for one kind of mask or
// reading the kind at run time (NormPassKernels.cu).
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
  if (Kind != kAnyMask || mask.recompute)
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

} // namespace var::cuda::norm
