// The timeline (varrun --trace): interval arithmetic, runs placed end to
// end, bookkeeping left out, the per-stream summary and the trace JSON.
#include "runtime/train/Timeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using var::exec::PlanStream;
using var::plan::Instruction;
using var::plan::PlanFunction;
using var::train::Timeline;
using Intervals = std::vector<std::pair<double, double>>;

TEST(Timeline, MergesOverlappingAndTouchingIntervals) {
  Intervals merged = var::train::mergeIntervals(
      {{5, 6}, {0, 2}, {1, 3}, {3, 4}, {7, 7}, {6.5, 6.25}});
  EXPECT_EQ(merged, (Intervals{{0, 4}, {5, 6}}));
  EXPECT_DOUBLE_EQ(var::train::totalLength(merged), 5);
}

TEST(Timeline, OverlapOfTwoLanes) {
  Intervals a = {{0, 4}, {6, 10}}, b = {{2, 7}, {9, 12}};
  EXPECT_DOUBLE_EQ(var::train::overlapLength(a, b), 2 + 1 + 1);
  EXPECT_DOUBLE_EQ(var::train::overlapLength(a, {}), 0);
}

PlanFunction makeFunction(const std::vector<std::string> &ops) {
  PlanFunction function;
  function.name = "train_step";
  for (const std::string &op : ops) {
    Instruction inst;
    inst.op = op;
    inst.location = "m.mlir:1:2";
    function.instructions.push_back(inst);
  }
  return function;
}

TEST(Timeline, SummarizesBusyTimeAndCommUnderCompute) {
  PlanFunction function = makeFunction(
      {"var.conv", "dist.record_event", "dist.reduce_scatter", "var.conv"});
  Timeline timeline(0);
  // compute busy [0, 2] and [3, 5]; comm [1, 4]: 2 of its 3 under compute.
  timeline.record(function,
                  {PlanStream::Compute, PlanStream::Compute, PlanStream::Comm,
                   PlanStream::Compute},
                  {0, 1.5, 1, 3}, {2, 1.5, 4, 5});
  ASSERT_EQ(timeline.getEvents().size(), 3u); // the event is bookkeeping
  var::train::TimelineSummary summary = timeline.summarize();
  EXPECT_DOUBLE_EQ(summary.busy[0], 4);
  EXPECT_DOUBLE_EQ(summary.busy[1], 3);
  EXPECT_DOUBLE_EQ(summary.commUnderCompute, 2.0 / 3.0);
  EXPECT_EQ(timeline.report(2), "compute 2000.00 ms, comm 1500.00 ms (67% "
                                "under compute), copy 0.00 ms, host 0.00 ms "
                                "busy per step");
}

TEST(Timeline, PlacesRunsOneAfterAnother) {
  PlanFunction function = makeFunction({"var.relu"});
  Timeline timeline(1);
  for (int run = 0; run < 3; ++run)
    timeline.record(function, {PlanStream::Compute}, {0.25}, {1.0});
  const auto &events = timeline.getEvents();
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_GE(events[i].begin, events[i - 1].end); // never before the last
  EXPECT_DOUBLE_EQ(events[0].begin, 0.25);
}

TEST(Timeline, WritesTraceEventJson) {
  PlanFunction function = makeFunction({"var.\"odd\"\\op"});
  Timeline timeline(3);
  timeline.record(function, {PlanStream::Copy}, {0.000001}, {0.000003});
  std::string json = timeline.toJson();
  EXPECT_NE(json.find("\"name\": \"var.\\\"odd\\\"\\\\op\", \"cat\": "
                      "\"train_step\", \"ph\": \"X\", \"ts\": 1.000, "
                      "\"dur\": 2.000, \"pid\": 3, \"tid\": 2"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"args\": {\"name\": \"copy\"}"), std::string::npos);
  EXPECT_NE(json.find("\"name\": \"rank 3\""), std::string::npos);

  std::string path = ::testing::TempDir() + "timeline.json";
  ASSERT_EQ(timeline.write(path), "");
  std::ifstream file(path);
  std::stringstream read;
  read << file.rdbuf();
  EXPECT_EQ(read.str(), json);
  EXPECT_NE(timeline.write("/nonexistent-dir/t.json"), "");
}

} // namespace
