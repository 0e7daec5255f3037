// Collectives on device memory, enqueued on a device stream: what NCCL
// provides on GPUs. The executor uses one when its backend makes one
// (Backend::createDeviceCommunicator) and otherwise stages device buffers
// through host memory and the host Communicator.
#ifndef VAR_RUNTIME_COMM_DEVICECOMMUNICATOR_H
#define VAR_RUNTIME_COMM_DEVICECOMMUNICATOR_H

#include <cstdint>
#include <string>

namespace var::comm {

/// The element types the plan's collectives carry.
enum class ElementType { F32, BF16 };

/// Every call enqueues the collective on `stream` (a cudaStream_t on the
/// CUDA backend) and returns without waiting for it; an empty string on
/// success, else a message naming the failure. A failure leaves the
/// communicator unusable: the job must stop. Reductions of BF16 data
/// accumulate in at least BF16; `mean` divides by the world size.
class DeviceCommunicator {
public:
  virtual ~DeviceCommunicator() = default;

  virtual int getRank() const = 0;
  virtual int getWorldSize() const = 0;

  /// In place over `count` elements.
  virtual std::string allReduce(void *data, int64_t count, ElementType type,
                                bool mean, void *stream) = 0;
  /// `input` holds getWorldSize() * `shardCount` elements; rank r receives
  /// the reduction of elements [r * shardCount, (r + 1) * shardCount).
  virtual std::string reduceScatter(const void *input, void *output,
                                    int64_t shardCount, ElementType type,
                                    bool mean, void *stream) = 0;
  /// Every rank's `shardCount` elements, concatenated in rank order.
  virtual std::string allGather(const void *input, void *output,
                                int64_t shardCount, ElementType type,
                                void *stream) = 0;
};

} // namespace var::comm

#endif
