// The device communicator of the CUDA backend: NCCL collectives on device
// memory, one communicator per process and GPU, bootstrapped through the
// job's host communicator (Gloo).
#ifndef VAR_RUNTIME_CUDA_NCCLCOMMUNICATOR_H
#define VAR_RUNTIME_CUDA_NCCLCOMMUNICATOR_H

#include "runtime/comm/Communicator.h"
#include "runtime/comm/DeviceCommunicator.h"

#include <chrono>
#include <memory>
#include <string>

namespace var::cuda {

/// NCCL's communicator, by default created non-blocking so that nothing
/// waits on a peer without a deadline: its initialization, a collective's
/// enqueue and synchronize() each give up after `timeout`, abort the
/// communicator (ncclCommAbort stops its kernels) and name the collective
/// that did not finish. Any failure leaves the communicator failed: later calls
/// return an error at once, as the interface requires.
class NcclCommunicator : public comm::DeviceCommunicator {
public:
  /// Waits for everything enqueued on `stream` (a cudaStream_t), polling
  /// the stream and NCCL's asynchronous error, for at most the timeout.
  /// Use this, not cudaStreamSynchronize, where a dead peer could leave a
  /// collective waiting forever.
  virtual std::string synchronize(void *stream) = 0;
};

/// How NCCL's host calls wait. NonBlocking (config.blocking = 0) keeps
/// every wait here, under the timeout; the price, in NCCL 2.28, is a host
/// thread that NCCL starts for each collective (group.cc,
/// ncclGroupEndInternal), tens of microseconds or more that leave the GPU
/// idle between collectives of a few MiB (bench/comm/README.md). Blocking is
/// NCCL's default mode and torch's: no thread per call, and synchronize() still
/// times out and aborts a collective stuck on the GPU, but NCCL's own
/// waits inside a call (initialization; the first collective that sets up
/// connections, unless NCCL_RUNTIME_CONNECT=0) have no deadline.
enum class NcclCalls { NonBlocking, Blocking };

/// Joins every rank of `bootstrap` in one NCCL communicator on CUDA device
/// `device`: rank 0 makes the ncclUniqueId and bootstrap.broadcast() hands
/// it to the others, so every rank of `bootstrap` must call this at the
/// same time. A world of one rank works like any other. Sets
/// NCCL_NVLS_ENABLE=0 where it is unset and refuses any other value (see
/// the .cpp). Null with `error` set on failure.
std::unique_ptr<NcclCommunicator> createNcclCommunicator(
    comm::Communicator &bootstrap, int device, std::string &error,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(300000),
    NcclCalls calls = NcclCalls::NonBlocking);

} // namespace var::cuda

#endif
