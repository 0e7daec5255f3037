// stem-bench: the fused bf16 RGB-stem convolutions (ConvStemKernels.h)
// timed against the patch GEMM they replace (ConvPatchKernels.h: im2col
// patches in the workspace, then cuBLAS) on the zoo's stems, in one run.
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/ConvPatchKernels.h"
#include "runtime/cuda/ConvStemKernels.h"
#include "runtime/cuda/CudaCheck.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace var;
using cpu::Dims;
using cpu::Shape;
using cpu::TensorView;
using cpu::Window;

constexpr int kWarmup = 3, kCalls = 20;
constexpr double kHbmGBs = 4800; // H200
/// Fused and patch results differ by f32 summation order and bf16
/// rounding only; more than this (of the largest value) is a bug.
constexpr double kMaxRelativeDiff = 2e-2;

[[noreturn]] void fail(const std::string &what) {
  std::fprintf(stderr, "stem-bench: %s\n", what.c_str());
  std::exit(1);
}

void check(const std::string &error, const std::string &doing) {
  if (!error.empty())
    fail(doing + ": " + error);
}

template <typename Status>
void checkCall(Status status, const char *call, const char *file, int line) {
  if (!cuda::succeeded(status))
    fail(cuda::describeFailure(call, cuda::statusText(status), file, line));
}
#define STEM_CHECK(call) checkCall((call), #call, __FILE__, __LINE__)

/// A bf16 tensor in device memory.
struct Buffer {
  TensorView view;
  explicit Buffer(Shape shape)
      : view{plan::DType::BF16, std::move(shape), nullptr} {
    STEM_CHECK(cudaMalloc(&view.data, static_cast<size_t>(view.bytes())));
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { cudaFree(view.data); }

  /// Uniform values in [-1, 1) from a 64-bit LCG (fast enough for the
  /// 200M-element gradients), rounded to bf16 on the host.
  void fillRandom(uint64_t seed) {
    std::vector<uint16_t> host(static_cast<size_t>(view.numel()));
    uint64_t state = seed;
    for (uint16_t &bits : host) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      bits = cpu::floatToBf16(static_cast<float>(state >> 40) / (1 << 23) - 1);
    }
    STEM_CHECK(cudaMemcpy(view.data, host.data(), host.size() * 2,
                          cudaMemcpyHostToDevice));
  }

  std::vector<float> toHost() const {
    std::vector<uint16_t> bits(static_cast<size_t>(view.numel()));
    STEM_CHECK(cudaMemcpy(bits.data(), view.data, bits.size() * 2,
                          cudaMemcpyDeviceToHost));
    TensorView host = view;
    host.data = bits.data();
    return cpu::readFloats(host);
  }
};

/// One stem: a channels-last bf16 convolution of 3 input channels.
struct Stem {
  const char *name;
  bool threeD; // tensors (N, D, H, W, C); else (N, H, W, C), D = 1
  Window w;
};

Stem makeStem(const char *name, bool threeD, int64_t batch, Dims in,
              int64_t outChannels, Dims kernel, Dims stride, Dims padding) {
  Window w;
  w.batch = batch;
  w.inChannels = 3;
  w.outChannels = outChannels;
  w.in = in;
  w.kernel = kernel;
  w.stride = stride;
  w.padding = padding;
  w.channelsLast = true;
  for (int d = 0; d < 3; ++d)
    w.out[d] = (in[d] + 2 * padding[d] - kernel[d]) / stride[d] + 1;
  return {name, threeD, w};
}

/// head, then `dims` as the stem's tensors hold them (D only when 3-D),
/// then tail.
Shape shapeOf(const Stem &stem, Shape head, const Dims &dims, Shape tail) {
  head.insert(head.end(), dims.begin() + (stem.threeD ? 0 : 1), dims.end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

/// The four kernels timed: (ctx, w, input, weight or grad, result).
using StemFn = std::string (*)(cuda::CudaContext &, const Window &,
                               const TensorView &, const TensorView &,
                               TensorView &);

/// Milliseconds a call of `fn` takes on the context's stream: the mean of
/// kCalls after kWarmup (which also grow the workspace).
double meanMs(cuda::CudaContext &ctx, StemFn fn, const Window &w,
              const Buffer &input, const Buffer &other, Buffer &result,
              const std::string &what) {
  auto call = [&] {
    check(fn(ctx, w, input.view, other.view, result.view), what);
  };
  for (int i = 0; i < kWarmup; ++i)
    call();
  STEM_CHECK(cudaStreamSynchronize(ctx.stream));
  cudaEvent_t start, stop;
  STEM_CHECK(cudaEventCreate(&start));
  STEM_CHECK(cudaEventCreate(&stop));
  STEM_CHECK(cudaEventRecord(start, ctx.stream));
  for (int i = 0; i < kCalls; ++i)
    call();
  STEM_CHECK(cudaEventRecord(stop, ctx.stream));
  STEM_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  STEM_CHECK(cudaEventElapsedTime(&ms, start, stop));
  STEM_CHECK(cudaEventDestroy(start));
  STEM_CHECK(cudaEventDestroy(stop));
  return ms / kCalls;
}

/// max |fused - patch| / max |patch|; NaN when either holds a NaN or inf.
double relativeDiff(const Buffer &fused, const Buffer &patch) {
  std::vector<float> a = fused.toHost(), b = patch.toHost();
  double diff = 0, largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i]))
      return NAN;
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    largest = std::max(largest, std::fabs(double(b[i])));
  }
  return largest > 0 ? diff / largest : diff;
}

/// Prints one table row a direction; false when fused and patch disagree.
bool benchStem(cuda::CudaContext &ctx, const Stem &stem) {
  const Window &w = stem.w;
  Buffer input(shapeOf(stem, {w.batch}, w.in, {w.inChannels}));
  Buffer weight(shapeOf(stem, {w.outChannels, w.inChannels}, w.kernel, {}));
  Buffer grad(shapeOf(stem, {w.batch}, w.out, {w.outChannels}));
  input.fillRandom(1);
  weight.fillRandom(2);
  grad.fillRandom(3);
  bool fused = cuda::isFusedStem(w, plan::DType::BF16);
  bool agree = true;
  for (bool forward : {true, false}) {
    const char *direction = forward ? "forward" : "filter grad";
    std::string what = std::string(stem.name) + " " + direction;
    const Buffer &other = forward ? weight : grad;
    Shape resultShape = forward ? grad.view.shape : weight.view.shape;
    Buffer patch(resultShape);
    double patchMs = meanMs(
        ctx, forward ? cuda::patchGemmForward : cuda::patchGemmGradWeight, w,
        input, other, patch, what + " (patch GEMM)");
    if (!fused) {
      std::printf("| %s | %s | not fused | %.3f | - | - | - | - |\n", stem.name,
                  direction, patchMs);
      continue;
    }
    Buffer result(resultShape);
    double fusedMs = meanMs(
        ctx, forward ? cuda::fusedStemForward : cuda::fusedStemGradWeight, w,
        input, other, result, what + " (fused)");
    // Both directions read the input and write or read an output-shaped
    // tensor; the filter is too small to count.
    double bytes = double(input.view.bytes() + grad.view.bytes());
    double gbs = bytes / (fusedMs * 1e-3) / 1e9;
    double diff = relativeDiff(result, patch);
    std::printf("| %s | %s | %.3f | %.3f | %.2fx | %.0f | %.0f%% | %.1e |\n",
                stem.name, direction, fusedMs, patchMs, patchMs / fusedMs, gbs,
                100 * gbs / kHbmGBs, diff);
    if (!(diff <= kMaxRelativeDiff)) {
      std::fprintf(stderr, "stem-bench: %s: fused and patch GEMM differ\n",
                   what.c_str());
      agree = false;
    }
  }
  return agree;
}

const char *kUsage =
    "usage: stem-bench [--help]\n"
    "Times the fused bf16 RGB-stem convolutions (ConvStemKernels.h) against\n"
    "the patch GEMM (im2col patches + cuBLAS, ConvPatchKernels.h) on the\n"
    "zoo's stems (vgg11_bn, mobilenet_v2 / efficientnet_b0, r2plus1d_18 at\n"
    "45 and 48 channels), forward and filter gradient, on the current GPU:\n"
    "the mean of 20 calls after 3 warm-ups, the ratio patch/fused (>1: the\n"
    "fused kernel is faster), the fused kernel's GB/s (the input and the\n"
    "output-shaped tensor) and its share of 4800 GB/s (H200 HBM), and\n"
    "max |fused - patch| / max |patch|.\n"
    "Exit status: 0; 1 on an error; 2 when a difference exceeds 2e-2.\n";

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "stem-bench: unknown argument %s\n%s", argv[i],
                 kUsage);
    return 1;
  }
  int device = 0;
  STEM_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  STEM_CHECK(cudaGetDeviceProperties(&prop, device));

  // Nothing these kernels launch raises the error flag: it stays null.
  cuda::CudaContext ctx;
  STEM_CHECK(cudaStreamCreate(&ctx.stream));
  STEM_CHECK(cublasCreate(&ctx.cublas));
  STEM_CHECK(cublasSetStream(ctx.cublas, ctx.stream));
  STEM_CHECK(cudnnCreate(&ctx.cudnn));
  STEM_CHECK(cudnnSetStream(ctx.cudnn, ctx.stream));

  const Stem stems[] = {
      makeStem("vgg11_bn 3->64 3x3", false, 64, {1, 224, 224}, 64, {1, 3, 3},
               {1, 1, 1}, {0, 1, 1}),
      makeStem("mobilenet_v2 3->32 3x3/2", false, 128, {1, 224, 224}, 32,
               {1, 3, 3}, {1, 2, 2}, {0, 1, 1}),
      makeStem("r2plus1d_18 3->45 1x7x7/1x2x2", true, 16, {16, 112, 112}, 45,
               {1, 7, 7}, {1, 2, 2}, {0, 3, 3}),
      makeStem("r2plus1d_18 3->48 1x7x7/1x2x2", true, 16, {16, 112, 112}, 48,
               {1, 7, 7}, {1, 2, 2}, {0, 3, 3}),
  };
  std::printf("# stem-bench on %s: bf16 channels-last, ms a call (mean of %d "
              "after %d warm-ups)\n\n",
              prop.name, kCalls, kWarmup);
  std::printf("| stem | direction | fused ms | patch GEMM ms | patch/fused | "
              "fused GB/s | of HBM | rel. diff |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|\n");
  bool agree = true;
  for (const Stem &stem : stems) {
    agree = benchStem(ctx, stem) && agree;
    std::fflush(stdout);
  }

  ctx.releaseWorkspace();
  STEM_CHECK(cudnnDestroy(ctx.cudnn));
  STEM_CHECK(cublasDestroy(ctx.cublas));
  STEM_CHECK(cudaStreamDestroy(ctx.stream));
  return agree ? 0 : 2;
}
