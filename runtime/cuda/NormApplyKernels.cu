// Batch normalization's elementwise passes over whole tensors
// (NormPassKernels.cuh; the sums are NormPassKernels.cu): normalize, the
// backward's dx, and dx = dy * scale. On packed rows each thread keeps to
// one pack column, its 8 channels' floats read once into registers, and
// walks down the rows; otherwise a grid-stride loop over packs of one
// channel or over single elements, with 32-bit index math where the
// tensor allows. The passes work in f32.
#include "runtime/cuda/NormPassKernels.cuh"
#include "runtime/cuda/NormPassShared.cuh"

#include <algorithm>

namespace var::cuda::norm {

namespace {

/// Blocks that fill an H100 (132 SMs) a few times over.
constexpr int64_t kFillBlocks = 1024;
/// Groups (packs or elements) a pass's thread takes at least once the grid
/// has kFillBlocks blocks: a packed-rows thread reads its channels' values
/// once for all of them.
constexpr int64_t kGroupsPerThread = 8;

/// Rows a packed-rows thread loads before it uses any (a pack of each
/// input a row), for 64 bytes an input in flight: 4 packs of bf16, 2 of
/// f32. Registers (ptxas, sm_90) are listed beside the kernels: with them
/// an SM holds 32 KB to 64 KB of loads, what HBM3 needs in flight.
template <int Type> constexpr int kRowPassUnroll = Type == kBF16 ? 4 : 2;

/// Blocks of a packed-rows pass an SM holds at least: ptxas keeps
/// registers within 64 (ScaleByChannel, Normalize) or 128 (InputGrad with
/// its mask) a thread. Mixed types would spill at 64, and with a pooled dy
/// read through a run-time mask at 128 (tensors of f16: one block).
template <typename Pass, int Type> constexpr int rowPassBlocks() {
  if (Pass::kInputs == 1 && Type != kMixedTypes)
    return 4;
  return kReadsPooledGrad<Pass> && Type == kMixedTypes ? 1 : 2;
}
template <typename Pass, int Type>
constexpr int kRowPassBlocks = rowPassBlocks<Pass, Type>();
/// Groups an element-path thread loads before it uses any.
constexpr int kFlatPassUnroll = 4;

//===----------------------------------------------------------------------===//
// Elementwise passes
//===----------------------------------------------------------------------===//

// A pass reads kInputs inputs (a, and b with two) and writes one result;
// channel(c) reads channel c's floats, apply(channel, a, b) gives one
// element's result in f32, each step an explicitly rounded intrinsic, so
// that every path (and the fused activation's, against var.relu6 after the
// unfused pass) computes the same bits.

/// pass.apply, compiled for a mask or activation of `Kind` where the pass
/// has one.
template <int Kind, typename Pass>
__device__ inline float applyPass(const Pass &pass,
                                  const typename Pass::Channel &ch, float a,
                                  float b) {
  if constexpr (std::is_same_v<Pass, Normalize>)
    return pass.template apply<Kind>(ch, a, b);
  else
    return pass.apply(ch, a, b);
}

/// dx = scale * (dy - meanGrad - (x - mean) * centeredGrad) (InputGradTerms).
struct InputGrad {
  static constexpr int kInputs = 2;
  const float *terms;
  int64_t channels;
  ActivationMask mask;
  struct Channel {
    float mean, centeredGrad, meanGrad, scale;
  };
  __device__ Channel channel(int64_t c) const {
    return {terms[kMean * channels + c], terms[kCenteredGrad * channels + c],
            terms[kMeanGrad * channels + c], terms[kScale * channels + c]};
  }
  __device__ float apply(const Channel &ch, float x, float dy) const {
    float centered = __fsub_rn(x, ch.mean);
    return __fmul_rn(ch.scale, __fmaf_rn(-centered, ch.centeredGrad,
                                         __fsub_rn(dy, ch.meanGrad)));
  }
};

/// InputGrad with dy from a max pool's gradient and indices.
struct PooledInputGrad : InputGrad {
  PooledGrad pooled;
};

/// dx = dy * scale.
struct ScaleByChannel {
  static constexpr int kInputs = 1;
  const float *scales;
  struct Channel {
    float scale;
  };
  __device__ Channel channel(int64_t c) const { return {scales[c]}; }
  __device__ float apply(const Channel &ch, float dy, float) const {
    return __fmul_rn(dy, ch.scale);
  }
};

/// Packed rows (C % 8 == 0, aligned tensors): the grid's threads sweep
/// `sweep` rows at a time, thread t always at pack column t % P (P =
/// packsPerRow), so that it reads its 8 channels' floats once; U =
/// kRowPassUnroll rows' packs are loaded before any is used. Threads past
/// sweep * P idle. Registers (sm_90, bf16 / f32): Normalize 64 / 61 and
/// ScaleByChannel 64 / 56 (4 blocks an SM, 64 bytes a thread in flight),
/// InputGrad with its mask 128 / 126 (2 blocks, 128 bytes, 192 with the
/// mask); PooledInputGrad 101-124 / 96-122 (2 blocks), mixed types (a
/// run-time mask) 145 (1 block).
template <typename Pass, int Type, int Kind>
__global__ void __launch_bounds__(kThreads, kRowPassBlocks<Pass, Type>)
    rowPassKernel(int64_t rows, int64_t packsPerRow, Pass pass, Operand a,
                  Operand b, void *out, int outType) {
  constexpr int U = kRowPassUnroll<Type>;
  int aType = typeFor<Type>(a.type), bType = typeFor<Type>(b.type);
  int maskType = 0;
  if constexpr (Pass::kInputs == 2)
    maskType = typeFor<Type>(pass.mask.value.type);
  outType = typeFor<Type>(outType);
  int64_t thread = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  int64_t sweep = static_cast<int64_t>(gridDim.x) * kThreads / packsPerRow;
  if (thread >= sweep * packsPerRow)
    return;
  int64_t column = thread % packsPerRow;
  typename Pass::Channel channel[kPack];
  MaskChannel maskCh[kPack];
#pragma unroll
  for (int e = 0; e < kPack; ++e) {
    channel[e] = pass.channel(column * kPack + e);
    if constexpr (Pass::kInputs == 2)
      maskCh[e] = maskChannel<Kind>(pass.mask, column * kPack + e);
  }
  for (int64_t r = thread / packsPerRow; r < rows; r += U * sweep) {
    HeldPack<Type> va[U], vb[U], value[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (r + u * sweep < rows) {
        int64_t pack = (r + u * sweep) * packsPerRow + column;
        va[u].load(a.data, aType, pack);
        if constexpr (Pass::kInputs == 2) {
          loadGradPack(pass, vb[u], b, bType, r + u * sweep, packsPerRow,
                       column);
          if (readsValue<Kind>(pass.mask))
            value[u].load(pass.mask.value.data, maskType, pack);
        }
      }
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (r + u * sweep < rows) {
        float result[kPack];
#pragma unroll
        for (int e = 0; e < kPack; ++e) {
          float grad = 0;
          if constexpr (Pass::kInputs == 2)
            grad = maskGrad<Kind, Type>(pass.mask, value[u], va[u], vb[u], e,
                                        maskCh[e]);
          result[e] = applyPass<Kind>(pass, channel[e], va[u][e], grad);
        }
        storePack(out, outType, (r + u * sweep) * packsPerRow + column, result);
      }
  }
}

/// Any layout: a grid-stride loop over `groups` groups of G elements of
/// one channel each (G = kPack: channels-first with spatial % 8 == 0; G =
/// 1: elements), kFlatPassUnroll groups loaded before any is used; Index
/// is uint32_t where numel < 2^31 (a 64-bit division costs tens of
/// instructions).
template <int G, typename Index, typename Pass>
__global__ void __launch_bounds__(kThreads)
    flatPassKernel(Index groups, Index spatial, Index channels, Pass pass,
                   Operand a, Operand b, void *out, int outType) {
  constexpr int U = kFlatPassUnroll;
  Index stride = static_cast<Index>(gridDim.x) * kThreads;
  for (Index g = static_cast<Index>(blockIdx.x) * kThreads + threadIdx.x;
       g < groups; g += U * stride) {
    float va[U][G], vb[U][G] = {};
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (g + u * stride < groups) {
        loadGroup(a.data, a.type, g + u * stride, va[u]);
        if constexpr (Pass::kInputs == 2) {
          loadGradGroup(pass, b, g + u * stride, vb[u]);
          maskGrads(pass.mask, g + u * stride, va[u],
                    (g + u * stride) * G / spatial % channels, vb[u]);
        }
      }
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (g + u * stride < groups) {
        Index group = g + u * stride;
        typename Pass::Channel channel =
            pass.channel(group * G / spatial % channels);
        float result[G];
#pragma unroll
        for (int e = 0; e < G; ++e)
          result[e] = pass.apply(channel, va[u][e], vb[u][e]);
        storeGroup(out, outType, group, result);
      }
  }
}

/// Blocks for a pass over `groups` groups, `unroll` a thread an
/// iteration: one iteration a thread while the grid stays within
/// kFillBlocks blocks, else kFillBlocks, or more once each thread would
/// take over `perThread` groups (a packed-rows dx pass takes 32: its
/// threads read 6 floats a channel first; bench/norm measured 32 a little
/// faster than 8 there, and slower for the forward's normalize).
unsigned passBlocks(int64_t groups, int unroll,
                    int64_t perThread = kGroupsPerThread) {
  int64_t blocks = (groups + kThreads * unroll - 1) / (kThreads * unroll);
  int64_t filled =
      std::max<int64_t>(kFillBlocks, (groups + kThreads * perThread - 1) /
                                         (kThreads * perThread));
  return static_cast<unsigned>(
      std::clamp<int64_t>(std::min(blocks, filled), 1, 65536));
}

template <int G, typename Index, typename Pass>
void launchFlatPass(CudaContext &ctx, const ChannelLayout &l, const Pass &pass,
                    Operand a, Operand b, void *out, int outType) {
  int64_t groups = l.numel() / G;
  flatPassKernel<G, Index>
      <<<passBlocks(groups, kFlatPassUnroll), kThreads, 0, ctx.stream>>>(
          static_cast<Index>(groups), static_cast<Index>(l.spatial),
          static_cast<Index>(l.channels), pass, a, b, out, outType);
}

/// Launches `pass` on the widest path the layout and the tensors (and
/// `value`, an activation value the pass reads too) allow.
template <typename Pass>
std::string launchPass(CudaContext &ctx, const ChannelLayout &l,
                       const Pass &pass, Operand a, Operand b, void *out,
                       int outType, Operand value = {}) {
  int64_t numel = l.numel();
  if (numel == 0)
    return {};
  bool packed = isPackable(l, {a.data, b.data, out, value.data});
  if constexpr (kReadsPooledGrad<Pass>) {
    // Rows only (channels-last): no channels-first path is compiled.
    if (!l.rows())
      return "reads a pooled gradient channels-last only";
    packed = packed && isPackAligned(pass.pooled.indices);
  }
  bool narrow = numel < (int64_t(1) << 31);
  if (packed && l.rows()) {
    withType(commonType({a, b, value}, outType), [&](auto type) {
      constexpr int Type = decltype(type)::value;
      // At least one thread a pack column.
      int64_t packsPerRow = l.channels / kPack;
      int64_t blocks =
          std::max<int64_t>(passBlocks(numel / kPack, kRowPassUnroll<Type>,
                                       Pass::kInputs == 2 ? 32 : 8),
                            (packsPerRow + kThreads - 1) / kThreads);
      withKernelKindOf<Type>(pass, [&](auto kind) {
        rowPassKernel<Pass, Type, decltype(kind)::value>
            <<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(
                l.batch, packsPerRow, pass, a, b, out, outType);
      });
    });
  } else if (packed) {
    if constexpr (!kReadsPooledGrad<Pass>) {
      if (narrow)
        launchFlatPass<kPack, uint32_t>(ctx, l, pass, a, b, out, outType);
      else
        launchFlatPass<kPack, int64_t>(ctx, l, pass, a, b, out, outType);
    }
  } else if (narrow) {
    launchFlatPass<1, uint32_t>(ctx, l, pass, a, b, out, outType);
  } else {
    launchFlatPass<1, int64_t>(ctx, l, pass, a, b, out, outType);
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

std::string normalize(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      const float *scaleShift, int activation, void *y,
                      int yType) {
  return launchPass(ctx, l,
                    Normalize{scaleShift, l.channels, activation, yType}, x,
                    {nullptr, 0}, y, yType);
}

std::string inputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      Operand dy, const float *terms, ActivationMask mask,
                      void *dx, int dxType) {
  return launchPass(ctx, l, InputGrad{terms, l.channels, mask}, x, dy, dx,
                    dxType, mask.value);
}

std::string pooledInputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                            const PooledGrad &pooled, const float *terms,
                            ActivationMask mask, void *dx, int dxType) {
  return launchPass(ctx, l, PooledInputGrad{{terms, l.channels, mask}, pooled},
                    x, {pooled.grad, pooled.gradType}, dx, dxType, mask.value);
}

std::string scaleByChannel(CudaContext &ctx, const ChannelLayout &l, Operand dy,
                           const float *scales, void *dx, int dxType) {
  return launchPass(ctx, l, ScaleByChannel{scales}, dy, {nullptr, 0}, dx,
                    dxType);
}

} // namespace var::cuda::norm
