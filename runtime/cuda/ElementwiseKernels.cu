// CUDA kernels of the elementwise ops (activations and their gradients,
// broadcasting add/mul, cast, fill, dropout); reduce_sum and the time mean
// are ReduceKernels.cu. They are memory-bound: where every tensor of a call
// starts on a 16-byte boundary, a thread moves kPack elements with packed
// loads and stores (DeviceTensor.cuh), grid-stride over the packs, and the
// first threads of the grid take the elements past the last whole pack one
// each; otherwise one element a thread. Both paths give every element the
// same device function of the same values, so their results agree bit for
// bit.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/ElementwiseScalars.cuh"

#include <algorithm>
#include <initializer_list>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

/// Whether a call may read and write all of `tensors` in packs.
bool allPackAligned(std::initializer_list<const void *> tensors) {
  return std::all_of(tensors.begin(), tensors.end(), isPackAligned);
}

/// Blocks of a launch over `n` elements, one pack or one element a thread.
unsigned blocksOver(int64_t n, bool packed) {
  return blocksFor(packed ? n / kPack : n);
}

/// A packed kernel's element past the last whole pack for this thread (the
/// first n % kPack threads of the grid), or -1.
__device__ inline int64_t tailElement(int64_t n) {
  int64_t i = n / kPack * kPack +
              blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  return i < n ? i : -1;
}

/// y = fn(x); `packed`: pack by pack (see the file comment).
template <typename Fn>
__global__ void unaryKernel(const void *x, int xType, void *y, int yType,
                            int64_t n, bool packed, Fn fn) {
  if (packed) {
    VAR_GRID_STRIDE(p, n / kPack) {
      float v[kPack];
      loadPack(x, xType, p, v);
#pragma unroll
      for (int k = 0; k < kPack; ++k)
        v[k] = fn(v[k]);
      storePack(y, yType, p, v);
    }
    if (int64_t i = tailElement(n); i >= 0)
      storeFloat(y, yType, i, fn(loadFloat(x, xType, i)));
    return;
  }
  VAR_GRID_STRIDE(i, n) { storeFloat(y, yType, i, fn(loadFloat(x, xType, i))); }
}

/// y = fn(a, b) over same-shape tensors; `packed` as in unaryKernel.
template <typename Fn>
__global__ void binaryKernel(const void *a, int aType, const void *b, int bType,
                             void *y, int yType, int64_t n, bool packed,
                             Fn fn) {
  if (packed) {
    VAR_GRID_STRIDE(p, n / kPack) {
      float u[kPack], v[kPack];
      loadPack(a, aType, p, u);
      loadPack(b, bType, p, v);
#pragma unroll
      for (int k = 0; k < kPack; ++k)
        u[k] = fn(u[k], v[k]);
      storePack(y, yType, p, u);
    }
    if (int64_t i = tailElement(n); i >= 0)
      storeFloat(y, yType, i,
                 fn(loadFloat(a, aType, i), loadFloat(b, bType, i)));
    return;
  }
  VAR_GRID_STRIDE(i, n) {
    storeFloat(y, yType, i, fn(loadFloat(a, aType, i), loadFloat(b, bType, i)));
  }
}

template <typename Fn>
std::string launchBinary(CudaContext &ctx, const TensorView &a, int aType,
                         const TensorView &b, int bType, TensorView &y,
                         int yType) {
  int64_t n = y.numel();
  bool packed = allPackAligned({a.data, b.data, y.data});
  binaryKernel<<<blocksOver(n, packed), kThreads, 0, ctx.stream>>>(
      a.data, aType, b.data, bType, y.data, yType, n, packed, Fn{});
  VAR_CUDA_LAUNCHED();
  return {};
}

template <typename Fn> std::string unaryOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  ElementType xType, yType;
  if (std::string error = elementTypeOf(call.operands[0], "input", xType);
      !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", yType);
      !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  bool packed = allPackAligned({call.operands[0].data, call.results[0].data});
  unaryKernel<<<blocksOver(n, packed), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, xType, call.results[0].data, yType, n, packed,
      Fn{});
  VAR_CUDA_LAUNCHED();
  return {};
}

template <typename Fn>
std::string activationGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 2, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  for (auto [tensor, what] :
       {std::pair{&call.operands[1], "grad"}, {&call.results[0], "result"}})
    if (std::string error = cpu::expectShape(*tensor, shape, what);
        !error.empty())
      return error;
  ElementType types[3];
  const TensorView *tensors[3] = {&call.operands[0], &call.operands[1],
                                  &call.results[0]};
  for (int t = 0; t < 3; ++t)
    if (std::string error = elementTypeOf(*tensors[t], "a tensor", types[t]);
        !error.empty())
      return error;
  return launchBinary<Fn>(ctx, call.operands[0], types[0], call.operands[1],
                          types[1], call.results[0], types[2]);
}

//===----------------------------------------------------------------------===//
// Broadcasting add and mul
//===----------------------------------------------------------------------===//

/// The result's shape and, per operand, the strides that read it
/// right-aligned in the result (0 along stretched dimensions), with the
/// result's dimensions of size 1 dropped and neighbours that both operands
/// read as one dimension merged (NHWC * (N, 1, 1, C) becomes (N, HW, C)):
/// fewer divisions an element, and the same element of each operand.
struct Broadcast {
  Dims8 shape;
  int64_t lhs[kMaxRank] = {}, rhs[kMaxRank] = {};
  bool lhsAligned = false, rhsAligned = false; // isPackAligned
};

Broadcast makeBroadcast(const std::vector<int64_t> &result,
                        const TensorView &lhs, const TensorView &rhs) {
  int64_t lhsStrides[kMaxRank], rhsStrides[kMaxRank];
  stretchStrides(lhs.shape, result, lhsStrides);
  stretchStrides(rhs.shape, result, rhsStrides);
  Broadcast b;
  for (size_t d = 0; d < result.size(); ++d) {
    if (result[d] == 1)
      continue;
    int r = b.shape.rank;
    // Dimension r - 1 (outer) and d read as one of size size[r - 1] *
    // result[d] with d's strides when each outer stride spans d.
    if (r > 0 && b.lhs[r - 1] == lhsStrides[d] * result[d] &&
        b.rhs[r - 1] == rhsStrides[d] * result[d]) {
      b.shape.size[r - 1] *= result[d];
      b.lhs[r - 1] = lhsStrides[d];
      b.rhs[r - 1] = rhsStrides[d];
      continue;
    }
    b.shape.size[r] = result[d];
    b.lhs[r] = lhsStrides[d];
    b.rhs[r] = rhsStrides[d];
    ++b.shape.rank;
  }
  b.lhsAligned = isPackAligned(lhs.data);
  b.rhsAligned = isPackAligned(rhs.data);
  return b;
}

/// The offsets in lhs and rhs of result element `flat`, one pass over the
/// dimensions for both, in `Index` arithmetic: uint32_t when the result
/// has fewer than 2^31 elements (then so has each operand, and every
/// partial offset fits), as a 64-bit division costs several times a 32-bit
/// one.
template <typename Index>
__device__ inline void broadcastOffsets(const Broadcast &b, Index flat,
                                        Index &lhs, Index &rhs) {
  lhs = 0;
  rhs = 0;
  for (int d = b.shape.rank - 1; d >= 0; --d) {
    Index size = static_cast<Index>(b.shape.size[d]);
    Index index = flat % size;
    flat /= size;
    lhs += index * static_cast<Index>(b.lhs[d]);
    rhs += index * static_cast<Index>(b.rhs[d]);
  }
}

/// One element a thread.
template <typename Index, typename Fn>
__global__ void broadcastKernel(Broadcast b, const void *lhs, int lhsType,
                                const void *rhs, int rhsType, void *y,
                                int yType, int64_t n, Fn fn) {
  VAR_GRID_STRIDE(i, n) {
    Index l, r;
    broadcastOffsets(b, static_cast<Index>(i), l, r);
    storeFloat(y, yType, i,
               fn(loadFloat(lhs, lhsType, l), loadFloat(rhs, rhsType, r)));
  }
}

/// An operand's values at the kPack result elements of a pack, which lie in
/// one row of the innermost dimension (a multiple of kPack long); `offset`
/// is the first one's. Stretched along that dimension (`innerStride` 0) it
/// is one value; else its elements are consecutive and, as each of its
/// outer strides is a multiple of the innermost dimension, `offset` is a
/// multiple of kPack.
__device__ inline void loadRow(const void *data, int type, int64_t offset,
                               int64_t innerStride, bool aligned,
                               float (&v)[kPack]) {
  if (innerStride == 0) {
    float value = loadFloat(data, type, offset);
#pragma unroll
    for (int k = 0; k < kPack; ++k)
      v[k] = value;
  } else if (aligned) {
    loadPack(data, type, offset / kPack, v);
  } else {
#pragma unroll
    for (int k = 0; k < kPack; ++k)
      v[k] = loadFloat(data, type, offset + k);
  }
}

/// One pack of the result a thread (innermost dimension a multiple of kPack,
/// result aligned): one index computation and one packed store per pack.
template <typename Index, typename Fn>
__global__ void broadcastPackedKernel(Broadcast b, const void *lhs, int lhsType,
                                      const void *rhs, int rhsType, void *y,
                                      int yType, int64_t packs, Fn fn) {
  int inner = b.shape.rank - 1;
  VAR_GRID_STRIDE(p, packs) {
    Index l, r;
    broadcastOffsets(b, static_cast<Index>(p * kPack), l, r);
    float u[kPack], v[kPack];
    loadRow(lhs, lhsType, l, b.lhs[inner], b.lhsAligned, u);
    loadRow(rhs, rhsType, r, b.rhs[inner], b.rhsAligned, v);
#pragma unroll
    for (int k = 0; k < kPack; ++k)
      u[k] = fn(u[k], v[k]);
    storePack(y, yType, p, u);
  }
}

template <typename Index, typename Fn>
void launchBroadcast(CudaContext &ctx, const Broadcast &b, const void *lhs,
                     int lhsType, const void *rhs, int rhsType, void *y,
                     int yType, int64_t n) {
  if (b.shape.rank > 0 && b.shape.size[b.shape.rank - 1] % kPack == 0 &&
      isPackAligned(y))
    broadcastPackedKernel<Index>
        <<<blocksFor(n / kPack), kThreads, 0, ctx.stream>>>(
            b, lhs, lhsType, rhs, rhsType, y, yType, n / kPack, Fn{});
  else
    broadcastKernel<Index><<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        b, lhs, lhsType, rhs, rhsType, y, yType, n, Fn{});
}

template <typename Fn> std::string broadcastOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 2, 1); !error.empty())
    return error;
  const TensorView &lhs = call.operands[0], &rhs = call.operands[1];
  TensorView &result = call.results[0];
  std::vector<int64_t> expected(std::max(lhs.shape.size(), rhs.shape.size()));
  for (size_t d = 0; d < expected.size(); ++d) {
    auto dimOf = [&](const std::vector<int64_t> &shape) -> int64_t {
      size_t extra = expected.size() - shape.size();
      return d < extra ? 1 : shape[d - extra];
    };
    int64_t l = dimOf(lhs.shape), r = dimOf(rhs.shape);
    if (l != r && l != 1 && r != 1)
      return "shapes " + cpu::formatShape(lhs.shape) + " and " +
             cpu::formatShape(rhs.shape) + " do not broadcast";
    expected[d] = l == 1 ? r : l;
  }
  if (std::string error = cpu::expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (expected.size() > kMaxRank)
    return "rank " + std::to_string(expected.size()) +
           " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  ElementType types[3];
  const TensorView *tensors[3] = {&lhs, &rhs, &result};
  for (int t = 0; t < 3; ++t)
    if (std::string error = elementTypeOf(*tensors[t], "a tensor", types[t]);
        !error.empty())
      return error;
  if (lhs.shape == rhs.shape)
    return launchBinary<Fn>(ctx, lhs, types[0], rhs, types[1], result,
                            types[2]);
  int64_t n = result.numel();
  if (n == 0)
    return {};
  Broadcast b = makeBroadcast(expected, lhs, rhs);
  if (n <= 0x7fffffffll)
    launchBroadcast<uint32_t, Fn>(ctx, b, lhs.data, types[0], rhs.data,
                                  types[1], result.data, types[2], n);
  else
    launchBroadcast<int64_t, Fn>(ctx, b, lhs.data, types[0], rhs.data, types[1],
                                 result.data, types[2], n);
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// Cast, fill, dropout
//===----------------------------------------------------------------------===//

std::string castOp(CudaContext &ctx, OpCall &call) {
  return unaryOp<Identity>(ctx, call);
}

__global__ void fillKernel(void *y, int yType, int64_t n, bool packed,
                           float value) {
  if (packed) {
    float v[kPack];
#pragma unroll
    for (int k = 0; k < kPack; ++k)
      v[k] = value;
    VAR_GRID_STRIDE(p, n / kPack) { storePack(y, yType, p, v); }
    if (int64_t i = tailElement(n); i >= 0)
      storeFloat(y, yType, i, value);
    return;
  }
  VAR_GRID_STRIDE(i, n) { storeFloat(y, yType, i, value); }
}

std::string fillOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 0, 1); !error.empty())
    return error;
  double value;
  if (std::string error = cpu::requireFloatAttr(call, "value", value);
      !error.empty())
    return error;
  ElementType type;
  if (std::string error = elementTypeOf(call.results[0], "result", type);
      !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  bool packed = isPackAligned(call.results[0].data);
  fillKernel<<<blocksOver(n, packed), kThreads, 0, ctx.stream>>>(
      call.results[0].data, type, n, packed, static_cast<float>(value));
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The seed and the first sample come from the run's scalars in device
/// memory (a replayed graph reads the new step's); `perSample` is
/// cpu::elementsPerSample, and a tensor that does not split into the call's
/// samples raises kBadSampleSplit where the CPU kernel returns its error.
/// Each element draws with its global index, packed or not.
__global__ void dropoutKernel(const void *x, int xType, void *y, int yType,
                              int64_t n, bool packed,
                              const cpu::StepScalars *scalars,
                              int64_t perSample, int64_t key, double p,
                              float scale, int *errorFlag) {
  uint64_t seed = scalars->seed;
  int64_t firstSample = scalars->firstSample;
  if (firstSample != 0 && perSample < 0) {
    if (blockIdx.x == 0 && threadIdx.x == 0)
      *errorFlag = kBadSampleSplit;
    return;
  }
  int64_t offset = firstSample * perSample;
  if (packed) {
    VAR_GRID_STRIDE(q, n / kPack) {
      float v[kPack];
      loadPack(x, xType, q, v);
#pragma unroll
      for (int k = 0; k < kPack; ++k)
        v[k] = deviceDropout(v[k], seed, key, offset + q * kPack + k, p, scale);
      storePack(y, yType, q, v);
    }
    if (int64_t i = tailElement(n); i >= 0)
      storeFloat(y, yType, i,
                 deviceDropout(loadFloat(x, xType, i), seed, key, offset + i, p,
                               scale));
    return;
  }
  VAR_GRID_STRIDE(i, n) {
    storeFloat(
        y, yType, i,
        deviceDropout(loadFloat(x, xType, i), seed, key, offset + i, p, scale));
  }
}

std::string dropoutMaskOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  double p;
  int64_t key;
  if (std::string error = cpu::requireFloatAttr(call, "p", p); !error.empty())
    return error;
  if (std::string error = cpu::requireIntAttr(call, "key", key); !error.empty())
    return error;
  if (!(p >= 0.0 && p < 1.0))
    return "drop probability p must be in [0, 1), got " + std::to_string(p);
  ElementType xType, yType;
  if (std::string error = elementTypeOf(call.operands[0], "input", xType);
      !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", yType);
      !error.empty())
    return error;
  if (!call.scalars)
    return "dropout needs the run's seed (no step scalars)";
  int64_t n = call.results[0].numel();
  bool packed = allPackAligned({call.operands[0].data, call.results[0].data});
  dropoutKernel<<<blocksOver(n, packed), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, xType, call.results[0].data, yType, n, packed,
      call.scalars, cpu::elementsPerSample(call, n), key, p,
      static_cast<float>(1.0 / (1.0 - p)), ctx.errorFlag);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// Evaluation-mode dropout: a copy.
std::string identityOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  return unaryOp<Identity>(ctx, call);
}

} // namespace

void registerElementwiseOps(CudaOpTable &table) {
  table["var.relu"] = unaryOp<Relu>;
  table["var.relu6"] = unaryOp<Relu6>;
  table["var.sigmoid"] = unaryOp<Sigmoid>;
  table["var.silu"] = unaryOp<Silu>;
  table["var.hardswish"] = unaryOp<Hardswish>;
  table["var.relu_grad"] = activationGradOp<ReluGrad>;
  table["var.relu6_grad"] = activationGradOp<Relu6Grad>;
  table["var.sigmoid_grad"] = activationGradOp<SigmoidGrad>;
  table["var.silu_grad"] = activationGradOp<SiluGrad>;
  table["var.hardswish_grad"] = activationGradOp<HardswishGrad>;
  table["var.add"] = broadcastOp<Add>;
  table["var.mul"] = broadcastOp<Mul>;
  table["var.cast"] = castOp;
  table["var.fill"] = fillOp;
  table["var.dropout"] = identityOp;
  table["var.dropout_train"] = dropoutMaskOp;
  table["var.dropout_grad"] = dropoutMaskOp;
}

} // namespace var::cuda
