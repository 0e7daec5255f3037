// Collectives between the ranks of a job: the interface the executor uses,
// whatever carries the bytes (Gloo between CPU processes here; NCCL on GPUs
// in the CUDA backend).
#ifndef VAR_RUNTIME_COMM_COMMUNICATOR_H
#define VAR_RUNTIME_COMM_COMMUNICATOR_H

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace var::comm {

/// Every call returns an empty string on success, else a message that names
/// the failure (a peer that died or timed out, by rank where known). After a
/// failure the communicator is unusable; the job must stop.
class Communicator {
public:
  virtual ~Communicator() = default;

  virtual int getRank() const = 0;
  virtual int getWorldSize() const = 0;

  /// In place over `count` floats: the sum over ranks, divided by the world
  /// size when `mean`.
  virtual std::string allReduce(float *data, int64_t count, bool mean) = 0;
  /// `input` holds getWorldSize() * `shardCount` floats; rank r receives in
  /// `output` the sum (or mean) over ranks of elements
  /// [r * shardCount, (r + 1) * shardCount). `output` may not alias `input`.
  virtual std::string reduceScatter(const float *input, float *output,
                                    int64_t shardCount, bool mean) = 0;
  /// Every rank's `shardCount` floats of `input`, concatenated in rank order
  /// into `output` (getWorldSize() * shardCount floats).
  virtual std::string allGather(const float *input, float *output,
                                int64_t shardCount) = 0;
  /// Rank `root`'s `count` bytes to every rank.
  virtual std::string broadcast(void *data, int64_t bytes, int root) = 0;
  virtual std::string barrier() = 0;
  /// How long a collective may wait for its peers before it fails; a
  /// device communicator bootstrapped from this one takes the same.
  virtual std::chrono::milliseconds getTimeout() const {
    return std::chrono::milliseconds(300000);
  }
};

/// Where this process sits in the job, from the environment.
struct RankInfo {
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;
  /// The address and port of the rendezvous (rank 0's store).
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  /// Which convention provided it: "slurm", "torchrun", "openmpi", "varrun"
  /// or "single" (no variables: one rank).
  std::string source = "single";
};

} // namespace var::comm

#endif
