// The profiler's bookkeeping: per-op-kind calls, FLOPs and bytes moved from
// the plan's instructions, the report's totals, and --profile-steps parsing.
#include "runtime/train/Profiler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

using namespace var;

TEST(ProfilerTest, AddsUpPerOpKind) {
  plan::PlanFunction function;
  function.instructions.resize(3);
  function.instructions[0].op = "var.conv";
  function.instructions[0].flops = 100;
  function.instructions[1].op = "dist.all_reduce";
  function.instructions[2].op = "var.conv";
  function.instructions[2].flops = 250;
  train::Profiler profiler;
  for (int step = 0; step < 2; ++step)
    for (size_t i = 0; i < function.instructions.size(); ++i) {
      profiler.begin(function, i);
      profiler.end(function, i);
    }
  const std::map<std::string, train::OpProfile> &ops = profiler.getOps();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops.at("var.conv").count, 4);
  EXPECT_EQ(ops.at("var.conv").flops, 700);
  EXPECT_GE(ops.at("var.conv").seconds, 0.0);
  EXPECT_EQ(ops.at("dist.all_reduce").count, 2);
  EXPECT_EQ(ops.at("dist.all_reduce").flops, 0);

  // 700 FLOPs over 2 steps of 1 ms: 350 per step, 7e-7 TFLOP/s, which is
  // 0.00007% of 1 TFLOP/s (printed to two decimals: 0.00%).
  std::string report = profiler.report(1.0, 2, 1e-3);
  EXPECT_NE(report.find("op "), std::string::npos) << report;
  EXPECT_NE(report.find("var.conv "), std::string::npos) << report;
  EXPECT_NE(report.find("dist.all_reduce "), std::string::npos) << report;
  EXPECT_NE(report.find("total (instructions) "), std::string::npos);
  EXPECT_NE(report.find("2 steps in 0.001 s (0.001 s/step): 350 FLOPs per "
                        "step, 0.0000 TFLOP/s, MFU 0.00% of 1 TFLOP/s"),
            std::string::npos)
      << report;
  EXPECT_NE(report.back(), '\n');
}

// As the executor's timeline sink (a GPU's profile): each instruction's
// time is between its marks, per op kind and per instruction, run after
// run; overlapping streams are not merged.
TEST(ProfilerTest, TakesTimesFromTheTimeline) {
  plan::PlanFunction function;
  function.name = "train_step";
  function.instructions.resize(3);
  function.instructions[0].op = "var.conv";
  function.instructions[0].flops = 100;
  function.instructions[1].op = "dist.all_reduce";
  function.instructions[2].op = "var.conv";
  std::vector<exec::PlanStream> streams = {exec::PlanStream::Compute,
                                           exec::PlanStream::Comm,
                                           exec::PlanStream::Compute};
  train::Profiler profiler;
  profiler.record(function, streams, {0.0, 0.5e-3, 1e-3}, {1e-3, 2e-3, 4e-3});
  profiler.record(function, streams, {0.0, 0.0, 1e-3}, {2e-3, 1e-3, 2e-3});
  const std::map<std::string, train::OpProfile> &ops = profiler.getOps();
  EXPECT_EQ(ops.at("var.conv").count, 4);
  EXPECT_EQ(ops.at("var.conv").flops, 200);
  EXPECT_NEAR(ops.at("var.conv").seconds, 1e-3 + 3e-3 + 2e-3 + 1e-3, 1e-12);
  EXPECT_NEAR(ops.at("dist.all_reduce").seconds, 1.5e-3 + 1e-3, 1e-12);
  EXPECT_NEAR(profiler.getInstructions().at({"train_step", 2}).seconds, 4e-3,
              1e-12);
}

// Each instruction's own totals, and the report's slowest-instructions
// table, slowest first, with shapes and source locations.
TEST(ProfilerTest, ListsTheSlowestInstructions) {
  plan::PlanFunction function;
  function.name = "train_step";
  function.values.resize(2);
  function.values[0].shape = {2, 3};
  function.values[0].dtype = plan::DType::BF16;
  function.values[1].shape = {};
  function.values[1].dtype = plan::DType::F32;
  function.instructions.resize(2);
  function.instructions[0].op = "var.relu";
  function.instructions[0].operands = {0};
  function.instructions[0].results = {0};
  function.instructions[1].op = "var.conv";
  function.instructions[1].operands = {0};
  function.instructions[1].results = {1};
  function.instructions[1].location = "model.mlir:7:3";
  function.instructions[1].flops = 40;
  train::Profiler profiler;
  for (int step = 0; step < 3; ++step)
    for (size_t i = 0; i < 2; ++i) {
      profiler.begin(function, i);
      if (i == 1) // the conv takes longer
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      profiler.end(function, i);
    }
  const auto &instructions = profiler.getInstructions();
  ASSERT_EQ(instructions.size(), 2u);
  const train::InstructionProfile &conv = instructions.at({"train_step", 1});
  EXPECT_EQ(conv.op, "var.conv");
  EXPECT_EQ(conv.count, 3);
  EXPECT_EQ(conv.flops, 120);
  EXPECT_EQ(conv.shapes, "2x3 bf16 -> scalar f32");
  std::string report = profiler.report(1.0, 3, 1e-2);
  size_t table = report.find("slowest instructions (of 2)");
  ASSERT_NE(table, std::string::npos) << report;
  size_t convRow =
      report.find("var.conv  2x3 bf16 -> scalar f32  model.mlir:7:3", table);
  size_t reluRow = report.find("var.relu  2x3 bf16 -> 2x3 bf16", table);
  EXPECT_NE(convRow, std::string::npos) << report;
  EXPECT_NE(reluRow, std::string::npos) << report;
  EXPECT_LT(convRow, reluRow) << report;
  EXPECT_NE(report.back(), '\n');
}

TEST(ProfilerTest, CountsOperandAndResultBytes) {
  // %2 = conv(%0, %1) with %0 f32 [2, 3], %1 bf16 [4], %2 f32 [5]; then an
  // op on a shard whose size is still dynamic, which counts nothing.
  plan::PlanFunction function;
  function.values = {{{2, 3}, plan::DType::F32},
                     {{4}, plan::DType::BF16},
                     {{5}, plan::DType::F32},
                     {{plan::kDynamicDim}, plan::DType::F32}};
  function.instructions.resize(2);
  function.instructions[0].op = "var.conv";
  function.instructions[0].operands = {0, 1};
  function.instructions[0].results = {2};
  function.instructions[1].op = "dist.all_gather";
  function.instructions[1].operands = {3};
  function.instructions[1].results = {3};
  EXPECT_EQ(train::getInstructionBytes(function, function.instructions[0]),
            6 * 4 + 4 * 2 + 5 * 4);
  EXPECT_EQ(train::getInstructionBytes(function, function.instructions[1]), 0);

  train::Profiler profiler;
  for (int step = 0; step < 2; ++step)
    for (size_t i = 0; i < function.instructions.size(); ++i) {
      profiler.begin(function, i);
      profiler.end(function, i);
    }
  EXPECT_EQ(profiler.getOps().at("var.conv").bytes, 2 * 52);
  // 104 bytes over 2 steps of 1 ms: 52 per step, 1.04e-7 TB/s.
  std::string report = profiler.report(1.0, 2, 1e-3);
  EXPECT_NE(report.find("\n52 bytes per step (instruction operands and "
                        "results), 0.0000 TB/s"),
            std::string::npos)
      << report;
}

TEST(ProfilerTest, StepRanges) {
  int64_t first = 0, last = 0;
  EXPECT_TRUE(train::parseStepRange("3:7", first, last));
  EXPECT_EQ(first, 3);
  EXPECT_EQ(last, 7);
  EXPECT_TRUE(train::parseStepRange("5:5", first, last));
  for (const char *bad : {"7:3", "0:2", "3", ":4", "3:", "a:b", "1:2:3"})
    EXPECT_FALSE(train::parseStepRange(bad, first, last)) << bad;
}

// A stream's wait for another (the span of dist.wait_event in a GPU's
// timeline) is idle time: reported on a line of its own, not as an op, in
// the total or among the slowest instructions.
TEST(ProfilerTest, ReportsStreamWaitsApart) {
  plan::PlanFunction function;
  function.name = "train_step";
  function.instructions.resize(2);
  function.instructions[0].op = "var.conv";
  function.instructions[0].flops = 100;
  function.instructions[1].op = "dist.wait_event";
  std::vector<exec::PlanStream> streams(2, exec::PlanStream::Compute);
  train::Profiler profiler;
  profiler.record(function, streams, {0.0, 0.001}, {0.001, 0.005});
  std::string report = profiler.report(1.0, 1, 0.005);
  EXPECT_EQ(report.find("dist.wait_event "), std::string::npos) << report;
  EXPECT_NE(report.find("stream waits (dist.wait_event, dist.record_event): "
                        "1 calls, 4.000 ms, not counted above"),
            std::string::npos)
      << report;
  size_t total = report.find("total (instructions)");
  ASSERT_NE(total, std::string::npos) << report;
  std::string line = report.substr(total, report.find('\n', total) - total);
  EXPECT_NE(line.find(" 1.000 "), std::string::npos) << line;
  EXPECT_NE(line.find("100.0%"), std::string::npos) << line;
}
