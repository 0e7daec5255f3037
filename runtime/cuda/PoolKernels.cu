// CUDA kernels of max, average and global average pooling, forward and
// backward, on the CPU's padded 3-D window (runtime/cpu/WindowGeometry.h).
// Forwards: one thread an output element, the window in the CPU's order.
// Backwards gather instead of scatter: one thread an input element sums the
// outputs whose windows cover it, in increasing output order (the CPU's
// order of accumulation), so no atomics and one rounding per element. Max
// pooling over windows that tile the input (kernel == stride, no padding)
// is the exception: an input lies in at most one window there, so one
// thread an output element finds its argmax once and writes its window.
// Channels-last tensors (N, spatial..., C): consecutive threads take
// consecutive channels of one position, so every load of a window step is
// coalesced; a plane (n, c) is then elements n * size * C + c + pos * C.
// Channels-last calls whose channels fill 16-byte vectors run the vector
// kernels of PoolVectorKernels.cu instead; the kernels here take the rest.
// var.max_pool_with_indices is the max pool that also stores each argmax's
// window position (i8); var.max_pool_grad_indices gathers by them.
// var.batch_norm_train_max_pool's pool is var.max_pool_with_indices over
// batch norm's normalize of each element (norm::Normalize), applied as the
// element is loaded.
#include "runtime/cuda/PoolShared.cuh"

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;
using cpu::Window;

namespace {

using namespace pool;

/// A tensor's elements as stored: what the pools compare.
struct StoredValues {
  const void *x;
  int type;
  template <typename I> __device__ float operator()(I at) const {
    return loadFloat(x, type, at);
  }
};

/// The CPU's poolArgmax: the position of the first maximum of output
/// (od, oh, ow)'s window in window order, or of its last NaN; `value` gets
/// the element there, `position` (when given) its window position.
/// Windows are never empty (padding <= kernel / 2). read(i) gives element
/// i's value (StoredValues, or a batch norm's of it).
template <typename I, typename Read>
__device__ inline I poolArgmax(const PoolShape<I> &s, const Read &read,
                               PlaneAccess<I> plane, I od, I oh, I ow,
                               float &value, I *position = nullptr) {
  I d0, d1, h0, h1, w0, w1;
  windowRange(s, 0, od, d0, d1);
  windowRange(s, 1, oh, h0, h1);
  windowRange(s, 2, ow, w0, w1);
  bool found = false;
  I best = 0;
  value = 0.0f;
  for (I id = d0; id < d1; ++id)
    for (I ih = h0; ih < h1; ++ih)
      for (I iw = w0; iw < w1; ++iw) {
        I in = (id * s.in[1] + ih) * s.in[2] + iw;
        float v = read(plane.base + in * plane.step);
        if (!found || v > value || isnan(v)) {
          found = true;
          best = in;
          value = v;
          if (position)
            *position = windowPosition(s, od, oh, ow, id, ih, iw);
        }
      }
  return best;
}

template <typename I>
__global__ void maxPoolKernel(PoolShape<I> s, const void *x, int xType, void *y,
                              int yType, I n) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    float value;
    poolArgmax(s, StoredValues{x, xType}, planeAccess(s, e, s.inSize), e.pos[0],
               e.pos[1], e.pos[2], value);
    storeFloat(y, yType, i, value);
  }
}

/// maxPoolKernel that also writes the argmax's window position. With
/// `Normalized`, over normalize.stored of each input element: the value
/// var.batch_norm_train would have stored there, from its channel's scale
/// and shift, read once.
template <typename I, bool Normalized>
__global__ void maxPoolWithIndicesKernel(PoolShape<I> s, const void *x,
                                         int xType, void *y, int yType,
                                         int8_t *indices, I n,
                                         norm::Normalize normalize) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.inSize);
    float value;
    I position = 0;
    if constexpr (Normalized) {
      // Channels-first planes are samples n * C + c.
      I c = e.channel;
      if (!s.channelsLast)
        divmod(s.channels, e.sample, c);
      norm::Normalize::Channel ch = normalize.channel(c);
      auto read = [&](I at) {
        return normalize.stored(ch, loadFloat(x, xType, at));
      };
      poolArgmax(s, read, plane, e.pos[0], e.pos[1], e.pos[2], value,
                 &position);
    } else {
      poolArgmax(s, StoredValues{x, xType}, plane, e.pos[0], e.pos[1], e.pos[2],
                 value, &position);
    }
    storeFloat(y, yType, i, value);
    indices[i] = static_cast<int8_t>(position);
  }
}

template <typename I>
__global__ void avgPoolKernel(PoolShape<I> s, const void *x, int xType, void *y,
                              int yType, I n, float scale) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> in = planeAccess(s, e, s.inSize);
    I d0, d1, h0, h1, w0, w1;
    windowRange(s, 0, e.pos[0], d0, d1);
    windowRange(s, 1, e.pos[1], h0, h1);
    windowRange(s, 2, e.pos[2], w0, w1);
    float sum = 0.0f;
    for (I id = d0; id < d1; ++id)
      for (I ih = h0; ih < h1; ++ih)
        for (I iw = w0; iw < w1; ++iw)
          sum += loadFloat(x, xType,
                           in.base +
                               ((id * s.in[1] + ih) * s.in[2] + iw) * in.step);
    storeFloat(y, yType, i, sum * scale);
  }
}

/// Max: the outputs covering input i whose argmax is i; average: every
/// covering output's share.
template <typename I, bool IsMax>
__global__ void poolGradKernel(PoolShape<I> s, const void *x, int xType,
                               const void *dy, int dyType, void *dx, int dxType,
                               I n, float scale) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.inDims, i);
    PlaneAccess<I> inPlane = planeAccess(s, e, s.inSize);
    PlaneAccess<I> outPlane = planeAccess(s, e, s.outSize);
    I in = (e.pos[0] * s.in[1] + e.pos[1]) * s.in[2] + e.pos[2];
    I d0, d1, h0, h1, w0, w1;
    coveringOutputs(s, 0, e.pos[0], d0, d1);
    coveringOutputs(s, 1, e.pos[1], h0, h1);
    coveringOutputs(s, 2, e.pos[2], w0, w1);
    float sum = 0.0f;
    for (I od = d0; od < d1; ++od)
      for (I oh = h0; oh < h1; ++oh)
        for (I ow = w0; ow < w1; ++ow) {
          I out = (od * s.out[1] + oh) * s.out[2] + ow;
          I at = outPlane.base + out * outPlane.step;
          if constexpr (IsMax) {
            float value;
            if (poolArgmax(s, StoredValues{x, xType}, inPlane, od, oh, ow,
                           value) == in)
              sum += loadFloat(dy, dyType, at);
          } else {
            sum += loadFloat(dy, dyType, at) * scale;
          }
        }
    storeFloat(dx, dxType, i, sum);
  }
}

/// The gather of poolGradKernel with each covering output's argmax read
/// from `indices` instead of found again: input i sums, in increasing
/// output order, the gradients whose index names its place in their window.
template <typename I>
__global__ void maxPoolGradIndicesKernel(PoolShape<I> s, const int8_t *indices,
                                         const void *dy, int dyType, void *dx,
                                         int dxType, I n) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.inDims, i);
    PlaneAccess<I> outPlane = planeAccess(s, e, s.outSize);
    I d0, d1, h0, h1, w0, w1;
    coveringOutputs(s, 0, e.pos[0], d0, d1);
    coveringOutputs(s, 1, e.pos[1], h0, h1);
    coveringOutputs(s, 2, e.pos[2], w0, w1);
    float sum = 0.0f;
    for (I od = d0; od < d1; ++od)
      for (I oh = h0; oh < h1; ++oh)
        for (I ow = w0; ow < w1; ++ow) {
          I at = outPlane.base +
                 ((od * s.out[1] + oh) * s.out[2] + ow) * outPlane.step;
          I position =
              windowPosition(s, od, oh, ow, e.pos[0], e.pos[1], e.pos[2]);
          if (static_cast<int>(indices[at]) == static_cast<int>(position))
            sum += loadFloat(dy, dyType, at);
        }
    storeFloat(dx, dxType, i, sum);
  }
}

/// Max backward over windows that tile the input (kernel == stride, no
/// padding): one thread an output element finds its window's argmax once
/// and writes dx over the window, 0 + dy at the argmax (the gather's sum of
/// one term, in which -0 becomes +0 as on the CPU) and 0 elsewhere. The
/// last window along a dimension also zeroes the inputs past it that no
/// window covers (a size not a multiple of the stride), so every element
/// of dx is written exactly once.
template <typename I>
__global__ void maxPoolTiledGradKernel(PoolShape<I> s, const void *x, int xType,
                                       const void *dy, int dyType, void *dx,
                                       int dxType, I n) {
  VAR_POOL_GRID_STRIDE(i, n) {
    Coords<I> e = locate(s, s.outDims, i);
    PlaneAccess<I> plane = planeAccess(s, e, s.inSize);
    float value;
    I best = poolArgmax(s, StoredValues{x, xType}, plane, e.pos[0], e.pos[1],
                        e.pos[2], value);
    // Rounded add, which no compiler folds into plain dy.
    float g = __fadd_rn(0.0f, loadFloat(dy, dyType, i));
    I begin[3], end[3];
#pragma unroll
    for (int d = 0; d < 3; ++d) {
      begin[d] = e.pos[d] * s.stride[d];
      end[d] = e.pos[d] + 1 == s.out[d] ? s.in[d] : begin[d] + s.stride[d];
    }
    for (I id = begin[0]; id < end[0]; ++id)
      for (I ih = begin[1]; ih < end[1]; ++ih)
        for (I iw = begin[2]; iw < end[2]; ++iw) {
          I in = (id * s.in[1] + ih) * s.in[2] + iw;
          storeFloat(dx, dxType, plane.base + in * plane.step,
                     in == best ? g : 0.0f);
        }
  }
}

std::string typesOf(const OpCall &call, ElementType *types) {
  size_t k = 0;
  for (const auto *list : {&call.operands, &call.results})
    for (const TensorView &tensor : *list)
      if (std::string error = elementTypeOf(tensor, "a tensor", types[k++]);
          !error.empty())
        return error;
  return {};
}

std::string maxPoolOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  Window w;
  if (std::string error = cpu::makePoolWindow(
          call, call.operands[0].shape, call.results[0].shape, "result", w);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  if (n == 0)
    return {};
  if (std::string error;
      maxPoolByVectors(ctx, w, call.operands[0], call.results[0], error))
    return error;
  withIndexType(fitsUint32(w, {call.operands[0].numel(), n}), [&](auto index) {
    using I = decltype(index);
    maxPoolKernel<I><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        toPoolShape<I>(w), call.operands[0].data, types[0],
        call.results[0].data, types[1], static_cast<I>(n));
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string avgPoolOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  Window w;
  if (std::string error = cpu::makePoolWindow(
          call, call.operands[0].shape, call.results[0].shape, "result", w);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  if (n == 0)
    return {};
  if (std::string error;
      avgPoolByVectors(ctx, w, call.operands[0], call.results[0], error))
    return error;
  float scale = 1.0f / static_cast<float>(cpu::product(w.kernel));
  withIndexType(fitsUint32(w, {call.operands[0].numel(), n}), [&](auto index) {
    using I = decltype(index);
    avgPoolKernel<I><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        toPoolShape<I>(w), call.operands[0].data, types[0],
        call.results[0].data, types[1], static_cast<I>(n), scale);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

/// Windows that tile the input take maxPoolTiledGradKernel, one thread an
/// output element; others gather, one thread an input element (when the
/// vector kernels do not take the call).
std::string maxPoolGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 3, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &output = call.operands[1];
  const TensorView &grad = call.operands[2];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          cpu::makePoolWindow(call, input.shape, grad.shape, "grad", w);
      !error.empty())
    return error;
  if (output.shape != grad.shape || result.shape != input.shape)
    return "output " + cpu::formatShape(output.shape) + " and result " +
           cpu::formatShape(result.shape) + " must have the shapes of grad " +
           cpu::formatShape(grad.shape) + " and input " +
           cpu::formatShape(input.shape);
  ElementType types[4];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t n = result.numel(), outputs = grad.numel();
  if (n == 0)
    return {};
  if (std::string error;
      maxPoolGradByVectors(ctx, w, input, grad, result, error))
    return error;
  bool tiled = true;
  for (int d = 0; d < 3; ++d)
    tiled = tiled && w.kernel[d] == w.stride[d] && w.padding[d] == 0;
  withIndexType(fitsUint32(w, {n, outputs}), [&](auto index) {
    using I = decltype(index);
    if (tiled)
      maxPoolTiledGradKernel<I>
          <<<blocksFor(outputs), kThreads, 0, ctx.stream>>>(
              toPoolShape<I>(w), input.data, types[0], grad.data, types[2],
              result.data, types[3], static_cast<I>(outputs));
    else
      poolGradKernel<I, true><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
          toPoolShape<I>(w), input.data, types[0], grad.data, types[2],
          result.data, types[3], static_cast<I>(n), 1.0f);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The element types of an indexed pool call's float tensors (as
/// makeIndexedPoolWindow names them): input and output forward, grad and
/// result backward.
std::string indexedTypes(const OpCall &call, bool forward,
                         ElementType (&types)[2]) {
  const TensorView &first = forward ? call.operands[0] : call.operands[1];
  const TensorView &second = call.results[0];
  if (std::string error = elementTypeOf(first, "a tensor", types[0]);
      !error.empty())
    return error;
  return elementTypeOf(second, "a tensor", types[1]);
}

/// var.max_pool_with_indices, or with `normalize` the pool of
/// var.batch_norm_train_max_pool (maxPoolWithIndicesOfNormalized).
std::string runMaxPoolWithIndices(CudaContext &ctx, OpCall &call,
                                  const norm::Normalize *normalize) {
  Window w;
  if (std::string error = cpu::makeIndexedPoolWindow(call, true, w);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = indexedTypes(call, true, types); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &output = call.results[0];
  TensorView &indices = call.results[1];
  int64_t n = output.numel();
  if (n == 0)
    return {};
  if (std::string error; maxPoolWithIndicesByVectors(ctx, w, input, output,
                                                     indices, error, normalize))
    return error;
  withIndexType(fitsUint32(w, {input.numel(), n}), [&](auto index) {
    using I = decltype(index);
    auto *positions = static_cast<int8_t *>(indices.data);
    if (normalize)
      maxPoolWithIndicesKernel<I, true>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              toPoolShape<I>(w), input.data, types[0], output.data, types[1],
              positions, static_cast<I>(n), *normalize);
    else
      maxPoolWithIndicesKernel<I, false>
          <<<blocksFor(n), kThreads, 0, ctx.stream>>>(
              toPoolShape<I>(w), input.data, types[0], output.data, types[1],
              positions, static_cast<I>(n), norm::Normalize{});
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string maxPoolWithIndicesOp(CudaContext &ctx, OpCall &call) {
  return runMaxPoolWithIndices(ctx, call, nullptr);
}

/// A gather, one thread an input element, whatever the windows: no
/// atomics, and the CPU's order of accumulation.
std::string maxPoolGradIndicesOp(CudaContext &ctx, OpCall &call) {
  Window w;
  if (std::string error = cpu::makeIndexedPoolWindow(call, false, w);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = indexedTypes(call, false, types); !error.empty())
    return error;
  const TensorView &indices = call.operands[0];
  const TensorView &grad = call.operands[1];
  TensorView &result = call.results[0];
  int64_t n = result.numel();
  if (n == 0)
    return {};
  if (std::string error;
      maxPoolGradIndicesByVectors(ctx, w, indices, grad, result, error))
    return error;
  withIndexType(fitsUint32(w, {n, grad.numel()}), [&](auto index) {
    using I = decltype(index);
    maxPoolGradIndicesKernel<I><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        toPoolShape<I>(w), static_cast<const int8_t *>(indices.data), grad.data,
        types[0], result.data, types[1], static_cast<I>(n));
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string avgPoolGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          cpu::makePoolWindow(call, result.shape, grad.shape, "grad", w);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t n = result.numel();
  if (n == 0)
    return {};
  if (std::string error; avgPoolGradByVectors(ctx, w, grad, result, error))
    return error;
  float scale = 1.0f / static_cast<float>(cpu::product(w.kernel));
  withIndexType(fitsUint32(w, {n, grad.numel()}), [&](auto index) {
    using I = decltype(index);
    poolGradKernel<I, false><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        toPoolShape<I>(w), nullptr, kF32, grad.data, types[0], result.data,
        types[1], static_cast<I>(n), scale);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

/// One block a plane: float partial sums, then a tree in shared memory.
__global__ void globalAvgPoolKernel(const void *x, int xType, void *y,
                                    int yType, int64_t planes, int64_t size) {
  __shared__ float partial[kThreads];
  for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < size; i += blockDim.x)
      sum += loadFloat(x, xType, p * size + i);
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int step = blockDim.x / 2; step > 0; step /= 2) {
      if (threadIdx.x < step)
        partial[threadIdx.x] += partial[threadIdx.x + step];
      __syncthreads();
    }
    if (threadIdx.x == 0)
      storeFloat(y, yType, p, partial[0] / static_cast<float>(size));
    __syncthreads();
  }
}

/// Channels-last (N, size, C): block (x, n) averages channels
/// [x * 32, ...) of sample n, thread (tx, ty) every 8th position of channel
/// tx (a warp reads 32 consecutive channels), then the 8 partial sums of a
/// channel in order.
__global__ void globalAvgPoolColumnsKernel(const void *x, int xType, void *y,
                                           int yType, int64_t batch,
                                           int64_t size, int64_t channels) {
  constexpr int kColumns = 32, kRows = kThreads / kColumns;
  __shared__ float partial[kRows][kColumns];
  int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  for (int64_t n = blockIdx.y; n < batch; n += gridDim.y) {
    float sum = 0.0f;
    if (c < channels)
      for (int64_t p = threadIdx.y; p < size; p += kRows)
        sum += loadFloat(x, xType, (n * size + p) * channels + c);
    partial[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && c < channels) {
      float total = 0.0f;
      for (int r = 0; r < kRows; ++r)
        total += partial[r][threadIdx.x];
      storeFloat(y, yType, n * channels + c, total / static_cast<float>(size));
    }
    __syncthreads();
  }
}

/// dx = dy / size for every position of each plane; channels-last planes
/// are (n, c) of an (N, size, C) tensor.
template <typename I>
__global__ void globalAvgPoolGradKernel(const void *dy, int dyType, void *dx,
                                        int dxType, Divider<I> size,
                                        Divider<I> channels, bool channelsLast,
                                        I n) {
  VAR_POOL_GRID_STRIDE(i, n) {
    I plane;
    if (channelsLast) {
      I c;
      plane = size.div(divmod(channels, i, c)) * channels.divisor + c;
    } else {
      plane = size.div(i);
    }
    storeFloat(dx, dxType, i,
               loadFloat(dy, dyType, plane) / static_cast<float>(size.divisor));
  }
}

std::string globalAvgPoolOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  bool channelsLast = cpu::isChannelsLast(call);
  if (std::string error = cpu::checkGlobalPool(input.shape, result.shape,
                                               call.getBool("keep_dims"),
                                               "result", channelsLast);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t batch = input.shape[0];
  int64_t channels = channelsLast ? input.shape.back() : input.shape[1];
  int64_t planes = batch * channels;
  if (planes == 0)
    return {};
  int64_t size = input.numel() / planes;
  if (channelsLast) {
    dim3 grid(static_cast<unsigned>((channels + 31) / 32),
              static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
    globalAvgPoolColumnsKernel<<<grid, dim3(32, kThreads / 32), 0,
                                 ctx.stream>>>(
        input.data, types[0], result.data, types[1], batch, size, channels);
    VAR_CUDA_LAUNCHED();
    return {};
  }
  globalAvgPoolKernel<<<static_cast<unsigned>(std::min<int64_t>(planes, 65536)),
                        kThreads, 0, ctx.stream>>>(
      input.data, types[0], result.data, types[1], planes, size);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string globalAvgPoolGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  TensorView &result = call.results[0];
  bool channelsLast = cpu::isChannelsLast(call);
  if (std::string error =
          cpu::checkGlobalPool(result.shape, grad.shape, grad.shape.size() != 2,
                               "grad", channelsLast);
      !error.empty())
    return error;
  ElementType types[2];
  if (std::string error = typesOf(call, types); !error.empty())
    return error;
  int64_t channels = channelsLast ? result.shape.back() : result.shape[1];
  int64_t planes = result.shape[0] * channels;
  if (planes == 0)
    return {};
  int64_t n = result.numel();
  withIndexType(n < (int64_t{1} << 31), [&](auto index) {
    using I = decltype(index);
    globalAvgPoolGradKernel<I><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        grad.data, types[0], result.data, types[1], Divider<I>(n / planes),
        Divider<I>(channels), channelsLast, static_cast<I>(n));
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

namespace pool {

std::string maxPoolWithIndicesOfNormalized(CudaContext &ctx, OpCall &call,
                                           const norm::Normalize &normalize) {
  return runMaxPoolWithIndices(ctx, call, &normalize);
}

} // namespace pool

void registerPoolOps(CudaOpTable &table) {
  table["var.max_pool"] = maxPoolOp;
  table["var.max_pool_grad"] = maxPoolGradOp;
  table["var.max_pool_with_indices"] = maxPoolWithIndicesOp;
  table["var.max_pool_grad_indices"] = maxPoolGradIndicesOp;
  table["var.avg_pool"] = avgPoolOp;
  table["var.avg_pool_grad"] = avgPoolGradOp;
  table["var.global_avg_pool"] = globalAvgPoolOp;
  table["var.global_avg_pool_grad"] = globalAvgPoolGradOp;
}

} // namespace var::cuda
