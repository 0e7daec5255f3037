// Host implementations of the dist ops' primitives, the arithmetic the
// executor used to do inline: f32 storage, f64 per-element math.
#include "runtime/exec/HostDistKernels.h"
#include "runtime/exec/WorkerPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace var::exec::host {

using plan::DType;

namespace {

float loadElement(const void *data, DType type, int64_t i) {
  if (type == DType::BF16)
    return cpu::bf16ToFloat(static_cast<const uint16_t *>(data)[i]);
  return static_cast<const float *>(data)[i];
}

/// Elements [begin, end) of the update; returns their gradient's sum of
/// squares (summed in element order).
double updateRange(const OptimizerStep &s, int64_t begin, int64_t end) {
  double squares = 0;
  double coef = s.clip ? static_cast<double>(*s.clip) : 1.0;
  const cpu::UpdateScalars scalars = *s.scalars;
  float *p = s.master;
  for (int64_t i = begin; i < end; ++i) {
    float grad = loadElement(s.grad, s.gradType, i);
    squares += static_cast<double>(grad) * grad;
    if (s.adamw) {
      float *m = s.state[0], *v = s.state[1];
      double g = grad * coef;
      double w = p[i] * (1.0 - scalars.lr * s.weightDecay);
      m[i] = static_cast<float>(s.beta1 * m[i] + (1.0 - s.beta1) * g);
      v[i] = static_cast<float>(s.beta2 * v[i] + (1.0 - s.beta2) * g * g);
      double denom = std::sqrt(v[i] / scalars.biasCorrection2) + s.eps;
      p[i] = static_cast<float>(
          w - scalars.lr * (m[i] / scalars.biasCorrection1) / denom);
    } else {
      double g = grad * coef + s.weightDecay * p[i];
      if (s.momentum != 0.0) {
        float &buf = s.state[0][i];
        buf = scalars.step == 1 ? static_cast<float>(g)
                                : static_cast<float>(s.momentum * buf +
                                                     (1.0 - s.dampening) * g);
        g = s.nesterov ? g + s.momentum * buf : buf;
      }
      p[i] = static_cast<float>(p[i] - scalars.lr * g);
    }
    if (s.result)
      s.result[i] = p[i];
  }
  return squares;
}

} // namespace

void convert(void *dst, DType dstType, const void *src, DType srcType,
             int64_t count) {
  if (dstType == srcType) {
    if (dst != src)
      std::memmove(dst, src,
                   static_cast<size_t>(count * plan::getDTypeBytes(dstType)));
    return;
  }
  auto range = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float value = loadElement(src, srcType, i);
      if (dstType == DType::BF16)
        static_cast<uint16_t *>(dst)[i] = cpu::floatToBf16(value);
      else
        static_cast<float *>(dst)[i] = value;
    }
  };
  // Element by element, so the split changes nothing but the time: an
  // offloaded ZeRO-3 step narrows every master parameter here.
  constexpr int64_t kChunk = 1 << 16;
  int64_t chunks = (count + kChunk - 1) / kChunk;
  if (chunks < 4) {
    range(0, count);
    return;
  }
  runOnThreads(std::min(chunks, hardwareThreads()),
               [&](int64_t first, int64_t stride) {
                 for (int64_t c = first; c < chunks; c += stride)
                   range(c * kChunk, std::min(count, (c + 1) * kChunk));
               });
}

void accumulate(float *sum, const void *addend, DType addendType,
                int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    sum[i] += loadElement(addend, addendType, i);
}

void updateOptimizer(const OptimizerStep &step) {
  // kSquarePartials fixed chunks (partial k covers chunk k), each summed in
  // order; threads take whole chunks, so the partials never depend on how
  // many threads ran.
  int64_t chunk = std::max<int64_t>(
      (step.count + kSquarePartials - 1) / kSquarePartials, 4096);
  int64_t chunks = (step.count + chunk - 1) / chunk;
  std::fill(step.squares, step.squares + kSquarePartials, 0.0);
  auto work = [&](int64_t first, int64_t stride) {
    for (int64_t c = first; c < chunks; c += stride)
      step.squares[c] =
          updateRange(step, c * chunk, std::min(step.count, (c + 1) * chunk));
  };
  runOnThreads(std::min<int64_t>(chunks, hardwareThreads()), work);
}

void sumSquares(const std::vector<FlatInput> &inputs, float *result) {
  double sum = 0;
  for (const FlatInput &input : inputs)
    for (int64_t i = 0; i < input.count; ++i) {
      float v = loadElement(input.data, input.dtype, i);
      sum += static_cast<double>(v) * v;
    }
  *result = static_cast<float>(sum);
}

void clipCoefficient(const float *squares, double maxNorm, float *coefficient,
                     double *norm) {
  *norm = std::sqrt(*squares); // in f32, as the squares are
  *coefficient = static_cast<float>(std::min(1.0, maxNorm / (*norm + 1e-6)));
}

} // namespace var::exec::host

namespace var::exec {

void computeBiasCorrections(double beta1, double beta2,
                            cpu::UpdateScalars &scalars) {
  scalars.biasCorrection1 =
      1.0 - std::pow(beta1, static_cast<double>(scalars.step));
  scalars.biasCorrection2 =
      1.0 - std::pow(beta2, static_cast<double>(scalars.step));
}

} // namespace var::exec
