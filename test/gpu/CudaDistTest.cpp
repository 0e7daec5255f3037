// The CUDA backend's dist primitives against the CPU backend's (the host
// implementation) on random inputs, f32 and bf16: conversions and
// accumulation bit for bit; AdamW and SGD updates bit for bit too (the
// kernels do the host's f32 arithmetic without fused multiply-adds), the
// printed mismatch count says by how much they differ if ever; sums of
// squares within f64 rounding (another summation order). Without a GPU
// every case is skipped, and ctest counts it as skipped.
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/exec/HostDistKernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using var::exec::Backend;
using var::exec::DeviceBuffer;
using var::exec::FlatInput;
using var::exec::kSquarePartials;
using var::exec::OptimizerStep;
using var::plan::DType;

/// `count` random elements of `dtype` in [-scale, scale), as bytes.
std::vector<uint8_t> randomBytes(DType dtype, int64_t count, float scale,
                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<uint8_t> bytes(
      static_cast<size_t>(count * var::plan::getDTypeBytes(dtype)));
  for (int64_t i = 0; i < count; ++i) {
    float v = uniform(rng);
    if (dtype == DType::BF16) {
      uint16_t b = var::cpu::floatToBf16(v);
      std::memcpy(bytes.data() + 2 * i, &b, 2);
    } else {
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
  }
  return bytes;
}

std::vector<float> randomFloats(int64_t count, float scale, uint32_t seed,
                                bool positive = false) {
  std::vector<uint8_t> bytes = randomBytes(DType::F32, count, scale, seed);
  std::vector<float> values(static_cast<size_t>(count));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  if (positive)
    for (float &v : values)
      v = std::fabs(v);
  return values;
}

class CudaDistTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string whyNot;
    gpu = var::cuda::createCudaBackend(0, whyNot);
    if (!gpu)
      GTEST_SKIP() << "no GPU to test the CUDA backend on: " << whyNot;
  }

  /// A device copy of `bytes`, kept until the test ends.
  void *upload(const void *bytes, size_t size) {
    buffers.emplace_back();
    EXPECT_EQ(buffers.back().allocate(*gpu, static_cast<int64_t>(size), "test"),
              "");
    EXPECT_EQ(gpu->copyToDevice(buffers.back().data(), bytes,
                                static_cast<int64_t>(size)),
              "");
    return buffers.back().data();
  }
  template <typename T> void *upload(const std::vector<T> &values) {
    return upload(values.data(), values.size() * sizeof(T));
  }
  template <typename T> std::vector<T> download(const void *device, size_t n) {
    std::vector<T> values(n);
    EXPECT_EQ(gpu->synchronize(), "");
    EXPECT_EQ(gpu->copyToHost(values.data(), device,
                              static_cast<int64_t>(n * sizeof(T))),
              "");
    return values;
  }

  std::unique_ptr<Backend> gpu;
  std::unique_ptr<Backend> cpu = var::exec::createCpuBackend();
  std::vector<DeviceBuffer> buffers;
};

TEST_F(CudaDistTest, ConvertIsBitExact) {
  const int64_t count = 100003;
  for (DType from : {DType::F32, DType::BF16})
    for (DType to : {DType::F32, DType::BF16}) {
      SCOPED_TRACE(std::string(var::plan::getDTypeName(from)) + " to " +
                   std::string(var::plan::getDTypeName(to)));
      std::vector<uint8_t> src = randomBytes(from, count + 7, 3.0f, 1);
      size_t outBytes =
          static_cast<size_t>(count * var::plan::getDTypeBytes(to));
      std::vector<uint8_t> expected(outBytes);
      int64_t offset = 7; // from an element offset, as unpack reads
      const uint8_t *first =
          src.data() + offset * var::plan::getDTypeBytes(from);
      ASSERT_EQ(cpu->convert(expected.data(), to, first, from, count), "");
      auto *device = static_cast<uint8_t *>(upload(src));
      void *out = upload(std::vector<uint8_t>(outBytes));
      ASSERT_EQ(gpu->convert(out, to,
                             device + offset * var::plan::getDTypeBytes(from),
                             from, count),
                "");
      EXPECT_EQ(download<uint8_t>(out, outBytes), expected);
    }
}

TEST_F(CudaDistTest, AccumulateIsBitExact) {
  const int64_t count = 70001;
  for (DType type : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(std::string(var::plan::getDTypeName(type)));
    std::vector<float> sum = randomFloats(count, 1.0f, 2);
    std::vector<uint8_t> addend = randomBytes(type, count, 1.0f, 3);
    void *deviceSum = upload(sum);
    void *deviceAddend = upload(addend);
    ASSERT_EQ(cpu->accumulate(sum.data(), addend.data(), type, count), "");
    ASSERT_EQ(gpu->accumulate(static_cast<float *>(deviceSum), deviceAddend,
                              type, count),
              "");
    EXPECT_EQ(download<float>(deviceSum, count), sum);
  }
}

/// Elements that differ, printed, and the largest relative difference.
void compare(const std::vector<float> &expected, const std::vector<float> &got,
             const char *what) {
  ASSERT_EQ(expected.size(), got.size());
  size_t mismatches = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&expected[i], &got[i], 4) != 0) {
      ++mismatches;
      worst =
          std::max(worst, std::fabs(static_cast<double>(expected[i]) - got[i]) /
                              std::max(1e-30, std::fabs(double(expected[i]))));
    }
  std::printf("%s: %zu of %zu elements differ (worst relative %.3g)\n", what,
              mismatches, got.size(), worst);
  EXPECT_EQ(mismatches, 0u) << what;
}

struct UpdateCase {
  const char *name;
  bool adamw;
  DType gradType;
  bool clip;
  int64_t step;
  double momentum, dampening;
  bool nesterov;
};

TEST_F(CudaDistTest, OptimizerUpdatesMatchTheHost) {
  const int64_t count = 300007;
  const UpdateCase cases[] = {
      {"adamw f32", true, DType::F32, false, 1, 0, 0, false},
      {"adamw bf16 clipped step 7", true, DType::BF16, true, 7, 0, 0, false},
      {"sgd f32 plain", false, DType::F32, false, 3, 0, 0, false},
      {"sgd bf16 momentum step 1", false, DType::BF16, false, 1, 0.9, 0.1,
       false},
      {"sgd f32 nesterov clipped", false, DType::F32, true, 5, 0.9, 0, true},
  };
  for (const UpdateCase &c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<float> master = randomFloats(count, 1.0f, 4);
    std::vector<float> m = randomFloats(count, 0.1f, 5);
    std::vector<float> v = randomFloats(count, 0.01f, 6, /*positive=*/true);
    std::vector<uint8_t> grad = randomBytes(c.gradType, count, 0.5f, 7);
    std::vector<float> clip = {0.37f};
    std::vector<float> result(static_cast<size_t>(count));
    std::vector<double> squares(kSquarePartials);

    OptimizerStep step;
    step.adamw = c.adamw;
    step.gradType = c.gradType;
    step.count = count;
    var::cpu::UpdateScalars scalars;
    scalars.lr = 0.003f;
    scalars.step = c.step;
    step.weightDecay = 0.01;
    step.momentum = c.momentum;
    step.dampening = c.dampening;
    step.nesterov = c.nesterov;
    var::exec::computeBiasCorrections(step.beta1, step.beta2, scalars);

    OptimizerStep device = step;
    device.master = static_cast<float *>(upload(master));
    device.state[0] = static_cast<float *>(upload(m));
    device.state[1] = static_cast<float *>(upload(v));
    device.grad = upload(grad);
    device.clip = c.clip ? static_cast<const float *>(upload(clip)) : nullptr;
    device.result = static_cast<float *>(upload(result));
    device.squares = static_cast<double *>(upload(squares));
    // The kernel reads the step's values from device memory.
    device.scalars = static_cast<const var::cpu::UpdateScalars *>(
        upload(&scalars, sizeof scalars));
    ASSERT_EQ(gpu->updateOptimizer(device), "");

    step.master = master.data();
    step.state[0] = m.data();
    step.state[1] = v.data();
    step.grad = grad.data();
    step.clip = c.clip ? clip.data() : nullptr;
    step.result = result.data();
    step.squares = squares.data();
    step.scalars = &scalars;
    ASSERT_EQ(cpu->updateOptimizer(step), "");

    compare(master, download<float>(device.master, count), "master");
    compare(result, download<float>(device.result, count), "result");
    compare(m, download<float>(device.state[0], count), "state 0");
    if (c.adamw)
      compare(v, download<float>(device.state[1], count), "state 1");
    double host = 0, gpuSum = 0;
    for (double partial : squares)
      host += partial;
    for (double partial : download<double>(device.squares, kSquarePartials))
      gpuSum += partial;
    EXPECT_NEAR(gpuSum, host, 1e-12 * host);
  }
}

TEST_F(CudaDistTest, SumSquaresAndClipCoefficient) {
  std::vector<FlatInput> hostInputs, deviceInputs;
  std::vector<std::vector<uint8_t>> data;
  int64_t counts[] = {1, 4097, 250001};
  DType types[] = {DType::F32, DType::BF16, DType::BF16};
  for (int i = 0; i < 3; ++i)
    data.push_back(randomBytes(types[i], counts[i], 1.0f, 10 + i));
  for (int i = 0; i < 3; ++i) {
    hostInputs.push_back({data[i].data(), types[i], counts[i]});
    deviceInputs.push_back({upload(data[i]), types[i], counts[i]});
  }
  float hostSquares = 0;
  ASSERT_EQ(cpu->sumSquares(hostInputs, &hostSquares), "");
  auto *deviceSquares = static_cast<float *>(upload(std::vector<float>{-1}));
  ASSERT_EQ(gpu->sumSquares(deviceInputs, deviceSquares), "");
  float gpuSquares = download<float>(deviceSquares, 1)[0];
  EXPECT_NEAR(gpuSquares, hostSquares, 1e-6 * hostSquares);

  for (double maxNorm : {1.0, 1e6}) {
    SCOPED_TRACE(maxNorm);
    float hostCoef = 0;
    double hostNorm = 0;
    ASSERT_EQ(cpu->clipCoefficient(&hostSquares, maxNorm, &hostCoef, &hostNorm),
              "");
    auto *squares =
        static_cast<float *>(upload(std::vector<float>{hostSquares}));
    auto *coef = static_cast<float *>(upload(std::vector<float>{0}));
    auto *norm = static_cast<double *>(upload(std::vector<double>{0}));
    ASSERT_EQ(gpu->clipCoefficient(squares, maxNorm, coef, norm), "");
    EXPECT_EQ(download<float>(coef, 1)[0], hostCoef);
    EXPECT_EQ(download<double>(norm, 1)[0], hostNorm);
  }
}

} // namespace
