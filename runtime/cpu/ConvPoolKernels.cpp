// CPU reference kernels of var.conv, the pools and var.linear, forward and
// backward. Convolutions run as im2col + a small GEMM per (sample, group);
// pools are direct window loops. Every spatial op runs as a 3-D one: a 1-D
// or 2-D window gets leading spatial dimensions of size 1. Channels-last
// calls run these kernels on channels-first copies (ChannelsLast.h), once
// their shapes have been checked in their own layout.
#include "runtime/cpu/ChannelsLast.h"
#include "runtime/cpu/WindowGeometry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

namespace var::cpu {
namespace {

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

/// c[0..width) += a * b[0..width) for four rows of C at once, so that each
/// loaded element of B feeds four multiply-adds; vectorized by the compiler.
void axpy4(int64_t width, const float *__restrict b, float a0, float a1,
           float a2, float a3, float *__restrict c0, float *__restrict c1,
           float *__restrict c2, float *__restrict c3) {
  for (int64_t j = 0; j < width; ++j) {
    float value = b[j];
    c0[j] += a0 * value;
    c1[j] += a1 * value;
    c2[j] += a2 * value;
    c3[j] += a3 * value;
  }
}

void axpy(int64_t width, const float *__restrict b, float a,
          float *__restrict c) {
  for (int64_t j = 0; j < width; ++j)
    c[j] += a * b[j];
}

/// C (m x n) += A (m x k) B (k x n), all row-major and contiguous. Columns
/// go in blocks so that a k x block panel of B stays in cache while every
/// row of A passes over it.
void gemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b,
          float *c) {
  constexpr int64_t kColumnBlock = 512;
  for (int64_t j0 = 0; j0 < n; j0 += kColumnBlock) {
    int64_t width = std::min(kColumnBlock, n - j0);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const float *aRows = a + i * k;
      float *cRows = c + i * n + j0;
      for (int64_t p = 0; p < k; ++p)
        axpy4(width, b + p * n + j0, aRows[p], aRows[k + p], aRows[2 * k + p],
              aRows[3 * k + p], cRows, cRows + n, cRows + 2 * n, cRows + 3 * n);
    }
    for (; i < m; ++i)
      for (int64_t p = 0; p < k; ++p)
        axpy(width, b + p * n + j0, a[i * k + p], c + i * n + j0);
  }
}

/// `out` (cols x rows) = the transpose of `in` (rows x cols).
void transpose(int64_t rows, int64_t cols, const float *in, float *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[c * rows + r] = in[r * cols + c];
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// Calls fn(tapRow, outputIndex, inputIndex) for every kernel tap of every
/// output position that falls inside the input (padding contributes zero):
/// the index map of im2col and col2im. Taps are numbered (c, kd, kh, kw)
/// over `channels` consecutive input channels.
template <typename Fn>
void forEachConvTap(const Window &w, int64_t channels, Fn fn) {
  int64_t inSize = product(w.in);
  int64_t tap = 0;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, ++tap)
          for (int64_t od = 0; od < w.out[0]; ++od) {
            int64_t id = od * w.stride[0] - w.padding[0] + kd * w.dilation[0];
            if (id < 0 || id >= w.in[0])
              continue;
            for (int64_t oh = 0; oh < w.out[1]; ++oh) {
              int64_t ih = oh * w.stride[1] - w.padding[1] + kh * w.dilation[1];
              if (ih < 0 || ih >= w.in[1])
                continue;
              int64_t outRow = (od * w.out[1] + oh) * w.out[2];
              int64_t inRow = c * inSize + (id * w.in[1] + ih) * w.in[2];
              for (int64_t ow = 0; ow < w.out[2]; ++ow) {
                int64_t iw =
                    ow * w.stride[2] - w.padding[2] + kw * w.dilation[2];
                if (iw >= 0 && iw < w.in[2])
                  fn(tap, outRow + ow, inRow + iw);
              }
            }
          }
}

/// `col` (channels * taps x outputs) = the input under every kernel tap of
/// `channels` channels starting at `input`, zero where the tap is padding.
void im2col(const Window &w, const float *input, int64_t channels,
            std::vector<float> &col) {
  int64_t outSize = product(w.out);
  std::fill(col.begin(), col.end(), 0.0f);
  float *dst = col.data();
  forEachConvTap(w, channels, [&](int64_t tap, int64_t out, int64_t in) {
    dst[tap * outSize + out] = input[in];
  });
}

/// The adjoint of im2col: adds each column entry into the input element its
/// tap reads.
void col2im(const Window &w, const std::vector<float> &col, int64_t channels,
            float *input) {
  int64_t outSize = product(w.out);
  const float *src = col.data();
  forEachConvTap(w, channels, [&](int64_t tap, int64_t out, int64_t in) {
    input[in] += src[tap * outSize + out];
  });
}

/// Per (sample, group): Y_g (C_out/g x outputs) = W_g (C_out/g x taps)
/// * im2col(X_g) (taps x outputs), taps = C_in/g * prod(kernel).
std::string convForward(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = makeConvWindow(call, input.shape, weight.shape,
                                         result.shape, "result", w);
      !error.empty())
    return error;
  bool hasBias = call.operands.size() == 3;
  if (hasBias && call.operands[2].shape != Shape{w.outChannels})
    return "bias is " + formatShape(call.operands[2].shape) + ", expected (" +
           std::to_string(w.outChannels) + ")";
  if (w.channelsLast)
    return runChannelsFirst(call, convForward, {1});

  std::vector<float> x = readFloats(input), k = readFloats(weight);
  std::vector<float> y(static_cast<size_t>(result.numel()), 0.0f);
  int64_t inGroup = w.inChannels / w.groups,
          outGroup = w.outChannels / w.groups;
  int64_t taps = inGroup * product(w.kernel);
  int64_t inSize = product(w.in), outSize = product(w.out);
  std::vector<float> col(static_cast<size_t>(taps * outSize));
  for (int64_t n = 0; n < w.batch; ++n)
    for (int64_t g = 0; g < w.groups; ++g) {
      im2col(w, x.data() + (n * w.inChannels + g * inGroup) * inSize, inGroup,
             col);
      gemm(outGroup, outSize, taps, k.data() + g * outGroup * taps, col.data(),
           y.data() + (n * w.outChannels + g * outGroup) * outSize);
    }
  if (hasBias) {
    std::vector<float> bias = readFloats(call.operands[2]);
    for (int64_t n = 0; n < w.batch; ++n)
      for (int64_t c = 0; c < w.outChannels; ++c) {
        float *row = y.data() + (n * w.outChannels + c) * outSize;
        for (int64_t i = 0; i < outSize; ++i)
          row[i] += bias[c];
      }
  }
  writeFloats(y, result);
  return {};
}

/// Per (sample, group): dX_g = col2im(W_g^T (taps x C_out/g) dY_g).
std::string convGradInput(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = makeConvWindow(call, result.shape, weight.shape,
                                         grad.shape, "grad", w);
      !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, convGradInput, {1});

  std::vector<float> dy = readFloats(grad), k = readFloats(weight);
  std::vector<float> dx(static_cast<size_t>(result.numel()), 0.0f);
  int64_t inGroup = w.inChannels / w.groups,
          outGroup = w.outChannels / w.groups;
  int64_t taps = inGroup * product(w.kernel);
  int64_t inSize = product(w.in), outSize = product(w.out);
  std::vector<float> kT(k.size());
  for (int64_t g = 0; g < w.groups; ++g)
    transpose(outGroup, taps, k.data() + g * outGroup * taps,
              kT.data() + g * outGroup * taps);
  std::vector<float> col(static_cast<size_t>(taps * outSize));
  for (int64_t n = 0; n < w.batch; ++n)
    for (int64_t g = 0; g < w.groups; ++g) {
      std::fill(col.begin(), col.end(), 0.0f);
      gemm(taps, outSize, outGroup, kT.data() + g * outGroup * taps,
           dy.data() + (n * w.outChannels + g * outGroup) * outSize,
           col.data());
      col2im(w, col, inGroup,
             dx.data() + (n * w.inChannels + g * inGroup) * inSize);
    }
  writeFloats(dx, result);
  return {};
}

/// dW_g (C_out/g x taps) = sum over samples of dY_g im2col(X_g)^T.
std::string convGradWeight(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &grad = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = makeConvWindow(call, input.shape, result.shape,
                                         grad.shape, "grad", w);
      !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, convGradWeight, {}, {0});

  std::vector<float> x = readFloats(input), dy = readFloats(grad);
  std::vector<float> dk(static_cast<size_t>(result.numel()), 0.0f);
  int64_t inGroup = w.inChannels / w.groups,
          outGroup = w.outChannels / w.groups;
  int64_t taps = inGroup * product(w.kernel);
  int64_t inSize = product(w.in), outSize = product(w.out);
  std::vector<float> col(static_cast<size_t>(taps * outSize));
  std::vector<float> colT(col.size());
  for (int64_t n = 0; n < w.batch; ++n)
    for (int64_t g = 0; g < w.groups; ++g) {
      im2col(w, x.data() + (n * w.inChannels + g * inGroup) * inSize, inGroup,
             col);
      transpose(taps, outSize, col.data(), colT.data());
      gemm(outGroup, taps, outSize,
           dy.data() + (n * w.outChannels + g * outGroup) * outSize,
           colT.data(), dk.data() + g * outGroup * taps);
    }
  writeFloats(dk, result);
  return {};
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// Calls fn(inputIndex) for every element of the pooling window of output
/// position `out` (flat, within one plane) that is not padding, in window
/// order.
template <typename Fn>
void forEachPoolTap(const Window &w, int64_t out, Fn fn) {
  int64_t ow = out % w.out[2], oh = out / w.out[2] % w.out[1],
          od = out / (w.out[2] * w.out[1]);
  int64_t d0 = od * w.stride[0] - w.padding[0];
  int64_t h0 = oh * w.stride[1] - w.padding[1];
  int64_t w0 = ow * w.stride[2] - w.padding[2];
  for (int64_t id = std::max<int64_t>(d0, 0);
       id < std::min(d0 + w.kernel[0], w.in[0]); ++id)
    for (int64_t ih = std::max<int64_t>(h0, 0);
         ih < std::min(h0 + w.kernel[1], w.in[1]); ++ih)
      for (int64_t iw = std::max<int64_t>(w0, 0);
           iw < std::min(w0 + w.kernel[2], w.in[2]); ++iw)
        fn((id * w.in[1] + ih) * w.in[2] + iw);
}

/// The input index of output `out`'s maximum within `plane`: the first in
/// window order, or the last NaN, as PyTorch picks it. Padding never wins
/// (a window always holds an input element: padding <= kernel / 2).
int64_t poolArgmax(const Window &w, const float *plane, int64_t out) {
  int64_t best = -1;
  forEachPoolTap(w, out, [&](int64_t in) {
    if (best < 0 || plane[in] > plane[best] || std::isnan(plane[in]))
      best = in;
  });
  return best;
}

std::string maxPoolForward(OpCall &call) {
  if (std::string error = checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          makePoolWindow(call, input.shape, result.shape, "result", w);
      !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, maxPoolForward);
  std::vector<float> x = readFloats(input);
  std::vector<float> y(static_cast<size_t>(result.numel()));
  int64_t inSize = product(w.in), outSize = product(w.out);
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane) {
    const float *in = x.data() + plane * inSize;
    for (int64_t o = 0; o < outSize; ++o)
      y[plane * outSize + o] = in[poolArgmax(w, in, o)];
  }
  writeFloats(y, result);
  return {};
}

/// Recomputes each window's argmax from the forward input with the
/// forward's rule, so ties and NaNs route exactly as the forward chose; the
/// forward output is checked for its shape only.
std::string maxPoolGrad(OpCall &call) {
  if (std::string error = checkSignature(call, 3, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &output = call.operands[1];
  const TensorView &grad = call.operands[2];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          makePoolWindow(call, input.shape, grad.shape, "grad", w);
      !error.empty())
    return error;
  if (output.shape != grad.shape || result.shape != input.shape)
    return "output " + formatShape(output.shape) + " and result " +
           formatShape(result.shape) + " must have the shapes of grad " +
           formatShape(grad.shape) + " and input " + formatShape(input.shape);
  if (w.channelsLast)
    return runChannelsFirst(call, maxPoolGrad);
  std::vector<float> x = readFloats(input), dy = readFloats(grad);
  std::vector<float> dx(x.size(), 0.0f);
  int64_t inSize = product(w.in), outSize = product(w.out);
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane) {
    const float *in = x.data() + plane * inSize;
    for (int64_t o = 0; o < outSize; ++o)
      dx[plane * inSize + poolArgmax(w, in, o)] += dy[plane * outSize + o];
  }
  writeFloats(dx, result);
  return {};
}

/// The position of input index `in` (flat within a plane) in output
/// `out`'s window: row-major over the kernel, padding counted.
int64_t windowPosition(const Window &w, int64_t out, int64_t in) {
  int64_t o[3] = {out / (w.out[2] * w.out[1]), out / w.out[2] % w.out[1],
                  out % w.out[2]};
  int64_t i[3] = {in / (w.in[2] * w.in[1]), in / w.in[2] % w.in[1],
                  in % w.in[2]};
  int64_t position = 0;
  for (int d = 0; d < 3; ++d)
    position =
        position * w.kernel[d] + i[d] - (o[d] * w.stride[d] - w.padding[d]);
  return position;
}

/// The input index (flat within a plane) at window position `position` of
/// output `out`, or -1 where it falls on padding or outside the window.
int64_t windowInput(const Window &w, int64_t out, int64_t position) {
  if (position < 0 || position >= product(w.kernel))
    return -1;
  int64_t o[3] = {out / (w.out[2] * w.out[1]), out / w.out[2] % w.out[1],
                  out % w.out[2]};
  int64_t k[3] = {position / (w.kernel[2] * w.kernel[1]),
                  position / w.kernel[2] % w.kernel[1], position % w.kernel[2]};
  int64_t in = 0;
  for (int d = 0; d < 3; ++d) {
    int64_t i = o[d] * w.stride[d] - w.padding[d] + k[d];
    if (i < 0 || i >= w.in[d])
      return -1;
    in = in * w.in[d] + i;
  }
  return in;
}

} // namespace

/// var.max_pool's output and poolArgmax's choice as its window position.
std::string maxPoolWithIndices(OpCall &call) {
  Window w;
  if (std::string error = makeIndexedPoolWindow(call, true, w); !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, maxPoolWithIndices);
  std::vector<float> x = readFloats(call.operands[0]);
  std::vector<float> y(static_cast<size_t>(call.results[0].numel()));
  auto *indices = static_cast<int8_t *>(call.results[1].data);
  int64_t inSize = product(w.in), outSize = product(w.out);
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane) {
    const float *in = x.data() + plane * inSize;
    for (int64_t o = 0; o < outSize; ++o) {
      int64_t best = poolArgmax(w, in, o);
      y[plane * outSize + o] = in[best];
      indices[plane * outSize + o] =
          static_cast<int8_t>(windowPosition(w, o, best));
    }
  }
  writeFloats(y, call.results[0]);
  return {};
}

namespace {

/// maxPoolGrad's sums, in its order, with each argmax read from the indices
/// instead of found again in the input.
std::string maxPoolGradIndices(OpCall &call) {
  Window w;
  if (std::string error = makeIndexedPoolWindow(call, false, w); !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, maxPoolGradIndices);
  const auto *indices = static_cast<const int8_t *>(call.operands[0].data);
  std::vector<float> dy = readFloats(call.operands[1]);
  std::vector<float> dx(static_cast<size_t>(call.results[0].numel()), 0.0f);
  int64_t inSize = product(w.in), outSize = product(w.out);
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane)
    for (int64_t o = 0; o < outSize; ++o) {
      int64_t in = windowInput(w, o, indices[plane * outSize + o]);
      if (in >= 0)
        dx[plane * inSize + in] += dy[plane * outSize + o];
    }
  writeFloats(dx, call.results[0]);
  return {};
}

/// Padding counts as zeros (count_include_pad): every window divides by
/// prod(kernel), which floor mode never lets overhang the padded input.
std::string avgPoolForward(OpCall &call) {
  if (std::string error = checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          makePoolWindow(call, input.shape, result.shape, "result", w);
      !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, avgPoolForward);
  std::vector<float> x = readFloats(input);
  std::vector<float> y(static_cast<size_t>(result.numel()));
  int64_t inSize = product(w.in), outSize = product(w.out);
  float scale = 1.0f / static_cast<float>(product(w.kernel));
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane) {
    const float *in = x.data() + plane * inSize;
    for (int64_t o = 0; o < outSize; ++o) {
      float sum = 0.0f;
      forEachPoolTap(w, o, [&](int64_t i) { sum += in[i]; });
      y[plane * outSize + o] = sum * scale;
    }
  }
  writeFloats(y, result);
  return {};
}

std::string avgPoolGrad(OpCall &call) {
  if (std::string error = checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error =
          makePoolWindow(call, result.shape, grad.shape, "grad", w);
      !error.empty())
    return error;
  if (w.channelsLast)
    return runChannelsFirst(call, avgPoolGrad);
  std::vector<float> dy = readFloats(grad);
  std::vector<float> dx(static_cast<size_t>(result.numel()), 0.0f);
  int64_t inSize = product(w.in), outSize = product(w.out);
  float scale = 1.0f / static_cast<float>(product(w.kernel));
  for (int64_t plane = 0; plane < w.batch * w.inChannels; ++plane) {
    float *in = dx.data() + plane * inSize;
    for (int64_t o = 0; o < outSize; ++o) {
      float share = dy[plane * outSize + o] * scale;
      forEachPoolTap(w, o, [&](int64_t i) { in[i] += share; });
    }
  }
  writeFloats(dx, result);
  return {};
}

std::string globalAvgPoolForward(OpCall &call) {
  if (std::string error = checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  if (std::string error =
          checkGlobalPool(input.shape, result.shape, call.getBool("keep_dims"),
                          "result", isChannelsLast(call));
      !error.empty())
    return error;
  if (isChannelsLast(call))
    return runChannelsFirst(call, globalAvgPoolForward);
  std::vector<float> x = readFloats(input);
  int64_t planes = input.shape[0] * input.shape[1];
  int64_t size = planes ? input.numel() / planes : 0;
  std::vector<float> y(static_cast<size_t>(planes));
  for (int64_t p = 0; p < planes; ++p) {
    float sum = 0.0f;
    for (int64_t i = 0; i < size; ++i)
      sum += x[p * size + i];
    y[p] = sum / static_cast<float>(size);
  }
  writeFloats(y, result);
  return {};
}

std::string globalAvgPoolGrad(OpCall &call) {
  if (std::string error = checkSignature(call, 1, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  TensorView &result = call.results[0];
  if (std::string error =
          checkGlobalPool(result.shape, grad.shape, grad.shape.size() != 2,
                          "grad", isChannelsLast(call));
      !error.empty())
    return error;
  if (isChannelsLast(call))
    return runChannelsFirst(call, globalAvgPoolGrad);
  std::vector<float> dy = readFloats(grad);
  int64_t planes = result.shape[0] * result.shape[1];
  int64_t size = planes ? result.numel() / planes : 0;
  std::vector<float> dx(static_cast<size_t>(result.numel()));
  for (int64_t p = 0; p < planes; ++p)
    std::fill_n(dx.begin() + p * size, size, dy[p] / static_cast<float>(size));
  writeFloats(dx, result);
  return {};
}

//===----------------------------------------------------------------------===//
// Linear
//===----------------------------------------------------------------------===//

/// Y (rows x out) = X (rows x in) W^T (in x out) + b.
std::string linearForward(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  int64_t rows;
  if (std::string error =
          checkLinear(input.shape, weight.shape, result.shape, "result", rows);
      !error.empty())
    return error;
  int64_t out = weight.shape[0], in = weight.shape[1];
  bool hasBias = call.operands.size() == 3;
  if (hasBias && call.operands[2].shape != Shape{out})
    return "bias is " + formatShape(call.operands[2].shape) + ", expected (" +
           std::to_string(out) + ")";
  std::vector<float> x = readFloats(input), k = readFloats(weight);
  std::vector<float> kT(k.size());
  transpose(out, in, k.data(), kT.data());
  std::vector<float> y(static_cast<size_t>(rows * out), 0.0f);
  if (hasBias) {
    std::vector<float> bias = readFloats(call.operands[2]);
    for (int64_t r = 0; r < rows; ++r)
      std::copy(bias.begin(), bias.end(), y.begin() + r * out);
  }
  gemm(rows, out, in, x.data(), kT.data(), y.data());
  writeFloats(y, result);
  return {};
}

/// dX (rows x in) = dY (rows x out) W (out x in).
std::string linearGradInput(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  int64_t rows;
  if (std::string error =
          checkLinear(result.shape, weight.shape, grad.shape, "grad", rows);
      !error.empty())
    return error;
  std::vector<float> dy = readFloats(grad), k = readFloats(weight);
  std::vector<float> dx(static_cast<size_t>(result.numel()), 0.0f);
  gemm(rows, weight.shape[1], weight.shape[0], dy.data(), k.data(), dx.data());
  writeFloats(dx, result);
  return {};
}

/// dW (out x in) = dY^T (out x rows) X (rows x in).
std::string linearGradWeight(OpCall &call) {
  if (std::string error = checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &grad = call.operands[1];
  TensorView &result = call.results[0];
  int64_t rows;
  if (std::string error =
          checkLinear(input.shape, result.shape, grad.shape, "grad", rows);
      !error.empty())
    return error;
  int64_t out = result.shape[0], in = result.shape[1];
  std::vector<float> x = readFloats(input), dy = readFloats(grad);
  std::vector<float> dyT(dy.size());
  transpose(rows, out, dy.data(), dyT.data());
  std::vector<float> dk(static_cast<size_t>(out * in), 0.0f);
  gemm(out, in, rows, dyT.data(), x.data(), dk.data());
  writeFloats(dk, result);
  return {};
}

} // namespace

void registerConvPoolOps(OpTable &table) {
  table["var.conv"] = convForward;
  table["var.conv_grad_input"] = convGradInput;
  table["var.conv_grad_weight"] = convGradWeight;
  table["var.max_pool"] = maxPoolForward;
  table["var.max_pool_grad"] = maxPoolGrad;
  table["var.max_pool_with_indices"] = maxPoolWithIndices;
  table["var.max_pool_grad_indices"] = maxPoolGradIndices;
  table["var.avg_pool"] = avgPoolForward;
  table["var.avg_pool_grad"] = avgPoolGrad;
  table["var.global_avg_pool"] = globalAvgPoolForward;
  table["var.global_avg_pool_grad"] = globalAvgPoolGrad;
  table["var.linear"] = linearForward;
  table["var.linear_grad_input"] = linearGradInput;
  table["var.linear_grad_weight"] = linearGradWeight;
}

} // namespace var::cpu
