// CPU kernels of the ops that only move data: reshapes, flattening, time
// folding, slices, concatenation and transposition, forward and backward
// (their gradients are ops of this family too). They copy raw bytes, so
// every element type moves bit for bit.
#include "runtime/cpu/KernelChecks.h"

#include <cstring>

namespace var::cpu {

namespace {

std::string reshapeKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  // The -1 entry is whatever the result says; the others must agree.
  std::vector<int64_t> target = call.getInts("shape", {});
  const std::vector<int64_t> &shape = call.results[0].shape;
  bool agrees = target.size() == shape.size();
  for (size_t d = 0; agrees && d < shape.size(); ++d)
    agrees = target[d] == -1 || target[d] == shape[d];
  if (!agrees)
    return "result shape " + formatShape(shape) + " does not match " +
           formatShape(target);
  return copyKernel(call);
}

std::string flattenKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
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
  expected.push_back(product(shape, first, last + 1));
  expected.insert(expected.end(), shape.begin() + last + 1, shape.end());
  if (std::string error = expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyKernel(call);
}

std::string foldTimeKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.size() < 2)
    return "input must be (B, T, ...), got " + formatShape(shape);
  std::vector<int64_t> expected = {shape[0] * shape[1]};
  expected.insert(expected.end(), shape.begin() + 2, shape.end());
  if (std::string error = expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyKernel(call);
}

std::string unfoldTimeKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  int64_t frames;
  if (std::string error = requireIntAttr(call, "frames", frames);
      !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.empty() || frames < 1 || shape[0] % frames != 0)
    return "cannot split " + formatShape(shape) + " into " +
           std::to_string(frames) + " frames";
  std::vector<int64_t> expected = {shape[0] / frames, frames};
  expected.insert(expected.end(), shape.begin() + 1, shape.end());
  if (std::string error = expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  return copyKernel(call);
}

// Slices and concatenations see a tensor as (outer, axis, inner) and copy
// rows of `inner` elements.
std::string sliceKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  int64_t axis, offset, size;
  for (auto [name, value] :
       {std::pair{"axis", &axis}, {"offset", &offset}, {"size", &size}})
    if (std::string error = requireIntAttr(call, name, *value); !error.empty())
      return error;
  size_t dim;
  if (std::string error = resolveAxis(axis, input.shape.size(), dim);
      !error.empty())
    return error;
  int64_t extent = input.shape[dim];
  if (offset < 0 || size < 0 || offset > extent || size > extent - offset)
    return "offset " + std::to_string(offset) + " + size " +
           std::to_string(size) + " exceeds dimension " + std::to_string(dim) +
           " of size " + std::to_string(extent);
  std::vector<int64_t> expected = input.shape;
  expected[dim] = size;
  if (std::string error = expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (input.dtype != result.dtype)
    return "result element type differs from the input's";
  int64_t outer = product(input.shape, 0, dim);
  int64_t rowBytes = product(input.shape, dim + 1, input.shape.size()) *
                     plan::getDTypeBytes(input.dtype);
  auto *in = static_cast<const char *>(input.data);
  auto *out = static_cast<char *>(result.data);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out + o * size * rowBytes,
                in + (o * extent + offset) * rowBytes,
                static_cast<size_t>(size * rowBytes));
  return {};
}

std::string concatKernel(OpCall &call) {
  if (call.operands.empty())
    return "expected at least one input";
  if (std::string error = checkCall(call, call.operands.size(), 1);
      !error.empty())
    return error;
  TensorView &result = call.results[0];
  int64_t axis;
  if (std::string error = requireIntAttr(call, "axis", axis); !error.empty())
    return error;
  size_t dim;
  if (std::string error = resolveAxis(axis, result.shape.size(), dim);
      !error.empty())
    return error;
  int64_t total = 0;
  for (size_t k = 0; k < call.operands.size(); ++k) {
    const TensorView &input = call.operands[k];
    std::vector<int64_t> expected = result.shape;
    if (input.shape.size() == expected.size())
      expected[dim] = input.shape[dim];
    std::string what = "input " + std::to_string(k);
    if (std::string error = expectShape(input, expected, what); !error.empty())
      return error;
    if (input.dtype != result.dtype)
      return what + " has another element type than the result";
    total += input.shape[dim];
  }
  if (total != result.shape[dim])
    return "inputs add up to " + std::to_string(total) + " along axis " +
           std::to_string(axis) + ", result has " +
           std::to_string(result.shape[dim]);
  int64_t outer = product(result.shape, 0, dim);
  int64_t rowBytes = product(result.shape, dim + 1, result.shape.size()) *
                     plan::getDTypeBytes(result.dtype);
  auto *out = static_cast<char *>(result.data);
  int64_t offset = 0;
  for (const TensorView &input : call.operands) {
    int64_t extent = input.shape[dim];
    auto *in = static_cast<const char *>(input.data);
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out + (o * total + offset) * rowBytes,
                  in + o * extent * rowBytes,
                  static_cast<size_t>(extent * rowBytes));
    offset += extent;
  }
  return {};
}

// Transposition walks the result in row-major order with an odometer over its
// dimensions. Trailing dimensions the permutation leaves in place stay
// contiguous in both tensors, so they are one block, copied with one memcpy;
// everything is bytes, so any dtype moves bit for bit.
std::string transposeKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  std::vector<int64_t> permutation = call.getInts("permutation", {});
  size_t rank = input.shape.size();
  if (permutation.size() != rank)
    return "permutation " + formatShape(permutation) + " has " +
           std::to_string(permutation.size()) + " entries for a rank-" +
           std::to_string(rank) + " input";
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> expected(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = permutation[i];
    if (d < 0 || d >= static_cast<int64_t>(rank) || seen[d])
      return "permutation " + formatShape(permutation) +
             " is not a permutation of 0.." + std::to_string(rank - 1);
    seen[d] = true;
    expected[i] = input.shape[d];
  }
  if (std::string error = expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (input.dtype != result.dtype)
    return "result element type differs from the input's";
  if (result.numel() == 0)
    return {};
  size_t outer = rank;
  while (outer > 0 && permutation[outer - 1] == static_cast<int64_t>(outer - 1))
    --outer;
  int64_t elementBytes = plan::getDTypeBytes(input.dtype);
  int64_t blockBytes = product(input.shape, outer, rank) * elementBytes;
  std::vector<int64_t> inputStrides = rowMajorStrides(input.shape);
  std::vector<int64_t> strideBytes(outer); // input stride of result dim i
  for (size_t i = 0; i < outer; ++i)
    strideBytes[i] = inputStrides[permutation[i]] * elementBytes;
  auto *in = static_cast<const char *>(input.data);
  auto *out = static_cast<char *>(result.data);
  std::vector<int64_t> index(outer, 0);
  int64_t blocks = product(expected, 0, outer);
  int64_t offset = 0; // bytes into the input of the current block
  for (int64_t block = 0; block < blocks; ++block) {
    std::memcpy(out + block * blockBytes, in + offset,
                static_cast<size_t>(blockBytes));
    for (size_t d = outer; d-- > 0;) {
      offset += strideBytes[d];
      if (++index[d] < expected[d])
        break;
      offset -= strideBytes[d] * expected[d];
      index[d] = 0;
    }
  }
  return {};
}

} // namespace

void registerShapeOps(OpTable &table) {
  table["var.reshape"] = reshapeKernel;
  table["var.flatten"] = flattenKernel;
  table["var.fold_time"] = foldTimeKernel;
  table["var.unfold_time"] = unfoldTimeKernel;
  table["var.slice"] = sliceKernel;
  table["var.concat"] = concatKernel;
  table["var.transpose"] = transposeKernel;
}

} // namespace var::cpu
