// Step graphs on the GPU: small plans trained for a few steps with graphs
// off and then, from the same initial state on the same backend (so that
// cuDNN's algorithm choices are the same), with graphs on must give the
// same losses, weights, optimizer state and BatchNorm statistics, bit for
// bit, with the graph replayed. Dropout and AdamW under a warmup-decay LR
// schedule make the step's seed, LR, step count and bias corrections
// change every step: a graph that baked them in would diverge. Without a
// GPU every case is skipped.
//
// Plans: $VAR_GPU_PLANS/<model>.<flags>.fb when set (the GPU machine has
// no varc; test/gpu/gpu-carry.sh compiles them), else compiled with varc.
#include "runtime/cuda/CudaBackend.h"
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "runtime/train/LrSchedule.h"
#include "test/unit/CompilePlan.h"
#include "test/unit/TimelineTotals.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#ifndef MODELS
#error "MODELS must name test/varrun/Inputs"
#endif

namespace {

using var::exec::HostTensor;

constexpr int64_t kSteps = 6, kClipElements = 4 * 3 * 16 * 16;

struct Config {
  const char *model;
  const char *flags; // --micro-batch included
  int64_t accum, micro;
};

void PrintTo(const Config &config, std::ostream *out) {
  *out << config.model << " " << config.flags;
}

/// The file name gpu-carry.sh gives `config`'s plan.
std::string planFileName(const Config &config) {
  std::string name = std::string(config.model) + "." + config.flags;
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.')
      c = '_';
  return name + ".fb";
}

var::plan::Plan loadPlan(const Config &config) {
  if (const char *dir = std::getenv("VAR_GPU_PLANS")) {
    std::string path = std::string(dir) + "/" + planFileName(config);
    var::plan::Expected<var::plan::Plan> loaded = var::plan::loadPlan(path);
    EXPECT_TRUE(loaded) << path << ": " << loaded.error();
    if (!loaded)
      return {};
    var::plan::Expected<var::plan::Plan> resolved = loaded->resolve(1);
    EXPECT_TRUE(resolved) << resolved.error();
    return resolved ? *resolved : var::plan::Plan{};
  }
  return var::test::compilePlan(std::string(MODELS) + "/" + config.model,
                                config.flags, "var-cuda-graph-test");
}

struct Outcome {
  std::vector<float> losses;
  std::vector<var::exec::NamedTensor> weights;
  var::exec::RankTrainingState state;
  std::vector<std::string> notes;
  int64_t replays = 0;
  double seconds = 0; // steps 3 to kSteps
};

/// kSteps steps of `accum` micro-steps on random clips (the same every
/// call), the LR of a warmup-decay schedule, a seed per step and each
/// micro-step at its place in the batch.
Outcome train(var::exec::Executor &executor, const Config &config) {
  var::train::LrScheduleConfig schedule;
  schedule.kind = var::train::LrScheduleKind::WarmupDecayLR;
  schedule.warmupNumSteps = 3;
  schedule.warmupType = var::train::WarmupType::Linear;
  schedule.warmupMinLr = 0.001;
  var::train::LrSchedule lrs;
  EXPECT_EQ(var::train::LrSchedule::resolve(schedule, 0.01, kSteps, lrs), "");
  Outcome out;
  int64_t replaysBefore = executor.getStepGraphReplays();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < kSteps; ++step) {
    if (step == 2)
      start = std::chrono::steady_clock::now();
    float lr = static_cast<float>(lrs.lrAtStep(step + 1));
    for (int64_t m = 0; m < config.accum; ++m) {
      std::vector<float> clips(
          static_cast<size_t>(config.micro * kClipElements));
      for (float &v : clips)
        v = uniform(rng);
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < config.micro; ++i)
        labels.push_back(static_cast<int64_t>(rng() % 8));
      std::vector<HostTensor> args = {
          HostTensor::f32({config.micro, 4, 3, 16, 16}, clips),
          HostTensor::i64({config.micro}, labels)};
      bool last = m + 1 == config.accum;
      if (last) {
        args.push_back(HostTensor::scalarF32(lr));
        args.push_back(HostTensor::scalarI64(step + 1));
      }
      std::vector<HostTensor> results;
      std::string error = executor.run(
          last ? "train_step" : "accumulate_step", args, results,
          0x5eed + 977 * static_cast<uint64_t>(step), m * config.micro);
      EXPECT_EQ(error, "") << "step " << step + 1;
      if (!error.empty())
        return out;
      out.losses.push_back(results[0].floats()[0]);
    }
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(executor.exportWeights(out.weights), "");
  out.state = executor.getTrainingState();
  out.notes = executor.takeStepGraphNotes();
  out.replays = executor.getStepGraphReplays() - replaysBefore;
  return out;
}

std::string joined(const std::vector<std::string> &lines) {
  std::string text;
  for (const std::string &line : lines)
    text += line + "\n";
  return text;
}

void expectSame(const Outcome &eager, const Outcome &graphs) {
  EXPECT_EQ(eager.losses, graphs.losses);
  ASSERT_EQ(eager.weights.size(), graphs.weights.size());
  for (size_t i = 0; i < eager.weights.size(); ++i)
    EXPECT_EQ(eager.weights[i].values, graphs.weights[i].values)
        << eager.weights[i].name;
  ASSERT_EQ(eager.state.optimizer.size(), graphs.state.optimizer.size());
  for (size_t k = 0; k < eager.state.optimizer.size(); ++k)
    for (size_t i = 0; i < eager.state.optimizer[k].second.size(); ++i)
      EXPECT_EQ(eager.state.optimizer[k].second[i].values,
                graphs.state.optimizer[k].second[i].values)
          << eager.state.optimizer[k].first << " of "
          << eager.state.optimizer[k].second[i].name;
  ASSERT_EQ(eager.state.buffers.size(), graphs.state.buffers.size());
  for (size_t i = 0; i < eager.state.buffers.size(); ++i)
    EXPECT_EQ(eager.state.buffers[i].values, graphs.state.buffers[i].values)
        << eager.state.buffers[i].name;
}

/// Trains `config` eagerly, then from the same start with graphs on.
void trainBothWays(const Config &config, Outcome &eager, Outcome &graphs) {
  std::string whyNot;
  std::unique_ptr<var::exec::Backend> gpu =
      var::cuda::createCudaBackend(0, whyNot);
  ASSERT_TRUE(gpu) << whyNot;
  var::plan::Plan plan = loadPlan(config);
  ASSERT_FALSE(plan.functions.empty());
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(plan, comm, 5, std::move(gpu));
  ASSERT_TRUE(executor) << executor.error();
  std::vector<var::exec::NamedTensor> initial;
  ASSERT_EQ(executor->exportWeights(initial), "");
  executor->setStepGraphs(false);
  eager = train(*executor, config);
  // The same start: weights, BatchNorm statistics, zero optimizer state.
  std::vector<std::string> notes;
  ASSERT_EQ(executor->importWeights(initial, {}, notes), "");
  executor->setStepGraphs(true);
  graphs = train(*executor, config);
}

bool haveGpu(std::string &whyNot) {
  return var::cuda::createCudaBackend(0, whyNot) != nullptr;
}

class CudaGraphTest : public ::testing::TestWithParam<Config> {
protected:
  void SetUp() override {
    std::string whyNot;
    if (!haveGpu(whyNot))
      GTEST_SKIP() << "no GPU to record steps on: " << whyNot;
  }
};

TEST_P(CudaGraphTest, ReplaysTrainBitForBitAsEagerSteps) {
  const Config &config = GetParam();
  Outcome eager, graphs;
  trainBothWays(config, eager, graphs);
  if (HasFatalFailure())
    return;
  ASSERT_EQ(eager.losses.size(), static_cast<size_t>(kSteps * config.accum));
  expectSame(eager, graphs);
  // Each function: its first run eager, its second recorded and launched,
  // every later one replayed.
  int64_t functions = config.accum > 1 ? 2 : 1;
  EXPECT_EQ(eager.replays, 0);
  EXPECT_EQ(graphs.replays, kSteps * config.accum - functions)
      << joined(graphs.notes);
  EXPECT_NE(joined(graphs.notes).find("'train_step' is recorded as a graph"),
            std::string::npos)
      << joined(graphs.notes);
  std::printf("%s %s: steps 3-%lld took %.2f ms eager, %.2f ms replayed; %s",
              config.model, config.flags, static_cast<long long>(kSteps),
              1e3 * eager.seconds, 1e3 * graphs.seconds,
              joined(graphs.notes).c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Plans, CudaGraphTest,
    ::testing::Values(
        Config{"tiny_bn_cnn.mlir", "--zero-stage=0 --micro-batch=4", 1, 4},
        Config{"tiny_cnn_dropout.mlir",
               "--zero-stage=1 --grad-accum=3 --micro-batch=2", 3, 2},
        Config{"tiny_bn_cnn.mlir",
               "--zero-stage=3 --bucket-mb=0.005 --grad-clip=0.5 "
               "--micro-batch=4",
               1, 4},
        Config{"tiny_cnn_dropout.mlir",
               "--precision=fp32 --zero-stage=2 --optimizer=sgd "
               "--micro-batch=4",
               1, 4},
        // Batch norm fused with its ReLU (var-fuse-bn-act), channels-last.
        Config{"tiny_bn_cnn.mlir",
               "--zero-stage=0 --channels-last --fuse-bn-act --micro-batch=4",
               1, 4}),
    [](const ::testing::TestParamInfo<Config> &info) {
      std::string name = planFileName(info.param);
      name = name.substr(0, name.size() - 3); // no .fb
      for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)))
          c = '_';
      return name;
    });

// An offloaded optimizer runs on the host lane (host nodes in the graph,
// copies in stream order): recorded, replayed, and the same bits as with
// graphs off. Parameters offloaded too keep the step eager, said once.
TEST(CudaGraphEager, OffloadReplaysOnTheHostLane) {
  std::string whyNot;
  if (!haveGpu(whyNot))
    GTEST_SKIP() << "no GPU to record steps on: " << whyNot;
  for (const char *flags :
       {"--zero-stage=2 --offload-optimizer --micro-batch=4",
        "--zero-stage=3 --offload-optimizer --bucket-mb=0.005 --micro-batch=4",
        "--zero-stage=3 --offload-optimizer --offload-params "
        "--micro-batch=4"}) {
    SCOPED_TRACE(flags);
    bool params =
        std::string(flags).find("offload-params") != std::string::npos;
    Config config{"tiny_bn_cnn.mlir", flags, 1, 4};
    Outcome eager, graphs;
    trainBothWays(config, eager, graphs);
    if (::testing::Test::HasFatalFailure())
      return;
    expectSame(eager, graphs);
    ASSERT_EQ(graphs.notes.size(), 1u) << joined(graphs.notes);
    if (params) {
      EXPECT_EQ(graphs.replays, 0);
      EXPECT_NE(graphs.notes[0].find("runs eagerly: the plan offloads state"),
                std::string::npos)
          << graphs.notes[0];
    } else {
      EXPECT_EQ(graphs.replays, kSteps - 1);
      EXPECT_NE(graphs.notes[0].find("is recorded as a graph"),
                std::string::npos)
          << graphs.notes[0];
    }
  }
}

// A traced run of a recorded step replays the step's second recording,
// with its time marks as graph nodes: the same bits as eager steps, and a
// timeline of every instruction from the replay.
TEST(CudaGraphTimeline, TracedRunsReplayATimedRecording) {
  std::string whyNot;
  std::unique_ptr<var::exec::Backend> gpu =
      var::cuda::createCudaBackend(0, whyNot);
  if (!gpu)
    GTEST_SKIP() << "no GPU to record steps on: " << whyNot;
  Config config{"tiny_bn_cnn.mlir", "--zero-stage=0 --micro-batch=4", 1, 4};
  var::plan::Plan plan = loadPlan(config);
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(plan, comm, 5, std::move(gpu));
  ASSERT_TRUE(executor) << executor.error();
  std::vector<var::exec::NamedTensor> initial;
  ASSERT_EQ(executor->exportWeights(initial), "");
  std::vector<std::string> notes;
  executor->setStepGraphs(false);
  Outcome eager = train(*executor, config);
  ASSERT_EQ(executor->importWeights(initial, {}, notes), "");
  executor->setStepGraphs(true);
  train(*executor, config); // recorded on its 2nd run
  ASSERT_EQ(executor->importWeights(initial, {}, notes), "");
  var::test::TimelineTotals totals;
  executor->setTimeline(&totals);
  Outcome traced = train(*executor, config);
  executor->setTimeline(nullptr);
  expectSame(eager, traced);
  EXPECT_EQ(traced.replays, kSteps) << joined(traced.notes);
  EXPECT_EQ(totals.runs, kSteps);
  EXPECT_GT(totals.busy, 0.0);
}

// Staging memory from the CUDA backend is page-locked host memory that a
// device copy reads directly; the CPU backend's is plain aligned memory.
TEST(CudaBackend, StagesInPageLockedHostMemory) {
  std::string whyNot;
  std::unique_ptr<var::exec::Backend> backend =
      var::cuda::createCudaBackend(0, whyNot);
  if (!backend)
    GTEST_SKIP() << "no GPU to test the CUDA backend on: " << whyNot;
  void *staging = backend->allocateHost(1 << 20);
  ASSERT_NE(staging, nullptr);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, staging), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeHost);
  std::memset(staging, 7, 1 << 20);
  void *device = nullptr;
  ASSERT_EQ(backend->allocate(1 << 20, "staging test", &device), "");
  ASSERT_EQ(backend->copyToDevice(device, staging, 1 << 20), "");
  std::vector<uint8_t> back(1 << 20);
  ASSERT_EQ(backend->copyToHost(back.data(), device, 1 << 20), "");
  EXPECT_EQ(back[12345], 7);
  backend->release(device);
  backend->releaseHost(staging);
}

} // namespace
