// CUDA versions of the ops that only move data. Reshapes are one device
// copy; slices and concatenations are pitched 2-D copies (outer rows of
// `inner` bytes); transposition is a kernel, one thread a result element,
// moving elements of any width bit for bit.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <cstdint>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

/// The operand's bytes into the result, after the CPU's shape checks.
std::string copyOp(CudaContext &ctx, OpCall &call) {
  const TensorView &in = call.operands[0];
  TensorView &out = call.results[0];
  if (in.bytes() != out.bytes())
    return "result has " + std::to_string(out.bytes()) + " bytes, input " +
           std::to_string(in.bytes());
  if (in.data != out.data && in.bytes() > 0)
    VAR_CUDA_TRY(cudaMemcpyAsync(out.data, in.data,
                                 static_cast<size_t>(in.bytes()),
                                 cudaMemcpyDeviceToDevice, ctx.stream));
  return {};
}

std::string reshapeOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  std::vector<int64_t> target = call.getInts("shape", {});
  const std::vector<int64_t> &shape = call.results[0].shape;
  bool agrees = target.size() == shape.size();
  for (size_t d = 0; agrees && d < shape.size(); ++d)
    agrees = target[d] == -1 || target[d] == shape[d];
  if (!agrees)
    return "result shape " + cpu::formatShape(shape) + " does not match " +
           cpu::formatShape(target);
  return copyOp(ctx, call);
}

std::string flattenOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t start = call.getInt("start_dim", 1);
  int64_t end = call.getInt("end_dim", -1);
  int64_t first = start < 0 ? start + rank : start;
  int64_t last = end < 0 ? end + rank : end;
  if (first < 0 || first >= rank || last < 0 || last >= rank || first > last)
    return "cannot flatten dimensions " + std::to_string(start) + " to " +
           std::to_string(end) + " of a rank-" + std::to_string(rank) +
           " tensor";
  std::vector<int64_t> expected(shape.begin(), shape.begin() + first);
  expected.push_back(cpu::product(shape, first, last + 1));
  expected.insert(expected.end(), shape.begin() + last + 1, shape.end());
  if (std::string error = cpu::expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyOp(ctx, call);
}

std::string foldTimeOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.size() < 2)
    return "input must be (B, T, ...), got " + cpu::formatShape(shape);
  std::vector<int64_t> expected = {shape[0] * shape[1]};
  expected.insert(expected.end(), shape.begin() + 2, shape.end());
  if (std::string error = cpu::expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyOp(ctx, call);
}

std::string unfoldTimeOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  int64_t frames;
  if (std::string error = cpu::requireIntAttr(call, "frames", frames);
      !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.empty() || frames < 1 || shape[0] % frames != 0)
    return "cannot split " + cpu::formatShape(shape) + " into " +
           std::to_string(frames) + " frames";
  std::vector<int64_t> expected = {shape[0] / frames, frames};
  expected.insert(expected.end(), shape.begin() + 1, shape.end());
  if (std::string error = cpu::expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyOp(ctx, call);
}

std::string sliceOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  int64_t axis, offset, size;
  for (auto [name, value] :
       {std::pair{"axis", &axis}, {"offset", &offset}, {"size", &size}})
    if (std::string error = cpu::requireIntAttr(call, name, *value);
        !error.empty())
      return error;
  size_t dim;
  if (std::string error = cpu::resolveAxis(axis, input.shape.size(), dim);
      !error.empty())
    return error;
  int64_t extent = input.shape[dim];
  if (offset < 0 || size < 0 || offset > extent || size > extent - offset)
    return "offset " + std::to_string(offset) + " + size " +
           std::to_string(size) + " exceeds dimension " + std::to_string(dim) +
           " of size " + std::to_string(extent);
  std::vector<int64_t> expected = input.shape;
  expected[dim] = size;
  if (std::string error = cpu::expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (input.dtype != result.dtype)
    return "result element type differs from the input's";
  int64_t outer = cpu::product(input.shape, 0, dim);
  int64_t rowBytes = cpu::product(input.shape, dim + 1, input.shape.size()) *
                     plan::getDTypeBytes(input.dtype);
  if (outer == 0 || size * rowBytes == 0)
    return {};
  VAR_CUDA_TRY(cudaMemcpy2DAsync(
      result.data, static_cast<size_t>(size * rowBytes),
      static_cast<const char *>(input.data) + offset * rowBytes,
      static_cast<size_t>(extent * rowBytes),
      static_cast<size_t>(size * rowBytes), static_cast<size_t>(outer),
      cudaMemcpyDeviceToDevice, ctx.stream));
  return {};
}

std::string concatOp(CudaContext &ctx, OpCall &call) {
  if (call.operands.empty())
    return "expected at least one input";
  if (std::string error = cpu::checkCall(call, call.operands.size(), 1);
      !error.empty())
    return error;
  TensorView &result = call.results[0];
  int64_t axis;
  if (std::string error = cpu::requireIntAttr(call, "axis", axis);
      !error.empty())
    return error;
  size_t dim;
  if (std::string error = cpu::resolveAxis(axis, result.shape.size(), dim);
      !error.empty())
    return error;
  int64_t total = 0;
  for (size_t k = 0; k < call.operands.size(); ++k) {
    const TensorView &input = call.operands[k];
    std::vector<int64_t> expected = result.shape;
    if (input.shape.size() == expected.size())
      expected[dim] = input.shape[dim];
    std::string what = "input " + std::to_string(k);
    if (std::string error = cpu::expectShape(input, expected, what);
        !error.empty())
      return error;
    if (input.dtype != result.dtype)
      return what + " has another element type than the result";
    total += input.shape[dim];
  }
  if (total != result.shape[dim])
    return "inputs add up to " + std::to_string(total) + " along axis " +
           std::to_string(axis) + ", result has " +
           std::to_string(result.shape[dim]);
  int64_t outer = cpu::product(result.shape, 0, dim);
  int64_t rowBytes = cpu::product(result.shape, dim + 1, result.shape.size()) *
                     plan::getDTypeBytes(result.dtype);
  int64_t offset = 0;
  for (const TensorView &input : call.operands) {
    int64_t extent = input.shape[dim];
    if (outer > 0 && extent * rowBytes > 0)
      VAR_CUDA_TRY(cudaMemcpy2DAsync(
          static_cast<char *>(result.data) + offset * rowBytes,
          static_cast<size_t>(total * rowBytes), input.data,
          static_cast<size_t>(extent * rowBytes),
          static_cast<size_t>(extent * rowBytes), static_cast<size_t>(outer),
          cudaMemcpyDeviceToDevice, ctx.stream));
    offset += extent;
  }
  return {};
}

/// Result shape, and the input stride of each result dimension.
struct Permutation {
  Dims8 shape;
  int64_t inputStride[kMaxRank] = {};
};

/// out[i] = in[the offset of result index i], one element a thread; Index
/// is int32_t when every offset fits (64-bit divisions cost several times
/// as many instructions).
template <typename Element, typename Index>
__global__ void transposeKernel(Permutation p, const Element *in, Element *out,
                                Index n) {
  VAR_GRID_STRIDE(i, n) {
    Index flat = static_cast<Index>(i), offset = 0;
    for (int d = p.shape.rank - 1; d >= 0; --d) {
      auto size = static_cast<Index>(p.shape.size[d]);
      Index quotient = flat / size;
      offset += (flat - quotient * size) * static_cast<Index>(p.inputStride[d]);
      flat = quotient;
    }
    out[i] = in[offset];
  }
}

/// The transpose of `shape` by `permutation` (the result's dimension i is
/// the input's permutation[i]), with each run of result dimensions that
/// are adjacent input dimensions in order merged into one: (N, C, H, W) to
/// (N, H, W, C) is (N, C, H * W) to (N, H * W, C).
Permutation mergedPermutation(const std::vector<int64_t> &shape,
                              const std::vector<int64_t> &permutation) {
  std::vector<int64_t> strides = cpu::rowMajorStrides(shape);
  Permutation p;
  for (size_t i = 0; i < permutation.size(); ++i) {
    int64_t d = permutation[i];
    bool continues = i > 0 && permutation[i - 1] + 1 == d;
    if (!continues)
      p.shape.size[p.shape.rank++] = 1;
    p.shape.size[p.shape.rank - 1] *= shape[d];
    p.inputStride[p.shape.rank - 1] = strides[d];
  }
  return p;
}

template <typename Element>
void launchTranspose(CudaContext &ctx, const Permutation &p, const void *in,
                     void *out, int64_t n) {
  auto *from = static_cast<const Element *>(in);
  auto *to = static_cast<Element *>(out);
  if (n <= INT32_MAX / 2)
    transposeKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        p, from, to, static_cast<int32_t>(n));
  else
    transposeKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(p, from, to, n);
}

std::string transposeOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  std::vector<int64_t> permutation = call.getInts("permutation", {});
  size_t rank = input.shape.size();
  if (permutation.size() != rank)
    return "permutation " + cpu::formatShape(permutation) + " has " +
           std::to_string(permutation.size()) + " entries for a rank-" +
           std::to_string(rank) + " input";
  if (rank > kMaxRank)
    return "rank " + std::to_string(rank) + " exceeds the CUDA kernels' " +
           std::to_string(kMaxRank);
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> expected(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = permutation[i];
    if (d < 0 || d >= static_cast<int64_t>(rank) || seen[d])
      return "permutation " + cpu::formatShape(permutation) +
             " is not a permutation of 0.." + std::to_string(rank - 1);
    seen[d] = true;
    expected[i] = input.shape[d];
  }
  if (std::string error = cpu::expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (input.dtype != result.dtype)
    return "result element type differs from the input's";
  int64_t n = result.numel();
  if (n == 0)
    return {};
  Permutation p = mergedPermutation(input.shape, permutation);
  switch (plan::getDTypeBytes(input.dtype)) {
  case 1:
    launchTranspose<uint8_t>(ctx, p, input.data, result.data, n);
    break;
  case 2:
    launchTranspose<uint16_t>(ctx, p, input.data, result.data, n);
    break;
  case 4:
    launchTranspose<uint32_t>(ctx, p, input.data, result.data, n);
    break;
  default:
    launchTranspose<uint64_t>(ctx, p, input.data, result.data, n);
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerShapeOps(CudaOpTable &table) {
  table["var.reshape"] = reshapeOp;
  table["var.flatten"] = flattenOp;
  table["var.fold_time"] = foldTimeOp;
  table["var.unfold_time"] = unfoldTimeOp;
  table["var.slice"] = sliceOp;
  table["var.concat"] = concatOp;
  table["var.transpose"] = transposeOp;
}

} // namespace var::cuda
