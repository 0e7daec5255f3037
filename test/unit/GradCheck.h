// Finite-difference checks of CPU kernels' backward against their forward,
// in double precision around f32 kernels: loss = sum(forward(x) * w) for a
// fixed random w, d loss / d x by central differences, compared with the
// backward given w as the result gradient.
#ifndef VAR_TEST_UNIT_GRADCHECK_H
#define VAR_TEST_UNIT_GRADCHECK_H

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace var::test {

/// Deterministic values in [-1, 1).
inline std::vector<float> randomValues(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> out(count);
  for (float &v : out)
    v = static_cast<float>(static_cast<int64_t>(rng() % 2000001) - 1000000) /
        1000000.0f;
  return out;
}

/// `forward` maps the inputs to one output vector. Checks, for every input
/// element (or a deterministic sample of `maxChecks` of them per input),
/// that `analytic[input][i]` matches the central difference of
/// sum(forward * outGrad) with step `eps`, within `atol + rtol * |numeric|`.
inline void expectGradients(
    const std::function<
        std::vector<float>(const std::vector<std::vector<float>> &)> &forward,
    std::vector<std::vector<float>> inputs, const std::vector<float> &outGrad,
    const std::vector<std::vector<float>> &analytic,
    const std::vector<bool> &checkInput, double eps = 1e-2, double rtol = 2e-2,
    double atol = 2e-3, size_t maxChecks = 64) {
  auto loss = [&](const std::vector<std::vector<float>> &in) {
    std::vector<float> out = forward(in);
    double sum = 0;
    for (size_t i = 0; i < out.size(); ++i)
      sum += static_cast<double>(out[i]) * outGrad[i];
    return sum;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!checkInput[k])
      continue;
    ASSERT_EQ(analytic[k].size(), inputs[k].size()) << "input " << k;
    size_t n = inputs[k].size();
    size_t stride = n > maxChecks ? n / maxChecks : 1;
    for (size_t i = 0; i < n; i += stride) {
      float saved = inputs[k][i];
      inputs[k][i] = saved + static_cast<float>(eps);
      double plus = loss(inputs);
      inputs[k][i] = saved - static_cast<float>(eps);
      double minus = loss(inputs);
      inputs[k][i] = saved;
      double numeric = (plus - minus) / (2 * eps);
      EXPECT_NEAR(analytic[k][i], numeric, atol + rtol * std::fabs(numeric))
          << "input " << k << " element " << i;
    }
  }
}

} // namespace var::test

#endif
