// What the two files of batch norm's whole-tensor passes share (the sums,
// NormPassKernels.cu, and the elementwise passes, NormApplyKernels.cu):
// the types a kernel is compiled for, packs held as loaded, dy read
// through a max pool's gradient or an activation's mask, and the dispatch
// of a run-time type or mask kind to a compiled kernel. Internal to those
// files.
#ifndef VAR_RUNTIME_CUDA_NORMPASSSHARED_CUH
#define VAR_RUNTIME_CUDA_NORMPASSSHARED_CUH

#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/NormMask.cuh"
#include "runtime/cuda/NormPassKernels.cuh"
#include "runtime/cuda/PooledGrad.cuh"

#include <initializer_list>
#include <type_traits>

namespace var::cuda::norm {

/// A kernel's Type where its tensors differ in type: each operand's own.
constexpr int kMixedTypes = -1;

/// The type an operand of type `type` has in a kernel compiled for Type.
template <int Type> __host__ __device__ constexpr int typeFor(int type) {
  return Type == kMixedTypes ? type : Type;
}

/// (a `pooled` PooledGrad) instead of the dense tensor b: a compile-time
/// alternative of the dy loads below, everything else alike.
template <typename T, typename = void>
struct ReadsPooledGrad : std::false_type {};
template <typename T>
struct ReadsPooledGrad<T, std::void_t<decltype(T::pooled)>> : std::true_type {};
template <typename T>
constexpr bool kReadsPooledGrad = ReadsPooledGrad<T>::value;

/// The type that all of `operands` with data (and `outType`, unless
/// negative) have, else kMixedTypes.
inline int commonType(std::initializer_list<Operand> operands,
                      int outType = -1) {
  int type = outType;
  for (const Operand &operand : operands) {
    if (!operand.data)
      continue;
    if (type >= 0 && operand.type != type)
      return kMixedTypes;
    type = operand.type;
  }
  return type;
}

/// Calls launch(std::integral_constant<int, Type>()) with `type` as a
/// compile-time Type: kBF16, kF32 or kMixedTypes.
template <typename Launch> void withType(int type, Launch &&launch) {
  if (type == kBF16)
    launch(std::integral_constant<int, kBF16>());
  else if (type == kF32)
    launch(std::integral_constant<int, kF32>());
  else
    launch(std::integral_constant<int, kMixedTypes>());
}

/// A pack as a packed-rows kernel compiled for Type holds it from its
/// load to its use: as floats (f32, mixed types), or as the 16 bytes of
/// bf16 loaded (half the registers of its floats), each widened where it
/// is used, to the value loadPack gives.
template <int Type> struct HeldPack {
  float v[kPack];
  __device__ void load(const void *data, int type, int64_t p) {
    loadPack(data, type, p, v);
  }
  __device__ float operator[](int e) const { return v[e]; }
};
template <> struct HeldPack<kBF16> {
  uint32_t word[kPack / 2];
  __device__ void load(const void *data, int, int64_t p) {
    uint4 raw = static_cast<const uint4 *>(data)[p];
    word[0] = raw.x, word[1] = raw.y, word[2] = raw.z, word[3] = raw.w;
  }
  __device__ float operator[](int e) const {
    uint32_t w = word[e / 2];
    return bf16BitsToFloat(static_cast<uint16_t>(e % 2 ? w >> 16 : w));
  }
};

/// Group `g` of G elements: pack g (G = kPack) or element g (G = 1).
template <int G>
__device__ inline void loadGroup(const void *data, int type, int64_t g,
                                 float (&v)[G]) {
  static_assert(G == kPack || G == 1, "a group is a pack or one element");
  if constexpr (G == kPack)
    loadPack(data, type, g, v);
  else
    v[0] = loadFloat(data, type, g);
}

template <int G>
__device__ inline void storeGroup(void *data, int type, int64_t g,
                                  const float (&v)[G]) {
  static_assert(G == kPack || G == 1, "a group is a pack or one element");
  if constexpr (G == kPack)
    storePack(data, type, g, v);
  else
    storeFloat(data, type, g, v[0]);
}

/// maskGrad on element e of `dy` with `value` (read only where the mask
/// reads it) and x, in a kernel compiled for tensors of `Type`.
template <int Kind, int Type, typename Pack>
__device__ inline float maskGrad(const ActivationMask &mask, const Pack &value,
                                 const Pack &x, const Pack &dy, int e,
                                 MaskChannel ch) {
  if (Kind == kNoActivation ||
      (Kind == kAnyMask && mask.activation == kNoActivation))
    return dy[e];
  return maskGrad<Kind>(mask, readsValue<Kind>(mask) ? value[e] : 0.0f, x[e],
                        ch, dy[e], typeFor<Type>(mask.zType),
                        typeFor<Type>(mask.gradType));
}

/// maskGrad on group `g` of dy, whose elements are of channel c.
template <int G>
__device__ inline void maskGrads(const ActivationMask &mask, int64_t g,
                                 const float (&x)[G], int64_t c,
                                 float (&dy)[G]) {
  if (mask.activation == kNoActivation)
    return;
  float value[G] = {};
  if (mask.readsValue())
    loadGroup(mask.value.data, mask.value.type, g, value);
  MaskChannel ch = maskChannel(mask, c);
#pragma unroll
  for (int e = 0; e < G; ++e)
    dy[e] = maskGrad(mask, value[e], x[e], ch, dy[e]);
}

/// Group `g` of dy (G elements of one channel, channels-last for a pooled
/// dy).
template <int G, typename Terms>
__device__ inline void loadGradGroup(const Terms &terms, Operand b, int64_t g,
                                     float (&v)[G]) {
  if constexpr (kReadsPooledGrad<Terms>) {
#pragma unroll
    for (int e = 0; e < G; ++e)
      v[e] = terms.pooled.element(g * G + e);
  } else {
    loadGroup(b.data, b.type, g, v);
  }
}

/// Pack `column` of row `row` of dy as a packed-rows kernel holds it: from
/// b, or from the pooled gradient's pack of the covering window with the
/// lanes whose index names another place (and -0) made +0, the bits
/// var.max_pool_grad_indices' vector kernel stores. (That kernel computes
/// 0 + grad in f32, which also turns a NaN's payload into the canonical
/// NaN's; the passes never store dy itself, only sums and differences with
/// it, which are the canonical NaN either way.)
template <int Type, typename Terms>
__device__ inline void loadGradPack(const Terms &terms, HeldPack<Type> &dy,
                                    Operand b, int bType, int64_t row,
                                    int64_t packsPerRow, int64_t column) {
  if constexpr (kReadsPooledGrad<Terms>) {
    const PooledGrad &p = terms.pooled;
    int64_t pooledRow = 0;
    int position = p.locate(static_cast<uint32_t>(row), pooledRow);
    int64_t pack = pooledRow * packsPerRow + column;
    uint2 places = {0, 0};
    if (position >= 0) {
      dy.load(p.grad, bType, pack);
      places = reinterpret_cast<const uint2 *>(p.indices)[pack];
    }
    // A byte of `places` per lane; no place matches -1.
    auto hit = [&](int e) {
      uint32_t word = e < 4 ? places.x : places.y;
      return static_cast<int>(static_cast<int8_t>(word >> (8 * (e % 4)))) ==
             position;
    };
    if constexpr (Type == kBF16) {
#pragma unroll
      for (int k = 0; k < kPack / 2; ++k) {
        uint32_t lo = hit(2 * k) ? dy.word[k] & 0xffffu : 0u;
        uint32_t hi = hit(2 * k + 1) ? dy.word[k] >> 16 : 0u;
        dy.word[k] =
            (lo == 0x8000u ? 0u : lo) | (hi == 0x8000u ? 0u : hi << 16);
      }
    } else {
#pragma unroll
      for (int e = 0; e < kPack; ++e)
        dy.v[e] = hit(e) ? __fadd_rn(0.0f, dy.v[e]) : 0.0f;
    }
  } else {
    dy.load(b.data, bType, row * packsPerRow + column);
  }
}

/// withKind on the mask kind of `pass` (a pass of two inputs has a mask)
/// or its activation (Normalize's), else f(kNoActivation).
template <typename Pass, typename F>
void withMaskKindOf(const Pass &pass, F &&f) {
  if constexpr (Pass::kInputs == 2)
    withKind(maskKind(pass.mask), f);
  else if constexpr (std::is_same_v<Pass, Normalize>) {
    // Only the ReLUs: compiled for no activation (f32) or SiLU (bf16) the
    // row pass spills at its 64 registers, and reading the activation at
    // run time it does not.
    if (pass.activation == kReluActivation)
      f(std::integral_constant<int, kReluActivation>());
    else if (pass.activation == kRelu6Activation)
      f(std::integral_constant<int, kRelu6Activation>());
    else
      f(std::integral_constant<int, kAnyMask>());
  } else
    f(std::integral_constant<int, kNoActivation>());
}

/// withMaskKindOf for a kernel compiled for tensors of Type, except that a
/// pooled dy over mixed types (f16, rare) is compiled for kAnyMask alone,
/// which reads any mask at run time: fewer kernels to compile.
template <int Type, typename Pass, typename F>
void withKernelKindOf(const Pass &pass, F &&f) {
  if constexpr (kReadsPooledGrad<Pass> && Type == kMixedTypes)
    f(std::integral_constant<int, kAnyMask>());
  else
    withMaskKindOf(pass, f);
}

} // namespace var::cuda::norm

#endif
