// Lists what cuDNN's legacy API measures for the zoo's slow convolutions:
// every forward, backward-data and backward-filter algorithm cuDNN finds,
// with its time, TFLOP/s, determinism and workspace, in BF16, for the
// plan's NCHW / NCDHW layout and for channels-last, and for R(2+1)D's 3-D
// kernels described as the 2-D convolutions they equal channels-last.
//   conv-algos [--workspace-mib=N]
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

#define CHECK(call)                                                            \
  do {                                                                         \
    if (auto status = (call); status != 0) {                                   \
      std::fprintf(stderr, "conv-algos: %s failed (%d) at line %d\n", #call,   \
                   static_cast<int>(status), __LINE__);                        \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

/// One convolution: batch, channels in/out, spatial input dims and kernel,
/// padding and stride per spatial dim (all the same rank), groups.
struct Geometry {
  const char *name;
  int n, c, k, groups;
  std::vector<int> in, kernel, pad, stride;
};

std::vector<int> outDims(const Geometry &g) {
  std::vector<int> out;
  for (size_t i = 0; i < g.in.size(); ++i)
    out.push_back((g.in[i] + 2 * g.pad[i] - g.kernel[i]) / g.stride[i] + 1);
  return out;
}

/// A tensor descriptor of dims (n, c, spatial...) laid out channels-first
/// or channels-last.
cudnnTensorDescriptor_t tensor(int n, int c, const std::vector<int> &spatial,
                               bool channelsLast) {
  std::vector<int> dims = {n, c};
  dims.insert(dims.end(), spatial.begin(), spatial.end());
  std::vector<int> strides(dims.size());
  int stride = 1;
  if (channelsLast) {
    strides[1] = stride;
    stride *= c;
    for (size_t d = dims.size(); d-- > 2;) {
      strides[d] = stride;
      stride *= dims[d];
    }
    strides[0] = stride;
  } else {
    for (size_t d = dims.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= dims[d];
    }
  }
  cudnnTensorDescriptor_t desc;
  CHECK(cudnnCreateTensorDescriptor(&desc));
  CHECK(cudnnSetTensorNdDescriptor(desc, CUDNN_DATA_BFLOAT16,
                                   static_cast<int>(dims.size()), dims.data(),
                                   strides.data()));
  return desc;
}

size_t count(int n, int c, const std::vector<int> &spatial) {
  size_t total = size_t(n) * c;
  for (int d : spatial)
    total *= d;
  return total;
}

/// One line per algorithm cuDNN ran: `perf` (any of the three directions'
/// perf structs), `found` of them.
template <typename Perf>
void report(const char *direction, const Perf *perf, int found, double flops) {
  for (int i = 0; i < found; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS)
      continue;
    std::printf("    %-6s algo %d  %8.3f ms  %7.1f TFLOP/s  %s  %6.1f MiB\n",
                direction, static_cast<int>(perf[i].algo), perf[i].time,
                flops / perf[i].time / 1e9,
                perf[i].determinism == CUDNN_DETERMINISTIC ? "det   "
                                                           : "nondet",
                perf[i].memory / 1048576.0);
  }
}

void measure(cudnnHandle_t cudnn, const Geometry &g, bool channelsLast,
             void *workspace, size_t workspaceBytes) {
  std::vector<int> out = outDims(g);
  cudnnTensorDescriptor_t x = tensor(g.n, g.c, g.in, channelsLast);
  cudnnTensorDescriptor_t y = tensor(g.n, g.k, out, channelsLast);
  std::vector<int> filterDims = {g.k, g.c / g.groups};
  filterDims.insert(filterDims.end(), g.kernel.begin(), g.kernel.end());
  cudnnFilterDescriptor_t w;
  CHECK(cudnnCreateFilterDescriptor(&w));
  CHECK(cudnnSetFilterNdDescriptor(
      w, CUDNN_DATA_BFLOAT16,
      channelsLast ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
      static_cast<int>(filterDims.size()), filterDims.data()));
  cudnnConvolutionDescriptor_t conv;
  CHECK(cudnnCreateConvolutionDescriptor(&conv));
  std::vector<int> dilation(g.in.size(), 1);
  CHECK(cudnnSetConvolutionNdDescriptor(
      conv, static_cast<int>(g.in.size()), g.pad.data(), g.stride.data(),
      dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CHECK(cudnnSetConvolutionGroupCount(conv, g.groups));
  CHECK(cudnnSetConvolutionMathType(conv, CUDNN_TENSOR_OP_MATH));
  size_t xs = count(g.n, g.c, g.in), ys = count(g.n, g.k, out);
  size_t ws = size_t(g.k) * (g.c / g.groups);
  for (int d : g.kernel)
    ws *= d;
  void *xd, *yd, *wd;
  CHECK(cudaMalloc(&xd, xs * 2));
  CHECK(cudaMalloc(&yd, ys * 2));
  CHECK(cudaMalloc(&wd, ws * 2));
  CHECK(cudaMemset(xd, 0, xs * 2));
  CHECK(cudaMemset(yd, 0, ys * 2));
  CHECK(cudaMemset(wd, 0, ws * 2));
  double flops = 2.0 * double(ys) * (g.c / g.groups);
  for (int d : g.kernel)
    flops *= d;
  std::printf("  %s %s: %.2f GFLOP a direction\n", g.name,
              channelsLast ? "channels-last" : "channels-first", flops / 1e9);
  constexpr int kMax = 16;
  int found = 0;
  {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    CHECK(cudnnFindConvolutionForwardAlgorithmEx(cudnn, x, xd, w, wd, conv, y,
                                                 yd, kMax, &found, perf,
                                                 workspace, workspaceBytes));
    report("fwd", perf, found, flops);
  }
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
        cudnn, w, wd, y, yd, conv, x, xd, kMax, &found, perf, workspace,
        workspaceBytes));
    report("dgrad", perf, found, flops);
  }
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
        cudnn, x, xd, y, yd, conv, w, wd, kMax, &found, perf, workspace,
        workspaceBytes));
    report("wgrad", perf, found, flops);
  }
  cudaFree(xd);
  cudaFree(yd);
  cudaFree(wd);
  cudnnDestroyTensorDescriptor(x);
  cudnnDestroyTensorDescriptor(y);
  cudnnDestroyFilterDescriptor(w);
  cudnnDestroyConvolutionDescriptor(conv);
}

} // namespace

int main(int argc, char **argv) {
  size_t workspaceMiB = 1024;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--workspace-mib=", 16) == 0) {
      workspaceMiB = std::strtoul(argv[i] + 16, nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: conv-algos [--workspace-mib=N]\n");
      return 2;
    }
  }
  // R(2+1)D-18 at B=16, 16x112x112 (layer1: 64 channels at 16x56x56,
  // midplanes 144; layer3: 256 at 4x14x14, midplanes 576), MobileNetV2 at
  // B=16x8 frames of 224 (an expansion 1x1, a depthwise 3x3, a
  // projection 1x1 at 56x56).
  std::vector<Geometry> geometries = {
      {"r2p1d.layer1 (1,3,3) 64->144",
       16,
       64,
       144,
       1,
       {16, 56, 56},
       {1, 3, 3},
       {0, 1, 1},
       {1, 1, 1}},
      {"r2p1d.layer1 (3,1,1) 144->64",
       16,
       144,
       64,
       1,
       {16, 56, 56},
       {3, 1, 1},
       {1, 0, 0},
       {1, 1, 1}},
      {"  as 2-D (1,3,3): N*T images",
       256,
       64,
       144,
       1,
       {56, 56},
       {3, 3},
       {1, 1},
       {1, 1}},
      {"  as 2-D (3,1,1): (T, H*W)",
       16,
       144,
       64,
       1,
       {16, 3136},
       {3, 1},
       {1, 0},
       {1, 1}},
      {"r2p1d.layer3 (1,3,3) 256->576",
       16,
       256,
       576,
       1,
       {4, 14, 14},
       {1, 3, 3},
       {0, 1, 1},
       {1, 1, 1}},
      {"mnv2 1x1 24->144", 128, 24, 144, 1, {56, 56}, {1, 1}, {0, 0}, {1, 1}},
      {"mnv2 dw3x3 144", 128, 144, 144, 144, {56, 56}, {3, 3}, {1, 1}, {1, 1}},
      {"mnv2 1x1 144->24", 128, 144, 24, 1, {56, 56}, {1, 1}, {0, 0}, {1, 1}},
  };
  cudnnHandle_t cudnn;
  CHECK(cudnnCreate(&cudnn));
  void *workspace;
  size_t workspaceBytes = workspaceMiB << 20;
  CHECK(cudaMalloc(&workspace, workspaceBytes));
  std::printf("conv-algos: cuDNN %zu, BF16, workspace %zu MiB\n",
              cudnnGetVersion(), workspaceMiB);
  for (const Geometry &g : geometries) {
    bool twoD = g.in.size() == 2;
    measure(cudnn, g, true, workspace, workspaceBytes);
    if (!(twoD && g.name[0] == ' '))
      measure(cudnn, g, false, workspace, workspaceBytes);
  }
  cudaFree(workspace);
  cudnnDestroy(cudnn);
  return 0;
}
