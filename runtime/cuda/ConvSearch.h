// The cuDNN half of the CUDA convolutions (ConvKernels.cu): how cuDNN sees
// a convolution (descriptors, the geometry, channels-last 3-D windows
// folded into 2-D), the search for its algorithm (the legacy API's
// cudnnFind* and the graph API's engines, CudnnConvGraph.h, measured on the
// call's own tensors) and the run of the chosen one.
#ifndef VAR_RUNTIME_CUDA_CONVSEARCH_H
#define VAR_RUNTIME_CUDA_CONVSEARCH_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/ConvScratchKernels.h"
#include "runtime/cuda/CudaOps.h"

#include <cudnn.h>

#include <string>
#include <vector>

namespace var::cuda {

/// The descriptors of one convolution, destroyed with it.
struct ConvDescriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnDataType_t dataType = CUDNN_DATA_FLOAT;
  ConvDescriptors() = default;
  ConvDescriptors(const ConvDescriptors &) = delete;
  ~ConvDescriptors() {
    if (x)
      cudnnDestroyTensorDescriptor(x);
    if (y)
      cudnnDestroyTensorDescriptor(y);
    if (w)
      cudnnDestroyFilterDescriptor(w);
    if (conv)
      cudnnDestroyConvolutionDescriptor(conv);
  }
};

/// How cuDNN sees a convolution: 2 or 3 spatial dimensions, the batch and
/// dimensions possibly folded (see cudnnGeometryOf), in one element type.
struct CudnnGeometry {
  bool channelsLast = false;
  int batch = 0, inChannels = 0, outChannels = 0, groups = 1;
  std::vector<int> in, out, kernel, padding, stride, dilation;
};

enum class Direction { Forward, BackwardData, BackwardFilter };

/// What one cuDNN convolution call needs once its window is known: the
/// descriptors, the algorithm measured for the geometry, its workspace, and
/// the filter and input as cuDNN reads or writes them (the plan's, or their
/// copies in the workspace: see ConvScratch).
struct ConvSetup {
  ConvDescriptors d;
  ConvAlgorithm chosen;
  ConvScratch scratch;
  void *workspace = nullptr;
  void *filter = nullptr;
  void *x = nullptr; // the input, or backward data's result
};

/// The plan's window as cuDNN sees it. Channels-first: 1-D and 2-D
/// windows as 2-D (4-D descriptors), 3-D ones as 3-D. Channels-last: a
/// 3-D window that only slides over (H, W) (kernel, stride 1 and no
/// padding along D) is a 2-D convolution over N * D images (N, D, H, W, C)
/// = (N * D, H, W, C); one that only slides over D is a 2-D (k, 1)
/// convolution over (N, D, H * W, C). These are R(2+1)D's convolutions,
/// and cuDNN's 2-D NHWC kernels are its fastest; other 3-D windows stay
/// 3-D (5-D descriptors). The input channels are cudnnInputChannels's
/// (zero-padded for a few channels in `dtype`).
CudnnGeometry cudnnGeometryOf(const cpu::Window &w, size_t spatial,
                              plan::DType dtype);

/// Descriptors of geometry `g` over tensors of one element type. The
/// filter of a channels-last convolution is described NHWC (KRSC): see
/// ConvScratch for why and how the plan's (O, I/groups, k...) weight gets
/// there.
std::string describe(const CudnnGeometry &g, plan::DType dtype,
                     ConvDescriptors &d);

/// The algorithm cache's key: direction, type and the geometry as cuDNN
/// sees it (layout, folded batch and dimensions, padded channels included:
/// a stem padded to 8 channels shares the algorithm of an 8-channel input).
std::string algorithmKey(const ConvDescriptors &d, const CudnnGeometry &g,
                         Direction direction);

/// Points `setup` at the plan's `x` and `filter` or at their copies in the
/// workspace starting at `base` (ConvScratch's layout), cuDNN's part after
/// them, and fills the copies that `direction` reads.
std::string placeScratch(CudaContext &ctx, ConvSetup &setup,
                         Direction direction, void *base, void *x,
                         void *filter);

/// Runs the convolution `c` describes in `direction`: its graph-API plan,
/// or its legacy algorithm. `y`: the output (forward) or the gradient dY.
std::string runConv(CudaContext &ctx, const ConvSetup &c, Direction direction,
                    void *y);

/// Measures the convolution `setup` describes (first sight of its
/// geometry) into setup.chosen, on the copies cuDNN will read and write.
/// The device is quiesced first (see CudaContext::quiesce). The fast
/// algorithms of large convolutions need a few hundred MiB (R(2+1)D-18's
/// (1,3,3) convolutions channels-first: 319 MiB, 100x faster backward data
/// than the best within 256 MiB, on an H100), so the search may use 1 GiB
/// beside the copies where free; the excess is given back after.
std::string searchAlgorithm(CudaContext &ctx, ConvSetup &setup,
                            const CudnnGeometry &g, Direction direction,
                            void *x, void *filter, void *y);

} // namespace var::cuda

#endif
