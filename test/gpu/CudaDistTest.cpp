// The CUDA backend's dist primitives against the CPU backend's (the host
// implementation) on random inputs, f32 and bf16: conversions and
// accumulation bit for bit; AdamW and SGD updates bit for bit too (the
// kernel does the host's f32 arithmetic without fused multiply-adds), over
// sizes and offsets that run its vector loop, its scalar head and tail and
// its scalar fallback, the printed mismatch count says by how much they
// differ if ever; nothing outside the update written; sums of squares
// within f64 rounding (another summation order), the same from run to run.
// Without a GPU every case is skipped, and ctest counts it as skipped.
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

struct UpdateCase {
  const char *name;
  bool adamw;
  DType gradType;
  bool clip;
  int64_t step;
  double momentum, dampening;
  bool nesterov;
  double weightDecay;
};

const UpdateCase kUpdateCases[] = {
    {"adamw f32", true, DType::F32, false, 1, 0, 0, false, 0.01},
    {"adamw bf16 clipped step 7", true, DType::BF16, true, 7, 0, 0, false,
     0.01},
    {"adamw bf16 no decay", true, DType::BF16, false, 2, 0, 0, false, 0},
    {"sgd f32 plain", false, DType::F32, false, 3, 0, 0, false, 0.01},
    {"sgd bf16 plain clipped", false, DType::BF16, true, 2, 0, 0, false, 0},
    {"sgd bf16 momentum step 1", false, DType::BF16, false, 1, 0.9, 0.1, false,
     0.01},
    {"sgd f32 momentum step 4", false, DType::F32, false, 4, 0.9, 0.1, false,
     0.01},
    {"sgd f32 nesterov clipped", false, DType::F32, true, 5, 0.9, 0, true,
     0.01},
};

/// Where an update's arrays start in their allocations (in elements): the
/// kernel moves four elements at a time where every array is 16-byte
/// aligned at one element (the gradient 4-element aligned), one at a time
/// before and after, and all of them one at a time when the arrays'
/// alignments differ.
struct UpdateLayout {
  int64_t count;
  int64_t offset;       // master's and the states'
  int64_t gradOffset;   // the gradient's
  int64_t resultOffset; // -1: no result
};

const UpdateLayout kUpdateLayouts[] = {
    {300007, 0, 0, 0},  // quads, then a tail of 3
    {300007, 1, 1, 1},  // a head of 3
    {300006, 3, 3, -1}, // a head of 1, no result
    {1001, 0, 1, 0},    // the gradient at another alignment: no quads
    {1001, 2, 2, 3},    // the result at another one
    {1, 1, 1, 1},
    {2, 0, 0, 0},
    {3, 2, 2, 2},
    {7, 3, 3, 3},
    {(1 << 21) + 5, 2, 2, 2}, // several strides of the whole grid
};

/// One update's inputs, each array kPad elements longer than the update
/// on both sides (and by its offset) so that writes outside it show.
struct UpdateData {
  static constexpr int64_t kPad = 4;
  std::vector<float> master, m, v, result;
  std::vector<uint8_t> grad;
  std::vector<float> clip = {0.37f};
  var::cpu::UpdateScalars scalars;
  UpdateData(const UpdateCase &c, const UpdateLayout &l, uint32_t seed) {
    int64_t size = l.count + 3 + 2 * kPad;
    master = randomFloats(size, 1.0f, seed);
    m = randomFloats(size, 0.1f, seed + 1);
    v = randomFloats(size, 0.01f, seed + 2, /*positive=*/true);
    result = randomFloats(size, 1.0f, seed + 3);
    grad = randomBytes(c.gradType, size, 0.5f, seed + 4);
    scalars.lr = 0.003f;
    scalars.step = c.step;
    OptimizerStep defaults;
    var::exec::computeBiasCorrections(defaults.beta1, defaults.beta2, scalars);
  }
};

/// Where an update's arrays are: UpdateData's own or device copies.
struct UpdateArrays {
  float *master, *m, *v, *result;
  void *grad;
  const float *clip;
  double *squares;
  const var::cpu::UpdateScalars *scalars;
};

UpdateArrays hostArrays(UpdateData &data, std::vector<double> &squares) {
  return {data.master.data(), data.m.data(),    data.v.data(),
          data.result.data(), data.grad.data(), data.clip.data(),
          squares.data(),     &data.scalars};
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

  /// Device copies of an update's arrays, in `buffers`.
  UpdateArrays uploadArrays(UpdateData &data,
                            const std::vector<double> &squares);

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

UpdateArrays CudaDistTest::uploadArrays(UpdateData &data,
                                        const std::vector<double> &squares) {
  UpdateArrays a;
  a.master = static_cast<float *>(upload(data.master));
  a.m = static_cast<float *>(upload(data.m));
  a.v = static_cast<float *>(upload(data.v));
  a.result = static_cast<float *>(upload(data.result));
  a.grad = upload(data.grad);
  a.clip = static_cast<const float *>(upload(data.clip));
  a.squares = static_cast<double *>(upload(squares));
  // The kernel reads the step's values from device memory.
  a.scalars = static_cast<const var::cpu::UpdateScalars *>(
      upload(&data.scalars, sizeof data.scalars));
  return a;
}

/// `c`'s update of `l`'s elements of `a`.
OptimizerStep makeStep(const UpdateCase &c, const UpdateLayout &l,
                       const UpdateArrays &a) {
  OptimizerStep step;
  step.adamw = c.adamw;
  step.gradType = c.gradType;
  step.count = l.count;
  step.weightDecay = c.weightDecay;
  step.momentum = c.momentum;
  step.dampening = c.dampening;
  step.nesterov = c.nesterov;
  int64_t first = UpdateData::kPad;
  step.master = a.master + first + l.offset;
  step.state[0] = a.m + first + l.offset;
  step.state[1] = a.v + first + l.offset;
  step.grad = static_cast<uint8_t *>(a.grad) +
              (first + l.gradOffset) * var::plan::getDTypeBytes(c.gradType);
  step.result =
      l.resultOffset < 0 ? nullptr : a.result + first + l.resultOffset;
  step.clip = c.clip ? a.clip : nullptr;
  step.squares = a.squares;
  step.scalars = a.scalars;
  return step;
}

TEST_F(CudaDistTest, OptimizerUpdatesMatchTheHost) {
  uint32_t seed = 4;
  for (const UpdateCase &c : kUpdateCases)
    for (const UpdateLayout &l : kUpdateLayouts) {
      SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(l.count) +
                   " at " + std::to_string(l.offset) + "/" +
                   std::to_string(l.gradOffset) + "/" +
                   std::to_string(l.resultOffset));
      UpdateData data(c, l, seed += 8);
      // Partials the kernel does not write must come back zero.
      std::vector<double> squares(kSquarePartials, 1e30);
      UpdateArrays device = uploadArrays(data, squares);
      ASSERT_EQ(gpu->updateOptimizer(makeStep(c, l, device)), "");
      ASSERT_EQ(cpu->updateOptimizer(makeStep(c, l, hostArrays(data, squares))),
                "");

      size_t size = data.master.size();
      compare(data.master, download<float>(device.master, size), "master");
      compare(data.result, download<float>(device.result, size), "result");
      compare(data.m, download<float>(device.m, size), "state 0");
      compare(data.v, download<float>(device.v, size), "state 1");
      double hostSum = 0, gpuSum = 0;
      for (double partial : squares)
        hostSum += partial;
      for (double partial : download<double>(device.squares, kSquarePartials))
        gpuSum += partial;
      EXPECT_NEAR(gpuSum, hostSum, 1e-12 * hostSum);
      buffers.clear();
    }
}

TEST_F(CudaDistTest, OptimizerUpdateRepeatsBitForBit) {
  const UpdateLayout l = {(1 << 20) + 3, 1, 1, 1};
  for (const UpdateCase &c : {kUpdateCases[1], kUpdateCases[7]}) {
    SCOPED_TRACE(c.name);
    std::vector<float> runs[2][4];
    std::vector<double> partials[2];
    for (int run = 0; run < 2; ++run) {
      UpdateData data(c, l, 99);
      std::vector<double> squares(kSquarePartials, -1.0);
      UpdateArrays device = uploadArrays(data, squares);
      ASSERT_EQ(gpu->updateOptimizer(makeStep(c, l, device)), "");
      size_t size = data.master.size();
      runs[run][0] = download<float>(device.master, size);
      runs[run][1] = download<float>(device.m, size);
      runs[run][2] = download<float>(device.v, size);
      runs[run][3] = download<float>(device.result, size);
      partials[run] = download<double>(device.squares, kSquarePartials);
      buffers.clear();
    }
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(std::memcmp(runs[0][k].data(), runs[1][k].data(),
                            runs[0][k].size() * sizeof(float)),
                0)
          << "array " << k;
    EXPECT_EQ(std::memcmp(partials[0].data(), partials[1].data(),
                          kSquarePartials * sizeof(double)),
              0);
  }
}

// An update that writes its bucket's bf16 compute copy itself (the
// executor's fuseStores): the master rounded as var.cast rounds, the same
// bits as the host's, with the vector path (aligned, heads of 1 and 3
// elements) and the element path (the bf16 copy off its 8-byte boundary).
TEST_F(CudaDistTest, Bf16ResultIsTheRoundedMaster) {
  const UpdateCase &c = kUpdateCases[1]; // AdamW, bf16 gradient, clipped
  struct Shift {
    int64_t count, offset, resultOffset;
  };
  for (Shift shift :
       {Shift{100003, 0, 0}, Shift{100003, 1, 1}, Shift{100003, 3, 3},
        Shift{100003, 0, 1}, Shift{5, 0, 0}}) {
    SCOPED_TRACE(std::to_string(shift.count) + " at " +
                 std::to_string(shift.offset) + "/" +
                 std::to_string(shift.resultOffset));
    UpdateLayout l = {shift.count, shift.offset, shift.offset, -1};
    UpdateData data(c, l, 77);
    std::vector<double> squares(kSquarePartials, 0);
    UpdateArrays device = uploadArrays(data, squares);
    size_t size = data.master.size();
    std::vector<uint16_t> hostBf16(size, 0xffff);
    auto *deviceBf16 = static_cast<uint16_t *>(upload(hostBf16));
    int64_t first = UpdateData::kPad + shift.resultOffset;
    OptimizerStep onGpu = makeStep(c, l, device);
    onGpu.resultBf16 = deviceBf16 + first;
    OptimizerStep onHost = makeStep(c, l, hostArrays(data, squares));
    onHost.resultBf16 = hostBf16.data() + first;
    ASSERT_EQ(gpu->updateOptimizer(onGpu), "");
    ASSERT_EQ(cpu->updateOptimizer(onHost), "");
    compare(data.master, download<float>(device.master, size), "master");
    EXPECT_EQ(download<uint16_t>(deviceBf16, size), hostBf16);
    for (int64_t i = 0; i < shift.count; ++i)
      ASSERT_EQ(hostBf16[first + i],
                var::cpu::floatToBf16(
                    data.master[UpdateData::kPad + shift.offset + i]))
          << i;
    buffers.clear();
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
