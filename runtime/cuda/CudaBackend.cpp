// The CUDA backend: device memory, copies on the selected stream, kernel
// dispatch through the CUDA op table, the dist primitives, the plan's
// streams and events, and errors kernels leave in the context's flag.
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaCheck.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DistKernels.h"
#include "runtime/cuda/NcclCommunicator.h"

#include <array>
#include <chrono>
#include <cstdlib>
#include <map>
#include <vector>

namespace var::cuda {

/// Workspace sizes are whole MiB, so that needs a few bytes apart share one
/// allocation.
int64_t roundUpToMiB(int64_t bytes) {
  constexpr int64_t kMiB = int64_t(1) << 20;
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

std::string CudaContext::getWorkspace(int64_t bytes, void **memory,
                                      bool search) {
  if (!search)
    workspaceNeed = std::max(workspaceNeed, bytes);
  if (bytes > workspaceBytes) {
    if (capturing)
      return "a kernel needs a larger workspace (" + std::to_string(bytes) +
             " bytes) than any call before the step was recorded as a graph";
    // Grow to the new need and to the most any kernel asked for before (a
    // trimmed workspace must not shrink below what a later run's kernels
    // take: a recorded graph cannot grow it); freeing synchronizes with
    // kernels still reading it. Only the first runs grow it: after them it
    // is as large as the largest kernel's need and no larger, memory a
    // report before the job cannot know.
    int64_t size = roundUpToMiB(std::max(bytes, workspaceNeed));
    ++workspaceGeneration;
    releaseWorkspace();
    cudaError_t status = cudaMalloc(&workspace, static_cast<size_t>(size));
    if (status != cudaSuccess) {
      workspace = nullptr;
      cudaGetLastError();
      return "cannot allocate a " + std::to_string(size) +
             "-byte kernel workspace: " + statusText(status);
    }
    workspaceBytes = size;
  }
  *memory = workspace;
  return {};
}

void CudaContext::trimWorkspace() {
  int64_t keep = roundUpToMiB(workspaceNeed);
  if (workspaceBytes <= keep)
    return;
  // Reallocated now, not at the next call: the next call may come while the
  // step is recorded as a graph, where nothing may allocate (a step whose
  // last convolution was the one searched would never be recorded).
  ++workspaceGeneration;
  releaseWorkspace();
  if (keep == 0)
    return;
  if (cudaMalloc(&workspace, static_cast<size_t>(keep)) != cudaSuccess) {
    workspace = nullptr; // the next call allocates (or reports) it
    cudaGetLastError();
    return;
  }
  workspaceBytes = keep;
}

void CudaContext::releaseWorkspace() {
  if (workspace)
    cudaFree(workspace);
  workspace = nullptr;
  workspaceBytes = 0;
}

int countDevices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError(); // no driver or no device: not sticky
    return 0;
  }
  return count;
}

namespace {

/// VAR_CUDNN_ENGINES (fastest, legacy or graph; unset: fastest) into
/// `engines`, or an error naming the bad value.
std::string convEnginesFromEnvironment(ConvEngines &engines) {
  const char *value = std::getenv("VAR_CUDNN_ENGINES");
  std::string name = value ? value : "fastest";
  if (name == "fastest")
    engines = ConvEngines::Fastest;
  else if (name == "legacy")
    engines = ConvEngines::Legacy;
  else if (name == "graph")
    engines = ConvEngines::Graph;
  else
    return "VAR_CUDNN_ENGINES is '" + name +
           "'; it takes fastest, legacy or graph";
  return {};
}

class CudaBackend final : public exec::Backend {
public:
  explicit CudaBackend(int device) : device(device) {}
  ~CudaBackend() override {
    cudaSetDevice(device);
    for (cudaStream_t stream : streams)
      if (stream)
        cudaStreamSynchronize(stream);
    ctx.releaseWorkspace();
    for (RecordedGraph &graph : graphs)
      if (graph.exec)
        cudaGraphExecDestroy(graph.exec);
    for (const auto &[id, event] : events)
      cudaEventDestroy(event);
    for (cudaEvent_t event : timeEvents)
      if (event)
        cudaEventDestroy(event);
    for (cudaEvent_t event : forkJoin)
      if (event)
        cudaEventDestroy(event);
    if (squaresScratch)
      cudaFree(squaresScratch);
    if (cublasWorkspace)
      cudaFree(cublasWorkspace);
    if (ctx.cublas)
      cublasDestroy(ctx.cublas);
    ctx.convGraphPlans.clear(); // before their handle
    if (ctx.cudnn)
      cudnnDestroy(ctx.cudnn);
    if (ctx.errorFlag)
      cudaFreeHost(ctx.errorFlag);
    for (cudaStream_t stream : streams)
      if (stream)
        cudaStreamDestroy(stream);
  }

  std::string initialize() {
    VAR_CUDA_TRY(cudaSetDevice(device));
    for (cudaStream_t &stream : streams)
      VAR_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    ctx.stream = streams[0];
    VAR_CUDA_TRY(cudaHostAlloc(reinterpret_cast<void **>(&ctx.errorFlag),
                               sizeof(int), cudaHostAllocMapped));
    *ctx.errorFlag = 0;
    int *deviceFlag = nullptr;
    VAR_CUDA_TRY(cudaHostGetDevicePointer(
        reinterpret_cast<void **>(&deviceFlag), ctx.errorFlag, 0));
    hostFlag = ctx.errorFlag;
    ctx.errorFlag = deviceFlag;
    VAR_CUDA_TRY(cudnnCreate(&ctx.cudnn));
    VAR_CUDA_TRY(cudnnSetStream(ctx.cudnn, ctx.stream));
    if (std::string error = convEnginesFromEnvironment(ctx.convEngines);
        !error.empty())
      return error;
    VAR_CUDA_TRY(cublasCreate(&ctx.cublas));
    VAR_CUDA_TRY(cudaMalloc(&cublasWorkspace, kCublasWorkspaceBytes));
    VAR_CUDA_TRY(cublasSetStream(ctx.cublas, ctx.stream));
    ctx.quiesce = [this] { return synchronize(); };
    VAR_CUDA_TRY(
        cublasSetWorkspace(ctx.cublas, cublasWorkspace, kCublasWorkspaceBytes));
    VAR_CUDA_TRY(cudaMalloc(reinterpret_cast<void **>(&squaresScratch),
                            exec::kSquarePartials * sizeof(double)));
    for (cudaEvent_t &event : forkJoin)
      VAR_CUDA_TRY(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    return {};
  }

  void *allocateHost(size_t bytes) override {
    void *memory = nullptr; // page-locked: cudaHostAlloc aligns to pages
    if (cudaHostAlloc(&memory, bytes > 0 ? bytes : 1, cudaHostAllocDefault) !=
        cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return memory;
  }
  void releaseHost(void *memory) override { cudaFreeHost(memory); }

  std::optional<int64_t> getDeviceBytesInUse() const override {
    return allocatedBytes + getKernelScratchBytes();
  }

  int64_t getKernelScratchBytes() const override {
    return ctx.getWorkspaceBytes() +
           static_cast<int64_t>(exec::kSquarePartials * sizeof(double) +
                                kCublasWorkspaceBytes);
  }

  std::string_view getName() const override { return "cuda"; }
  bool isHostMemory() const override { return false; }

  std::string allocate(int64_t bytes, const std::string &what,
                       void **memory) override {
    cudaError_t status =
        cudaMalloc(memory, static_cast<size_t>(bytes > 0 ? bytes : 1));
    if (status == cudaSuccess) {
      allocations[*memory] = bytes;
      allocatedBytes += bytes;
      return {};
    }
    cudaGetLastError();
    size_t freeBytes = 0, totalBytes = 0;
    cudaMemGetInfo(&freeBytes, &totalBytes);
    return what + ": cannot allocate " + std::to_string(bytes) +
           " bytes on GPU " + std::to_string(device) + " (" +
           statusText(status) + "; " + std::to_string(freeBytes) +
           " bytes free of " + std::to_string(totalBytes) +
           "); compare with `varc --report` for this plan";
  }
  void release(void *memory) override {
    auto found = allocations.find(memory);
    if (found != allocations.end()) {
      allocatedBytes -= found->second;
      allocations.erase(found);
    }
    cudaFree(memory);
  }
  std::string fill(void *memory, int64_t bytes, uint8_t value) override {
    VAR_CUDA_TRY(
        cudaMemsetAsync(memory, value, static_cast<size_t>(bytes), ctx.stream));
    return {};
  }
  std::string copyToDevice(void *memory, const void *host,
                           int64_t bytes) override {
    VAR_CUDA_TRY(cudaMemcpyAsync(memory, host, static_cast<size_t>(bytes),
                                 cudaMemcpyHostToDevice, ctx.stream));
    VAR_CUDA_TRY(cudaStreamSynchronize(ctx.stream));
    return {};
  }
  std::string copyToHost(void *host, const void *memory,
                         int64_t bytes) override {
    VAR_CUDA_TRY(cudaMemcpyAsync(host, memory, static_cast<size_t>(bytes),
                                 cudaMemcpyDeviceToHost, ctx.stream));
    VAR_CUDA_TRY(cudaStreamSynchronize(ctx.stream));
    return {};
  }
  std::string enqueueCopyToDevice(void *memory, const void *host,
                                  int64_t bytes) override {
    if (bytes > 0)
      VAR_CUDA_TRY(cudaMemcpyAsync(memory, host, static_cast<size_t>(bytes),
                                   cudaMemcpyHostToDevice, ctx.stream));
    return {};
  }
  std::string enqueueCopyToHost(void *host, const void *memory,
                                int64_t bytes) override {
    if (bytes > 0)
      VAR_CUDA_TRY(cudaMemcpyAsync(host, memory, static_cast<size_t>(bytes),
                                   cudaMemcpyDeviceToHost, ctx.stream));
    return {};
  }

  bool hasKernel(std::string_view op) const override {
    return ops.find(op) != ops.end();
  }
  std::string runOp(cpu::OpCall &call) override {
    auto kernel = ops.find(call.inst.op);
    if (kernel == ops.end())
      return "the CUDA backend has no kernel for it";
    return kernel->second(ctx, call);
  }
  std::string convert(void *dst, plan::DType dstType, const void *src,
                      plan::DType srcType, int64_t count) override {
    return launchConvert(ctx.stream, dst, dstType, src, srcType, count);
  }
  std::string accumulate(float *sum, const void *addend, plan::DType addendType,
                         int64_t count) override {
    return launchAccumulate(ctx.stream, sum, addend, addendType, count);
  }
  std::string updateOptimizer(const exec::OptimizerStep &step) override {
    return launchOptimizerUpdate(ctx.stream, step);
  }
  std::string sumSquares(const std::vector<exec::FlatInput> &inputs,
                         float *result) override {
    return launchSumSquares(ctx.stream, inputs, result, squaresScratch);
  }
  std::string clipCoefficient(const float *squares, double maxNorm,
                              float *coefficient, double *norm) override {
    return launchClipCoefficient(ctx.stream, squares, maxNorm, coefficient,
                                 norm);
  }
  std::string selectStream(exec::PlanStream stream) override {
    cudaStream_t chosen = streams[deviceStream(stream)];
    if (chosen == ctx.stream)
      return {};
    ctx.stream = chosen;
    VAR_CUDA_TRY(cudnnSetStream(ctx.cudnn, chosen));
    // Setting the stream resets cuBLAS to its own workspace pool, which
    // it would allocate from inside a recording: ours again.
    VAR_CUDA_TRY(cublasSetStream(ctx.cublas, chosen));
    VAR_CUDA_TRY(
        cublasSetWorkspace(ctx.cublas, cublasWorkspace, kCublasWorkspaceBytes));
    return {};
  }
  std::string recordEvent(int64_t id) override {
    cudaEvent_t event = nullptr;
    if (std::string error = getEvent(id, event); !error.empty())
      return error;
    VAR_CUDA_TRY(cudaEventRecord(event, ctx.stream));
    return {};
  }
  std::string waitEvent(exec::PlanStream stream, int64_t id) override {
    cudaEvent_t event = nullptr;
    if (std::string error = getEvent(id, event); !error.empty())
      return error;
    VAR_CUDA_TRY(cudaStreamWaitEvent(streams[deviceStream(stream)], event, 0));
    return {};
  }
  std::string waitEventOnHost(int64_t id) override {
    cudaEvent_t event = nullptr;
    if (std::string error = getEvent(id, event); !error.empty())
      return error;
    VAR_CUDA_TRY(cudaEventSynchronize(event));
    return {};
  }
  std::string enqueueHostCall(void (*call)(void *), void *argument) override {
    VAR_CUDA_TRY(cudaLaunchHostFunc(ctx.stream, call, argument));
    return {};
  }
  std::string markTime(size_t slot, bool onHost) override {
    if (slot >= timeEvents.size()) {
      timeEvents.resize(slot + 1, nullptr);
      timeMarks.resize(slot + 1);
    }
    TimeMark &mark = timeMarks[slot];
    mark.onHost = onHost && slot > 0;
    if (mark.onHost) {
      mark.host = std::chrono::steady_clock::now();
      return {};
    }
    if (!timeEvents[slot])
      VAR_CUDA_TRY(cudaEventCreate(&timeEvents[slot])); // timing on
    if (ctx.capturing) {
      // A node of the recorded step: each replay records the event (a
      // step with time marks has no host work, so no anchor on the host).
      VAR_CUDA_TRY(cudaEventRecordWithFlags(timeEvents[slot], ctx.stream,
                                            cudaEventRecordExternal));
      return {};
    }
    VAR_CUDA_TRY(cudaEventRecord(timeEvents[slot], ctx.stream));
    if (slot == 0) { // the anchor: its time on the host's clock too
      VAR_CUDA_TRY(cudaEventSynchronize(timeEvents[0]));
      mark.host = std::chrono::steady_clock::now();
    }
    return {};
  }
  std::string readTimes(size_t count, std::vector<double> &seconds) override {
    if (count > timeMarks.size())
      return "time slot " + std::to_string(count - 1) + " was never marked";
    seconds.resize(count);
    for (size_t i = 0; i < count; ++i) {
      if (timeMarks[i].onHost) {
        seconds[i] =
            std::chrono::duration<double>(timeMarks[i].host - timeMarks[0].host)
                .count();
        continue;
      }
      float ms = 0;
      VAR_CUDA_TRY(cudaEventElapsedTime(&ms, timeEvents[0], timeEvents[i]));
      seconds[i] = ms / 1000.0;
    }
    return {};
  }
  void *getStream() override { return ctx.stream; }
  std::unique_ptr<comm::DeviceCommunicator>
  createDeviceCommunicator(comm::Communicator &hostComm,
                           std::string &error) override {
    error.clear();
    std::unique_ptr<NcclCommunicator> created =
        createNcclCommunicator(hostComm, device, error, hostComm.getTimeout());
    nccl = created.get(); // the executor owns it and outlives its use here
    return created;
  }

  std::string synchronize() override {
    // With NCCL any stream may wait on peers: NCCL's wait has a deadline
    // and aborts, a plain stream synchronize would hang on a dead rank.
    for (cudaStream_t stream : streams) {
      if (!nccl)
        VAR_CUDA_TRY(cudaStreamSynchronize(stream));
      else if (std::string error = nccl->synchronize(stream); !error.empty())
        return error;
    }
    int flag = *hostFlag;
    *hostFlag = 0;
    if (flag == kBadLabel)
      return "a label is out of range [0, classes)";
    if (flag == kBadSampleSplit)
      return "dropout's tensor does not split into the call's samples";
    return {};
  }

  std::string whyNoStepGraphs() const override { return {}; }
  std::string beginCapture() override;
  std::string endCapture(int64_t &graph, size_t &nodes) override;
  std::string replay(int64_t graph, bool &stale) override;
  void dropGraph(int64_t graph) override {
    if (graph < 0 || static_cast<size_t>(graph) >= graphs.size() ||
        !graphs[graph].exec)
      return;
    cudaGraphExecDestroy(graphs[graph].exec);
    graphs[graph].exec = nullptr;
  }

private:
  /// The CUDA stream of a plan stream: compute, comm, copy, and the host
  /// lane (host calls and the device work between them).
  static size_t deviceStream(exec::PlanStream stream) {
    return static_cast<size_t>(stream);
  }
  /// Event `id`, created on first use (the first step; later steps reuse
  /// it).
  std::string getEvent(int64_t id, cudaEvent_t &event) {
    if (id < 0 || id > exec::kRunStartEvent)
      return "event id " + std::to_string(id) + " is out of range";
    auto found = events.find(id);
    if (found == events.end()) {
      VAR_CUDA_TRY(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
      events.emplace(id, event);
    } else {
      event = found->second;
    }
    return {};
  }

  /// cuBLAS's workspace, ours so that a recording never allocates one
  /// (cublasSetWorkspace); the size NVIDIA advises for Hopper. Only var
  /// ops use cuBLAS, and the plan puts them on the compute stream, so one
  /// serves every stream.
  static constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;
  /// An instantiated step graph and the workspace generation it saw.
  struct RecordedGraph {
    cudaGraphExec_t exec = nullptr;
    int64_t workspaceGeneration = 0;
  };

  int device;
  /// Compute, comm and copy; ctx.stream is the selected one.
  std::array<cudaStream_t, 4> streams = {};
  std::map<int64_t, cudaEvent_t> events; // the plan's, and kRunStartEvent
  /// markTime's slots: a timing event, or a host clock reading.
  struct TimeMark {
    bool onHost = false;
    std::chrono::steady_clock::time_point host;
  };
  std::vector<cudaEvent_t> timeEvents;
  std::vector<TimeMark> timeMarks;
  /// What allocate() handed out and release() has not taken back, by
  /// address, and its sum.
  std::map<void *, int64_t> allocations;
  int64_t allocatedBytes = 0;
  CudaContext ctx;
  int *hostFlag = nullptr;
  /// The NCCL communicator made for the executor, if any.
  NcclCommunicator *nccl = nullptr;
  /// sumSquares' block partials.
  double *squaresScratch = nullptr;
  void *cublasWorkspace = nullptr;
  /// The fork of the comm and copy streams from a recording's start and
  /// their joins at its end.
  std::array<cudaEvent_t, 4> forkJoin = {};
  std::vector<RecordedGraph> graphs;
  const CudaOpTable &ops = getCudaOps();
};

// Recording uses cudaStreamCaptureModeThreadLocal: a call of this thread
// that must not happen inside a recording (cudaMalloc, a synchronize, a
// blocking copy) fails and invalidates it, so a step that cannot be
// recorded is caught, never recorded wrong; other threads (NCCL's,
// the data loader's page-locked allocations) stay free, which global mode
// would forbid, and relaxed mode would let the unsafe calls through.
std::string CudaBackend::beginCapture() {
  if (std::string error = selectStream(exec::PlanStream::Compute);
      !error.empty())
    return error;
  VAR_CUDA_TRY(
      cudaStreamBeginCapture(streams[0], cudaStreamCaptureModeThreadLocal));
  ctx.capturing = true;
  // The comm and copy streams join the recording here: their waits on the
  // compute stream's events become the graph's edges.
  cudaError_t status = cudaEventRecord(forkJoin[0], streams[0]);
  for (size_t s = 1; s < streams.size() && status == cudaSuccess; ++s)
    status = cudaStreamWaitEvent(streams[s], forkJoin[0], 0);
  if (status == cudaSuccess)
    return {};
  int64_t graph = -1;
  size_t nodes = 0;
  (void)endCapture(graph, nodes);
  return "forking the streams into the recording failed: " + statusText(status);
}

std::string CudaBackend::endCapture(int64_t &id, size_t &nodes) {
  id = -1;
  nodes = 0;
  ctx.capturing = false;
  // Join the comm and copy streams back: the graph ends after their work.
  // After a failed call the recording is invalid and these fail too; the
  // recording must still be ended.
  cudaError_t joined = cudaSuccess;
  for (size_t s = 1; s < streams.size(); ++s) {
    cudaError_t status = cudaEventRecord(forkJoin[s], streams[s]);
    if (status == cudaSuccess)
      status = cudaStreamWaitEvent(streams[0], forkJoin[s], 0);
    if (joined == cudaSuccess)
      joined = status;
  }
  cudaGraph_t graph = nullptr;
  cudaError_t ended = cudaStreamEndCapture(streams[0], &graph);
  (void)cudaGetLastError(); // recording failures are not sticky
  if (ended != cudaSuccess || joined != cudaSuccess || !graph) {
    if (graph)
      cudaGraphDestroy(graph);
    return ended != cudaSuccess
               ? "cudaStreamEndCapture failed: " + statusText(ended)
               : "joining the streams failed: " + statusText(joined);
  }
  cudaGraphExec_t exec = nullptr;
  cudaError_t counted = cudaGraphGetNodes(graph, nullptr, &nodes);
  cudaError_t made = counted == cudaSuccess
                         ? cudaGraphInstantiate(&exec, graph, 0)
                         : cudaSuccess;
  cudaGraphDestroy(graph);
  if (counted != cudaSuccess || made != cudaSuccess) {
    (void)cudaGetLastError();
    return counted != cudaSuccess
               ? "cudaGraphGetNodes failed: " + statusText(counted)
               : "cudaGraphInstantiate failed: " + statusText(made);
  }
  graphs.push_back({exec, ctx.getWorkspaceGeneration()});
  id = static_cast<int64_t>(graphs.size()) - 1;
  // Uploaded now, so that the first launch does not pay for it.
  VAR_CUDA_TRY(cudaGraphUpload(exec, streams[0]));
  return {};
}

std::string CudaBackend::replay(int64_t id, bool &stale) {
  stale = false;
  if (id < 0 || static_cast<size_t>(id) >= graphs.size() || !graphs[id].exec)
    return "no step graph " + std::to_string(id);
  if (graphs[id].workspaceGeneration != ctx.getWorkspaceGeneration()) {
    dropGraph(id); // it holds the freed workspace
    stale = true;
    return {};
  }
  VAR_CUDA_TRY(cudaGraphLaunch(graphs[id].exec, streams[0]));
  return {};
}

} // namespace

std::unique_ptr<exec::Backend> createCudaBackend(int device,
                                                 std::string &error) {
  int count = countDevices();
  if (device < 0 || device >= count) {
    error = count == 0
                ? "no CUDA device is visible to this process"
                : "CUDA device " + std::to_string(device) +
                      " does not exist (" + std::to_string(count) + " visible)";
    return nullptr;
  }
  auto backend = std::make_unique<CudaBackend>(device);
  error = backend->initialize();
  if (!error.empty())
    return nullptr;
  return backend;
}

} // namespace var::cuda
