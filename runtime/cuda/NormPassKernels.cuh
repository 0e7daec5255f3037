// The passes of batch normalization over a whole tensor, which the ops of
// NormKernels.cu string together (kernels: the sums in NormPassKernels.cu,
// the elementwise passes in NormApplyKernels.cu): per-chunk
// partial sums of each channel's elements in an order fixed by the shape,
// and the elementwise passes applying per-channel floats (computed in
// double by NormKernels.cu's per-channel steps, rounded once). Where the layout
// and the pointers allow, a thread moves packs of kPack elements (one
// 16-byte access of bf16); the packed and the element paths compute each
// value with the same expression, so their results agree bit for bit.
#ifndef VAR_RUNTIME_CUDA_NORMPASSKERNELS_CUH
#define VAR_RUNTIME_CUDA_NORMPASSKERNELS_CUH

#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <cstdint>
#include <initializer_list>
#include <string>

namespace var::cuda::norm {

/// (batch, channels, spatial); a channels-last input is (N * spatial, C, 1).
/// With spatial == 1 the tensor is an (M, C) matrix, M = batch, "rows" (a
/// channels-last input, or a rank-2 one in either layout).
struct ChannelLayout {
  int64_t batch = 0, channels = 0, spatial = 1;
  __host__ __device__ int64_t perChannel() const { return batch * spatial; }
  __host__ __device__ int64_t numel() const {
    return batch * channels * spatial;
  }
  __host__ __device__ bool rows() const { return spatial == 1; }
};

/// A tensor as the kernels read it: device data and ElementType.
struct Operand {
  const void *data;
  int type;
};

/// A batch norm's fused activation (var-fuse-bn-act).
enum Activation : int {
  kNoActivation = 0,
  kReluActivation,
  kRelu6Activation,
  kSiluActivation
};

/// How the backward passes read dy: as stored, or, with a fused
/// activation, as the gradient of the activation's output. ReLU and ReLU6
/// mask it by that output `value` (same layout and type), exactly as
/// var.relu_grad or var.relu6_grad computes it (ElementwiseScalars.cuh), or
/// with `recompute` by the pre-activation z = x * scaleShift[c] +
/// scaleShift[channels + c] rounded to zType, the value the forward
/// normalized to (its ReLUs have the output's sign and bounds). SiLU's
/// gradient is always var.silu_grad's at z, rounded to gradType as
/// var.silu_grad's stored result would be.
struct ActivationMask {
  Operand value{nullptr, 0};
  int activation = kNoActivation;
  bool recompute = false;
  const float *scaleShift = nullptr;
  int64_t channels = 0;
  int zType = 0, gradType = 0;

  /// Whether the mask reads `value` (else x, with recompute).
  __host__ __device__ bool readsValue() const {
    return activation != kNoActivation && !recompute;
  }
};

/// Whether passes over `l` reading or writing `tensors` can move packs: a
/// pack must hold 8 channels of one row (rows: C % 8 == 0) or 8 elements of
/// one channel's plane (spatial % 8 == 0), at 16-byte aligned addresses.
bool isPackable(const ChannelLayout &l,
                std::initializer_list<const void *> tensors);

/// How the per-channel sums are spread over blocks: each channel's
/// batch * spatial elements in `chunks` consecutive ranges of `chunk`
/// (rows, or groups of `group` elements of a channel's planes), so that
/// even a few channels fill the GPU. A function of the shape and of
/// whether the inputs are packable only: every sum runs in the same order
/// in every run. Partial sum k of channel c over chunk g lands in
/// partials[(k * channels + c) * chunks + g].
struct Split {
  int64_t chunks = 1, chunk = 0;
  /// Elements a thread reads as one: kPack (packed) or 1.
  int group = 1;
  /// Channels-first: a block's stride (kThreads groups) as whole samples
  /// and a remainder.
  int64_t stepN = 0, stepS = 0;
  /// Packed rows: blocks across a row, pack columns a block and rows a
  /// block reads at once.
  int64_t columnBlocks = 0;
  int width = 0, rowsPerStep = 0;
};

/// The split of `l`'s sums over `inputs` tensors (x alone, or x and dy);
/// `packed` as isPackable says of them.
Split splitChannels(const ChannelLayout &l, bool packed, int inputs);

/// The value sumInputAndSquares subtracts from channel c's elements of x:
/// the channel's first element.
__device__ inline float channelShift(const ChannelLayout &l, Operand x,
                                     int64_t c) {
  return loadFloat(x.data, x.type, l.rows() ? c : c * l.spatial);
}

/// The partial sums (see Split) of d and d^2 (k = 0, 1), d = x -
/// channelShift(c), and of dy and dy * (x - mean[c]) (mean a per-channel
/// tensor; dy read through `mask`). A thread adds the elements it reads
/// in f32 (the few of a load, or on packed rows all of its chunk), then
/// into double sums.
std::string sumInputAndSquares(CudaContext &ctx, const ChannelLayout &l,
                               const Split &split, Operand x, double *partials);
std::string sumGrads(CudaContext &ctx, const ChannelLayout &l,
                     const Split &split, Operand x, Operand dy, Operand mean,
                     ActivationMask mask, double *partials);

/// y = x * scaleShift[c] + scaleShift[C + c] in f32; with an
/// `activation`, that activation of y rounded to yType (what var.relu,
/// var.relu6 or var.silu reads back from a stored y).
std::string normalize(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      const float *scaleShift, int activation, void *y,
                      int yType);

/// The per-channel floats of the batch backward's dx pass, each an array
/// of C in this order in `terms`: dx = scale * (dy - meanGrad - (x - mean)
/// * centeredGrad), with centeredGrad = invstd^2 * sum dy (x - mean) / M
/// and meanGrad = sum dy / M (the xhat form with invstd folded in).
enum InputGradTerm : int { kMean = 0, kCenteredGrad, kMeanGrad, kScale };
constexpr int kInputGradTerms = 4;

/// The batch backward's dx from `terms` (InputGradTerm) in f32, dy read
/// through `mask`.
std::string inputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      Operand dy, const float *terms, ActivationMask mask,
                      void *dx, int dxType);
/// sumGrads and inputGrad of a channels-last (rows) `l` with dy read from
/// a max pool's gradient and indices (PooledGrad.cuh), in the order and
/// with the bits of the dense passes over var.max_pool_grad_indices'
/// result; `split` must be the one of a dense dy (the pooled gradient and
/// indices aligned as a dense dy would be: isPackable of all of them).
struct PooledGrad;
std::string sumPooledGrads(CudaContext &ctx, const ChannelLayout &l,
                           const Split &split, Operand x,
                           const PooledGrad &pooled, Operand mean,
                           ActivationMask mask, double *partials);
std::string pooledInputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                            const PooledGrad &pooled, const float *terms,
                            ActivationMask mask, void *dx, int dxType);
/// The frozen backward's dx = dy * scales[c] in f32.
std::string scaleByChannel(CudaContext &ctx, const ChannelLayout &l, Operand dy,
                           const float *scales, void *dx, int dxType);

} // namespace var::cuda::norm

#endif
