// The executor on one rank: plans compiled by varc for every ZeRO stage,
// with and without offload and gradient accumulation, train a small model
// from the same seed and batches to the same FP32 weights as stage 0; the
// loss goes down; the global gradient norm it reports is the norm of the
// gradients before clipping; the profiling timer brackets every
// instruction. (Equivalence across several ranks is tested through varrun
// in test/varrun.)
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "test/unit/CompilePlan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifndef VARC_PATH
#error "VARC_PATH must name the varc binary"
#endif

namespace fs = std::filesystem;
using var::exec::HostTensor;

namespace {

const char *const kModel = INPUTS_DIR "/tiny_mlp.mlir";
constexpr int64_t kGlobalBatch = 8, kFrames = 3, kFeatures = 12;
constexpr int64_t kClasses = 4, kSteps = 10;

/// Compiles the tiny model with `flags` into a plan and loads it for one
/// rank.
var::plan::Plan compile(const std::string &flags) {
  return var::test::compilePlan(kModel, flags, "var-executor-test");
}

/// A fixed dataset: clips whose class is the argmax of a fixed projection.
struct Dataset {
  std::vector<float> clips;
  std::vector<int64_t> labels;
  Dataset() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    int64_t n = kGlobalBatch * 2;
    clips.resize(static_cast<size_t>(n * kFrames * kFeatures));
    for (float &v : clips)
      v = u(rng);
    for (int64_t i = 0; i < n; ++i) {
      float best = -1e9f;
      int64_t label = 0;
      for (int64_t c = 0; c < kClasses; ++c) {
        float score = 0;
        for (int64_t f = 0; f < kFeatures; ++f)
          score += clips[(i * kFrames) * kFeatures + f] *
                   static_cast<float>((f * 7 + c * 3) % 5 - 2);
        if (score > best) {
          best = score;
          label = c;
        }
      }
      labels.push_back(label);
    }
  }
};

struct Result {
  std::vector<var::exec::NamedTensor> weights;
  std::vector<float> losses;
};

/// Trains kSteps optimizer steps of kGlobalBatch clips (two batches in
/// turn), split into `accum` micro-batches, on `backend` (null: the CPU's).
Result train(const var::plan::Plan &plan, int64_t accum,
             std::unique_ptr<var::exec::Backend> backend = nullptr) {
  static const Dataset data;
  var::exec::SingleRankCommunicator comm;
  auto executor =
      var::exec::Executor::create(plan, comm, /*seed=*/42, std::move(backend));
  EXPECT_TRUE(executor) << executor.error();
  Result result;
  int64_t micro = kGlobalBatch / accum;
  int64_t clipSize = kFrames * kFeatures;
  for (int64_t step = 0; step < kSteps; ++step) {
    float loss = 0;
    for (int64_t m = 0; m < accum; ++m) {
      // Two batches in turn: enough to see the loss fall in ten steps.
      int64_t first = (step % 2) * kGlobalBatch + m * micro;
      std::vector<float> clips(data.clips.begin() + first * clipSize,
                               data.clips.begin() + (first + micro) * clipSize);
      std::vector<int64_t> labels(data.labels.begin() + first,
                                  data.labels.begin() + first + micro);
      std::vector<HostTensor> args = {
          HostTensor::f32({micro, kFrames, kFeatures}, clips),
          HostTensor::i64({micro}, labels)};
      bool last = m + 1 == accum;
      if (last) {
        args.push_back(HostTensor::scalarF32(0.05f));
        args.push_back(HostTensor::scalarI64(step + 1));
      }
      std::vector<HostTensor> outputs;
      std::string error =
          executor->run(last ? "train_step" : "accumulate_step", args, outputs,
                        static_cast<uint64_t>(step));
      EXPECT_EQ(error, "");
      if (!error.empty())
        return result;
      loss += outputs[0].floats()[0] / static_cast<float>(accum);
    }
    result.losses.push_back(loss);
  }
  EXPECT_EQ(executor->exportWeights(result.weights), "");
  return result;
}

void expectSameWeights(const Result &a, const Result &b, double rtol) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    ASSERT_EQ(a.weights[i].name, b.weights[i].name);
    ASSERT_EQ(a.weights[i].values.size(), b.weights[i].values.size());
    for (size_t k = 0; k < a.weights[i].values.size(); ++k) {
      double x = a.weights[i].values[k], y = b.weights[i].values[k];
      EXPECT_NEAR(x, y, rtol * std::max(1.0, std::fabs(x)))
          << a.weights[i].name << "[" << k << "]";
    }
  }
}

TEST(ExecutorTest, Fp32StagesOffloadAndAccumulationAgree) {
  var::plan::Plan reference =
      compile("--precision=fp32 --zero-stage=0 --micro-batch=8");
  Result base = train(reference, 1);
  ASSERT_EQ(base.losses.size(), static_cast<size_t>(kSteps));
  // It learns: the last loss is well below the first.
  EXPECT_LT(base.losses.back(), 0.8 * base.losses.front());

  struct Config {
    const char *flags;
    int64_t accum;
  };
  const Config configs[] = {
      {"--precision=fp32 --zero-stage=1 --micro-batch=8", 1},
      {"--precision=fp32 --zero-stage=2 --micro-batch=8", 1},
      {"--precision=fp32 --zero-stage=3 --micro-batch=8", 1},
      {"--precision=fp32 --zero-stage=1 --offload-optimizer --micro-batch=8",
       1},
      {"--precision=fp32 --zero-stage=3 --offload-optimizer --offload-params "
       "--micro-batch=8",
       1},
      {"--precision=fp32 --zero-stage=0 --micro-batch=4 --grad-accum=2", 2},
      {"--precision=fp32 --zero-stage=1 --micro-batch=4 --grad-accum=2", 2},
      {"--precision=fp32 --zero-stage=2 --micro-batch=4 --grad-accum=2", 2},
      {"--precision=fp32 --zero-stage=3 --bucket-mb=0.0005 "
       "--micro-batch=4 --grad-accum=2",
       2},
  };
  for (const Config &config : configs) {
    SCOPED_TRACE(config.flags);
    Result other = train(compile(config.flags), config.accum);
    expectSameWeights(base, other, 1e-5);
  }
}

TEST(ExecutorTest, Bf16TrainsAndClips) {
  Result bf16 = train(compile("--zero-stage=2 --micro-batch=8"), 1);
  ASSERT_EQ(bf16.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_LT(bf16.losses.back(), 0.8 * bf16.losses.front());
  // SGD steps scale with the gradient (AdamW's hardly do), so a tiny
  // clipping norm slows SGD down.
  Result sgd =
      train(compile("--zero-stage=2 --micro-batch=8 --optimizer=sgd"), 1);
  Result clipped = train(compile("--zero-stage=2 --micro-batch=8 "
                                 "--optimizer=sgd --grad-clip=0.01"),
                         1);
  ASSERT_EQ(clipped.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_GT(clipped.losses.back(), sgd.losses.back());
  EXPECT_LT(sgd.losses.back(), sgd.losses.front());
}

// The host update rounds an offloaded bf16 shard in its own pass (the
// plan's host cast is folded into it) and a stage-3 step reads parameters
// where their all-gather put them: the same bits as on the device.
TEST(ExecutorTest, Bf16OffloadMatchesTheDeviceOptimizerBitForBit) {
  for (const char *flags :
       {"--zero-stage=2 --micro-batch=8",
        "--zero-stage=3 --bucket-mb=0.005 --micro-batch=8"}) {
    SCOPED_TRACE(flags);
    Result device = train(compile(flags), 1);
    Result offloaded =
        train(compile(std::string(flags) + " --offload-optimizer"), 1);
    ASSERT_EQ(device.losses.size(), static_cast<size_t>(kSteps));
    for (size_t step = 0; step < device.losses.size(); ++step)
      EXPECT_EQ(device.losses[step], offloaded.losses[step]) << step;
    expectSameWeights(device, offloaded, 0);
  }
}

/// A device the executor may not touch: its memory is separate host memory
/// reached only through copies, its kernels are the CPU's, and it lacks
/// var.linear, which the executor then runs on host copies (the path a GPU
/// backend's missing kernels take).
class StagedBackend final : public var::exec::Backend {
public:
  std::string_view getName() const override { return "staged"; }
  bool isHostMemory() const override { return false; }
  std::string allocate(int64_t bytes, const std::string &,
                       void **memory) override {
    *memory = std::malloc(static_cast<size_t>(bytes) + 8);
    return *memory ? "" : "out of memory";
  }
  void release(void *memory) override { std::free(memory); }
  std::string fill(void *memory, int64_t bytes, uint8_t value) override {
    std::memset(memory, value, static_cast<size_t>(bytes));
    return "";
  }
  std::string copyToDevice(void *memory, const void *host,
                           int64_t bytes) override {
    std::memcpy(memory, host, static_cast<size_t>(bytes));
    ++copies;
    return "";
  }
  std::string copyToHost(void *host, const void *memory,
                         int64_t bytes) override {
    std::memcpy(host, memory, static_cast<size_t>(bytes));
    ++copies;
    return "";
  }
  bool hasKernel(std::string_view op) const override {
    return op != "var.linear" && var::cpu::getCpuOps().count(op) != 0;
  }
  std::string runOp(var::cpu::OpCall &call) override {
    ++kernels;
    return var::cpu::getCpuOps().find(call.inst.op)->second(call);
  }
  std::string synchronize() override { return ""; }

  static inline int64_t copies = 0, kernels = 0;
};

// The executor's device path (arguments, results and host-side ops through
// copies; missing kernels on host copies) computes exactly what its host
// path computes.
TEST(ExecutorTest, DeviceBackendPathMatchesTheHostPath) {
  for (const char *flags :
       {"--precision=fp32 --zero-stage=0 --micro-batch=8",
        "--precision=fp32 --zero-stage=3 --offload-optimizer --offload-params "
        "--micro-batch=4 --grad-accum=2",
        "--zero-stage=2 --micro-batch=8"}) {
    SCOPED_TRACE(flags);
    var::plan::Plan plan = compile(flags);
    int64_t accum =
        std::string(flags).find("grad-accum") != std::string::npos ? 2 : 1;
    Result host = train(plan, accum);
    StagedBackend::copies = StagedBackend::kernels = 0;
    Result staged = train(plan, accum, std::make_unique<StagedBackend>());
    EXPECT_GT(StagedBackend::copies, 0);
    EXPECT_GT(StagedBackend::kernels, 0);
    EXPECT_EQ(host.losses, staged.losses);
    expectSameWeights(host, staged, 0.0);
  }
}

/// One training step of the first batch; the step's outputs.
std::vector<HostTensor> stepOnce(var::exec::Executor &executor) {
  static const Dataset data;
  std::vector<float> clips(data.clips.begin(),
                           data.clips.begin() +
                               kGlobalBatch * kFrames * kFeatures);
  std::vector<int64_t> labels(data.labels.begin(),
                              data.labels.begin() + kGlobalBatch);
  std::vector<HostTensor> outputs;
  EXPECT_EQ(
      executor.run("train_step",
                   {HostTensor::f32({kGlobalBatch, kFrames, kFeatures}, clips),
                    HostTensor::i64({kGlobalBatch}, labels),
                    HostTensor::scalarF32(0.05f), HostTensor::scalarI64(1)},
                   outputs, 0),
      "");
  return outputs;
}

TEST(ExecutorTest, GradNormIsTheNormOfTheGradientsBeforeClipping) {
  var::exec::SingleRankCommunicator comm;
  for (const char *stage : {"--zero-stage=0", "--zero-stage=3"}) {
    SCOPED_TRACE(stage);
    var::plan::Plan plan = compile(std::string("--precision=fp32 ") + stage +
                                   " --micro-batch=8 --grad-clip=0.01");
    auto executor = var::exec::Executor::create(plan, comm, /*seed=*/42);
    ASSERT_TRUE(executor) << executor.error();
    EXPECT_EQ(executor->getLastGradNorm(), std::nullopt);
    executor->setCaptureGradients(true);
    stepOnce(*executor);
    std::vector<var::exec::NamedTensor> grads;
    ASSERT_EQ(executor->gatherCapturedGradients(grads), "");
    double sum = 0;
    for (const var::exec::NamedTensor &grad : grads)
      for (float v : grad.values)
        sum += static_cast<double>(v) * v;
    ASSERT_TRUE(executor->getLastGradNorm());
    EXPECT_NEAR(*executor->getLastGradNorm(), std::sqrt(sum),
                1e-5 * std::sqrt(sum));
    EXPECT_GT(*executor->getLastGradNorm(), 0.01); // so the step clipped
    double reduced = 0;
    ASSERT_EQ(executor->reduceGradNorm(reduced), "");
    EXPECT_NEAR(reduced, std::sqrt(sum), 1e-5 * std::sqrt(sum));
  }
  // A plan that does not clip computes no norm in the step; the executor
  // reduces it from what the updates received.
  for (const char *stage : {"--zero-stage=0", "--zero-stage=2"}) {
    SCOPED_TRACE(stage);
    auto unclipped = var::exec::Executor::create(
        compile(std::string("--precision=fp32 --micro-batch=8 ") + stage), comm,
        42);
    ASSERT_TRUE(unclipped);
    unclipped->setCaptureGradients(true);
    stepOnce(*unclipped);
    EXPECT_EQ(unclipped->getLastGradNorm(), std::nullopt);
    std::vector<var::exec::NamedTensor> grads;
    ASSERT_EQ(unclipped->gatherCapturedGradients(grads), "");
    double sum = 0;
    for (const var::exec::NamedTensor &grad : grads)
      for (float v : grad.values)
        sum += static_cast<double>(v) * v;
    double reduced = 0;
    ASSERT_EQ(unclipped->reduceGradNorm(reduced), "");
    EXPECT_GT(sum, 0.0);
    EXPECT_NEAR(reduced, std::sqrt(sum), 1e-5 * std::sqrt(sum));
  }
}

/// Counts the timer calls and checks that they pair up in order.
struct CountingTimer : var::exec::InstructionTimer {
  size_t begun = 0, ended = 0, open = SIZE_MAX;
  void begin(const var::plan::PlanFunction &, size_t index) override {
    EXPECT_EQ(open, SIZE_MAX);
    EXPECT_EQ(index, begun);
    open = index;
    ++begun;
  }
  void end(const var::plan::PlanFunction &, size_t index) override {
    EXPECT_EQ(open, index);
    open = SIZE_MAX;
    ++ended;
  }
};

TEST(ExecutorTest, TimerBracketsEveryInstruction) {
  var::exec::SingleRankCommunicator comm;
  var::plan::Plan plan = compile("--precision=fp32 --micro-batch=8");
  auto executor = var::exec::Executor::create(plan, comm, 42);
  ASSERT_TRUE(executor);
  CountingTimer timer;
  executor->setInstructionTimer(&timer);
  stepOnce(*executor);
  size_t count = plan.findFunction("train_step")->instructions.size();
  EXPECT_EQ(timer.begun, count);
  EXPECT_EQ(timer.ended, count);
  executor->setInstructionTimer(nullptr);
  stepOnce(*executor);
  EXPECT_EQ(timer.begun, count);
}

} // namespace

namespace {

// A hostile plan asking for more memory than the machine has gets an error,
// not an out-of-memory kill.
TEST(ExecutorTest, RefusesAllocationsLargerThanMemory) {
  var::plan::Plan plan = compile("--precision=fp32 --micro-batch=8");
  for (var::plan::PlanFunction &function : plan.functions)
    function.arenaBytes = int64_t(1) << 60;
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(plan, comm, 42);
  ASSERT_TRUE(executor) << executor.error();
  std::vector<HostTensor> outputs;
  std::string error = executor->run(
      "forward",
      {HostTensor::f32({8, kFrames, kFeatures},
                       std::vector<float>(8 * kFrames * kFeatures, 0.0f))},
      outputs, 0);
  EXPECT_NE(error.find("more than this machine's memory"), std::string::npos)
      << error;

  var::plan::Plan huge = compile("--precision=fp32 --micro-batch=8");
  huge.buckets[0].paddedNumel = int64_t(1) << 61;
  auto refused = var::exec::Executor::create(huge, comm, 42);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("bucket 'bucket0' needs"), std::string::npos)
      << refused.error();
}

} // namespace
