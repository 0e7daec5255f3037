// Checkpoints: the metadata format and its strict parser, writing and
// reading one rank's shard, the newest complete checkpoint, corrupt and
// mismatched checkpoints (errors naming the file and the tensor), and the
// executor's training state moved between ZeRO stages. Multi-rank writing,
// exact resume and the crash test run through varrun in test/varrun.
#include "runtime/train/Checkpoint.h"
#include "runtime/exec/SingleRank.h"
#include "runtime/train/CheckpointMeta.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#ifndef VARC_PATH
#error "VARC_PATH must name the varc binary"
#endif

namespace fs = std::filesystem;
using namespace var::train;
using ::testing::HasSubstr;
using var::exec::NamedTensor;
using var::exec::RankTrainingState;
using var::exec::TrainingState;

namespace {

/// A fresh directory per test.
std::string scratch(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / "var-checkpoint-test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/// A two-parameter model with one buffer, as varrun would describe it.
CheckpointMeta sampleMeta(int64_t step) {
  CheckpointMeta meta;
  meta.step = step;
  meta.epoch = step / 3;
  meta.epochStep = step % 3;
  meta.seed = 7;
  meta.data = "builtin:synthetic";
  meta.trainSize = 24;
  meta.globalBatch = 8;
  meta.microBatch = 4;
  meta.gradAccum = 2;
  meta.zeroStage = 1;
  meta.lr = 0.001;
  meta.optimizerKeys = {"exp_avg"};
  meta.tensors = {
      {"w", {2, 3}, false}, {"b", {3}, false}, {"bn.mean", {2}, true}};
  return meta;
}

/// One rank holding everything: master and state of `w` and `b`.
RankTrainingState sampleState(float base) {
  RankTrainingState state;
  state.master = {{"w", 0, {base, 1, 2, 3, 4, 5}}, {"b", 0, {6, 7, base}}};
  state.optimizer = {
      {"exp_avg",
       {{"w", 0, {.1f, .2f, .3f, .4f, .5f, .6f}}, {"b", 0, {.7f, .8f, .9f}}}}};
  state.buffers = {{"bn.mean", {2}, {base, -base}}};
  return state;
}

std::string save(const std::string &dir, int64_t step, float base) {
  var::exec::SingleRankCommunicator comm;
  std::string path;
  EXPECT_EQ(
      writeCheckpoint(dir, sampleMeta(step), sampleState(base), {}, comm, path),
      "");
  return path;
}

const NamedTensor *find(const std::vector<NamedTensor> &tensors,
                        const std::string &name) {
  for (const NamedTensor &tensor : tensors)
    if (tensor.name == name)
      return &tensor;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Metadata
//===----------------------------------------------------------------------===//

TEST(CheckpointMetaTest, RoundTripsAndChecksums) {
  CheckpointMeta meta = sampleMeta(5);
  meta.worldSize = 2;
  meta.lr = 0.1 + 0.2; // needs every digit
  meta.files = {{"rank-0.safetensors", 123, 0xdeadbeef},
                {"rank-1.safetensors", 45, 7}};
  std::string text;
  ASSERT_EQ(checkpoint::printMeta(meta, text), "");
  CheckpointMeta back;
  ASSERT_EQ(checkpoint::parseMeta(text, back), "");
  EXPECT_EQ(back.step, 5);
  EXPECT_EQ(back.epoch, 1);
  EXPECT_EQ(back.epochStep, 2);
  EXPECT_EQ(back.seed, 7u);
  EXPECT_EQ(back.data, "builtin:synthetic");
  EXPECT_EQ(back.lr, meta.lr);
  EXPECT_EQ(back.optimizerKeys, meta.optimizerKeys);
  ASSERT_EQ(back.tensors.size(), 3u);
  EXPECT_EQ(back.tensors[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(back.tensors[2].buffer);
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[0].crc, 0xdeadbeefu);
  EXPECT_EQ(back.files[1].bytes, 45u);
  // zlib's crc32 of "123456789", the standard check value.
  EXPECT_EQ(checkpoint::crc32("123456789", 9), 0xcbf43926u);
}

TEST(CheckpointMetaTest, RejectsMalformedTextNamingTheLine) {
  CheckpointMeta meta = sampleMeta(5);
  meta.worldSize = 1;
  meta.files = {{"rank-0.safetensors", 1, 2}};
  std::string text;
  ASSERT_EQ(checkpoint::printMeta(meta, text), "");
  auto replace = [&](const std::string &from, const std::string &to) {
    std::string copy = text;
    copy.replace(copy.find(from), from.size(), to);
    return copy;
  };
  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {"", "the file is empty"},
      {"var-checkpoint 2\n", "line 1: not a VAR checkpoint"},
      {text.substr(0, text.size() - 4), "ends before `end` (truncated?)"},
      {text.substr(0, text.size() - 1), "ends without a newline"},
      {replace("step 5\n", "step 5\nstep 6\n"), "line 3: `step` appears twice"},
      {replace("step 5\n", ""), "`step` is missing"},
      {replace("seed 7", "seed x"), "line 5: `seed` needs"},
      {replace("zero_stage 1", "zero_stage 4"), "line 12: `zero_stage` needs"},
      {replace("lr ", "lr -"), "`lr` needs a non-negative number"},
      {replace("step 5\n", "step 5\ncolour blue\n"), "unknown key `colour`"},
      {replace("tensor b param 3", "tensor w param 3"),
       "tensor 'w' appears twice"},
      {replace("tensor b param 3", "tensor b weight 3"), "`tensor` needs"},
      {replace("rank-0.safetensors 1 00000002", "../x 1 00000002"),
       "`file` needs NAME BYTES CRC32"},
      {replace("world_size 1", "world_size 2"),
       "lists 1 shard file(s) for world size 2"},
      {text + "step 3\n", "text after `end`"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.text);
    CheckpointMeta parsed;
    EXPECT_THAT(checkpoint::parseMeta(c.text, parsed), HasSubstr(c.error));
  }
}

//===----------------------------------------------------------------------===//
// Writing, finding and reading
//===----------------------------------------------------------------------===//

TEST(CheckpointTest, WritesAndReadsBack) {
  std::string dir = scratch("roundtrip");
  std::string path = save(dir, 4, 9.5f);
  EXPECT_EQ(path, dir + "/step-4");
  EXPECT_TRUE(fs::exists(path + "/rank-0.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/tmp-step-4"));

  CheckpointMeta meta;
  TrainingState state;
  ASSERT_EQ(readCheckpoint(path, 0, 1, meta, state), "");
  EXPECT_EQ(meta.step, 4);
  EXPECT_EQ(meta.worldSize, 1);
  ASSERT_EQ(state.master.size(), 2u);
  EXPECT_EQ(find(state.master, "w")->values,
            (std::vector<float>{9.5f, 1, 2, 3, 4, 5}));
  EXPECT_EQ(find(state.master, "b")->shape, (std::vector<int64_t>{3}));
  ASSERT_EQ(state.optimizer.size(), 1u);
  EXPECT_EQ(state.optimizer[0].first, "exp_avg");
  EXPECT_EQ(find(state.optimizer[0].second, "b")->values,
            (std::vector<float>{.7f, .8f, .9f}));
  EXPECT_EQ(find(state.buffers, "bn.mean")->values,
            (std::vector<float>{9.5f, -9.5f}));
}

TEST(CheckpointTest, NewestCompleteKeepsAndSkips) {
  std::string dir = scratch("newest");
  save(dir, 3, 1);
  save(dir, 6, 2);
  std::string newest = save(dir, 9, 3);
  // A crash mid-write leaves a temporary directory: never a candidate,
  // and the next write clears it.
  fs::create_directories(dir + "/tmp-step-12");
  std::string path;
  std::vector<std::string> skipped;
  ASSERT_EQ(findLatestCheckpoint(dir, path, skipped), "");
  EXPECT_EQ(path, newest);
  EXPECT_TRUE(skipped.empty());

  // A damaged newest one is skipped, with the reason.
  std::string shard = newest + "/rank-0.safetensors";
  std::string bytes = readText(shard);
  writeText(shard, bytes.substr(0, bytes.size() / 2));
  ASSERT_EQ(findLatestCheckpoint(dir, path, skipped), "");
  EXPECT_EQ(path, dir + "/step-6");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0],
              HasSubstr(shard + ": " + std::to_string(bytes.size() / 2) +
                        " bytes, the metadata says " +
                        std::to_string(bytes.size())));

  // Keeping 2: after step 12 only steps 9 and 12 remain, no leftovers.
  var::exec::SingleRankCommunicator comm;
  CheckpointWriteOptions options;
  options.keep = 2;
  ASSERT_EQ(
      writeCheckpoint(dir, sampleMeta(12), sampleState(4), options, comm, path),
      "");
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"step-12", "step-9"}));

  // Nothing there at all: no checkpoint, no error.
  ASSERT_EQ(findLatestCheckpoint(dir + "/absent", path, skipped), "");
  EXPECT_EQ(path, "");
  EXPECT_THAT(resolveCheckpoint(dir + "/absent", path, skipped),
              HasSubstr("no complete checkpoint in " + dir + "/absent"));
}

TEST(CheckpointTest, CorruptionNamesTheFileAndTheTensor) {
  std::string dir = scratch("corrupt");
  std::string path = save(dir, 2, 1);
  std::string shard = path + "/rank-0.safetensors";
  std::string meta = path + "/" + kCheckpointMetaFile;
  const std::string bytes = readText(shard), metaText = readText(meta);
  // Reading names `file` and says `message`; verifying names `file` too.
  auto expectError = [&](const std::string &file, const std::string &message) {
    CheckpointMeta parsed;
    TrainingState state;
    EXPECT_THAT(readCheckpoint(path, 0, 1, parsed, state),
                HasSubstr(file + ": " + message));
    EXPECT_THAT(verifyCheckpoint(path, parsed), HasSubstr(file + ": "));
  };

  // A flipped bit in the last tensor's data (the buffer's F32 values, as
  // the writer orders by dtype and then by name: ... master/w last).
  std::string flipped = bytes;
  flipped[flipped.size() - 1] ^= 0x40;
  writeText(shard, flipped);
  expectError(shard, "tensor 'master/w' fails its checksum");

  // Truncated.
  writeText(shard, bytes.substr(0, 40));
  expectError(shard, "40 bytes, the metadata says " +
                         std::to_string(bytes.size()) +
                         " (truncated or replaced)");

  // Missing.
  fs::remove(shard);
  expectError(shard, "No such file or directory (the checkpoint is "
                     "incomplete)");
  writeText(shard, bytes);

  // Metadata missing or cut short.
  fs::remove(meta);
  expectError(meta, "No such file or directory (the checkpoint is "
                    "incomplete)");
  writeText(meta, metaText.substr(0, metaText.size() / 2));
  expectError(meta, "line");

  // The metadata of another model: a tensor the shard does not have.
  std::string other = metaText;
  other.replace(other.find("tensor b param"), 14, "tensor c param");
  writeText(meta, other);
  {
    CheckpointMeta parsed;
    TrainingState state;
    EXPECT_THAT(readCheckpoint(path, 0, 1, parsed, state),
                HasSubstr(shard + ": tensor 'exp_avg/b': 'b' is not a "
                                  "parameter the checkpoint lists"));
  }
  writeText(meta, metaText);

  // A shard of another checkpoint, recorded with its own checksum.
  std::string elsewhere = save(scratch("corrupt-other"), 3, 1);
  fs::copy_file(elsewhere + "/rank-0.safetensors", shard,
                fs::copy_options::overwrite_existing);
  std::string moved = metaText;
  std::string otherMeta = readText(elsewhere + "/" + kCheckpointMetaFile);
  moved.replace(moved.find("file "), std::string::npos,
                otherMeta.substr(otherMeta.find("file ")));
  writeText(meta, moved);
  {
    CheckpointMeta parsed;
    TrainingState state;
    EXPECT_THAT(readCheckpoint(path, 0, 1, parsed, state),
                HasSubstr(shard + ": its metadata `step` is '3', the "
                                  "checkpoint's is 2 (a shard of another "
                                  "checkpoint?)"));
  }
}

TEST(CheckpointTest, SlicesMustTileEveryParameter) {
  std::string dir = scratch("tiles");
  RankTrainingState state = sampleState(1);
  state.master[0] = {"w", 2, {2, 3, 4, 5}}; // elements 0 and 1 missing
  var::exec::SingleRankCommunicator comm;
  std::string path;
  ASSERT_EQ(writeCheckpoint(dir, sampleMeta(1), state, {}, comm, path), "");
  CheckpointMeta meta;
  TrainingState read;
  EXPECT_THAT(readCheckpoint(path, 0, 1, meta, read),
              HasSubstr(path + ": master 'w': elements [0, 2) are in no "
                               "shard"));
}

TEST(CheckpointTest, ResumeNeedsTheSameDataOrder) {
  CheckpointMeta saved = sampleMeta(3), run = sampleMeta(0);
  EXPECT_EQ(checkResumable(saved, run), "");
  run.worldSize = 4; // another world size or stage is fine
  run.zeroStage = 3;
  EXPECT_EQ(checkResumable(saved, run), "");
  run.globalBatch = 16;
  EXPECT_THAT(checkResumable(saved, run),
              HasSubstr("written with global batch 8; this run has 16"));
  run = sampleMeta(0);
  run.data = "builtin:synthetic-trails";
  EXPECT_THAT(checkResumable(saved, run), HasSubstr("--data"));
}

//===----------------------------------------------------------------------===//
// The executor's training state
//===----------------------------------------------------------------------===//

var::plan::Plan compile(const std::string &flags) {
  fs::path dir =
      scratch("plans-" + std::to_string(std::hash<std::string>()(flags)));
  fs::path path = dir / "plan.fb";
  std::string command = std::string(VARC_PATH) + " " + INPUTS_DIR +
                        "/tiny_mlp.mlir " + flags + " -o " + path.string() +
                        " 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  var::plan::Expected<var::plan::Plan> plan = var::plan::loadPlan(path);
  EXPECT_TRUE(plan) << plan.error();
  var::plan::Expected<var::plan::Plan> resolved = plan->resolve(1);
  EXPECT_TRUE(resolved) << resolved.error();
  return *resolved;
}

/// Two optimizer steps on fixed data, so that masters and moments are not
/// their initial values.
void trainTwoSteps(var::exec::Executor &executor) {
  using var::exec::HostTensor;
  std::vector<float> clips(8 * 3 * 12);
  for (size_t i = 0; i < clips.size(); ++i)
    clips[i] = static_cast<float>((i * 37) % 17) / 8.0f - 1.0f;
  std::vector<int64_t> labels = {0, 1, 2, 3, 0, 1, 2, 3};
  for (int64_t step = 1; step <= 2; ++step) {
    std::vector<HostTensor> results;
    ASSERT_EQ(executor.run("train_step",
                           {HostTensor::f32({8, 3, 12}, clips),
                            HostTensor::i64({8}, labels),
                            HostTensor::scalarF32(0.05f),
                            HostTensor::scalarI64(step)},
                           results, 0),
              "");
  }
}

TEST(CheckpointTest, ExecutorStateMovesBetweenStages) {
  var::exec::SingleRankCommunicator comm;
  auto trained = var::exec::Executor::create(
      compile("--zero-stage=3 --micro-batch=8 --bucket-mb=0.0005"), comm, 1);
  ASSERT_TRUE(trained) << trained.error();
  trainTwoSteps(*trained);
  std::string dir = scratch("executor");
  CheckpointMeta meta = sampleMeta(2);
  meta.optimizerKeys = trained->getOptimizerStateKeys();
  meta.tensors = describeTensors(trained->getPlan());
  std::string path;
  ASSERT_EQ(
      writeCheckpoint(dir, meta, trained->getTrainingState(), {}, comm, path),
      "");

  // Loaded at stage 0 (one bucket, other layout; another seed's
  // initialization underneath), it holds the same masters and moments.
  auto loaded = var::exec::Executor::create(
      compile("--zero-stage=0 --micro-batch=8"), comm, 99);
  ASSERT_TRUE(loaded) << loaded.error();
  CheckpointMeta read;
  TrainingState state;
  ASSERT_EQ(readCheckpoint(path, 0, 1, read, state), "");
  ASSERT_EQ(loaded->setTrainingState(state), "");
  std::vector<NamedTensor> a, b;
  ASSERT_EQ(trained->exportWeights(a), "");
  ASSERT_EQ(loaded->exportWeights(b), "");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].values, b[i].values) << a[i].name;
  }
  RankTrainingState before = trained->getTrainingState();
  RankTrainingState after = loaded->getTrainingState();
  ASSERT_EQ(before.optimizer.size(), 2u);
  ASSERT_EQ(after.optimizer.size(), 2u);
  for (size_t k = 0; k < 2; ++k)
    for (const var::exec::TensorSlice &slice : before.optimizer[k].second) {
      bool found = false;
      for (const var::exec::TensorSlice &other : after.optimizer[k].second)
        if (other.name == slice.name) {
          found = true;
          EXPECT_EQ(other.values, slice.values) << slice.name;
        }
      EXPECT_TRUE(found) << slice.name;
    }

  // Both continue identically.
  trainTwoSteps(*trained);
  trainTwoSteps(*loaded);
  ASSERT_EQ(trained->exportWeights(a), "");
  ASSERT_EQ(loaded->exportWeights(b), "");
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].values, b[i].values) << a[i].name;
}

TEST(CheckpointTest, ExecutorRejectsAnotherModelNamingTensors) {
  var::exec::SingleRankCommunicator comm;
  auto executor = var::exec::Executor::create(
      compile("--zero-stage=1 --micro-batch=8"), comm, 1);
  ASSERT_TRUE(executor) << executor.error();
  TrainingState state;
  state.master = {{"fc1.weight", {16, 12}, std::vector<float>(192)},
                  {"fc1.bias", {15}, std::vector<float>(15)},
                  {"fc2.weight", {4, 16}, std::vector<float>(64)},
                  {"fc3.bias", {4}, std::vector<float>(4)}};
  state.optimizer = {{"exp_avg", state.master}, {"exp_avg_sq", state.master}};
  std::string error = executor->setTrainingState(state);
  EXPECT_THAT(error, HasSubstr("the checkpoint does not fit the model:"));
  EXPECT_THAT(error, HasSubstr("parameter 'fc1.bias' has shape [15] in the "
                               "checkpoint, the model's is [16]"));
  EXPECT_THAT(error, HasSubstr("missing parameter 'fc2.bias' of shape [4]"));
  EXPECT_THAT(error, HasSubstr("missing optimizer state 'exp_avg_sq' of "
                               "'fc2.bias'"));
  EXPECT_THAT(error, HasSubstr("extra parameter 'fc3.bias' of shape [4] is "
                               "not a parameter of the model"));

  state.optimizer = {{"momentum_buffer", state.master}};
  EXPECT_THAT(executor->setTrainingState(state),
              HasSubstr("the checkpoint's optimizer state (momentum_buffer) "
                        "is not the plan's (exp_avg, exp_avg_sq)"));
}

} // namespace
