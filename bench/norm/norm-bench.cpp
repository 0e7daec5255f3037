// norm-bench: the CUDA backend's training batch norm (forward with a fused
// ReLU, and its backward recomputing the pre-activation) on the shapes of
// r2plus1d_18's batch norms at B=16, 16x112x112 clips (channels-last bf16,
// channels padded to multiples of 8, as varc compiles it), against a
// device-to-device copy of the same tensor in the same run: the memory
// bandwidth this GPU gives a plain stream. Each op's bytes are the passes
// it must make at least (forward: read x twice, write y; backward: read x
// and dy twice, write dx), so "of copy" is how close the op comes to
// moving them at copy speed.
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaCheck.h"
#include "runtime/cuda/CudaOps.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace var;
using Shape = std::vector<int64_t>;
using cpu::TensorView;

[[noreturn]] void fail(const std::string &what) {
  std::fprintf(stderr, "norm-bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename Status>
void checkCall(Status status, const char *call, const char *file, int line) {
  if (!cuda::succeeded(status))
    fail(cuda::describeFailure(call, cuda::statusText(status), file, line));
}
#define NORM_CHECK(call) checkCall((call), #call, __FILE__, __LINE__)

/// A device tensor, filled on the host with values in [lo, hi).
struct Buffer {
  TensorView view;
  Buffer(plan::DType type, Shape shape, float lo, float hi, uint64_t seed)
      : view{type, std::move(shape), nullptr} {
    NORM_CHECK(cudaMalloc(&view.data, static_cast<size_t>(view.bytes())));
    std::vector<float> values(static_cast<size_t>(view.numel()));
    uint64_t state = seed;
    for (float &v : values) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      v = lo + (hi - lo) * static_cast<float>(state >> 40) / (1 << 24);
    }
    std::vector<char> host(static_cast<size_t>(view.bytes()));
    TensorView hostView = view;
    hostView.data = host.data();
    cpu::writeFloats(values, hostView);
    NORM_CHECK(cudaMemcpy(view.data, host.data(), host.size(),
                          cudaMemcpyHostToDevice));
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { cudaFree(view.data); }
};

/// One batch norm shape of the model: `count` of them a step.
struct Layer {
  int64_t rows, channels, count;
};

/// r2plus1d_18 at B=16: (rows = N * T * H * W, padded channels, count).
const Layer kLayers[] = {
    {802816, 48, 1},  {802816, 64, 5},  {802816, 144, 4}, {200704, 232, 1},
    {100352, 128, 5}, {100352, 288, 3}, {25088, 464, 1},  {12544, 256, 5},
    {12544, 576, 3},  {3136, 928, 1},   {1568, 512, 5},   {1568, 1152, 3},
};

constexpr int kWarmup = 3, kCalls = 20;

/// Milliseconds a call of `run` takes on `stream`: the mean of kCalls after
/// kWarmup.
template <typename Run> double meanMs(cudaStream_t stream, Run &&run) {
  for (int i = 0; i < kWarmup; ++i)
    run();
  NORM_CHECK(cudaStreamSynchronize(stream));
  cudaEvent_t start, stop;
  NORM_CHECK(cudaEventCreate(&start));
  NORM_CHECK(cudaEventCreate(&stop));
  NORM_CHECK(cudaEventRecord(start, stream));
  for (int i = 0; i < kCalls; ++i)
    run();
  NORM_CHECK(cudaEventRecord(stop, stream));
  NORM_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  NORM_CHECK(cudaEventElapsedTime(&ms, start, stop));
  NORM_CHECK(cudaEventDestroy(start));
  NORM_CHECK(cudaEventDestroy(stop));
  return ms / kCalls;
}

/// Runs op `name` of the CUDA op table on `call`, failing on an error.
void runOp(cuda::CudaContext &ctx, const char *name, cpu::OpCall &call) {
  const cuda::CudaOpTable &ops = cuda::getCudaOps();
  auto it = ops.find(name);
  if (it == ops.end())
    fail(std::string("no CUDA kernel for ") + name);
  if (std::string error = it->second(ctx, call); !error.empty())
    fail(std::string(name) + ": " + error);
}

struct Times {
  double forward = 0, backward = 0, copy = 0;
};

Times benchLayer(cuda::CudaContext &ctx, const Layer &layer) {
  const plan::DType bf16 = plan::DType::BF16, f32 = plan::DType::F32;
  Shape shape = {layer.rows, 1, layer.channels}, ch = {layer.channels};
  Buffer x(bf16, shape, -2, 3, 1), dy(bf16, shape, -1, 1, 2),
      y(bf16, shape, 0, 0, 3), dx(bf16, shape, 0, 0, 4);
  Buffer weight(f32, ch, 0.5f, 1.5f, 5), bias(f32, ch, -0.5f, 0.5f, 6),
      runningMean(f32, ch, 0, 0, 7), runningVar(f32, ch, 1, 1, 8);
  Buffer savedMean(f32, ch, 0, 0, 9), savedInvstd(f32, ch, 0, 0, 10),
      newMean(f32, ch, 0, 0, 11), newVar(f32, ch, 0, 0, 12),
      weightGrad(f32, ch, 0, 0, 13), biasGrad(f32, ch, 0, 0, 14);
  plan::Instruction inst;
  // Sorted by name, as a plan stores them.
  inst.attributes = {{"activation", std::string("relu")},
                     {"channels_last", true}};
  cpu::OpCall forward{
      inst,
      {x.view, weight.view, bias.view, runningMean.view, runningVar.view},
      {y.view, savedMean.view, savedInvstd.view, newMean.view, newVar.view},
      nullptr};
  // The backward's activation value is the bias: it recomputes the
  // pre-activation (var-fuse-bn-act).
  cpu::OpCall backward{inst,
                       {x.view, dy.view, weight.view, savedMean.view,
                        savedInvstd.view, bias.view},
                       {dx.view, weightGrad.view, biasGrad.view},
                       nullptr};
  Times t;
  t.forward =
      meanMs(ctx.stream, [&] { runOp(ctx, "var.batch_norm_train", forward); });
  t.backward =
      meanMs(ctx.stream, [&] { runOp(ctx, "var.batch_norm_grad", backward); });
  t.copy = meanMs(ctx.stream, [&] {
    NORM_CHECK(cudaMemcpyAsync(y.view.data, x.view.data,
                               static_cast<size_t>(x.view.bytes()),
                               cudaMemcpyDeviceToDevice, ctx.stream));
  });
  return t;
}

const char *kUsage =
    "usage: norm-bench [--channels=C] [--help]\n"
    "Times var.batch_norm_train with a fused ReLU and var.batch_norm_grad\n"
    "recomputing it (channels-last bf16) on r2plus1d_18's batch norm shapes\n"
    "at B=16, against a device-to-device copy of the same tensor: the mean\n"
    "of 20 calls after 3 warm-ups. GB/s counts the passes each op must make\n"
    "(forward 3 tensors, backward 5; the copy 2); \"of copy\" divides that\n"
    "by the copy's GB/s. The last line weights each shape by its count in\n"
    "one training step.\n"
    "  --channels=C  only the shapes of C channels (for a profiler)\n"
    "Exit status: 0; 1 on an error.\n";

} // namespace

int main(int argc, char **argv) {
  int64_t only = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (std::strncmp(argv[i], "--channels=", 11) == 0) {
      only = std::atoll(argv[i] + 11);
      if (only > 0)
        continue;
    }
    std::fprintf(stderr, "norm-bench: unknown argument %s\n%s", argv[i],
                 kUsage);
    return 1;
  }
  int device = 0;
  NORM_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  NORM_CHECK(cudaGetDeviceProperties(&prop, device));
  // Nothing these kernels launch raises the error flag: it stays null.
  cuda::CudaContext ctx;
  NORM_CHECK(cudaStreamCreate(&ctx.stream));

  std::printf("# norm-bench on %s: r2plus1d_18's batch norms, bf16 "
              "channels-last, ms a call (mean of %d after %d warm-ups)\n\n",
              prop.name, kCalls, kWarmup);
  std::printf("| rows x channels | a step | forward ms | GB/s | of copy | "
              "backward ms | GB/s | of copy | copy GB/s |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  Times total;
  double totalBytes = 0;
  for (const Layer &layer : kLayers) {
    if (only > 0 && layer.channels != only)
      continue;
    Times t = benchLayer(ctx, layer);
    double bytes = 2.0 * static_cast<double>(layer.rows * layer.channels);
    double copyGBs = 2 * bytes / t.copy * 1e-6;
    double forwardGBs = 3 * bytes / t.forward * 1e-6;
    double backwardGBs = 5 * bytes / t.backward * 1e-6;
    std::printf("| %lld x %lld | %lld | %.3f | %.0f | %.2f | %.3f | %.0f | "
                "%.2f | %.0f |\n",
                static_cast<long long>(layer.rows),
                static_cast<long long>(layer.channels),
                static_cast<long long>(layer.count), t.forward, forwardGBs,
                forwardGBs / copyGBs, t.backward, backwardGBs,
                backwardGBs / copyGBs, copyGBs);
    auto n = static_cast<double>(layer.count);
    total.forward += n * t.forward;
    total.backward += n * t.backward;
    total.copy += n * t.copy;
    totalBytes += n * bytes;
  }
  // The copy moves 2 tensors, the forward 3 and the backward 5: at copy
  // speed the step's batch norms would take 4 copies' time.
  std::printf("\nA step: forward %.3f ms, backward %.3f ms, together %.3f "
              "ms; at copy speed %.3f ms (%.2f of copy speed); %.2f GB a "
              "tensor pass\n",
              total.forward, total.backward, total.forward + total.backward,
              4 * total.copy, 4 * total.copy / (total.forward + total.backward),
              totalBytes * 1e-9);
  cudaStreamDestroy(ctx.stream);
  return 0;
}
