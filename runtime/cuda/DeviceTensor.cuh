// Device-side element access shared by the CUDA kernels: f32 and bf16
// tensors are read as float and written with one rounding, bit for bit as
// runtime/cpu's floatToBf16 rounds (nearest, ties to even; NaN stays a
// quiet NaN with its sign). Also the launch shape of elementwise kernels.
#ifndef VAR_RUNTIME_CUDA_DEVICETENSOR_CUH
#define VAR_RUNTIME_CUDA_DEVICETENSOR_CUH

#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaCheck.h"
#include "runtime/plan/PlanFile.h"

#include <cstdint>
#include <string>

namespace var::cuda {

/// Element types the CUDA kernels take (the plan's compute types).
enum ElementType : int { kF32 = 0, kBF16 = 1 };

/// The kernels' code of `dtype`; false for types they do not take.
inline bool toElementType(plan::DType dtype, ElementType &type) {
  if (dtype == plan::DType::F32)
    type = kF32;
  else if (dtype == plan::DType::BF16)
    type = kBF16;
  else
    return false;
  return true;
}

__device__ inline float bf16BitsToFloat(uint16_t bits) {
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
}

/// The CPU's floatToBf16, in integer arithmetic: round to nearest even; a
/// NaN keeps its payload and gets the quiet bit.
__device__ inline uint32_t integerBf16Bits(float value) {
  uint32_t bits = __float_as_uint(value);
  if (isnan(value))
    return (bits >> 16) | 0x40;
  return (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
}

/// Two floats as bf16 bits, `low` in the low half, each as integerBf16Bits
/// gives it: one hardware conversion (cvt.rn.bf16x2.f32, which rounds to
/// nearest even too, where the integer rounding takes about six
/// instructions an element) unless a NaN is among them (the hardware's NaN
/// is canonical).
__device__ inline uint32_t floatsToBf16Pair(float low, float high) {
  if (isnan(low) || isnan(high))
    return integerBf16Bits(low) | integerBf16Bits(high) << 16;
  uint32_t pair;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(pair) : "f"(high), "f"(low));
  return pair;
}

/// floatsToBf16Pair on the 4 pairs of 8 floats, with one test for a NaN
/// among all 8 (a branch a pair costs more instructions than its
/// conversion).
__device__ inline void floatsToBf16Pairs(const float (&v)[8],
                                         uint32_t (&words)[4]) {
  bool nan = false;
#pragma unroll
  for (int e = 0; e < 8; ++e)
    nan = nan || isnan(v[e]);
  if (nan) {
#pragma unroll
    for (int k = 0; k < 4; ++k)
      words[k] = integerBf16Bits(v[2 * k]) | integerBf16Bits(v[2 * k + 1])
                                                 << 16;
    return;
  }
#pragma unroll
  for (int k = 0; k < 4; ++k)
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;"
        : "=r"(words[k])
        : "f"(v[2 * k + 1]), "f"(v[2 * k]));
}

__device__ inline uint16_t floatToBf16Bits(float value) {
  return static_cast<uint16_t>(floatsToBf16Pair(value, 0.0f));
}

__device__ inline float loadFloat(const void *data, int type, int64_t i) {
  if (type == kBF16)
    return bf16BitsToFloat(static_cast<const uint16_t *>(data)[i]);
  return static_cast<const float *>(data)[i];
}

__device__ inline void storeFloat(void *data, int type, int64_t i,
                                  float value) {
  if (type == kBF16)
    static_cast<uint16_t *>(data)[i] = floatToBf16Bits(value);
  else
    static_cast<float *>(data)[i] = value;
}

/// Packed access for memory-bound kernels: a thread moves kPack consecutive
/// elements (pack p is elements kPack * p ... kPack * p + 7) with one
/// 16-byte load or store of bf16, two of f32, so that enough bytes are in
/// flight to approach HBM bandwidth (one 2-byte load a thread leaves it
/// several times short). The values are the ones loadFloat and storeFloat
/// give element by element. The tensor's address must be 16-byte aligned
/// (isPackAligned); elements past the last whole pack go element by
/// element.
constexpr int kPack = 8;

inline bool isPackAligned(const void *data) {
  return reinterpret_cast<uintptr_t>(data) % 16 == 0;
}

__device__ inline void loadPack(const void *data, int type, int64_t p,
                                float (&v)[kPack]) {
  if (type == kBF16) {
    uint4 raw = static_cast<const uint4 *>(data)[p];
    uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
    for (int k = 0; k < 4; ++k) {
      v[2 * k] = __uint_as_float(words[k] << 16);
      v[2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
    }
    return;
  }
  const float4 *f = static_cast<const float4 *>(data) + 2 * p;
  float4 a = f[0], b = f[1];
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w;
  v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}

__device__ inline void storePack(void *data, int type, int64_t p,
                                 const float (&v)[kPack]) {
  if (type == kBF16) {
    uint32_t words[4];
    floatsToBf16Pairs(v, words);
    static_cast<uint4 *>(data)[p] =
        make_uint4(words[0], words[1], words[2], words[3]);
    return;
  }
  float4 *f = static_cast<float4 *>(data) + 2 * p;
  f[0] = make_float4(v[0], v[1], v[2], v[3]);
  f[1] = make_float4(v[4], v[5], v[6], v[7]);
}

/// Grid-stride loops: 256 threads a block, at most 65536 blocks.
constexpr int kThreads = 256;
inline unsigned blocksFor(int64_t count) {
  int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1       ? 1
                               : blocks > 65536 ? 65536
                                                : blocks);
}
#define VAR_GRID_STRIDE(i, n)                                                  \
  for (int64_t i =                                                             \
           blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;        \
       i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

/// Up to 8 dimensions by value: shapes and strides for index arithmetic.
constexpr int kMaxRank = 8;
struct Dims8 {
  int rank = 0;
  int64_t size[kMaxRank] = {};
};

/// The element types of every tensor of a call, or an error naming the
/// first unsupported one.
inline std::string elementTypeOf(const cpu::TensorView &tensor,
                                 const char *what, ElementType &type) {
  if (!toElementType(tensor.dtype, type))
    return std::string(what) + " has element type " +
           std::string(plan::getDTypeName(tensor.dtype)) +
           "; the CUDA kernels take f32 and bf16";
  return {};
}

} // namespace var::cuda

#endif
