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
#include <map>
#include <vector>

namespace var::cuda {

constexpr int64_t kMinWorkspace = int64_t(64) << 20;

std::string CudaContext::getWorkspace(int64_t bytes, void **memory,
                                      bool search) {
  if (!search)
    workspaceNeed = std::max(workspaceNeed, bytes);
  if (bytes > workspaceBytes) {
    // Grow to the new need (at least 64 MiB, so that most calls fit the
    // first one); freeing synchronizes with kernels still reading it.
    int64_t size = std::max(bytes, kMinWorkspace);
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
  if (workspaceBytes > std::max(workspaceNeed, kMinWorkspace))
    releaseWorkspace();
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

class CudaBackend final : public exec::Backend {
public:
  explicit CudaBackend(int device) : device(device) {}
  ~CudaBackend() override {
    cudaSetDevice(device);
    for (cudaStream_t stream : streams)
      if (stream)
        cudaStreamSynchronize(stream);
    ctx.releaseWorkspace();
    for (const std::vector<cudaEvent_t> *list : {&events, &timeEvents})
      for (cudaEvent_t event : *list)
        if (event)
          cudaEventDestroy(event);
    if (squaresScratch)
      cudaFree(squaresScratch);
    if (ctx.cublas)
      cublasDestroy(ctx.cublas);
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
    VAR_CUDA_TRY(cublasCreate(&ctx.cublas));
    VAR_CUDA_TRY(cublasSetStream(ctx.cublas, ctx.stream));
    ctx.quiesce = [this] { return synchronize(); };
    VAR_CUDA_TRY(cudaMalloc(reinterpret_cast<void **>(&squaresScratch),
                            exec::kSquarePartials * sizeof(double)));
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
    return allocatedBytes + ctx.getWorkspaceBytes() +
           static_cast<int64_t>(exec::kSquarePartials * sizeof(double));
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
  std::string zero(void *memory, int64_t bytes) override {
    VAR_CUDA_TRY(
        cudaMemsetAsync(memory, 0, static_cast<size_t>(bytes), ctx.stream));
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
    VAR_CUDA_TRY(cublasSetStream(ctx.cublas, chosen));
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
    if (stream == exec::PlanStream::Host)
      VAR_CUDA_TRY(cudaEventSynchronize(event));
    else
      VAR_CUDA_TRY(
          cudaStreamWaitEvent(streams[deviceStream(stream)], event, 0));
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
    return {};
  }

private:
  /// The CUDA stream of a plan stream: compute, comm, copy; the host
  /// stream's device work goes on compute.
  static size_t deviceStream(exec::PlanStream stream) {
    return stream == exec::PlanStream::Host ? 0 : static_cast<size_t>(stream);
  }
  /// Event `id`, created on first use (the first step; later steps reuse
  /// it).
  std::string getEvent(int64_t id, cudaEvent_t &event) {
    if (id < 0 || id > (int64_t(1) << 20))
      return "event id " + std::to_string(id) + " is out of range";
    if (static_cast<size_t>(id) >= events.size())
      events.resize(static_cast<size_t>(id) + 1, nullptr);
    if (!events[id])
      VAR_CUDA_TRY(
          cudaEventCreateWithFlags(&events[id], cudaEventDisableTiming));
    event = events[id];
    return {};
  }

  int device;
  /// Compute, comm and copy; ctx.stream is the selected one.
  std::array<cudaStream_t, 3> streams = {};
  std::vector<cudaEvent_t> events;
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
  const CudaOpTable &ops = getCudaOps();
};

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
