// The host implementation of the dist primitives: an optimizer update is
// elementwise, so updating a range in one call or in pieces gives the same
// bits whatever the threads and chunks; the gradient's partial sums of
// squares add up to its sum of squares and repeat exactly; AdamW and SGD
// are the f32 formulas below, one rounding an operation in their order
// (the CUDA kernel's too: test/gpu/CudaDistTest.cpp).
#include "runtime/exec/HostDistKernels.h"
#include "runtime/cpu/CpuOps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using var::exec::kSquarePartials;
using var::exec::OptimizerStep;

struct Buffers {
  std::vector<float> master, m, v, grad, result;
  std::vector<double> squares = std::vector<double>(kSquarePartials);
  var::cpu::UpdateScalars scalars;
  explicit Buffers(int64_t count) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto *values : {&master, &m, &v, &grad})
      for (int64_t i = 0; i < count; ++i)
        values->push_back(values == &v ? std::fabs(u(rng)) : u(rng));
    result.resize(static_cast<size_t>(count));
  }
  OptimizerStep step(bool adamw, int64_t first, int64_t count) {
    OptimizerStep s;
    s.adamw = adamw;
    s.master = master.data() + first;
    s.state[0] = m.data() + first;
    s.state[1] = v.data() + first;
    s.grad = grad.data() + first;
    s.count = count;
    s.result = result.data() + first;
    s.squares = squares.data();
    scalars.lr = 0.01f;
    scalars.step = 3;
    s.weightDecay = 0.1;
    s.momentum = 0.9;
    s.dampening = 0.1;
    s.nesterov = true;
    var::exec::computeBiasCorrections(s.beta1, s.beta2, scalars);
    s.scalars = &scalars;
    return s;
  }
};

TEST(HostDistKernelsTest, UpdatesDoNotDependOnChunking) {
  const int64_t count = 3000017; // many chunks, so several threads
  for (bool adamw : {true, false}) {
    SCOPED_TRACE(adamw);
    Buffers whole(count), pieces(count);
    var::exec::host::updateOptimizer(whole.step(adamw, 0, count));
    double sum = 0;
    for (double partial : whole.squares)
      sum += partial;
    int64_t first = 0;
    for (int64_t piece :
         {int64_t(1), int64_t(4095), int64_t(1000000), count - 1004096}) {
      var::exec::host::updateOptimizer(pieces.step(adamw, first, piece));
      first += piece;
    }
    EXPECT_EQ(whole.master, pieces.master);
    EXPECT_EQ(whole.m, pieces.m);
    EXPECT_EQ(whole.v, pieces.v);
    EXPECT_EQ(whole.result, whole.master);

    double sequential = 0;
    for (float g : whole.grad)
      sequential += static_cast<double>(g) * g;
    EXPECT_NEAR(sum, sequential, 1e-12 * sequential);
    Buffers again(count);
    var::exec::host::updateOptimizer(again.step(adamw, 0, count));
    EXPECT_EQ(again.squares, whole.squares);
  }
}

/// The reference's f32 operations: the f64 operation rounded to f32 is the
/// correctly rounded f32 result for +, -, *, / and sqrt (f64 has more than
/// 2 * 24 + 2 bits), and no compiler contracts across the rounding.
float add(float a, float b) { return static_cast<float>(double(a) + b); }
float sub(float a, float b) { return static_cast<float>(double(a) - b); }
float mul(float a, float b) { return static_cast<float>(double(a) * b); }
float div(float a, float b) { return static_cast<float>(double(a) / b); }
float root(float a) { return static_cast<float>(std::sqrt(double(a))); }

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

/// How many of `got`'s elements differ from `expected`'s in their bits,
/// and the first.
void expectSameBits(const std::vector<float> &got,
                    const std::vector<float> &expected, const char *what) {
  ASSERT_EQ(got.size(), expected.size());
  size_t differ = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (bitsOf(got[i]) != bitsOf(expected[i]) && differ++ == 0)
      first = i;
  EXPECT_EQ(differ, 0u) << what << ": first at " << first << ", " << got[first]
                        << " for " << expected[first];
}

struct SgdCase {
  const char *name;
  double momentum, dampening;
  bool nesterov;
  int64_t step;
};

TEST(HostDistKernelsTest, UpdatesAreTheF32Formulas) {
  // Enough elements, and a rate large enough for the update's last bits to
  // reach the weights', that an operation out of order shows.
  const int64_t count = 4099;
  const float clip = 0.37f;
  for (bool clipped : {false, true})
    for (bool adamw : {true, false})
      for (const SgdCase &c : {SgdCase{"plain", 0, 0, false, 3},
                               SgdCase{"momentum step 1", 0.9, 0.1, false, 1},
                               SgdCase{"momentum", 0.9, 0.1, false, 4},
                               SgdCase{"nesterov", 0.9, 0, true, 2}}) {
        if (adamw && c.momentum != 0)
          continue; // AdamW has no SGD variants
        SCOPED_TRACE(std::string(adamw ? "adamw" : "sgd ") + c.name +
                     (clipped ? " clipped" : ""));
        Buffers b(count);
        OptimizerStep step = b.step(adamw, 0, count);
        step.momentum = c.momentum;
        step.dampening = c.dampening;
        step.nesterov = c.nesterov;
        step.clip = clipped ? &clip : nullptr;
        if (!adamw && c.momentum == 0)
          step.state[0] = step.state[1] = nullptr; // SGD keeps no state
        b.scalars.lr = 0.5f;
        b.scalars.step = c.step;
        var::exec::computeBiasCorrections(step.beta1, step.beta2, b.scalars);
        Buffers expected(count);
        var::exec::host::updateOptimizer(step);

        float coef = clipped ? clip : 1.0f, lr = b.scalars.lr;
        auto f32 = [](double value) { return static_cast<float>(value); };
        float wd = f32(step.weightDecay);
        for (int64_t i = 0; i < count; ++i) {
          float &w = expected.master[i], &m = expected.m[i], &v = expected.v[i];
          float g = mul(expected.grad[i], coef);
          if (adamw) {
            m = add(mul(f32(step.beta1), m), mul(f32(1 - step.beta1), g));
            v = add(mul(f32(step.beta2), v),
                    mul(mul(f32(1 - step.beta2), g), g));
            float denom =
                add(div(root(v), f32(std::sqrt(b.scalars.biasCorrection2))),
                    f32(step.eps));
            float decayed = sub(w, mul(f32(double(lr) * step.weightDecay), w));
            float stepSize = f32(double(lr) / b.scalars.biasCorrection1);
            w = sub(decayed, div(mul(stepSize, m), denom));
            continue;
          }
          g = add(g, mul(wd, w));
          if (c.momentum != 0) {
            float mu = f32(c.momentum);
            m = c.step == 1 ? g : add(mul(mu, m), mul(f32(1 - c.dampening), g));
            g = c.nesterov ? add(g, mul(mu, m)) : m;
          }
          w = sub(w, mul(lr, g));
        }
        expectSameBits(b.master, expected.master, "master");
        expectSameBits(b.result, expected.master, "result");
        expectSameBits(b.m, expected.m, "state 0");
        expectSameBits(b.v, expected.v, "state 1");
      }
}

TEST(HostDistKernelsTest, UpdatesRepeatBitForBit) {
  const int64_t count = 1000003; // many chunks on several threads
  for (bool adamw : {true, false}) {
    SCOPED_TRACE(adamw);
    Buffers first(count), second(count);
    var::exec::host::updateOptimizer(first.step(adamw, 0, count));
    var::exec::host::updateOptimizer(second.step(adamw, 0, count));
    expectSameBits(second.master, first.master, "master");
    expectSameBits(second.m, first.m, "state 0");
    expectSameBits(second.v, first.v, "state 1");
    EXPECT_EQ(std::memcmp(first.squares.data(), second.squares.data(),
                          kSquarePartials * sizeof(double)),
              0);
  }
}

// With a bf16 result (the executor's fuseStores) the update leaves the new
// master rounded as var.cast rounds it, beside the f32 master.
TEST(HostDistKernelsTest, Bf16ResultIsTheRoundedMaster) {
  const int64_t count = 100003;
  Buffers buffers(count);
  std::vector<uint16_t> rounded(count, 0xffff);
  var::exec::OptimizerStep step = buffers.step(true, 0, count);
  step.resultBf16 = rounded.data();
  var::exec::host::updateOptimizer(step);
  for (int64_t i = 0; i < count; ++i)
    ASSERT_EQ(rounded[i], var::cpu::floatToBf16(buffers.master[i])) << i;
}

} // namespace
