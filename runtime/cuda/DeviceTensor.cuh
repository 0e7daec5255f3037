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

__device__ inline uint16_t floatToBf16Bits(float value) {
  uint32_t bits = __float_as_uint(value);
  if (isnan(value))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
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
