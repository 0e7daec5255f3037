// CUDA kernels of max, average and global average pooling, forward and
// backward, on the CPU's padded 3-D window (runtime/cpu/WindowGeometry.h).
// Forwards: one thread an output element, the window in the CPU's order.
// Backwards gather instead of scatter: one thread an input element sums the
// outputs whose windows cover it, in increasing output order (the CPU's
// order of accumulation), so no atomics and one rounding per element.
// Channels-last tensors (N, spatial..., C): consecutive threads take
// consecutive channels of one position, so every load of a window step is
// coalesced; a plane (n, c) is then elements n * size * C + c + pos * C.
#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;
using cpu::Window;

namespace {

/// The window's geometry as plain values for a kernel argument.
struct PoolShape {
  int64_t in[3], out[3], kernel[3], stride[3], padding[3];
  int64_t inSize, outSize;
  int64_t channels;
  bool channelsLast;
};

PoolShape toPoolShape(const Window &w) {
  PoolShape s;
  for (int d = 0; d < 3; ++d) {
    s.in[d] = w.in[d];
    s.out[d] = w.out[d];
    s.kernel[d] = w.kernel[d];
    s.stride[d] = w.stride[d];
    s.padding[d] = w.padding[d];
  }
  s.inSize = cpu::product(w.in);
  s.outSize = cpu::product(w.out);
  s.channels = w.inChannels;
  s.channelsLast = w.channelsLast;
  return s;
}

/// Where plane `plane` (n * C + c) of a tensor of `size` positions a plane
/// lies: position p is element base + p * step.
struct PlaneAccess {
  int64_t base, step;
};

__device__ inline PlaneAccess planeAccess(const PoolShape &s, int64_t plane,
                                          int64_t size) {
  if (!s.channelsLast)
    return {plane * size, 1};
  int64_t n = plane / s.channels, c = plane - n * s.channels;
  return {n * size * s.channels + c, s.channels};
}

/// The plane and position of element i of a tensor of `size` positions a
/// plane.
__device__ inline void locate(const PoolShape &s, int64_t i, int64_t size,
                              int64_t &plane, int64_t &pos) {
  if (!s.channelsLast) {
    plane = i / size;
    pos = i % size;
    return;
  }
  int64_t c = i % s.channels, rest = i / s.channels;
  pos = rest % size;
  plane = rest / size * s.channels + c;
}

/// The first and one-past-last window positions along dimension d of
/// output position o that fall inside the input.
__device__ inline void windowRange(const PoolShape &s, int d, int64_t o,
                                   int64_t &begin, int64_t &end) {
  int64_t start = o * s.stride[d] - s.padding[d];
  begin = start < 0 ? 0 : start;
  end = start + s.kernel[d] < s.in[d] ? start + s.kernel[d] : s.in[d];
}

/// The CPU's poolArgmax: the first maximum in window order, or the last
/// NaN.
__device__ int64_t poolArgmax(const PoolShape &s, const void *x, int type,
                              PlaneAccess plane, int64_t out) {
  int64_t ow = out % s.out[2], oh = out / s.out[2] % s.out[1],
          od = out / (s.out[2] * s.out[1]);
  int64_t d0, d1, h0, h1, w0, w1;
  windowRange(s, 0, od, d0, d1);
  windowRange(s, 1, oh, h0, h1);
  windowRange(s, 2, ow, w0, w1);
  int64_t best = -1;
  float bestValue = 0.0f;
  for (int64_t id = d0; id < d1; ++id)
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) {
        int64_t in = (id * s.in[1] + ih) * s.in[2] + iw;
        float v = loadFloat(x, type, plane.base + in * plane.step);
        if (best < 0 || v > bestValue || isnan(v)) {
          best = in;
          bestValue = v;
        }
      }
  return best;
}

__global__ void maxPoolKernel(PoolShape s, const void *x, int xType, void *y,
                              int yType, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t plane, out;
    locate(s, i, s.outSize, plane, out);
    PlaneAccess in = planeAccess(s, plane, s.inSize);
    storeFloat(y, yType, i,
               loadFloat(x, xType,
                         in.base + poolArgmax(s, x, xType, in, out) * in.step));
  }
}

__global__ void avgPoolKernel(PoolShape s, const void *x, int xType, void *y,
                              int yType, int64_t n, float scale) {
  VAR_GRID_STRIDE(i, n) {
    int64_t plane, out;
    locate(s, i, s.outSize, plane, out);
    PlaneAccess in = planeAccess(s, plane, s.inSize);
    int64_t ow = out % s.out[2], oh = out / s.out[2] % s.out[1],
            od = out / (s.out[2] * s.out[1]);
    int64_t d0, d1, h0, h1, w0, w1;
    windowRange(s, 0, od, d0, d1);
    windowRange(s, 1, oh, h0, h1);
    windowRange(s, 2, ow, w0, w1);
    float sum = 0.0f;
    for (int64_t id = d0; id < d1; ++id)
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw)
          sum += loadFloat(x, xType,
                           in.base +
                               ((id * s.in[1] + ih) * s.in[2] + iw) * in.step);
    storeFloat(y, yType, i, sum * scale);
  }
}

/// Output positions along dimension d whose windows cover input index i.
__device__ inline void coveringOutputs(const PoolShape &s, int d, int64_t i,
                                       int64_t &begin, int64_t &end) {
  int64_t reach = i + s.padding[d]; // o * stride <= reach < o * stride + k
  int64_t low = reach - s.kernel[d] + 1;
  begin = low <= 0 ? 0 : (low + s.stride[d] - 1) / s.stride[d];
  end = reach / s.stride[d] + 1;
  if (end > s.out[d])
    end = s.out[d];
}

/// Max: the outputs covering input i whose argmax is i; average: every
/// covering output's share.
template <bool IsMax>
__global__ void poolGradKernel(PoolShape s, const void *x, int xType,
                               const void *dy, int dyType, void *dx, int dxType,
                               int64_t n, float scale) {
  VAR_GRID_STRIDE(i, n) {
    int64_t plane, in;
    locate(s, i, s.inSize, plane, in);
    PlaneAccess inPlane = planeAccess(s, plane, s.inSize);
    PlaneAccess outPlane = planeAccess(s, plane, s.outSize);
    int64_t iw = in % s.in[2], ih = in / s.in[2] % s.in[1],
            id = in / (s.in[2] * s.in[1]);
    int64_t d0, d1, h0, h1, w0, w1;
    coveringOutputs(s, 0, id, d0, d1);
    coveringOutputs(s, 1, ih, h0, h1);
    coveringOutputs(s, 2, iw, w0, w1);
    float sum = 0.0f;
    for (int64_t od = d0; od < d1; ++od)
      for (int64_t oh = h0; oh < h1; ++oh)
        for (int64_t ow = w0; ow < w1; ++ow) {
          int64_t out = (od * s.out[1] + oh) * s.out[2] + ow;
          float g = loadFloat(dy, dyType, outPlane.base + out * outPlane.step);
          if (IsMax) {
            if (poolArgmax(s, x, xType, inPlane, out) == in)
              sum += g;
          } else {
            sum += g * scale;
          }
        }
    storeFloat(dx, dxType, i, sum);
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
  maxPoolKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      toPoolShape(w), call.operands[0].data, types[0], call.results[0].data,
      types[1], n);
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
  avgPoolKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      toPoolShape(w), call.operands[0].data, types[0], call.results[0].data,
      types[1], n, 1.0f / static_cast<float>(cpu::product(w.kernel)));
  VAR_CUDA_LAUNCHED();
  return {};
}

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
  int64_t n = result.numel();
  poolGradKernel<true><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      toPoolShape(w), input.data, types[0], grad.data, types[2], result.data,
      types[3], n, 1.0f);
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
  poolGradKernel<false><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      toPoolShape(w), nullptr, kF32, grad.data, types[0], result.data, types[1],
      n, 1.0f / static_cast<float>(cpu::product(w.kernel)));
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
/// (`channels` > 0) are (n, c) of an (N, size, C) tensor.
__global__ void globalAvgPoolGradKernel(const void *dy, int dyType, void *dx,
                                        int dxType, int64_t size,
                                        int64_t channels, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t plane =
        channels ? i / (size * channels) * channels + i % channels : i / size;
    storeFloat(dx, dxType, i,
               loadFloat(dy, dyType, plane) / static_cast<float>(size));
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
  globalAvgPoolGradKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      grad.data, types[0], result.data, types[1], n / planes,
      channelsLast ? channels : 0, n);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerPoolOps(CudaOpTable &table) {
  table["var.max_pool"] = maxPoolOp;
  table["var.max_pool_grad"] = maxPoolGradOp;
  table["var.avg_pool"] = avgPoolOp;
  table["var.avg_pool_grad"] = avgPoolGradOp;
  table["var.global_avg_pool"] = globalAvgPoolOp;
  table["var.global_avg_pool_grad"] = globalAvgPoolGradOp;
}

} // namespace var::cuda
