// comm-bench: all-gather and reduce-scatter bandwidth through our
// NcclCommunicator, one process per GPU, timed with CUDA events the way
// torch_comm_bench.py times torch.distributed, so the two compare.
#include "runtime/comm/GlooCommunicator.h"
#include "runtime/comm/Launcher.h"
#include "runtime/comm/Rendezvous.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/NcclCommunicator.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using std::chrono::milliseconds;
using var::comm::ElementType;

const char *kUsage =
    "usage: comm-bench [--nproc=N] [options]\n"
    "\n"
    "Times NCCL all-gather and reduce-scatter through VAR's NcclCommunicator\n"
    "for total sizes from --min-mib to --max-mib (doubling), in bf16 and f32.\n"
    "With --nproc it starts N ranks on this host itself (varrun's launcher),\n"
    "one per GPU; otherwise it is one rank of a job whose launcher set the\n"
    "usual variables (varrun, torchrun, mpirun, srun). Rank 0 prints, per\n"
    "size, the slowest rank's median time of --iters collectives enqueued\n"
    "back to back after --warmup more, the algorithm bandwidth (size / time,\n"
    "where size is the gathered output or the scattered input) and the bus\n"
    "bandwidth, algbw * (n - 1) / n, in GB/s (1e9 bytes).\n"
    "\n"
    "  --nproc=N          ranks to start on this host (one per GPU)\n"
    "  --min-mib=M        smallest size in MiB (default 1)\n"
    "  --max-mib=M        largest size in MiB (default 256)\n"
    "  --iters=N          timed collectives per size (default 20, at least 1)\n"
    "  --warmup=N         untimed collectives first (default 5)\n"
    "  --types=bf16,f32   element types (default both)\n"
    "  --comm-timeout=S   a collective that takes longer fails (default 60)\n"
    "  --nccl-calls=nonblocking|blocking  NCCL's mode (default nonblocking;\n"
    "                     see NcclCalls in runtime/cuda/NcclCommunicator.h)\n";

struct Options {
  int nproc = 0;
  int64_t minMiB = 1, maxMiB = 256;
  int iters = 20, warmup = 5;
  std::vector<ElementType> types = {ElementType::BF16, ElementType::F32};
  int timeoutSeconds = 60;
  var::cuda::NcclCalls calls = var::cuda::NcclCalls::NonBlocking;
};

bool parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq),
                value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--nproc")
      options.nproc = std::atoi(value.c_str());
    else if (name == "--min-mib")
      options.minMiB = std::atoll(value.c_str());
    else if (name == "--max-mib")
      options.maxMiB = std::atoll(value.c_str());
    else if (name == "--iters")
      options.iters = std::atoi(value.c_str());
    else if (name == "--warmup")
      options.warmup = std::atoi(value.c_str());
    else if (name == "--comm-timeout")
      options.timeoutSeconds = std::atoi(value.c_str());
    else if (name == "--nccl-calls" &&
             (value == "blocking" || value == "nonblocking"))
      options.calls = value == "blocking" ? var::cuda::NcclCalls::Blocking
                                          : var::cuda::NcclCalls::NonBlocking;
    else if (name == "--types") {
      options.types.clear();
      for (size_t begin = 0; begin <= value.size();) {
        size_t comma = std::min(value.find(',', begin), value.size());
        std::string type = value.substr(begin, comma - begin);
        if (type == "bf16")
          options.types.push_back(ElementType::BF16);
        else if (type == "f32")
          options.types.push_back(ElementType::F32);
        else
          return false;
        begin = comma + 1;
      }
    } else
      return false;
  }
  return options.minMiB >= 1 && options.maxMiB >= options.minMiB &&
         options.iters >= 1 && options.warmup >= 0 &&
         options.timeoutSeconds >= 1 && options.nproc >= 0;
}

/// What one rank measures; stops at the first failure with its message.
class Bench {
public:
  Bench(var::cuda::NcclCommunicator &nccl, var::comm::Communicator &host,
        const Options &options)
      : nccl(nccl), host(host), options(options) {}

  ~Bench() {
    for (cudaEvent_t event : events)
      cudaEventDestroy(event);
    cudaFree(input);
    cudaFree(output);
    cudaStreamDestroy(stream);
  }

  std::string run() {
    const size_t maxBytes = static_cast<size_t>(options.maxMiB) << 20;
    events.resize(options.iters + 1);
    for (cudaEvent_t &event : events)
      if (cudaEventCreate(&event) != cudaSuccess)
        return "cudaEventCreate failed";
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) !=
            cudaSuccess ||
        cudaMalloc(&input, maxBytes) != cudaSuccess ||
        cudaMalloc(&output, maxBytes) != cudaSuccess ||
        cudaMemset(input, 0, maxBytes) != cudaSuccess)
      return "cannot allocate two buffers of " + std::to_string(maxBytes) +
             " bytes";
    if (nccl.getRank() == 0)
      std::printf("%-15s %-5s %10s %12s %12s %12s\n", "op", "type", "size_MiB",
                  "time_us", "algbw_GB/s", "busbw_GB/s");
    for (const char *op : {"all-gather", "reduce-scatter"})
      for (ElementType type : options.types)
        for (int64_t mib = options.minMiB; mib <= options.maxMiB; mib *= 2)
          if (std::string error = measure(op, type, mib << 20); !error.empty())
            return error;
    return "";
  }

private:
  /// One line of the table: `bytes` is the whole gathered output (or the
  /// scattered input), rounded down to whole elements per rank.
  std::string measure(const std::string &op, ElementType type, int64_t bytes) {
    const int n = nccl.getWorldSize();
    const int64_t width = type == ElementType::F32 ? 4 : 2;
    const int64_t shard = bytes / (width * n);
    const int64_t totalBytes = shard * width * n;
    auto once = [&] {
      return op == "all-gather"
                 ? nccl.allGather(input, output, shard, type, stream)
                 : nccl.reduceScatter(input, output, shard, type, false,
                                      stream);
    };
    for (int i = 0; i < options.warmup; ++i)
      if (std::string error = once(); !error.empty())
        return error;
    if (std::string error = nccl.synchronize(stream); !error.empty())
      return error;
    // Back to back, as a training step issues them: the ranks' launch skew
    // shows in the first collective only.
    if (cudaEventRecord(events[0], stream) != cudaSuccess)
      return "cudaEventRecord failed";
    for (int i = 0; i < options.iters; ++i) {
      if (std::string error = once(); !error.empty())
        return error;
      if (cudaEventRecord(events[i + 1], stream) != cudaSuccess)
        return "cudaEventRecord failed";
    }
    if (std::string error = nccl.synchronize(stream); !error.empty())
      return error;
    std::vector<float> times(options.iters);
    for (int i = 0; i < options.iters; ++i)
      if (cudaEventElapsedTime(&times[i], events[i], events[i + 1]) !=
          cudaSuccess)
        return "cudaEventElapsedTime failed";
    std::sort(times.begin(), times.end());
    float median =
        options.iters % 2
            ? times[options.iters / 2]
            : (times[options.iters / 2 - 1] + times[options.iters / 2]) / 2;
    // The slowest rank's median bounds the collective.
    std::vector<float> medians(n);
    if (std::string error = host.allGather(&median, medians.data(), 1);
        !error.empty())
      return error;
    float slowestMs = *std::max_element(medians.begin(), medians.end());
    double algbw = totalBytes / (slowestMs * 1e-3) / 1e9;
    double busbw = algbw * (n - 1) / n;
    if (nccl.getRank() == 0) {
      std::printf("%-15s %-5s %10.1f %12.1f %12.2f %12.2f\n", op.c_str(),
                  type == ElementType::F32 ? "f32" : "bf16",
                  totalBytes / 1048576.0, slowestMs * 1e3, algbw, busbw);
      std::fflush(stdout);
    }
    return "";
  }

  var::cuda::NcclCommunicator &nccl;
  var::comm::Communicator &host;
  const Options &options;
  std::vector<cudaEvent_t> events;
  cudaStream_t stream = nullptr;
  void *input = nullptr, *output = nullptr;
};

int runRank(const Options &options) {
  var::comm::RankInfo info;
  std::string error;
  if (!var::comm::detectRankInfo(var::comm::readEnvironment(), info, error)) {
    std::fprintf(stderr, "comm-bench: %s\n", error.c_str());
    return 1;
  }
  const milliseconds timeout(options.timeoutSeconds * 1000);
  auto host = var::comm::createGlooCommunicator(info, timeout, error);
  if (!host) {
    std::fprintf(stderr, "comm-bench: rank %d: %s\n", info.rank, error.c_str());
    return 1;
  }
  const int gpus = var::cuda::countDevices();
  if (gpus == 0) {
    std::fprintf(stderr, "comm-bench: rank %d: no GPU\n", info.rank);
    return 1;
  }
  auto nccl = var::cuda::createNcclCommunicator(*host, info.localRank % gpus,
                                                error, timeout, options.calls);
  if (!nccl) {
    std::fprintf(stderr, "comm-bench: %s\n", error.c_str());
    return 1;
  }
  if (info.rank == 0)
    std::printf("comm-bench: %d ranks, %d GPU(s) on rank 0's host, %s NCCL "
                "calls, median of %d after %d warmup\n",
                info.worldSize, gpus,
                options.calls == var::cuda::NcclCalls::Blocking
                    ? "blocking"
                    : "non-blocking",
                options.iters, options.warmup);
  error = Bench(*nccl, *host, options).run();
  if (!error.empty()) {
    std::fprintf(stderr, "comm-bench: rank %d: %s\n", info.rank, error.c_str());
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parseOptions(argc, argv, options)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // Never NVLink multicast (NVLS): on the shared GPU machines a program
  // that uses it can put the host's GPUs out of service for a day or more.
  // Set here, before the ranks start and before any NCCL call, as well as
  // in createNcclCommunicator, which refuses any other value.
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  if (options.nproc > 0 && !std::getenv("VARRUN_RANK")) {
    std::vector<std::string> rankArgv = {"/proc/self/exe"};
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], "--nproc=", 8) != 0)
        rankArgv.push_back(argv[i]);
    return var::comm::launchLocalRanks(options.nproc, rankArgv, 0,
                                       milliseconds(5000));
  }
  return runRank(options);
}
