// What the pooling kernels share: the scalar ones (PoolKernels.cu) and the
// channels-last ones on 16-byte vectors of channels (PoolVectorKernels.cu,
// which PoolKernels.cu tries first): the padded 3-D window as plain kernel
// arguments, element coordinates, window and covering ranges, and the
// vector kernels' entry points.
// Index arithmetic runs in 32 bits, dividing by magic numbers made on the
// host, when every tensor of a call has fewer than 2^31 elements: the
// kernels divide several times an element, and a 64-bit division is tens
// of instructions. Larger calls run the same code in int64_t.
#ifndef VAR_RUNTIME_CUDA_POOLSHARED_CUH
#define VAR_RUNTIME_CUDA_POOLSHARED_CUH

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/NormMask.cuh"

#include <initializer_list>
#include <string>

namespace var::cuda::pool {

/// n / divisor for n >= 0, set up on the host: int64_t divides.
template <typename I> struct Divider {
  I divisor;
  Divider() = default;
  explicit Divider(int64_t d) : divisor(d) {}
  __device__ I div(I n) const { return n / divisor; }
};

/// uint32_t multiplies by a magic number instead (Granlund and Montgomery's
/// round-up method, as PyTorch's IntDivider): with shift = ceil(log2 d) and
/// magic = 2^32 * (2^shift - d) / d + 1, which fits 32 bits,
/// n / d = (umulhi(n, magic) + n) >> shift for all n < 2^31 and
/// 1 <= d < 2^31 (the sum cannot wrap then): three instructions where a
/// 32-bit division takes about twenty. A zero divisor (an empty tensor)
/// gets no magic; no thread divides by it.
template <> struct Divider<uint32_t> {
  uint32_t divisor, magic = 0, shift = 0;
  Divider() = default;
  explicit Divider(int64_t d) : divisor(static_cast<uint32_t>(d)) {
    if (divisor == 0)
      return;
    while ((uint64_t{1} << shift) < divisor)
      ++shift;
    magic = static_cast<uint32_t>(
        (uint64_t{1} << 32) * ((uint64_t{1} << shift) - divisor) / divisor + 1);
  }
  __device__ uint32_t div(uint32_t n) const {
    return (__umulhi(n, magic) + n) >> shift;
  }
};

/// n / d, and n % d in `rest`.
template <typename I>
__device__ inline I divmod(const Divider<I> &d, I n, I &rest) {
  I quotient = d.div(n);
  rest = n - quotient * d.divisor;
  return quotient;
}

/// A grid-stride loop (as VAR_GRID_STRIDE) over i in the kernel's index
/// type I; below 2^31 elements, i plus a stride (at most 2^24) cannot wrap.
#define VAR_POOL_GRID_STRIDE(i, n)                                             \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);   \
       i += static_cast<I>(gridDim.x) * blockDim.x)

/// The window's geometry as plain values for a kernel argument, in index
/// type I, with dividers for the sizes that the kernels divide by.
template <typename I> struct PoolShape {
  I in[3], out[3], kernel[3], stride[3], padding[3];
  I inSize, outSize;
  /// How far apart a plane's positions lie: C channels-last, else 1.
  I step;
  Divider<I> inDims[3], outDims[3], strides[3], channels;
  bool channelsLast;
};

template <typename I> PoolShape<I> toPoolShape(const cpu::Window &w) {
  PoolShape<I> s;
  for (int d = 0; d < 3; ++d) {
    s.in[d] = static_cast<I>(w.in[d]);
    s.out[d] = static_cast<I>(w.out[d]);
    s.kernel[d] = static_cast<I>(w.kernel[d]);
    s.stride[d] = static_cast<I>(w.stride[d]);
    s.padding[d] = static_cast<I>(w.padding[d]);
    s.inDims[d] = Divider<I>(w.in[d]);
    s.outDims[d] = Divider<I>(w.out[d]);
    s.strides[d] = Divider<I>(w.stride[d]);
  }
  s.inSize = static_cast<I>(cpu::product(w.in));
  s.outSize = static_cast<I>(cpu::product(w.out));
  s.step = static_cast<I>(w.channelsLast ? w.inChannels : 1);
  s.channels = Divider<I>(w.inChannels);
  s.channelsLast = w.channelsLast;
  return s;
}

/// Whether a pool over `w` of tensors of `counts` elements can index in
/// uint32_t: every element index below 2^31, so that adding a grid stride
/// cannot wrap, and every value the kernels divide or sum along a dimension
/// (at most in + 2 * padding + stride) below 2^31, as Divider needs.
inline bool fitsUint32(const cpu::Window &w,
                       std::initializer_list<int64_t> counts) {
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (int64_t count : counts)
    if (count >= kLimit)
      return false;
  for (int d = 0; d < 3; ++d) {
    int64_t reach = 0;
    for (int64_t v : {w.in[d], w.out[d], w.kernel[d], w.stride[d], w.padding[d],
                      w.padding[d]}) {
      if (v >= kLimit)
        return false;
      reach += v;
    }
    if (reach >= kLimit)
      return false;
  }
  return true;
}

/// Calls launch(I()) with index type I: uint32_t when `narrow`, else
/// int64_t.
template <typename Launch> void withIndexType(bool narrow, Launch &&launch) {
  if (narrow)
    launch(uint32_t{});
  else
    launch(int64_t{});
}

/// Element i of a tensor in the call's layout: its spatial coordinates
/// (d, h, w), and its plane, which starts at element
/// sample * size * step + channel (sample n * C + c and channel 0
/// channels-first, sample n and channel c channels-last).
template <typename I> struct Coords {
  I pos[3];
  I sample, channel;
};

/// The coordinates of element i of a tensor whose spatial sizes `dims`
/// divide by.
template <typename I>
__device__ inline Coords<I> locate(const PoolShape<I> &s,
                                   const Divider<I> (&dims)[3], I i) {
  Coords<I> e;
  e.channel = 0;
  if (s.channelsLast)
    i = divmod(s.channels, i, e.channel);
#pragma unroll
  for (int d = 2; d >= 0; --d)
    i = divmod(dims[d], i, e.pos[d]);
  e.sample = i;
  return e;
}

/// Where the plane of `e` lies in a tensor of `size` positions a plane:
/// position p is element base + p * step.
template <typename I> struct PlaneAccess { I base, step; };

template <typename I>
__device__ inline PlaneAccess<I> planeAccess(const PoolShape<I> &s,
                                             const Coords<I> &e, I size) {
  return {e.sample * size * s.step + e.channel, s.step};
}

/// The first and one-past-last window positions along dimension d of
/// output position o that fall inside the input; unsigned-safe: the window
/// starts at o * stride - padding, and padding <= kernel / 2.
template <typename I>
__device__ inline void windowRange(const PoolShape<I> &s, int d, I o, I &begin,
                                   I &end) {
  I start = o * s.stride[d]; // plus padding
  begin = start < s.padding[d] ? 0 : start - s.padding[d];
  I stop = start + s.kernel[d] - s.padding[d];
  end = stop < s.in[d] ? stop : s.in[d];
}

/// Output positions along dimension d whose windows cover input index i:
/// o * stride <= i + padding < o * stride + kernel.
template <typename I>
__device__ inline void coveringOutputs(const PoolShape<I> &s, int d, I i,
                                       I &begin, I &end) {
  I reach = i + s.padding[d];
  // The least o with o * stride >= reach - kernel + 1, unsigned-safe.
  begin = reach < s.kernel[d]
              ? 0
              : s.strides[d].div(reach - s.kernel[d] + s.stride[d]);
  end = s.strides[d].div(reach) + 1;
  if (end > s.out[d])
    end = s.out[d];
}

/// The position of input element (id, ih, iw) within the window of output
/// (od, oh, ow), which must hold it: row-major over the kernel, padding
/// counted (var.max_pool_with_indices' indices). Unsigned-safe: an input
/// in a window lies at or after o * stride - padding.
template <typename I>
__device__ inline I windowPosition(const PoolShape<I> &s, I od, I oh, I ow,
                                   I id, I ih, I iw) {
  I kd = id + s.padding[0] - od * s.stride[0];
  I kh = ih + s.padding[1] - oh * s.stride[1];
  I kw = iw + s.padding[2] - ow * s.stride[2];
  return (kd * s.kernel[1] + kh) * s.kernel[2] + kw;
}

/// The vector kernels (PoolVectorKernels.cu) on a checked call over `w`
/// (operands and results as the op's kernel in PoolKernels.cu names them):
/// true, with `error` what the launch gave, when they take it
/// (channels-last, tensors of one element type and 16-byte aligned, C a
/// whole number of 16-byte vectors; max_pool_grad also windows that do not
/// overlap); false, nothing launched, where the scalar kernels must run.
bool maxPoolByVectors(CudaContext &ctx, const cpu::Window &w,
                      const cpu::TensorView &input, cpu::TensorView &result,
                      std::string &error);
bool avgPoolByVectors(CudaContext &ctx, const cpu::Window &w,
                      const cpu::TensorView &input, cpu::TensorView &result,
                      std::string &error);
bool maxPoolGradByVectors(CudaContext &ctx, const cpu::Window &w,
                          const cpu::TensorView &input,
                          const cpu::TensorView &grad, cpu::TensorView &result,
                          std::string &error);
bool avgPoolGradByVectors(CudaContext &ctx, const cpu::Window &w,
                          const cpu::TensorView &grad, cpu::TensorView &result,
                          std::string &error);
/// The indexed pair: also the i8 indices aligned to a vector's lanes (8
/// bytes for bf16, 4 for f32). The backward takes overlapping windows too.
/// With `normalize`, the forward compares normalize.stored of each input
/// element instead of the element (var.batch_norm_train_max_pool).
bool maxPoolWithIndicesByVectors(CudaContext &ctx, const cpu::Window &w,
                                 const cpu::TensorView &input,
                                 cpu::TensorView &output,
                                 cpu::TensorView &indices, std::string &error,
                                 const norm::Normalize *normalize = nullptr);
bool maxPoolGradIndicesByVectors(CudaContext &ctx, const cpu::Window &w,
                                 const cpu::TensorView &indices,
                                 const cpu::TensorView &grad,
                                 cpu::TensorView &result, std::string &error);

/// var.max_pool_with_indices of `call` (its operand and two results) over
/// normalize.stored of the input: the pool that var.batch_norm_train_max_pool
/// runs after its statistics (NormKernels.cu), computing the bits of
/// var.max_pool_with_indices over var.batch_norm_train's stored result
/// (PoolKernels.cu).
std::string maxPoolWithIndicesOfNormalized(CudaContext &ctx, cpu::OpCall &call,
                                           const norm::Normalize &normalize);

} // namespace var::cuda::pool

#endif
