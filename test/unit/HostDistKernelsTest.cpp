// The host implementation of the dist primitives: an optimizer update is
// elementwise, so updating a range in one call or in pieces gives the same
// bits whatever the threads and chunks; the gradient's partial sums of
// squares add up to its sum of squares and repeat exactly.
#include "runtime/exec/HostDistKernels.h"

#include <gtest/gtest.h>

#include <cmath>
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

} // namespace
