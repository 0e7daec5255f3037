// NCCL behind the DeviceCommunicator interface. By default the communicator
// is non-blocking (config.blocking = 0): NCCL then never waits inside a
// call, and every wait is a poll here with a deadline, after which the
// communicator is aborted rather than left spinning on a dead peer. In
// blocking mode the same code runs; NCCL just never answers ncclInProgress.
#include "runtime/cuda/NcclCommunicator.h"

#include "runtime/cuda/CudaCheck.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace var::cuda {

namespace {

using Clock = std::chrono::steady_clock;
using comm::ElementType;
using std::chrono::milliseconds;

ncclDataType_t toNccl(ElementType type) {
  return type == ElementType::BF16 ? ncclBfloat16 : ncclFloat32;
}

const char *typeName(ElementType type) {
  return type == ElementType::BF16 ? "bf16" : "f32";
}

/// NCCL's status and its own last message, which often names the cause
/// (a peer's address, a CUDA error) where the status alone does not.
std::string ncclText(ncclResult_t status, ncclComm_t comm) {
  std::string text = ncclGetErrorString(status);
  const char *last = ncclGetLastError(comm);
  if (last && *last)
    text += std::string(" (NCCL: ") + last + ")";
  return text;
}

/// Waits while a non-blocking call (or what it started) is in progress:
/// short spins first, since most finish within microseconds, then sleeps
/// of a millisecond so that a long wait does not hold a core.
/// `ready` returns true when done.
template <typename Ready>
bool pollUntil(Clock::time_point deadline, Ready ready) {
  const Clock::time_point spinUntil = Clock::now() + milliseconds(5);
  for (;;) {
    if (ready())
      return true;
    Clock::time_point now = Clock::now();
    if (now >= deadline)
      return false;
    if (now < spinUntil)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(milliseconds(1));
  }
}

/// NCCL's state after a non-blocking call: ncclInProgress until it ends.
ncclResult_t waitForNccl(ncclComm_t comm, Clock::time_point deadline) {
  ncclResult_t state = ncclInProgress;
  pollUntil(deadline, [&] {
    if (ncclCommGetAsyncError(comm, &state) != ncclSuccess)
      state = ncclInternalError;
    return state != ncclInProgress;
  });
  return state;
}

class NcclComm final : public NcclCommunicator {
public:
  NcclComm(ncclComm_t comm, int rank, int worldSize, milliseconds timeout)
      : comm(comm), rank(rank), worldSize(worldSize), timeout(timeout) {}

  ~NcclComm() override {
    for (Marker &marker : markers)
      if (marker.event)
        cudaEventDestroy(marker.event);
    if (!comm)
      return;
    // Finalize flushes what is still enqueued; with a peer gone it never
    // ends, and abort is what is left. Nothing to report from here.
    bool clean = failure.empty();
    if (clean) {
      ncclResult_t status = ncclCommFinalize(comm);
      if (status == ncclInProgress)
        status = waitForNccl(comm, Clock::now() + timeout);
      clean = status == ncclSuccess;
    }
    if (clean)
      ncclCommDestroy(comm);
    else
      ncclCommAbort(comm);
  }

  /// The events that mark the end of each collective, made once here so
  /// that the collectives only record them.
  std::string createMarkers() {
    for (Marker &marker : markers)
      VAR_CUDA_TRY(
          cudaEventCreateWithFlags(&marker.event, cudaEventDisableTiming));
    return "";
  }

  int getRank() const override { return rank; }
  int getWorldSize() const override { return worldSize; }

  std::string allReduce(void *data, int64_t count, ElementType type, bool mean,
                        void *stream) override {
    return enqueue("allReduce", count, type, stream, [&](cudaStream_t s) {
      return ncclAllReduce(data, data, static_cast<size_t>(count), toNccl(type),
                           reduction(mean), comm, s);
    });
  }

  std::string reduceScatter(const void *input, void *output, int64_t shardCount,
                            ElementType type, bool mean,
                            void *stream) override {
    return enqueue(
        "reduceScatter", shardCount, type, stream, [&](cudaStream_t s) {
          return ncclReduceScatter(input, output,
                                   static_cast<size_t>(shardCount),
                                   toNccl(type), reduction(mean), comm, s);
        });
  }

  std::string allGather(const void *input, void *output, int64_t shardCount,
                        ElementType type, void *stream) override {
    return enqueue("allGather", shardCount, type, stream, [&](cudaStream_t s) {
      return ncclAllGather(input, output, static_cast<size_t>(shardCount),
                           toNccl(type), comm, s);
    });
  }

  std::string synchronize(void *stream) override {
    if (!failure.empty())
      return "the NCCL communicator failed earlier: " + failure;
    auto s = static_cast<cudaStream_t>(stream);
    cudaError_t status = cudaErrorNotReady;
    ncclResult_t state = ncclSuccess;
    bool done = pollUntil(Clock::now() + timeout, [&] {
      status = cudaStreamQuery(s);
      if (status != cudaErrorNotReady)
        return true;
      // A network peer's failure shows here, not on the stream.
      if (ncclCommGetAsyncError(comm, &state) != ncclSuccess)
        state = ncclInternalError;
      return state != ncclSuccess && state != ncclInProgress;
    });
    if (!done)
      return fail(unfinished() + " did not finish within " +
                  std::to_string(timeout.count()) +
                  " ms (a peer died or hung?); the communicator was aborted");
    if (state != ncclSuccess && state != ncclInProgress)
      return fail("waiting for " + unfinished() + ": " + ncclText(state, comm));
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      return fail("waiting for " + unfinished() +
                  ": cudaStreamQuery failed: " + statusText(status));
    }
    return "";
  }

private:
  /// With one rank the mean is the sum, and ncclSum is what must be asked
  /// for: NCCL 2.28.9 runs a one-rank ncclAvg through its oneRankReduce
  /// kernel (src/device/onerank.cu), whose blocks cover
  /// gridDim * alignUp(n / gridDim, 16 bytes) elements and so leave the last
  /// few unwritten when n / gridDim is already a multiple of 16 bytes (seen:
  /// reduceScatter of 262147 elements, the last 3 untouched). A one-rank
  /// sum is a plain copy.
  ncclRedOp_t reduction(bool mean) const {
    return mean && worldSize > 1 ? ncclAvg : ncclSum;
  }

  /// What a message names: the collective, its size and this rank.
  struct Collective {
    const char *name = nullptr; // null: no collective yet
    int64_t count = 0;
    ElementType type = ElementType::F32;
  };
  /// The end of one enqueued collective and which it was, for the message
  /// that names the collective a timeout caught (kept as plain fields: the
  /// text is made only when something failed).
  struct Marker {
    cudaEvent_t event = nullptr;
    Collective what;
  };

  std::string describe(const Collective &c) const {
    return std::string(c.name) + " of " + std::to_string(c.count) + " " +
           typeName(c.type) + " elements" +
           (std::strcmp(c.name, "allReduce") == 0 ? "" : " per rank") +
           " (rank " + std::to_string(rank) + " of " +
           std::to_string(worldSize) + ")";
  }

  template <typename Call>
  std::string enqueue(const char *name, int64_t count, ElementType type,
                      void *stream, Call call) {
    if (!failure.empty())
      return "the NCCL communicator failed earlier: " + failure;
    const Collective collective{name, count, type};
    auto describe = [&] { return this->describe(collective); };
    if (count < 0)
      return describe() + ": negative element count";
    auto s = static_cast<cudaStream_t>(stream);
    ncclResult_t status = call(s);
    // Non-blocking: the call may return while NCCL still sets up the
    // connections it needs (lazily, at the first collective that uses them).
    if (status == ncclInProgress)
      status = waitForNccl(comm, Clock::now() + timeout);
    if (status == ncclInProgress)
      return fail(describe() + ": not enqueued within " +
                  std::to_string(timeout.count()) +
                  " ms; the communicator was aborted");
    if (status != ncclSuccess)
      return fail(describe() + " failed: " + ncclText(status, comm));
    Marker &marker = markers[nextMarker++ % markers.size()];
    cudaError_t recorded = cudaEventRecord(marker.event, s);
    if (recorded != cudaSuccess) {
      (void)cudaGetLastError();
      return fail(describe() +
                  ": cudaEventRecord failed: " + statusText(recorded));
    }
    marker.what = collective;
    return "";
  }

  /// The oldest collective whose end marker has not been reached; the
  /// ring keeps the last markers.size() of them.
  std::string unfinished() {
    for (size_t i = 0; i < markers.size(); ++i) {
      Marker &marker = markers[(nextMarker + i) % markers.size()];
      if (marker.what.name && cudaEventQuery(marker.event) == cudaErrorNotReady)
        return describe(marker.what);
    }
    (void)cudaGetLastError();
    return "the work enqueued on the stream";
  }

  /// Aborts the communicator (its kernels stop; a later call fails at
  /// once) and returns `message`.
  std::string fail(std::string message) {
    failure = message;
    if (comm)
      ncclCommAbort(comm);
    comm = nullptr;
    return message;
  }

  ncclComm_t comm;
  const int rank, worldSize;
  const milliseconds timeout;
  std::string failure;
  std::array<Marker, 64> markers;
  size_t nextMarker = 0;
};

/// Multicast over NVLink (NVLS) stays off: on the shared GPU machines this
/// project runs on, a program that uses it can put the host's GPUs out of
/// service for a day or more. NCCL reads the variable when it first
/// initializes, so this must run before any NCCL call of the process.
std::string keepNvlinkMulticastOff() {
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  const char *value = std::getenv("NCCL_NVLS_ENABLE");
  if (!value || std::strcmp(value, "0") != 0)
    return std::string("NCCL_NVLS_ENABLE is '") + (value ? value : "") +
           "': NVLink multicast must stay off (set it to 0 or unset it)";
  return "";
}

} // namespace

std::unique_ptr<NcclCommunicator>
createNcclCommunicator(comm::Communicator &bootstrap, int device,
                       std::string &error, milliseconds timeout,
                       NcclCalls calls) {
  const int rank = bootstrap.getRank(), worldSize = bootstrap.getWorldSize();
  const std::string who =
      "rank " + std::to_string(rank) + " of " + std::to_string(worldSize);
  error = keepNvlinkMulticastOff();
  if (!error.empty())
    return nullptr;
  auto cudaFailed = [&](const char *call, cudaError_t status) {
    (void)cudaGetLastError();
    error = who + ": " + call + " failed: " + statusText(status);
    return nullptr;
  };
  if (cudaError_t status = cudaSetDevice(device); status != cudaSuccess)
    return cudaFailed(("cudaSetDevice(" + std::to_string(device) + ")").c_str(),
                      status);

  // Every rank joins the broadcast, also when rank 0 could not make an id:
  // an all-zero id tells the others to give up instead of waiting for it.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  std::string idError;
  if (rank == 0)
    if (ncclResult_t status = ncclGetUniqueId(&id); status != ncclSuccess)
      idError = "ncclGetUniqueId failed: " + ncclText(status, nullptr);
  std::string sent = bootstrap.broadcast(&id, sizeof(id), /*root=*/0);
  if (!sent.empty()) {
    error = who + ": broadcasting the NCCL id: " + sent;
    return nullptr;
  }
  static const ncclUniqueId zero{};
  if (!idError.empty() || std::memcmp(&id, &zero, sizeof(id)) == 0) {
    error = who + ": " +
            (idError.empty() ? "rank 0 could not make an NCCL id" : idError);
    return nullptr;
  }

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = calls == NcclCalls::Blocking ? 1 : 0;
  ncclComm_t handle = nullptr;
  ncclResult_t status =
      ncclCommInitRankConfig(&handle, worldSize, id, rank, &config);
  if (status == ncclInProgress)
    status = waitForNccl(handle, Clock::now() + timeout);
  if (status != ncclSuccess) {
    error = who + ": ncclCommInitRankConfig on device " +
            std::to_string(device) + " " +
            (status == ncclInProgress
                 ? "did not finish within " + std::to_string(timeout.count()) +
                       " ms (a rank did not join?)"
                 : "failed: " + ncclText(status, handle));
    if (handle)
      ncclCommAbort(handle);
    return nullptr;
  }
  auto result = std::make_unique<NcclComm>(handle, rank, worldSize, timeout);
  if (std::string failed = result->createMarkers(); !failed.empty()) {
    error = who + ": " + failed;
    return nullptr;
  }
  return result;
}

} // namespace var::cuda
