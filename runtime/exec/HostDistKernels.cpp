// Host implementations of the dist ops' primitives, the arithmetic the
// executor used to do inline: f32 storage; the optimizer's per-element math
// in f32 (HostDistKernels.h), its sums of squares in f64.
#include "runtime/exec/HostDistKernels.h"
#include "runtime/cpu/CpuOps.h"
#include "runtime/exec/WorkerPool.h"

#include <algorithm>
#include <atomic>
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

// The update's loops over a span of elements, one per optimizer, written so
// that the compiler vectorizes them: the factors by value (no store can
// change them) and restrict pointers. The arithmetic is adamwElement's and
// sgdElement's, the CUDA kernel's too.

void adamwSpan(UpdateFactors f, const float *__restrict grad,
               float *__restrict p, float *__restrict m, float *__restrict v,
               int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = adamwElement(f, grad[i], m[i], v[i], p[i]);
}

void sgdSpan(UpdateFactors f, const float *__restrict grad, float *__restrict p,
             int64_t n) {
  f.hasMomentum = false;
  for (int64_t i = 0; i < n; ++i) {
    float unused = 0;
    p[i] = sgdElement(f, grad[i], unused, p[i]);
  }
}

void sgdMomentumSpan(UpdateFactors f, const float *__restrict grad,
                     float *__restrict p, float *__restrict buf, int64_t n) {
  f.hasMomentum = true;
  for (int64_t i = 0; i < n; ++i)
    p[i] = sgdElement(f, grad[i], buf[i], p[i]);
}

/// Lanes of a sum of squares: element i goes to lane i % kLanes, and the
/// lanes are added in order at the end. Independent sums, so that the loop
/// vectorizes and does not wait on each addition; the order depends on the
/// elements' positions alone.
constexpr int64_t kLanes = 8;

/// Elements [begin, end) of the update, in spans whose gradient is widened
/// to f32 first; returns their gradient's sum of squares (kLanes lanes).
double updateRange(const OptimizerStep &s, int64_t begin, int64_t end) {
  UpdateFactors f = optionFactors(s);
  addStepFactors(f, s, *s.scalars, s.clip ? *s.clip : 1.0f);
  constexpr int64_t kSpan = 1024; // a multiple of kLanes
  float widened[kSpan];
  double lanes[kLanes] = {};
  for (int64_t first = begin; first < end; first += kSpan) {
    int64_t n = std::min(kSpan, end - first);
    const float *grad = static_cast<const float *>(s.grad) + first;
    if (s.gradType == DType::BF16) {
      const uint16_t *bits = static_cast<const uint16_t *>(s.grad) + first;
      for (int64_t i = 0; i < n; ++i)
        widened[i] = cpu::bf16ToFloat(bits[i]);
      grad = widened;
    }
    int64_t whole = n / kLanes * kLanes;
    for (int64_t i = 0; i < whole; i += kLanes)
      for (int64_t k = 0; k < kLanes; ++k)
        lanes[k] += static_cast<double>(grad[i + k]) * grad[i + k];
    for (int64_t i = whole; i < n; ++i) // the range's last span
      lanes[i - whole] += static_cast<double>(grad[i]) * grad[i];
    float *p = s.master + first;
    if (s.adamw)
      adamwSpan(f, grad, p, s.state[0] + first, s.state[1] + first, n);
    else if (f.hasMomentum)
      sgdMomentumSpan(f, grad, p, s.state[0] + first, n);
    else
      sgdSpan(f, grad, p, n);
    if (s.result)
      std::memmove(s.result + first, p, static_cast<size_t>(n) * sizeof(float));
    if (s.resultBf16)
      for (int64_t i = 0; i < n; ++i)
        s.resultBf16[first + i] = cpu::floatToBf16(p[i]);
  }
  double squares = 0;
  for (double lane : lanes)
    squares += lane;
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
  // many threads ran or which took what. Each thread claims the next chunk
  // as it finishes one: a thread the OS runs late (the host beside a step
  // is busy: the CUDA driver's threads, the data loader) holds up one chunk,
  // not a fixed share of the update.
  int64_t chunk = std::max<int64_t>(
      (step.count + kSquarePartials - 1) / kSquarePartials, 4096);
  int64_t chunks = (step.count + chunk - 1) / chunk;
  std::fill(step.squares, step.squares + kSquarePartials, 0.0);
  std::atomic<int64_t> next{0};
  auto work = [&](int64_t, int64_t) {
    for (int64_t c = next++; c < chunks; c = next++)
      step.squares[c] =
          updateRange(step, c * chunk, std::min(step.count, (c + 1) * chunk));
  };
  // A thread for every kThreadElements: waking a sleeping worker costs
  // more than a small bucket's whole update (tens to hundreds of
  // microseconds on a virtual machine's idle cores).
  constexpr int64_t kThreadElements = 1 << 16;
  runOnThreads(
      std::min<int64_t>((step.count + kThreadElements - 1) / kThreadElements,
                        hardwareThreads()),
      work);
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
