// Step graphs without a GPU: the executor records a function's device work
// on its second run and replays it from its third, and a replay reads the
// step scalars (seed, first sample, LR, step, bias corrections) and the
// staged arguments from memory as they are then (UnreachableMemoryBackend
// records and replays as a CUDA graph does). Training with an LR, step and
// seed that change every step, and micro-steps at different places in the
// batch, must give the CPU backend's results bit for bit with graphs
// replayed; what a plan does not allow, and a recording that breaks, run
// eagerly with the same results and one note saying why.
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "test/unit/CompilePlan.h"
#include "test/unit/TimelineTotals.h"
#include "test/unit/UnreachableMemoryBackend.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifndef MODELS
#error "MODELS must name test/varrun/Inputs"
#endif

namespace {

using var::exec::Backend;
using var::exec::HostTensor;
using var::test::UnreachableMemoryBackend;

constexpr int64_t kSteps = 6, kClipElements = 4 * 3 * 16 * 16;

var::plan::Plan compile(const std::string &model, const std::string &flags) {
  return var::test::compilePlan(std::string(MODELS) + "/" + model, flags,
                                "var-step-graph-test");
}

struct Outcome {
  std::vector<float> losses;
  std::vector<var::exec::NamedTensor> weights;
  var::exec::RankTrainingState state;
  std::vector<std::string> notes;
  int64_t replays = 0;
};

/// kSteps steps of `accum` micro-steps of `micro` random clips; the LR
/// warms up and decays, each step has its own seed, and micro-step m's
/// samples sit at m * micro in the step's batch.
Outcome train(var::exec::Executor &executor, int64_t accum, int64_t micro) {
  Outcome out;
  int64_t replaysBefore = executor.getStepGraphReplays();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t step = 0; step < kSteps; ++step) {
    float lr = step < 2 ? 0.02f * (step + 1) : 0.04f / (step - 1);
    for (int64_t m = 0; m < accum; ++m) {
      std::vector<float> clips(static_cast<size_t>(micro * kClipElements));
      for (float &v : clips)
        v = uniform(rng);
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < micro; ++i)
        labels.push_back(static_cast<int64_t>(rng() % 8));
      std::vector<HostTensor> args = {
          HostTensor::f32({micro, 4, 3, 16, 16}, clips),
          HostTensor::i64({micro}, labels)};
      bool last = m + 1 == accum;
      if (last) {
        args.push_back(HostTensor::scalarF32(lr));
        args.push_back(HostTensor::scalarI64(step + 1));
      }
      std::vector<HostTensor> results;
      std::string error = executor.run(
          last ? "train_step" : "accumulate_step", args, results,
          /*microSeed=*/0x5eed + 977 * static_cast<uint64_t>(step), m * micro);
      EXPECT_EQ(error, "");
      if (!error.empty())
        return out;
      out.losses.push_back(results[0].floats()[0]);
    }
  }
  EXPECT_EQ(executor.exportWeights(out.weights), "");
  out.state = executor.getTrainingState();
  out.notes = executor.takeStepGraphNotes();
  out.replays = executor.getStepGraphReplays() - replaysBefore;
  return out;
}

/// The same on a fresh executor of `backend` (null: the CPU's).
Outcome train(const var::plan::Plan &plan, int64_t accum, int64_t micro,
              std::unique_ptr<Backend> backend) {
  var::exec::SingleRankCommunicator comm;
  auto executor =
      var::exec::Executor::create(plan, comm, /*seed=*/5, std::move(backend));
  EXPECT_TRUE(executor) << executor.error();
  if (!executor)
    return {};
  return train(*executor, accum, micro);
}

void expectSame(const Outcome &cpu, const Outcome &device) {
  EXPECT_EQ(cpu.losses, device.losses);
  ASSERT_EQ(cpu.weights.size(), device.weights.size());
  for (size_t i = 0; i < cpu.weights.size(); ++i)
    EXPECT_EQ(cpu.weights[i].values, device.weights[i].values)
        << cpu.weights[i].name;
  ASSERT_EQ(cpu.state.optimizer.size(), device.state.optimizer.size());
  for (size_t k = 0; k < cpu.state.optimizer.size(); ++k)
    for (size_t i = 0; i < cpu.state.optimizer[k].second.size(); ++i)
      EXPECT_EQ(cpu.state.optimizer[k].second[i].values,
                device.state.optimizer[k].second[i].values)
          << cpu.state.optimizer[k].first;
  ASSERT_EQ(cpu.state.buffers.size(), device.state.buffers.size());
  for (size_t i = 0; i < cpu.state.buffers.size(); ++i)
    EXPECT_EQ(cpu.state.buffers[i].values, device.state.buffers[i].values)
        << cpu.state.buffers[i].name;
}

std::string joined(const std::vector<std::string> &lines) {
  std::string text;
  for (const std::string &line : lines)
    text += line + "\n";
  return text;
}

struct Config {
  const char *model;
  const char *flags;
  int64_t accum, micro;
};

class StepGraphTest : public ::testing::Test {
protected:
  void SetUp() override {
    UnreachableMemoryBackend::recordSteps = true;
    UnreachableMemoryBackend::breakRecordings = false;
    UnreachableMemoryBackend::recordings = 0;
    UnreachableMemoryBackend::replays = 0;
  }
  void TearDown() override {
    UnreachableMemoryBackend::recordSteps = false;
    UnreachableMemoryBackend::breakRecordings = false;
  }

  static var::plan::Plan compileConfig(const Config &config) {
    return compile(config.model, std::string(config.flags) + " --micro-batch=" +
                                     std::to_string(config.micro));
  }

  /// Trains `plan` on the CPU backend and on the recording test backend:
  /// the same bits, and each function's first run eager, then one
  /// recording, launched at once and replayed on every later run. Returns
  /// the CPU's outcome.
  static Outcome expectReplaysMatchTheCpu(const Config &config,
                                          const var::plan::Plan &plan) {
    Outcome cpu = train(plan, config.accum, config.micro, nullptr);
    UnreachableMemoryBackend::recordings = 0;
    UnreachableMemoryBackend::replays = 0;
    Outcome device = train(plan, config.accum, config.micro,
                           std::make_unique<UnreachableMemoryBackend>());
    EXPECT_EQ(cpu.losses.size(), static_cast<size_t>(kSteps * config.accum));
    expectSame(cpu, device);
    int64_t functions = config.accum > 1 ? 2 : 1;
    EXPECT_EQ(UnreachableMemoryBackend::recordings, functions);
    EXPECT_EQ(device.replays, kSteps * config.accum - functions);
    EXPECT_EQ(UnreachableMemoryBackend::replays, device.replays);
    EXPECT_NE(
        joined(device.notes).find("'train_step' is recorded as a graph of "),
        std::string::npos)
        << joined(device.notes);
    EXPECT_TRUE(cpu.notes.empty()) << joined(cpu.notes);
    return cpu;
  }
};

// Dropout (per frame and per clip), batch norm, AdamW and SGD, clipping,
// every ZeRO stage, and accumulation over three micro-steps (whose
// accumulate_step replays see two first samples): bit for bit the CPU's.
TEST_F(StepGraphTest, ReplaysMatchTheCpuBackendBitForBit) {
  const Config configs[] = {
      {"tiny_bn_cnn.mlir", "--zero-stage=0", 1, 4},
      {"tiny_bn_cnn.mlir", "--zero-stage=1 --optimizer=sgd", 1, 4},
      {"tiny_bn_cnn.mlir", "--zero-stage=2 --grad-clip=0.5", 1, 4},
      {"tiny_bn_cnn.mlir", "--zero-stage=3 --bucket-mb=0.005", 1, 4},
      {"tiny_cnn_dropout.mlir", "--zero-stage=0 --grad-accum=3", 3, 2},
      {"tiny_cnn_dropout.mlir",
       "--precision=fp32 --zero-stage=3 --grad-accum=2 --grad-clip=0.5", 2, 2},
  };
  for (const Config &config : configs) {
    SCOPED_TRACE(std::string(config.model) + " " + config.flags);
    expectReplaysMatchTheCpu(config, compileConfig(config));
  }
}

// The same training with graphs off: no recording, the same bits.
TEST_F(StepGraphTest, OffRunsEveryStepEagerly) {
  var::plan::Plan plan =
      compile("tiny_cnn_dropout.mlir", "--zero-stage=1 --grad-accum=2 "
                                       "--micro-batch=2");
  Outcome on = train(plan, 2, 2, std::make_unique<UnreachableMemoryBackend>());
  UnreachableMemoryBackend::recordings = 0;
  var::exec::SingleRankCommunicator comm;
  auto backend = std::make_unique<UnreachableMemoryBackend>();
  auto executor =
      var::exec::Executor::create(plan, comm, 5, std::move(backend));
  ASSERT_TRUE(executor);
  executor->setStepGraphs(false);
  std::vector<float> clips(static_cast<size_t>(2 * kClipElements), 0.25f);
  std::vector<HostTensor> args = {HostTensor::f32({2, 4, 3, 16, 16}, clips),
                                  HostTensor::i64({2}, {1, 2})};
  std::vector<HostTensor> results;
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(executor->run("accumulate_step", args, results, i, 0), "");
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 0);
  EXPECT_EQ(executor->getStepGraphReplays(), 0);
  std::string notes = joined(executor->takeStepGraphNotes());
  EXPECT_NE(notes.find("'accumulate_step' runs eagerly: step graphs are off"),
            std::string::npos)
      << notes;
  EXPECT_GT(on.replays, 0);
}

// CudaGraphTest's procedure on one executor: train eagerly, import the
// initial weights back (optimizer state restarts from zero), turn graphs
// on and train again: the second run records, replays and repeats the
// first bit for bit.
TEST_F(StepGraphTest, GraphsOnAfterImportRepeatTheEagerRun) {
  var::plan::Plan plan =
      compile("tiny_cnn_dropout.mlir", "--zero-stage=1 --grad-accum=3 "
                                       "--micro-batch=2");
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(
      plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
  ASSERT_TRUE(executor);
  std::vector<var::exec::NamedTensor> initial;
  ASSERT_EQ(executor->exportWeights(initial), "");
  executor->setStepGraphs(false);
  Outcome eager = train(*executor, 3, 2);
  std::vector<std::string> notes;
  ASSERT_EQ(executor->importWeights(initial, {}, notes), "");
  executor->setStepGraphs(true);
  Outcome graphs = train(*executor, 3, 2);
  expectSame(eager, graphs);
  EXPECT_EQ(eager.replays, 0);
  EXPECT_EQ(graphs.replays, kSteps * 3 - 2);
}

// An offloaded optimizer runs on the host lane: its updates are host calls
// in the lane's order, the copies are enqueued, and the step is recorded
// and replayed, bit for bit the CPU's; eagerly too, with the streams in the
// most hostile order their events allow.
TEST_F(StepGraphTest, OffloadedOptimizerReplaysOnTheHostLane) {
  using RaceOrder = UnreachableMemoryBackend::RaceOrder;
  const Config configs[] = {
      {"tiny_bn_cnn.mlir", "--zero-stage=2 --offload-optimizer --grad-clip=0.5",
       1, 4},
      {"tiny_bn_cnn.mlir",
       "--zero-stage=3 --offload-optimizer --bucket-mb=0.005", 1, 4},
      {"tiny_cnn_dropout.mlir",
       "--precision=fp32 --zero-stage=1 --offload-optimizer --optimizer=sgd", 1,
       4},
      {"tiny_cnn_dropout.mlir",
       "--zero-stage=3 --offload-optimizer --grad-accum=2", 2, 2},
  };
  for (const Config &config : configs) {
    SCOPED_TRACE(std::string(config.model) + " " + config.flags);
    var::plan::Plan plan = compileConfig(config);
    UnreachableMemoryBackend::hostCalls = 0;
    Outcome cpu = expectReplaysMatchTheCpu(config, plan);
    // One call a bucket, recorded once: the eager first run's and the
    // recording's.
    EXPECT_EQ(UnreachableMemoryBackend::hostCalls,
              2 * static_cast<int64_t>(plan.buckets.size()));
    UnreachableMemoryBackend::recordSteps = false;
    for (RaceOrder order : {RaceOrder::SideFirst, RaceOrder::ComputeFirst}) {
      SCOPED_TRACE(order == RaceOrder::SideFirst ? "side streams first"
                                                 : "compute first");
      UnreachableMemoryBackend::raceOrder = order;
      Outcome raced = train(plan, config.accum, config.micro,
                            std::make_unique<UnreachableMemoryBackend>());
      UnreachableMemoryBackend::raceOrder = RaceOrder::None;
      expectSame(cpu, raced);
    }
    UnreachableMemoryBackend::recordSteps = true;
  }
}

// Host work the lane cannot take (here the gathers of parameter shards
// kept in host memory, staged through the host) keeps the step eager,
// noted once, with the CPU's results.
TEST_F(StepGraphTest, OffloadWithHostWorkRunsEagerlyWithItsReason) {
  Config config{"tiny_bn_cnn.mlir",
                "--zero-stage=3 --offload-optimizer --offload-params", 1, 4};
  var::plan::Plan plan = compileConfig(config);
  Outcome cpu = train(plan, 1, 4, nullptr);
  Outcome device =
      train(plan, 1, 4, std::make_unique<UnreachableMemoryBackend>());
  expectSame(cpu, device);
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 0);
  EXPECT_EQ(device.replays, 0);
  ASSERT_EQ(device.notes.size(), 1u) << joined(device.notes);
  EXPECT_NE(device.notes[0].find("'train_step' runs eagerly: the plan "
                                 "offloads state to host memory, and the "
                                 "host runs the collectives of parameters"),
            std::string::npos)
      << device.notes[0];
}

// A recording that breaks (here: the backend refuses its first device
// work, as CUDA refuses an allocation or a synchronize) leaves nothing run:
// the step runs eagerly, and so does every later one.
TEST_F(StepGraphTest, BrokenRecordingFallsBackToEager) {
  Config config{"tiny_cnn_dropout.mlir", "--zero-stage=0", 1, 4};
  var::plan::Plan plan = compileConfig(config);
  Outcome cpu = train(plan, 1, 4, nullptr);
  UnreachableMemoryBackend::breakRecordings = true;
  Outcome device =
      train(plan, 1, 4, std::make_unique<UnreachableMemoryBackend>());
  expectSame(cpu, device);
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 0);
  EXPECT_EQ(device.replays, 0);
  ASSERT_EQ(device.notes.size(), 1u) << joined(device.notes);
  EXPECT_NE(device.notes[0].find("'train_step' runs eagerly: recording "
                                 "failed: "),
            std::string::npos)
      << device.notes[0];
  EXPECT_NE(device.notes[0].find("device work the test refuses while "
                                 "recording"),
            std::string::npos)
      << device.notes[0];
}

// A graph gone stale (on CUDA: recorded before the workspace grew) is
// dropped: that run is eager, the next records again, the results stay.
TEST_F(StepGraphTest, StaleGraphIsRecordedAgain) {
  Config config{"tiny_bn_cnn.mlir", "--zero-stage=1", 1, 4};
  var::plan::Plan plan = compileConfig(config);
  Outcome cpu = train(plan, 1, 4, nullptr);
  // Runs: 1 eager, 2 recorded and launched, 3 stale (eager), 4 recorded
  // again and launched, 5-6 replayed.
  UnreachableMemoryBackend::staleAfter = 1;
  Outcome device =
      train(plan, 1, 4, std::make_unique<UnreachableMemoryBackend>());
  UnreachableMemoryBackend::staleAfter = -1;
  expectSame(cpu, device);
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 2);
  EXPECT_EQ(device.replays, kSteps - 2);
}

// VAR_SYNC_EACH_OP=1 synchronizes after every instruction: never recorded,
// and the results (read with no synchronize left) are the CPU's.
TEST_F(StepGraphTest, SyncEachOpRunsEagerly) {
  var::plan::Plan plan =
      compile("tiny_bn_cnn.mlir", "--zero-stage=0 --micro-batch=4");
  Outcome cpu = train(plan, 1, 4, nullptr);
  setenv("VAR_SYNC_EACH_OP", "1", 1);
  Outcome device =
      train(plan, 1, 4, std::make_unique<UnreachableMemoryBackend>());
  unsetenv("VAR_SYNC_EACH_OP");
  expectSame(cpu, device);
  EXPECT_EQ(device.replays, 0);
  ASSERT_EQ(device.notes.size(), 1u) << joined(device.notes);
  EXPECT_NE(device.notes[0].find("VAR_SYNC_EACH_OP=1"), std::string::npos)
      << device.notes[0];
}

// A traced run of a step that replays (varrun --trace) replays a second
// recording of it whose time marks are graph nodes, so that the timeline
// shows the replayed step; the results stay the CPU's.
TEST_F(StepGraphTest, TracedRunsReplayATimedRecording) {
  var::plan::Plan plan =
      compile("tiny_bn_cnn.mlir", "--zero-stage=0 --micro-batch=4");
  var::exec::SingleRankCommunicator cpuComm, deviceComm;
  auto cpu = var::exec::Executor::create(plan, cpuComm, 5, nullptr);
  auto device = var::exec::Executor::create(
      plan, deviceComm, 5, std::make_unique<UnreachableMemoryBackend>());
  ASSERT_TRUE(cpu && device);
  train(*cpu, 1, 4);
  train(*device, 1, 4); // eager, recorded, then replayed
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 1);
  var::test::TimelineTotals sink;
  device->setTimeline(&sink);
  Outcome traced = train(*device, 1, 4);
  expectSame(train(*cpu, 1, 4), traced);
  EXPECT_EQ(UnreachableMemoryBackend::recordings, 2); // the timed twin, once
  EXPECT_EQ(traced.replays, kSteps);
  EXPECT_EQ(sink.runs, kSteps);
}

} // namespace
