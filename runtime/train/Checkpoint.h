// Sharded training checkpoints: each rank writes its slices of masters and
// optimizer state (safetensors, keyed by parameter name) and rank 0 the
// metadata that makes the checkpoint complete, so a crash at any moment
// leaves the previous checkpoint loadable; a checkpoint loads on any world
// size and ZeRO stage and exports to one FP32 safetensors file.
//
// Layout of DIR/step-N (N: optimizer steps done):
//   rank-R.safetensors  rank R's tensors, 1-D F32: `master/NAME` and
//                       `KEY/NAME` (KEY an optimizer state key, e.g.
//                       exp_avg) for its slice of trainable parameter NAME,
//                       `buffer/NAME` for its buffers (whole, in their
//                       shape); the file's metadata maps each tensor to
//                       "OFFSET CRC32" (first element in the flattened
//                       parameter; checksum of its bytes) and holds `rank`,
//                       `world_size` and `step`.
//   checkpoint.txt      written last: run state (step, data position, seed,
//                       learning rate, world size, stage), every tensor's
//                       name and shape, and each shard's size and CRC-32.
#ifndef VAR_RUNTIME_TRAIN_CHECKPOINT_H
#define VAR_RUNTIME_TRAIN_CHECKPOINT_H

#include "runtime/comm/Communicator.h"
#include "runtime/exec/Executor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace var::train {

/// The metadata file's name in a checkpoint directory.
inline constexpr const char *kCheckpointMetaFile = "checkpoint.txt";

struct CheckpointTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool buffer = false; // untrained state (BatchNorm running statistics)
};

struct CheckpointFile {
  std::string name;
  uint64_t bytes = 0;
  uint32_t crc = 0;
};

/// What a checkpoint records besides tensor values. The learning rate
/// schedule is a function of `step`, so `step` is its whole state; `lr` is
/// the base rate the run used.
struct CheckpointMeta {
  int64_t step = 0; // optimizer steps done; the next one is step + 1
  int64_t epoch = 0, epochStep = 0; // where step + 1 falls in the data order
  uint64_t seed = 0;
  std::string data; // the training data source
  int64_t trainSize = 0, globalBatch = 0, microBatch = 0, gradAccum = 0;
  int64_t worldSize = 0, zeroStage = 0;
  double lr = 0;
  std::vector<std::string> optimizerKeys;
  std::vector<CheckpointTensor> tensors;
  /// Filled by writeCheckpoint: one shard per rank.
  std::vector<CheckpointFile> files;
};

/// The tensor list of CheckpointMeta from a plan: every parameter and
/// buffer by name and shape.
std::vector<CheckpointTensor> describeTensors(const plan::Plan &plan);

struct CheckpointWriteOptions {
  /// Complete checkpoints to keep (older ones are deleted after a new one
  /// is complete); 0 keeps all.
  int64_t keep = 0;
  /// For crash tests only: sleep this long before each quarter of every
  /// file and before each rename, so that a kill lands mid-write.
  int64_t testDelayMs = 0;
};

/// Writes DIR/step-<meta.step>, a collective (every rank calls it with its
/// own `state`): rank 0 prepares DIR/tmp-step-N; each rank writes and
/// fsyncs its shard; rank 0 writes the metadata with every shard's
/// checksum, fsyncs it and the directory, renames it to DIR/step-N, fsyncs
/// DIR, then deletes checkpoints beyond options.keep. `path` gets
/// DIR/step-N. Every rank returns the same error when any part failed.
std::string writeCheckpoint(const std::string &dir, CheckpointMeta meta,
                            const exec::RankTrainingState &state,
                            const CheckpointWriteOptions &options,
                            comm::Communicator &comm, std::string &path);

/// Reads and checks a checkpoint's metadata and that every shard is
/// present with its recorded size and checksum (reading each file once).
/// Errors name the file.
std::string verifyCheckpoint(const std::string &path, CheckpointMeta &meta);

/// The newest complete checkpoint (DIR/step-N passing verifyCheckpoint) in
/// `dir`, or "" when there is none; `skipped` gets one line per newer
/// directory that failed, saying why. Errors only when `dir` is unreadable.
std::string findLatestCheckpoint(const std::string &dir, std::string &path,
                                 std::vector<std::string> &skipped);

/// The checkpoint a user names: `path` itself when it is one (named step-N
/// or holding the metadata file), else the newest complete checkpoint in
/// it, as findLatestCheckpoint; an error when there is none.
std::string resolveCheckpoint(const std::string &path, std::string &checkpoint,
                              std::vector<std::string> &skipped);

/// Reads a checkpoint (a DIR/step-N directory) for rank `rank` of a job of
/// `worldSize` ranks, into consolidated tensors: masters and optimizer
/// state assembled from every shard; the buffers of the same rank when the
/// checkpoint has this world size, else rank 0's (the ones an export
/// writes). Checks checksums per file and per tensor, and that the slices
/// tile every parameter exactly; errors name the file and the tensor.
std::string readCheckpoint(const std::string &path, int64_t rank,
                           int64_t worldSize, CheckpointMeta &meta,
                           exec::TrainingState &state);

/// `varrun export`: the consolidated FP32 masters and rank 0's buffers of
/// checkpoint `path` (resolved as resolveCheckpoint does) under their
/// PyTorch names, written to `output` as safetensors, byte for byte the
/// file varrun's --export-weights writes of the same state. `exported`
/// gets "DIR/step-N (step N)".
std::string exportCheckpoint(const std::string &path, const std::string &output,
                             std::string &exported,
                             std::vector<std::string> &skipped);

/// --resume, a collective: rank 0 picks the newest complete checkpoint in
/// `dir`; every rank reads it, checks that it continues `run`'s data order,
/// and loads it into `executor` (resharding to this job's world size and
/// ZeRO stage). `step` gets its step, 0 when `dir` holds no complete
/// checkpoint (a fresh start); `notes` says which one was loaded and why
/// newer ones were skipped. Every rank fails when any rank does.
std::string resumeTraining(const std::string &dir, const CheckpointMeta &run,
                           exec::Executor &executor, comm::Communicator &comm,
                           std::vector<std::string> &notes, int64_t &step);

/// Empty when a run configured as `run` continues `saved`'s data order
/// exactly (same seed, data source, training set size and global batch),
/// else which setting differs.
std::string checkResumable(const CheckpointMeta &saved,
                           const CheckpointMeta &run);

} // namespace var::train

#endif
