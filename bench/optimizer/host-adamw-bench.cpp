// host-adamw-bench: the host AdamW an offloaded ZeRO step runs
// (exec::host::updateOptimizer, on every hardware thread) on one bucket:
// bf16 gradients in, the f32 master, exp_avg and exp_avg_sq updated in
// place, the new parameters rounded to bf16, the gradient's sum of squares
// in fixed partials. Prints one JSON line: the median milliseconds of
// --reps updates and the bytes they move a second. bench/optimizer/run.sh
// runs PyTorch's CPU AdamW on the same bucket beside it.
#include "runtime/exec/Backend.h"
#include "runtime/exec/HostDistKernels.h"
#include "runtime/exec/WorkerPool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: host-adamw-bench [--elements=N] [--reps=N]\n"
    "\n"
    "Times the host AdamW of an offloaded ZeRO step on one bucket of N\n"
    "parameters (bf16 gradients and rounded result, f32 master and state)\n"
    "and prints a JSON line: elements, threads, median ms, GB/s.\n"
    "\n"
    "  --elements=N  the bucket's parameters (default 2319360: mobilenet_v2's\n"
    "                bf16 bucket)\n"
    "  --reps=N      timed updates, after 3 untimed (default 20)\n"
    "  --help        this text\n";

bool parseCount(const char *arg, const char *flag, long long &value) {
  size_t length = std::strlen(flag);
  if (std::strncmp(arg, flag, length) != 0)
    return false;
  char *end = nullptr;
  value = std::strtoll(arg + length, &end, 10);
  if (*end != '\0' || value <= 0) {
    std::fprintf(stderr, "host-adamw-bench: %s needs a positive count\n", flag);
    std::exit(2);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  long long elements = 2319360, reps = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!parseCount(argv[i], "--elements=", elements) &&
        !parseCount(argv[i], "--reps=", reps)) {
      std::fprintf(stderr, "host-adamw-bench: unknown argument '%s'\n%s",
                   argv[i], kUsage);
      return 2;
    }
  }
  auto n = static_cast<size_t>(elements);
  std::vector<float> master(n), m(n, 0.0f), v(n, 0.0f);
  std::vector<uint16_t> grad(n), rounded(n);
  for (size_t i = 0; i < n; ++i) {
    master[i] = 0.01f * static_cast<float>(i % 97) - 0.5f;
    grad[i] = var::cpu::floatToBf16(1e-3f * static_cast<float>(i % 89) - 0.04f);
  }
  std::vector<double> squares(var::exec::kSquarePartials);
  var::cpu::UpdateScalars scalars;
  scalars.lr = 1e-3f;
  var::exec::OptimizerStep step;
  step.master = master.data();
  step.state[0] = m.data();
  step.state[1] = v.data();
  step.grad = grad.data();
  step.gradType = var::plan::DType::BF16;
  step.count = elements;
  step.resultBf16 = rounded.data();
  step.squares = squares.data();
  step.scalars = &scalars;
  step.weightDecay = 0.01;
  std::vector<double> ms;
  for (long long r = 0; r < reps + 3; ++r) {
    scalars.step = r + 1;
    var::exec::computeBiasCorrections(step.beta1, step.beta2, scalars);
    auto start = std::chrono::steady_clock::now();
    var::exec::host::updateOptimizer(step);
    auto end = std::chrono::steady_clock::now();
    if (r >= 3)
      ms.push_back(
          std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  // Read: gradient (2), master, m, v (12); written: master, m, v (12) and
  // the rounded parameter (2).
  double bytes = 28.0 * static_cast<double>(elements);
  std::printf("{\"side\": \"varrun\", \"elements\": %lld, \"threads\": %lld, "
              "\"ms\": %.4f, \"gb_per_s\": %.2f}\n",
              elements, static_cast<long long>(var::exec::hardwareThreads()),
              median, bytes / (median * 1e-3) / 1e9);
  return 0;
}
