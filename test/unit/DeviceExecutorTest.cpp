// The executor's device path without a GPU: a backend that runs the CPU
// kernels and primitives on memory the host cannot dereference
// (UnreachableMemoryBackend.h), with model state, collectives and updates
// through the primitives, streams switched and events recorded before they
// are waited for, and offloaded state in host memory. Training must give the
// CPU backend's losses, weights, gradient norms and training state, bit for
// bit, at every ZeRO stage with and without offload.
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "test/unit/CompilePlan.h"
#include "test/unit/UnreachableMemoryBackend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#ifndef VARC_PATH
#error "VARC_PATH must name the varc binary"
#endif

namespace fs = std::filesystem;
using var::exec::Backend;
using var::exec::HostTensor;
using var::plan::DType;

namespace {

using var::test::UnreachableMemoryBackend;

constexpr int64_t kBatch = 4, kSteps = 4, kClipElements = 4 * 3 * 16 * 16;

var::plan::Plan compile(const std::string &flags) {
  return var::test::compilePlan(MODEL, flags, "var-device-executor-test");
}

/// What a run leaves to compare.
struct Outcome {
  std::vector<float> losses;
  std::vector<var::exec::NamedTensor> weights, grads;
  var::exec::RankTrainingState state;
  std::optional<double> lastNorm;
  double norm = 0;
};

/// kSteps steps of random clips (the same for every backend), with `accum`
/// micro-steps each; then everything the executor reports.
Outcome train(const var::plan::Plan &plan, int64_t accum,
              std::unique_ptr<Backend> backend) {
  var::exec::SingleRankCommunicator comm;
  auto executor =
      var::exec::Executor::create(plan, comm, /*seed=*/5, std::move(backend));
  EXPECT_TRUE(executor) << executor.error();
  Outcome out;
  if (!executor)
    return out;
  executor->setCaptureGradients(true);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  int64_t micro = kBatch / accum;
  for (int64_t step = 0; step < kSteps; ++step) {
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
        args.push_back(HostTensor::scalarF32(0.01f));
        args.push_back(HostTensor::scalarI64(step + 1));
      }
      std::vector<HostTensor> results;
      std::string error =
          executor->run(last ? "train_step" : "accumulate_step", args, results,
                        static_cast<uint64_t>(step * accum + m));
      EXPECT_EQ(error, "");
      if (!error.empty())
        return out;
      out.losses.push_back(results[0].floats()[0]);
    }
  }
  EXPECT_EQ(executor->exportWeights(out.weights), "");
  EXPECT_EQ(executor->gatherCapturedGradients(out.grads), "");
  EXPECT_EQ(executor->reduceGradNorm(out.norm), "");
  out.lastNorm = executor->getLastGradNorm();
  out.state = executor->getTrainingState();
  return out;
}

void expectSame(const std::vector<var::exec::NamedTensor> &a,
                const std::vector<var::exec::NamedTensor> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].values, b[i].values) << a[i].name;
  }
}

void expectSame(const std::vector<var::exec::TensorSlice> &a,
                const std::vector<var::exec::TensorSlice> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].offset, b[i].offset);
    EXPECT_EQ(a[i].values, b[i].values) << a[i].name;
  }
}

TEST(DeviceExecutorTest, DevicePathMatchesTheCpuBackendBitForBit) {
  struct Config {
    const char *flags;
    int64_t accum;
    bool offloads;
  };
  const Config configs[] = {
      {"--zero-stage=0", 1, false},
      {"--zero-stage=1", 1, false},
      {"--zero-stage=2 --grad-clip=0.5", 1, false},
      {"--zero-stage=3 --bucket-mb=0.005", 1, false},
      {"--zero-stage=0 --grad-accum=2", 2, false},
      {"--zero-stage=1 --grad-accum=2 --optimizer=sgd", 2, false},
      {"--zero-stage=3 --grad-accum=2 --grad-clip=0.5", 2, false},
      {"--zero-stage=1 --offload-optimizer", 1, true},
      {"--zero-stage=2 --offload-optimizer --grad-clip=0.5", 1, true},
      {"--zero-stage=3 --offload-optimizer --optimizer=sgd", 1, true},
      {"--zero-stage=3 --offload-optimizer --offload-params --grad-accum=2", 2,
       true},
      {"--precision=fp32 --zero-stage=1 --offload-optimizer", 1, true},
      {"--precision=fp32 --zero-stage=3 --offload-optimizer --offload-params",
       1, true},
  };
  for (const Config &config : configs) {
    SCOPED_TRACE(config.flags);
    var::plan::Plan plan =
        compile(std::string(config.flags) +
                " --micro-batch=" + std::to_string(kBatch / config.accum));
    Outcome cpu = train(plan, config.accum, nullptr);
    UnreachableMemoryBackend::primitives = 0;
    UnreachableMemoryBackend::updates = 0;
    UnreachableMemoryBackend::hostAllocations = 0;
    UnreachableMemoryBackend::streamSwitches = 0;
    UnreachableMemoryBackend::unrecordedWaits = 0;
    Outcome device =
        train(plan, config.accum, std::make_unique<UnreachableMemoryBackend>());
    ASSERT_EQ(cpu.losses.size(), static_cast<size_t>(kSteps * config.accum));
    EXPECT_EQ(cpu.losses, device.losses);
    expectSame(cpu.weights, device.weights);
    expectSame(cpu.grads, device.grads);
    EXPECT_EQ(cpu.norm, device.norm);
    EXPECT_EQ(cpu.lastNorm, device.lastNorm);
    expectSame(cpu.state.master, device.state.master);
    ASSERT_EQ(cpu.state.optimizer.size(), device.state.optimizer.size());
    for (size_t k = 0; k < cpu.state.optimizer.size(); ++k)
      expectSame(cpu.state.optimizer[k].second,
                 device.state.optimizer[k].second);
    expectSame(cpu.state.buffers, device.state.buffers);
    EXPECT_GT(UnreachableMemoryBackend::primitives, 0);
    // Offloaded updates run on the host; the others on the device. Each
    // function stages its scalars, arguments and results in host memory;
    // offloaded state adds more.
    EXPECT_EQ(UnreachableMemoryBackend::updates > 0, !config.offloads);
    int64_t staging = 3 * static_cast<int64_t>(plan.functions.size());
    EXPECT_EQ(UnreachableMemoryBackend::hostAllocations > staging,
              config.offloads);
    EXPECT_GE(UnreachableMemoryBackend::hostAllocations, staging);
    // Streams are switched, and every wait is for an event recorded before.
    EXPECT_GT(UnreachableMemoryBackend::streamSwitches, 0);
    EXPECT_EQ(UnreachableMemoryBackend::unrecordedWaits, 0);
  }
}

// The plan's streams run in any order their events allow, as on a GPU: with
// the comm and copy streams as far ahead of compute as the events let them,
// or as far behind, training gives the CPU backend's bits at every stage.
// (Without the executor's run-start event, a ZeRO-3 gather raced the
// zeroing of the arena and training saw zero weights.)
TEST(DeviceExecutorTest, AnyStreamOrderTheEventsAllowGivesTheSameBits) {
  using RaceOrder = UnreachableMemoryBackend::RaceOrder;
  const char *configs[] = {
      "--zero-stage=0",
      "--zero-stage=2 --grad-clip=0.5",
      "--zero-stage=3 --bucket-mb=0.005",
      "--zero-stage=3 --offload-optimizer --offload-params",
  };
  for (const char *flags : configs) {
    SCOPED_TRACE(flags);
    var::plan::Plan plan = compile(std::string(flags) +
                                   " --micro-batch=" + std::to_string(kBatch));
    Outcome cpu = train(plan, 1, nullptr);
    for (RaceOrder order : {RaceOrder::SideFirst, RaceOrder::ComputeFirst}) {
      SCOPED_TRACE(order == RaceOrder::SideFirst ? "comm and copy first"
                                                 : "compute first");
      UnreachableMemoryBackend::raceOrder = order;
      Outcome device =
          train(plan, 1, std::make_unique<UnreachableMemoryBackend>());
      UnreachableMemoryBackend::raceOrder = RaceOrder::None;
      EXPECT_EQ(cpu.losses, device.losses);
      expectSame(cpu.weights, device.weights);
      expectSame(cpu.grads, device.grads);
      expectSame(cpu.state.master, device.state.master);
    }
  }
}

// Checkpoints through device memory: a state read from one executor and
// written into a fresh one continues training exactly as the first.
TEST(DeviceExecutorTest, TrainingStateRoundTripsThroughDeviceMemory) {
  for (const char *flags :
       {"--zero-stage=2 --micro-batch=4", "--zero-stage=3 --offload-optimizer "
                                          "--offload-params --micro-batch=4"}) {
    SCOPED_TRACE(flags);
    var::plan::Plan plan = compile(flags);
    var::exec::SingleRankCommunicator comm;
    auto first = var::exec::Executor::create(
        plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
    auto second = var::exec::Executor::create(
        plan, comm, 9, std::make_unique<UnreachableMemoryBackend>());
    ASSERT_TRUE(first && second);
    std::vector<float> clips(static_cast<size_t>(kBatch * kClipElements), 0.5f);
    std::vector<HostTensor> args = {
        HostTensor::f32({kBatch, 4, 3, 16, 16}, clips),
        HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
        HostTensor::scalarI64(1)};
    std::vector<HostTensor> results;
    ASSERT_EQ(first->run("train_step", args, results, 0), "");
    var::exec::RankTrainingState saved = first->getTrainingState();
    var::exec::TrainingState state;
    auto whole = [](const std::vector<var::exec::TensorSlice> &slices) {
      std::vector<var::exec::NamedTensor> tensors;
      for (const var::exec::TensorSlice &slice : slices)
        tensors.push_back({slice.name, {}, slice.values});
      return tensors;
    };
    // One rank: every slice is the whole tensor; shapes come from the plan.
    std::vector<var::exec::NamedTensor> weights;
    ASSERT_EQ(first->exportWeights(weights), "");
    auto shaped = [&](std::vector<var::exec::NamedTensor> tensors) {
      for (var::exec::NamedTensor &tensor : tensors)
        for (const var::exec::NamedTensor &weight : weights)
          if (weight.name == tensor.name)
            tensor.shape = weight.shape;
      return tensors;
    };
    state.master = shaped(whole(saved.master));
    for (const auto &[key, slices] : saved.optimizer)
      state.optimizer.push_back({key, shaped(whole(slices))});
    state.buffers = saved.buffers;
    ASSERT_EQ(second->setTrainingState(state), "");
    args[3] = HostTensor::scalarI64(2);
    std::vector<HostTensor> a, b;
    ASSERT_EQ(first->run("train_step", args, a, 1), "");
    ASSERT_EQ(second->run("train_step", args, b, 1), "");
    EXPECT_EQ(a[0].bytes, b[0].bytes);
    std::vector<var::exec::NamedTensor> wa, wb;
    ASSERT_EQ(first->exportWeights(wa), "");
    ASSERT_EQ(second->exportWeights(wb), "");
    expectSame(wa, wb);
  }
}

// Device work is asynchronous: one synchronize per run, and a fault found
// there names the function and how to find the instruction; with
// VAR_SYNC_EACH_OP=1 every instruction is synchronized and a fault names it.
TEST(DeviceExecutorTest, SynchronizesOncePerRunUnlessAsked) {
  var::plan::Plan plan = compile("--zero-stage=0 --micro-batch=4");
  std::vector<float> clips(static_cast<size_t>(kBatch * kClipElements), 0.5f);
  std::vector<HostTensor> args = {
      HostTensor::f32({kBatch, 4, 3, 16, 16}, clips),
      HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
      HostTensor::scalarI64(1)};
  var::exec::SingleRankCommunicator comm;
  for (bool each : {false, true}) {
    SCOPED_TRACE(each);
    if (each)
      setenv("VAR_SYNC_EACH_OP", "1", 1);
    auto executor = var::exec::Executor::create(
        plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
    unsetenv("VAR_SYNC_EACH_OP");
    ASSERT_TRUE(executor);
    std::vector<HostTensor> results;
    UnreachableMemoryBackend::synchronizations = 0;
    UnreachableMemoryBackend::failSynchronize = false;
    ASSERT_EQ(executor->run("train_step", args, results, 0), "");
    size_t instructions = plan.findFunction("train_step")->instructions.size();
    EXPECT_EQ(UnreachableMemoryBackend::synchronizations,
              each ? static_cast<int64_t>(instructions) : 1);
    UnreachableMemoryBackend::failSynchronize = true;
    std::string error = executor->run("train_step", args, results, 1);
    UnreachableMemoryBackend::failSynchronize = false;
    EXPECT_NE(error.find("an illegal memory access"), std::string::npos);
    if (each) {
      EXPECT_EQ(error.rfind("instruction 0 (", 0), 0u) << error;
    } else {
      EXPECT_NE(error.find("function 'train_step' failed"), std::string::npos)
          << error;
      EXPECT_NE(error.find("VAR_SYNC_EACH_OP=1"), std::string::npos) << error;
    }
  }
}

TEST(DeviceExecutorTest, FailedAllocationCarriesThePlansMemoryReport) {
  var::plan::Plan plan = compile("--zero-stage=0 --micro-batch=4");
  std::vector<float> clips(static_cast<size_t>(kBatch * kClipElements), 0.5f);
  std::vector<HostTensor> args = {
      HostTensor::f32({kBatch, 4, 3, 16, 16}, clips),
      HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
      HostTensor::scalarI64(1)};
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(
      plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
  ASSERT_TRUE(executor);
  // The step's arena is the largest allocation: a device too small for it.
  UnreachableMemoryBackend::allocationLimit =
      plan.findFunction("train_step")->arenaBytes - 1;
  std::vector<HostTensor> results;
  std::string error = executor->run("train_step", args, results, 0);
  UnreachableMemoryBackend::allocationLimit = INT64_MAX;
  EXPECT_EQ(error.rfind("function 'train_step': cannot allocate", 0), 0u)
      << error;
  EXPECT_NE(error.find("; the plan's memory report for this rank: device "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("activations"), std::string::npos) << error;
}

} // namespace

TEST(DeviceExecutorTest, FixedArgumentsStayInTheirStaging) {
  var::plan::Plan plan = compile("--zero-stage=0 --micro-batch=4");
  std::vector<float> first(static_cast<size_t>(kBatch * kClipElements), 0.5f);
  std::vector<float> second(first.size(), -0.25f);
  ASSERT_GE(first.size() * sizeof(float),
            var::exec::Executor::kFixedArgumentBytes);
  // Two steps: the first on `first`; before the second, the clip tensor's
  // storage is overwritten in place with `second`. Returns the losses.
  auto losses = [&](bool fixed) {
    var::exec::SingleRankCommunicator comm;
    auto executor = var::exec::Executor::create(
        plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
    EXPECT_TRUE(executor);
    executor->setFixedArguments("train_step", fixed);
    std::vector<HostTensor> args = {
        HostTensor::f32({kBatch, 4, 3, 16, 16}, first),
        HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
        HostTensor::scalarI64(1)};
    std::vector<float> out;
    for (int step = 0; step < 2; ++step) {
      if (step == 1)
        std::memcpy(args[0].bytes.data(), second.data(), args[0].bytes.size());
      args[3] = HostTensor::scalarI64(step + 1);
      std::vector<HostTensor> results;
      EXPECT_EQ(executor->run("train_step", args, results, 0), "");
      out.push_back(results.empty() ? 0.0f : results[0].floats()[0]);
    }
    return out;
  };
  // Reference: the same two steps both on `first`.
  var::exec::SingleRankCommunicator comm;
  auto reference = var::exec::Executor::create(
      plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
  ASSERT_TRUE(reference);
  std::vector<float> expected;
  for (int step = 0; step < 2; ++step) {
    std::vector<HostTensor> args = {
        HostTensor::f32({kBatch, 4, 3, 16, 16}, first),
        HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
        HostTensor::scalarI64(step + 1)};
    std::vector<HostTensor> results;
    ASSERT_EQ(reference->run("train_step", args, results, 0), "");
    expected.push_back(results[0].floats()[0]);
  }
  // Promised fixed: the staged `first` is used again (the caller broke the
  // promise here on purpose, to see that nothing was copied).
  EXPECT_EQ(losses(true), expected);
  // Not promised: the new bytes are copied and change the second loss.
  std::vector<float> copied = losses(false);
  EXPECT_EQ(copied[0], expected[0]);
  EXPECT_NE(copied[1], expected[1]);
}

// The arena has room for every value the planner placed or left out but
// those nothing needs: the var.get_param results (bucketed parameters read
// in place from the bucket at stages 0-2, buffers from their own storage
// before the step updates them); at stage 0 also the bf16
// update's f32 result and its cast (the update writes the bucket's compute
// copy itself) and the all-reduce's result (reduced in place, one rank); at
// stage 3 the dist.unpack results (views of the gathered bucket).
// Training gives the same bits: DevicePathMatchesTheCpuBackendBitForBit.
TEST(DeviceExecutorTest, ArenaLeavesOutWhatNothingNeeds) {
  for (const char *flags :
       {"--zero-stage=0 --micro-batch=4", "--zero-stage=2 --micro-batch=4",
        "--zero-stage=3 --micro-batch=4"}) {
    bool stage0 = std::string(flags).find("stage=0") != std::string::npos;
    var::plan::Plan plan = compile(flags);
    const var::plan::PlanFunction *step = plan.findFunction("train_step");
    ASSERT_NE(step, nullptr);
    auto roundUp = [](int64_t bytes) { return (bytes + 255) / 256 * 256; };
    std::vector<bool> param(step->values.size(), false);
    std::vector<const var::plan::Instruction *> producer(step->values.size());
    int64_t params = 0, folded = 0;
    for (const var::plan::Instruction &inst : step->instructions) {
      for (uint32_t id : inst.results)
        producer[id] = &inst;
      if (inst.op == "var.get_param") {
        // Read in place from its bucket (no get_param at stage 3), or from
        // its buffer (running statistics, read before the step's
        // var.update_buffer).
        param[inst.results[0]] = true;
        ++params;
      }
      if (inst.op == "dist.unpack") { // read where the all-gather wrote it
        param[inst.results[0]] = true;
        ++params;
      }
      if (stage0 && inst.op == "var.cast" && producer[inst.operands[0]] &&
          producer[inst.operands[0]]->op == "dist.adamw_update") {
        param[inst.operands[0]] = param[inst.results[0]] = true;
        ++folded;
      }
      if (stage0 && inst.op == "dist.all_reduce")
        param[inst.results[0]] = true;
    }
    EXPECT_EQ(folded, stage0 ? 1 : 0) << flags; // the bf16 bucket's
    ASSERT_GT(params, 0) << flags;
    int64_t expected = roundUp(step->arenaBytes);
    for (size_t id = 0; id < step->values.size(); ++id) {
      const var::plan::PlanValue &value = step->values[id];
      if (value.arenaOffset >= 0 || param[id])
        continue;
      int64_t elements = 1;
      for (int64_t dim : value.shape)
        elements *= dim;
      expected += roundUp(elements * var::plan::getDTypeBytes(value.dtype));
    }
    var::exec::SingleRankCommunicator comm;
    auto executor = var::exec::Executor::create(
        plan, comm, 5, std::make_unique<UnreachableMemoryBackend>());
    ASSERT_TRUE(executor) << executor.error();
    std::vector<HostTensor> args = {
        HostTensor::f32({kBatch, 4, 3, 16, 16},
                        std::vector<float>(kBatch * kClipElements, 0.5f)),
        HostTensor::i64({kBatch}, {0, 1, 2, 3}), HostTensor::scalarF32(0.01f),
        HostTensor::scalarI64(1)};
    std::vector<HostTensor> results;
    ASSERT_EQ(executor->run("train_step", args, results, 0), "") << flags;
    EXPECT_EQ(executor->getDeviceBytes().arena, expected) << flags;
  }
}
