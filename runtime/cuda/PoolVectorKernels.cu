// Channels-last max and average pooling, forward and backward, and max
// pooling with i8 indices (a vector's positions in 8 or 4 bytes), on 16-byte
// vectors of channels (8 bf16 or 4 f32): the memory-bound pools of CNN
// training steps at close to HBM bandwidth, where the scalar kernels of
// PoolKernels.cu move 2 or 4 bytes a load. One thread an output (or, for
// the gathering backward, input) position and one vector of its channels;
// consecutive threads take consecutive vectors of a position, so a warp's
// loads of one window tap are whole aligned 16-byte pieces of a few rows of
// channels. Each lane computes in f32 what the CPU computes for its
// element (same window order, comparisons and roundings; products rounded
// alone, never fused into an add), so the results are the CPU's bit for
// bit, as the scalar max pooling kernels' are. The pool of
// var.batch_norm_train_max_pool is max pooling with indices over batch
// norm's normalize of each element as it is loaded.
#include "runtime/cuda/PoolShared.cuh"

#include <type_traits>

namespace var::cuda::pool {

using cpu::TensorView;
using cpu::Window;

namespace {

/// Elements of type T in a 16-byte vector: T is float for f32 and uint16_t
/// (the bits) for bf16.
template <typename T> constexpr int kLanes = 16 / static_cast<int>(sizeof(T));

/// A vector's elements as float, as loadFloat reads each.
template <typename T>
__device__ inline void unpack(uint4 raw, float (&v)[kLanes<T>]) {
  uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    if constexpr (std::is_same_v<T, float>) {
      v[k] = __uint_as_float(words[k]);
    } else {
      v[2 * k] = __uint_as_float(words[k] << 16);
      v[2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
    }
  }
}

/// The vector of `v`, each element rounded as storeFloat rounds it.
template <typename T>
__device__ inline uint4 pack(const float (&v)[kLanes<T>]) {
  uint32_t words[4];
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    if constexpr (std::is_same_v<T, float>)
      words[k] = __float_as_uint(v[k]);
    else
      words[k] = static_cast<uint32_t>(floatToBf16Bits(v[2 * k])) |
                 static_cast<uint32_t>(floatToBf16Bits(v[2 * k + 1])) << 16;
  }
  return make_uint4(words[0], words[1], words[2], words[3]);
}

/// Input index raw - padding along dimension d, clamped into the input
/// (`at`), and whether it lies inside: a tap over the padding still loads
/// a real vector, unconditionally, so that an unrolled window's loads
/// issue together instead of one after the other behind branches.
template <typename I>
__device__ inline bool clampTap(const PoolShape<I> &s, int d, I raw, I &at) {
  if (raw < s.padding[d]) {
    at = 0;
    return false;
  }
  at = raw - s.padding[d];
  if (at < s.in[d])
    return true;
  at = s.in[d] - 1;
  return false;
}

/// Calls tap(in, position, inside, v) for the window of output position
/// `pos` in window order (d, then h, then w; the CPU's forEachPoolTap
/// order): `in` an index within a plane, `position` the tap's place in the
/// window (windowPosition), `v` the vector of `x` there, unpacked. K > 0:
/// the window is K x K along h and w, whose taps unroll, padding ones
/// included (inside false, `in` clamped), and the taps of a depth slice all
/// load before any is used, so that their loads are in flight together;
/// K == 0: loops over the taps inside the input only (inside true).
template <typename T, int K, typename I, typename Tap>
__device__ inline void
forEachTap(const PoolShape<I> &s, const uint4 *__restrict__ x,
           PlaneAccess<I> plane, const I (&pos)[3], Tap &&tap) {
  I d0, d1;
  windowRange(s, 0, pos[0], d0, d1);
  if constexpr (K == 0) {
    I h0, h1, w0, w1;
    windowRange(s, 1, pos[1], h0, h1);
    windowRange(s, 2, pos[2], w0, w1);
    for (I id = d0; id < d1; ++id)
      for (I ih = h0; ih < h1; ++ih)
        for (I iw = w0; iw < w1; ++iw) {
          I in = (id * s.in[1] + ih) * s.in[2] + iw;
          float v[kLanes<T>];
          unpack<T>(x[plane.base + in * plane.step], v);
          tap(in, windowPosition(s, pos[0], pos[1], pos[2], id, ih, iw), true,
              v);
        }
  } else {
    I ih[K], iw[K];
    bool hInside[K], wInside[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
      // The window starts at pos * stride - padding.
      hInside[k] =
          clampTap(s, 1, pos[1] * s.stride[1] + static_cast<I>(k), ih[k]);
      wInside[k] =
          clampTap(s, 2, pos[2] * s.stride[2] + static_cast<I>(k), iw[k]);
    }
    for (I id = d0; id < d1; ++id) {
      // The taps of this depth slice are positions first + t.
      I first = (id + s.padding[0] - pos[0] * s.stride[0]) * (K * K);
      I at[K * K];
      uint4 raw[K * K];
#pragma unroll
      for (int t = 0; t < K * K; ++t) {
        at[t] = (id * s.in[1] + ih[t / K]) * s.in[2] + iw[t % K];
        raw[t] = x[plane.base + at[t] * plane.step];
      }
#pragma unroll
      for (int t = 0; t < K * K; ++t) {
        float v[kLanes<T>];
        unpack<T>(raw[t], v);
        tap(at[t], first + static_cast<I>(t), hInside[t / K] && wInside[t % K],
            v);
      }
    }
  }
}

/// A lane's value as stored: what the pools compare.
struct StoredLanes {
  __device__ float operator()(int, float v) const { return v; }
};

/// poolArgmax (PoolKernels.cu, the CPU's rule) lane by lane over the
/// vectors at `plane`: per lane the first maximum in window order, or the
/// last NaN; its value in `value` and in `best` its index within a plane
/// or, `ByPosition`, its window position. Every lane has the same taps, so
/// one `found` serves them all; the choice is a select, not a branch, so an
/// unrolled window stays one block. Lane l compares read(l, v), v its
/// element as stored (StoredLanes, or a batch norm's value of it).
template <typename T, int K, bool ByPosition = false, typename I,
          typename Read = StoredLanes>
__device__ inline void
vectorArgmax(const PoolShape<I> &s, const uint4 *__restrict__ x,
             PlaneAccess<I> plane, const I (&pos)[3], float (&value)[kLanes<T>],
             I (&best)[kLanes<T>], const Read &read = {}) {
  bool found = false;
#pragma unroll
  for (int l = 0; l < kLanes<T>; ++l) {
    value[l] = 0.0f;
    best[l] = 0;
  }
  forEachTap<T, K>(
      s, x, plane, pos,
      [&](I in, I position, bool inside, const float(&stored)[kLanes<T>]) {
#pragma unroll
        for (int l = 0; l < kLanes<T>; ++l) {
          float v = read(l, stored[l]);
          bool take =
              inside & (!found | (v > value[l]) | static_cast<bool>(isnan(v)));
          value[l] = take ? v : value[l];
          best[l] = take ? (ByPosition ? position : in) : best[l];
        }
        found = found | inside;
      });
}

/// A vector's window positions as i8 in `indices`: one byte a lane, so 8
/// bytes (bf16) or 4 (f32) at vector i.
template <typename T, typename I>
__device__ inline void storePositions(int8_t *__restrict__ indices, I i,
                                      const I (&position)[kLanes<T>]) {
  uint32_t words[kLanes<T> / 4];
#pragma unroll
  for (int k = 0; k < kLanes<T> / 4; ++k) {
    words[k] = 0;
#pragma unroll
    for (int b = 0; b < 4; ++b)
      words[k] |= (static_cast<uint32_t>(position[4 * k + b]) & 0xffu)
                  << (8 * b);
  }
  if constexpr (kLanes<T> == 8)
    reinterpret_cast<uint2 *>(indices)[i] = make_uint2(words[0], words[1]);
  else
    reinterpret_cast<uint32_t *>(indices)[i] = words[0];
}

/// The positions storePositions wrote at vector i, sign-extended.
template <typename T, typename I>
__device__ inline void loadPositions(const int8_t *__restrict__ indices, I i,
                                     int (&position)[kLanes<T>]) {
  uint32_t words[kLanes<T> / 4];
  if constexpr (kLanes<T> == 8) {
    uint2 raw = reinterpret_cast<const uint2 *>(indices)[i];
    words[0] = raw.x;
    words[1] = raw.y;
  } else {
    words[0] = reinterpret_cast<const uint32_t *>(indices)[i];
  }
#pragma unroll
  for (int l = 0; l < kLanes<T>; ++l)
    position[l] = static_cast<int8_t>(words[l / 4] >> (8 * (l % 4)));
}

template <typename T, typename I, int K>
__global__ void maxPoolVectorKernel(PoolShape<I> s, const uint4 *__restrict__ x,
                                    uint4 *__restrict__ y, I n) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    float value[kLanes<T>];
    I best[kLanes<T>];
    vectorArgmax<T, K>(s, x, planeAccess(s, e, s.inSize), e.pos, value, best);
    y[i] = pack<T>(value);
  }
}

/// A maxPoolWithIndicesVectorKernel that pools its input as stored.
constexpr int kUnnormalized = -2;

/// maxPoolVectorKernel that also stores each lane's argmax as its window
/// position. With a `Mask` other than kUnnormalized
/// (var.batch_norm_train_max_pool), lane l compares normalize.stored of
/// its element, the value var.batch_norm_train would have stored there,
/// compiled for that activation kind (norm::withKind) and T's type: its
/// channel's scale and shift are read once, before the window, and the
/// normalized tensor is never written.
template <typename T, typename I, int K, int Mask>
__global__ void maxPoolWithIndicesVectorKernel(PoolShape<I> s,
                                               const uint4 *__restrict__ x,
                                               uint4 *__restrict__ y,
                                               int8_t *__restrict__ indices,
                                               I n, norm::Normalize normalize) {
  constexpr int L = kLanes<T>;
  constexpr int kType = std::is_same_v<T, float> ? kF32 : kBF16;
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.inSize);
    float value[L];
    I position[L];
    if constexpr (Mask != kUnnormalized) {
      // e.channel counts vectors: lane l is channel e.channel * L + l.
      norm::Normalize::Channel ch[L];
#pragma unroll
      for (int l = 0; l < L; ++l)
        ch[l] = normalize.channel(static_cast<int64_t>(e.channel) * L + l);
      vectorArgmax<T, K, true>(
          s, x, plane, e.pos, value, position, [&](int l, float v) {
            return normalize.template stored<Mask, kType>(ch[l], v);
          });
    } else {
      vectorArgmax<T, K, true>(s, x, plane, e.pos, value, position);
    }
    y[i] = pack<T>(value);
    storePositions<T>(indices, i, position);
  }
}

/// The window's sum in window order, times 1 / prod(kernel): padding
/// counts as zeros, as avgPoolKernel and the CPU have it. A padding tap
/// adds +0, which changes no sum that starts at +0 (none is ever -0).
template <typename T, typename I, int K>
__global__ void avgPoolVectorKernel(PoolShape<I> s, const uint4 *__restrict__ x,
                                    uint4 *__restrict__ y, I n, float scale) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.inSize);
    float sum[kLanes<T>] = {};
    forEachTap<T, K>(s, x, plane, e.pos,
                     [&](I, I, bool inside, const float(&v)[kLanes<T>]) {
#pragma unroll
                       for (int l = 0; l < kLanes<T>; ++l)
                         sum[l] += inside ? v[l] : 0.0f;
                     });
#pragma unroll
    for (int l = 0; l < kLanes<T>; ++l)
      sum[l] *= scale;
    y[i] = pack<T>(sum);
  }
}

/// How a backward routes an output's gradient into its window: to the
/// argmax found again in the forward's input (var.max_pool_grad), to the
/// position its index names (var.max_pool_grad_indices), or evenly
/// (var.avg_pool_grad).
enum class Routing { FoundMax, IndexedMax, Average };

/// Backward over windows that do not overlap (stride >= kernel along every
/// dimension): one thread an output vector writes every input vector of
/// the block it owns, from its window's start to the next window's (the
/// first from 0, the last to the input's end: the blocks tile the input,
/// gaps and remainders included, so each dx vector is written once). An
/// input then gathers at most one term, and gets 0 + that term (-0 becomes
/// +0, as the CPU's dx[i] += ... gives): max, dy at the lane's argmax
/// (found in `x`, or named by `indices`); average, dy * scale (rounded
/// alone, as the CPU's share) at every tap inside the window. Everything
/// else is 0.
template <typename T, typename I, Routing R, int K>
__global__ void
tiledGradVectorKernel(PoolShape<I> s, const uint4 *__restrict__ x,
                      const int8_t *__restrict__ indices,
                      const uint4 *__restrict__ dy, uint4 *__restrict__ dx, I n,
                      float scale) {
  constexpr int L = kLanes<T>;
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.inSize);
    // Loaded first, used last: in flight while the window's loads issue.
    uint4 dyVector = dy[i];
    float value[L];
    I best[L];
    int position[L];
    if constexpr (R == Routing::FoundMax)
      vectorArgmax<T, K>(s, x, plane, e.pos, value, best);
    if constexpr (R == Routing::IndexedMax)
      loadPositions<T>(indices, i, position);
    float g[L];
    unpack<T>(dyVector, g);
#pragma unroll
    for (int l = 0; l < L; ++l) {
      if constexpr (R == Routing::Average)
        g[l] = __fmul_rn(g[l], scale);
      g[l] = __fadd_rn(0.0f, g[l]);
    }
    I first[3], last[3], begin[3], end[3];
#pragma unroll
    for (int d = 0; d < 3; ++d) {
      I o = e.pos[d];
      windowRange(s, d, o, first[d], last[d]);
      // o * stride >= kernel >= padding for o >= 1: no wrap.
      begin[d] = o == 0 ? I(0) : o * s.stride[d] - s.padding[d];
      end[d] =
          o + 1 == s.out[d] ? s.in[d] : (o + 1) * s.stride[d] - s.padding[d];
    }
    for (I id = begin[0]; id < end[0]; ++id)
      for (I ih = begin[1]; ih < end[1]; ++ih)
        for (I iw = begin[2]; iw < end[2]; ++iw) {
          I in = (id * s.in[1] + ih) * s.in[2] + iw;
          float v[L];
          if constexpr (R == Routing::FoundMax) {
#pragma unroll
            for (int l = 0; l < L; ++l)
              v[l] = in == best[l] ? g[l] : 0.0f;
          } else {
            bool inWindow = id >= first[0] && id < last[0] && ih >= first[1] &&
                            ih < last[1] && iw >= first[2] && iw < last[2];
            // Past the window (a gap or remainder) the formula could name
            // another tap: only taps inside it compare.
            int at = inWindow
                         ? static_cast<int>(windowPosition(
                               s, e.pos[0], e.pos[1], e.pos[2], id, ih, iw))
                         : -1;
#pragma unroll
            for (int l = 0; l < L; ++l) {
              if constexpr (R == Routing::IndexedMax)
                v[l] = inWindow && position[l] == at ? g[l] : 0.0f;
              else
                v[l] = inWindow ? g[l] : 0.0f;
            }
          }
          dx[plane.base + in * plane.step] = pack<T>(v);
        }
  }
}

/// Backward over overlapping windows, average or indexed max: one thread
/// an input vector sums, in increasing output order (the CPU's order), the
/// terms of the outputs covering it: average, dy * scale (each product
/// rounded alone, as the CPU's share); indexed max, dy where the lane's
/// index names this input's place in that output's window, else +0 (which
/// changes no sum that starts at +0: none is ever -0).
template <typename T, typename I, Routing R>
__global__ void
gatherGradVectorKernel(PoolShape<I> s, const int8_t *__restrict__ indices,
                       const uint4 *__restrict__ dy, uint4 *__restrict__ dx,
                       I n, float scale) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.inDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.outSize);
    I d0, d1, h0, h1, w0, w1;
    coveringOutputs(s, 0, e.pos[0], d0, d1);
    coveringOutputs(s, 1, e.pos[1], h0, h1);
    coveringOutputs(s, 2, e.pos[2], w0, w1);
    float sum[kLanes<T>] = {};
    for (I od = d0; od < d1; ++od)
      for (I oh = h0; oh < h1; ++oh)
        for (I ow = w0; ow < w1; ++ow) {
          // Output vector `out`: dy and, indexed, its lanes' positions.
          I out =
              plane.base + ((od * s.out[1] + oh) * s.out[2] + ow) * plane.step;
          float g[kLanes<T>];
          unpack<T>(dy[out], g);
          if constexpr (R == Routing::IndexedMax) {
            int position[kLanes<T>];
            loadPositions<T>(indices, out, position);
            int at = static_cast<int>(
                windowPosition(s, od, oh, ow, e.pos[0], e.pos[1], e.pos[2]));
#pragma unroll
            for (int l = 0; l < kLanes<T>; ++l)
              sum[l] += position[l] == at ? g[l] : 0.0f;
          } else {
#pragma unroll
            for (int l = 0; l < kLanes<T>; ++l)
              sum[l] += __fmul_rn(g[l], scale);
          }
        }
    dx[i] = pack<T>(sum);
  }
}

/// Whether the vector kernels take a pool over `w` of `tensors`:
/// channels-last, one element type (`type`), every tensor 16-byte aligned
/// and C a multiple of `lanes`, the elements of a vector.
bool takesVectors(const Window &w,
                  std::initializer_list<const TensorView *> tensors,
                  ElementType &type, int64_t &lanes) {
  if (!w.channelsLast)
    return false;
  bool first = true;
  for (const TensorView *tensor : tensors) {
    ElementType t;
    if (!toElementType(tensor->dtype, t) || (!first && t != type) ||
        !isPackAligned(tensor->data))
      return false;
    type = t;
    first = false;
  }
  lanes = type == kBF16 ? kLanes<uint16_t> : kLanes<float>;
  return w.inChannels % lanes == 0;
}

/// Whether `indices` starts on a vector's worth of positions (one byte a
/// lane), so that the kernels move a vector's positions in one access.
bool positionsAligned(const TensorView &indices, int64_t lanes) {
  return reinterpret_cast<uintptr_t>(indices.data) % lanes == 0;
}

/// `w` with its channels counted in vectors: the kernels index tensors of
/// uint4 as channels-last tensors of C / lanes channels.
template <typename I> PoolShape<I> vectorShape(Window w, int64_t lanes) {
  w.inChannels /= lanes;
  w.outChannels /= lanes;
  return toPoolShape<I>(w);
}

/// Whether no two windows of `w` overlap: stride >= kernel everywhere.
bool windowsApart(const Window &w) {
  for (int d = 0; d < 3; ++d)
    if (w.stride[d] < w.kernel[d])
      return false;
  return true;
}

/// Calls launch(T(), I()): T float for f32, uint16_t for bf16; I uint32_t
/// when `narrow`, else int64_t.
template <typename Launch>
void withTypes(ElementType type, bool narrow, Launch &&launch) {
  withIndexType(narrow, [&](auto index) {
    if (type == kBF16)
      launch(uint16_t{}, index);
    else
      launch(float{}, index);
  });
}

/// Calls launch(std::integral_constant<int, K>()): K = 2 or 3 for a K x K
/// window along h and w, whose taps the kernels unroll, else 0.
template <typename Launch>
void withWindowTaps(const Window &w, Launch &&launch) {
  if (w.kernel[1] == 2 && w.kernel[2] == 2)
    launch(std::integral_constant<int, 2>());
  else if (w.kernel[1] == 3 && w.kernel[2] == 3)
    launch(std::integral_constant<int, 3>());
  else
    launch(std::integral_constant<int, 0>());
}

std::string launchError() {
  VAR_CUDA_LAUNCHED();
  return {};
}

const uint4 *vectors(const TensorView &tensor) {
  return static_cast<const uint4 *>(tensor.data);
}
uint4 *vectors(TensorView &tensor) { return static_cast<uint4 *>(tensor.data); }

} // namespace

bool maxPoolByVectors(CudaContext &ctx, const Window &w,
                      const TensorView &input, TensorView &result,
                      std::string &error) {
  ElementType type;
  int64_t lanes;
  if (!takesVectors(w, {&input, &result}, type, lanes))
    return false;
  int64_t n = result.numel() / lanes;
  bool narrow = fitsUint32(w, {input.numel(), result.numel()});
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    withWindowTaps(w, [&](auto taps) {
      maxPoolVectorKernel<T, I, decltype(taps)::value>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), vectors(input), vectors(result),
              static_cast<I>(n));
    });
  });
  error = launchError();
  return true;
}

bool avgPoolByVectors(CudaContext &ctx, const Window &w,
                      const TensorView &input, TensorView &result,
                      std::string &error) {
  ElementType type;
  int64_t lanes;
  if (!takesVectors(w, {&input, &result}, type, lanes))
    return false;
  int64_t n = result.numel() / lanes;
  float scale = 1.0f / static_cast<float>(cpu::product(w.kernel));
  bool narrow = fitsUint32(w, {input.numel(), result.numel()});
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    withWindowTaps(w, [&](auto taps) {
      avgPoolVectorKernel<T, I, decltype(taps)::value>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), vectors(input), vectors(result),
              static_cast<I>(n), scale);
    });
  });
  error = launchError();
  return true;
}

/// Overlapping windows stay on the scalar gather, which finds the argmax
/// of every window covering an input.
bool maxPoolGradByVectors(CudaContext &ctx, const Window &w,
                          const TensorView &input, const TensorView &grad,
                          TensorView &result, std::string &error) {
  ElementType type;
  int64_t lanes;
  if (!windowsApart(w) ||
      !takesVectors(w, {&input, &grad, &result}, type, lanes))
    return false;
  int64_t n = grad.numel() / lanes;
  bool narrow = fitsUint32(w, {result.numel(), grad.numel()});
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    withWindowTaps(w, [&](auto taps) {
      tiledGradVectorKernel<T, I, Routing::FoundMax, decltype(taps)::value>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), vectors(input), nullptr, vectors(grad),
              vectors(result), static_cast<I>(n), 1.0f);
    });
  });
  error = launchError();
  return true;
}

bool avgPoolGradByVectors(CudaContext &ctx, const Window &w,
                          const TensorView &grad, TensorView &result,
                          std::string &error) {
  ElementType type;
  int64_t lanes;
  if (!takesVectors(w, {&grad, &result}, type, lanes))
    return false;
  float scale = 1.0f / static_cast<float>(cpu::product(w.kernel));
  bool apart = windowsApart(w);
  int64_t n = (apart ? grad.numel() : result.numel()) / lanes;
  bool narrow = fitsUint32(w, {result.numel(), grad.numel()});
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    if (apart)
      tiledGradVectorKernel<T, I, Routing::Average, 0>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), nullptr, nullptr, vectors(grad),
              vectors(result), static_cast<I>(n), scale);
    else
      gatherGradVectorKernel<T, I, Routing::Average>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), nullptr, vectors(grad), vectors(result),
              static_cast<I>(n), scale);
  });
  error = launchError();
  return true;
}

bool maxPoolWithIndicesByVectors(CudaContext &ctx, const Window &w,
                                 const TensorView &input, TensorView &output,
                                 TensorView &indices, std::string &error,
                                 const norm::Normalize *normalize) {
  ElementType type;
  int64_t lanes;
  if (!takesVectors(w, {&input, &output}, type, lanes) ||
      !positionsAligned(indices, lanes))
    return false;
  int64_t n = output.numel() / lanes;
  bool narrow = fitsUint32(w, {input.numel(), output.numel()});
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    withWindowTaps(w, [&](auto taps) {
      constexpr int K = decltype(taps)::value;
      auto *positions = static_cast<int8_t *>(indices.data);
      auto normalized = [&](auto mask) {
        maxPoolWithIndicesVectorKernel<T, I, K, decltype(mask)::value>
            <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
                vectorShape<I>(w, lanes), vectors(input), vectors(output),
                positions, static_cast<I>(n), *normalize);
      };
      // Compiled for ReLU and ReLU6 (VGG's, MobileNet's); the others read
      // the activation at run time.
      if (normalize && normalize->activation == norm::kReluActivation)
        normalized(std::integral_constant<int, norm::kReluActivation>());
      else if (normalize && normalize->activation == norm::kRelu6Activation)
        normalized(std::integral_constant<int, norm::kRelu6Activation>());
      else if (normalize)
        normalized(std::integral_constant<int, norm::kAnyMask>());
      else
        maxPoolWithIndicesVectorKernel<T, I, K, kUnnormalized>
            <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
                vectorShape<I>(w, lanes), vectors(input), vectors(output),
                positions, static_cast<I>(n), norm::Normalize{});
    });
  });
  error = launchError();
  return true;
}

/// Windows apart: one thread an output vector writes its block; windows
/// that overlap: one thread an input vector gathers.
bool maxPoolGradIndicesByVectors(CudaContext &ctx, const Window &w,
                                 const TensorView &indices,
                                 const TensorView &grad, TensorView &result,
                                 std::string &error) {
  ElementType type;
  int64_t lanes;
  if (!takesVectors(w, {&grad, &result}, type, lanes) ||
      !positionsAligned(indices, lanes))
    return false;
  bool apart = windowsApart(w);
  int64_t n = (apart ? grad.numel() : result.numel()) / lanes;
  bool narrow = fitsUint32(w, {result.numel(), grad.numel()});
  const auto *positions = static_cast<const int8_t *>(indices.data);
  withTypes(type, narrow, [&](auto t, auto index) {
    using T = decltype(t);
    using I = decltype(index);
    if (apart)
      tiledGradVectorKernel<T, I, Routing::IndexedMax, 0>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), nullptr, positions, vectors(grad),
              vectors(result), static_cast<I>(n), 1.0f);
    else
      gatherGradVectorKernel<T, I, Routing::IndexedMax>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              vectorShape<I>(w, lanes), positions, vectors(grad),
              vectors(result), static_cast<I>(n), 1.0f);
  });
  error = launchError();
  return true;
}

} // namespace var::cuda::pool
