// Worker threads that fill batches ahead of the training step into a ring of
// staging buffers: item k of a sequence goes to slot k % slots, and a worker
// starts item k only once the step has moved past item k - slots, so at most
// `slots` batches are in memory. Items are produced in any order by any
// worker; what each contains depends only on its index.
#ifndef VAR_RUNTIME_DATA_PREFETCHER_H
#define VAR_RUNTIME_DATA_PREFETCHER_H

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace var::data {

/// Where staging buffers come from: host memory by default; the CUDA
/// backend plugs in page-locked memory (cudaHostAlloc/cudaFreeHost) so that
/// host-to-device copies of a batch run asynchronously at full speed.
struct StagingAllocator {
  std::function<void *(size_t bytes)> allocate;
  std::function<void(void *)> release;
};

/// 64-byte aligned operator new.
StagingAllocator hostStagingAllocator();

class Prefetcher {
public:
  /// Fills item `item`: `batch` clips of `clipFloats` floats and their
  /// labels. Returns "" or an error, handed to whoever asks for the item.
  using Fill =
      std::function<std::string(int64_t item, float *clips, int64_t *labels)>;

  /// `workers` 0 fills each item on the caller's thread when asked for.
  Prefetcher(int64_t batch, int64_t clipFloats, int64_t slots, int64_t workers,
             StagingAllocator allocator, Fill fill);
  ~Prefetcher();
  Prefetcher(const Prefetcher &) = delete;
  Prefetcher &operator=(const Prefetcher &) = delete;

  /// Item `item`, waiting until it is ready (a request out of sequence
  /// restarts the workers there); `clips` and `labels` stay valid until the
  /// next call. Adds the time spent waiting to `waited` seconds.
  std::string get(int64_t item, const float *&clips, const int64_t *&labels,
                  double &waited);

private:
  struct Slot {
    float *clips = nullptr;
    int64_t *labels = nullptr;
    int64_t item = -1; // ready item, -1: none
    std::string error;
  };
  void startAt(int64_t item);
  void stopWorkers();
  void work();

  const int64_t batch, clipFloats, workerCount;
  StagingAllocator allocator;
  Fill fill;
  std::vector<Slot> slots;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::condition_variable changed;
  int64_t nextClaim = 0; // next item a worker takes
  int64_t current = -1;  // item the caller holds; below it all are released
  bool stopping = false;
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_PREFETCHER_H
