// The seam between the executor and a device: memory, copies, kernels and
// synchronization. The executor holds one Backend and never asks which one
// it is; the CPU backend's "device" memory is host memory, the CUDA
// backend's is GPU memory (runtime/cuda/CudaBackend.h).
#ifndef VAR_RUNTIME_EXEC_BACKEND_H
#define VAR_RUNTIME_EXEC_BACKEND_H

#include "runtime/comm/Communicator.h"
#include "runtime/comm/DeviceCommunicator.h"
#include "runtime/cpu/CpuOps.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace var::exec {

/// The partial sums of squares an optimizer update leaves of its gradient:
/// their sum in index order is the whole (a fixed order, so the norm is the
/// same from run to run). One per block of the CUDA update, so also what
/// bounds its grid: 2048 blocks of 256 threads keep an H100's SMs full (256
/// left a 132M-parameter update at a quarter of memory bandwidth).
constexpr int kSquarePartials = 2048;
/// The event the executor records on compute after a run's prologue and
/// the other streams wait for; plan events are numbered below it.
constexpr int64_t kRunStartEvent = int64_t(1) << 20;

/// One fused AdamW or SGD update of a flat master region, as PyTorch's
/// optimizers compute it (f32 storage, f64 arithmetic per element). All
/// pointers are in one memory: the backend's, or host memory for the host
/// implementation (runtime/exec/HostDistKernels.h).
struct OptimizerStep {
  bool adamw = true;
  /// `count` f32 values, updated in place.
  float *master = nullptr;
  /// AdamW: exp_avg, exp_avg_sq. SGD: momentum_buffer (when momentum != 0).
  float *state[2] = {nullptr, nullptr};
  const void *grad = nullptr;
  plan::DType gradType = plan::DType::F32;
  int64_t count = 0;
  /// One f32 the gradient is scaled by (gradient clipping); null: 1.
  const float *clip = nullptr;
  /// Where the updated master goes as well (`count` f32), or null.
  float *result = nullptr;
  /// Where it goes rounded to bf16 (nearest, ties to even, as var.cast
  /// rounds), or null: the bucket's compute copy, when the plan's cast and
  /// store of the update's result are folded into it (Executor::fuseStores).
  uint16_t *resultBf16 = nullptr;
  /// kSquarePartials f64 partial sums of the unscaled gradient's squares.
  double *squares = nullptr;
  /// The learning rate, step and AdamW's bias corrections of this step, in
  /// the same memory as the rest: they change every step, and a replayed
  /// step (a CUDA graph) reads the new ones from there.
  const cpu::UpdateScalars *scalars = nullptr;
  double weightDecay = 0;
  /// AdamW.
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  /// SGD.
  double momentum = 0, dampening = 0;
  bool nesterov = false;
};

/// The plan's streams (an instruction's `dist.stream`). Device work of the
/// "host" stream's ops (what they leave for the device) goes on the compute
/// stream.
enum class PlanStream : int8_t { Compute = 0, Comm = 1, Copy = 2, Host = 3 };
/// The stream named `name`; Compute for an unknown or absent name.
PlanStream parsePlanStream(const std::string *name);

/// One flat input of a sum of squares.
struct FlatInput {
  const void *data = nullptr;
  plan::DType dtype = plan::DType::F32;
  int64_t count = 0;
};

class Backend {
public:
  virtual ~Backend() = default;

  /// "cpu", "cuda".
  virtual std::string_view getName() const = 0;
  /// True when device memory is host memory, so that the executor's host
  /// code (dist ops, parameter loads) may read and write it in place.
  virtual bool isHostMemory() const = 0;

  /// Device memory of `bytes` for `what` (named in the error), or an error;
  /// allocated once per plan function, never inside a step.
  virtual std::string allocate(int64_t bytes, const std::string &what,
                               void **memory) = 0;
  virtual void release(void *memory) = 0;
  /// Sets `bytes` bytes of device memory to `value` (in stream order on
  /// an asynchronous backend).
  virtual std::string fill(void *device, int64_t bytes, uint8_t value) = 0;
  std::string zero(void *device, int64_t bytes) {
    return fill(device, bytes, 0);
  }
  /// Copies complete before they return: the host side may be reused.
  virtual std::string copyToDevice(void *device, const void *host,
                                   int64_t bytes) = 0;
  virtual std::string copyToHost(void *host, const void *device,
                                 int64_t bytes) = 0;
  /// Copies in order with the selected stream's work, without waiting:
  /// `host` is page-locked (allocateHost) and stays untouched until the
  /// next synchronize(). A recorded step (see beginCapture) holds them as
  /// copies that a replay repeats: the host writes its staging before the
  /// replay and reads it after. The defaults wait, as the copies above.
  virtual std::string enqueueCopyToDevice(void *device, const void *host,
                                          int64_t bytes) {
    return copyToDevice(device, host, bytes);
  }
  virtual std::string enqueueCopyToHost(void *host, const void *device,
                                        int64_t bytes) {
    return copyToHost(host, device, bytes);
  }

  /// Whether this backend has a kernel for `op` ("var.conv"); the executor
  /// runs the others with the CPU kernel on host copies of their tensors.
  virtual bool hasKernel(std::string_view op) const = 0;
  /// Runs (or, on an asynchronous device, launches) the kernel of
  /// call.inst.op on device tensors. Empty on success, else the error.
  virtual std::string runOp(cpu::OpCall &call) = 0;
  /// Waits for everything launched so far, on every stream; reports errors
  /// that kernels could only record on the device (a label out of range).
  virtual std::string synchronize() = 0;
  /// Device memory this backend has allocated and holds (arenas, model
  /// state, kernel workspaces; not the CUDA context or the libraries' own
  /// buffers), for the training log: nothing is allocated inside a step, so
  /// after the first step this is also the peak. None where device memory
  /// is host memory.
  virtual std::optional<int64_t> getDeviceBytesInUse() const {
    return std::nullopt;
  }
  /// The part of getDeviceBytesInUse the backend holds for its kernels
  /// (workspaces, scratch), not allocated through allocate().
  virtual int64_t getKernelScratchBytes() const { return 0; }
  /// Host memory this backend copies to and from fastest (page-locked on a
  /// GPU), 64-byte aligned, for staging buffers such as the data
  /// pipeline's; nullptr when there is none to be had.
  virtual void *allocateHost(size_t bytes) {
    return ::operator new(bytes, std::align_val_t(64), std::nothrow);
  }
  virtual void releaseHost(void *memory) {
    ::operator delete(memory, std::align_val_t(64));
  }

  // The dist ops' primitives, on this backend's memory and in launch order
  // with its kernels. The defaults are the host implementation
  // (HostDistKernels.h), right for any backend whose memory the host can
  // address; a GPU backend overrides every one.

  /// `count` elements of `src` (f32 or bf16) into `dst`, rounding to
  /// nearest even when narrowing; a plain copy when the types agree.
  virtual std::string convert(void *dst, plan::DType dstType, const void *src,
                              plan::DType srcType, int64_t count);
  /// sum[i] += addend[i] (f32 or bf16, widened) for i < count.
  virtual std::string accumulate(float *sum, const void *addend,
                                 plan::DType addendType, int64_t count);
  virtual std::string updateOptimizer(const OptimizerStep &step);
  /// The sum over `inputs` of their elements' squares, in f64, stored as
  /// one f32 in `result`.
  virtual std::string sumSquares(const std::vector<FlatInput> &inputs,
                                 float *result);
  /// From a global sum of squares: the norm (f64, into `norm`) and the
  /// clipping coefficient min(1, maxNorm / (norm + 1e-6)) as one f32.
  virtual std::string clipCoefficient(const float *squares, double maxNorm,
                                      float *coefficient, double *norm);

  // The plan's streams and events: a backend with one stream (the CPU's)
  // runs everything in order and ignores them.

  /// Device work from now on goes on `stream`. Host is the host lane: a
  /// stream of its own for host calls (enqueueHostCall) and the device work
  /// ordered with them.
  virtual std::string selectStream(PlanStream) { return {}; }
  /// Event `id` marks the device work enqueued so far on the selected
  /// stream.
  virtual std::string recordEvent(int64_t) { return {}; }
  /// Work enqueued later on `stream` waits for event `id`'s work.
  virtual std::string waitEvent(PlanStream, int64_t) { return {}; }
  /// The host waits for event `id`'s work.
  virtual std::string waitEventOnHost(int64_t) { return {}; }
  /// `call(argument)` runs on the host once the work enqueued so far on the
  /// selected stream is done, and the stream's later work waits for it;
  /// this returns without waiting (a recorded step replays it as a host
  /// node). The call must not use the backend, and `argument` must live
  /// until the next synchronize(), or while a recorded step holds it. The
  /// default, for a backend that runs everything in order, calls it now.
  virtual std::string enqueueHostCall(void (*call)(void *), void *argument) {
    call(argument);
    return {};
  }

  /// Timeline timestamps (varrun --trace), without synchronizing: marks in
  /// `slot` the point the selected stream's work has reached (a timing
  /// event on a device; while a step is recorded, a node of the graph that
  /// marks it at each replay), or with `onHost` the host's clock now (work
  /// the host does itself). Slot 0 of a run anchors the others.
  virtual std::string markTime(size_t slot, bool onHost);
  /// After synchronize(): seconds from slot 0 to each of slots [0, count).
  virtual std::string readTimes(size_t count, std::vector<double> &seconds);

  // Step graphs: a plan function's device work recorded once (every
  // stream's, with the events between them) and replayed as one launch.
  // Everything a recorded step does must be device work on memory that
  // stays put; the executor decides which functions qualify
  // (runtime/exec/StepGraphs.cpp).

  /// Empty when this backend can record and replay device work, else why
  /// not (the executor's log says it once).
  virtual std::string whyNoStepGraphs() const {
    return "the " + std::string(getName()) + " backend does not record steps";
  }
  /// From now on the device work enqueued on every stream is recorded, not
  /// run, until endCapture; a host call that would wait for the device, and
  /// anything that would allocate or search (a new convolution), fails.
  /// On failure nothing is being recorded.
  virtual std::string beginCapture() { return whyNoStepGraphs(); }
  /// Ends the recording begun by beginCapture (always, also after a failed
  /// call in between) and prepares it for replay as `graph`, of `nodes`
  /// nodes. On failure the recording is dropped and the error says what
  /// broke it; none of the recorded work has run.
  virtual std::string endCapture(int64_t &graph, size_t &nodes) {
    graph = -1;
    nodes = 0;
    return whyNoStepGraphs();
  }
  /// Runs recorded `graph` once, in order with the compute stream, without
  /// waiting for it. `stale`: the graph refers to memory the backend has
  /// replaced since it was recorded (a grown workspace); nothing was
  /// launched and the graph is dropped.
  virtual std::string replay(int64_t graph, bool &stale) {
    stale = false;
    (void)graph;
    return whyNoStepGraphs();
  }
  virtual void dropGraph(int64_t) {}

  /// The stream device work is enqueued on (a cudaStream_t), for the
  /// device communicator; null where there is none.
  virtual void *getStream() { return nullptr; }
  /// Collectives on this backend's memory among the ranks of `hostComm`
  /// (which bootstraps it), or null when the backend has none: the
  /// executor then stages collectives through host memory and `hostComm`.
  /// Null with a non-empty `error` when creating one failed.
  virtual std::unique_ptr<comm::DeviceCommunicator>
  createDeviceCommunicator(comm::Communicator &hostComm, std::string &error);

private:
  /// markTime's host clock readings, by slot.
  std::vector<std::chrono::steady_clock::time_point> hostMarks;
};

/// The reference backend: host memory and the CPU kernels.
std::unique_ptr<Backend> createCpuBackend();

/// Memory owned through a backend, released when destroyed: device memory,
/// or page-locked host memory (Backend::allocateHost) for state the plan
/// keeps on the host (offload).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  ~DeviceBuffer() { reset(); }

  std::string allocate(Backend &owner, int64_t size, const std::string &what,
                       bool onHost = false);
  void reset();
  void *data() const { return memory; }
  int64_t size() const { return bytes; }
  bool isHost() const { return host; }

private:
  Backend *backend = nullptr;
  void *memory = nullptr;
  int64_t bytes = 0;
  bool host = false;
};

} // namespace var::exec

#endif
