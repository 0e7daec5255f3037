// Argument checks and small helpers shared by the CPU kernel families.
#include "runtime/cpu/KernelChecks.h"

#include <cstring>

namespace var::cpu {

std::string checkSizes(const OpCall &call,
                       std::initializer_list<SizeCheck> checks) {
  for (const SizeCheck &check : checks)
    if (check.tensor.numel() != check.expected)
      return call.inst.op + ": " + check.what + " has " +
             std::to_string(check.tensor.numel()) + " elements, expected " +
             std::to_string(check.expected);
  return {};
}

bool isFloat(plan::DType dtype) {
  return dtype == plan::DType::F32 || dtype == plan::DType::F16 ||
         dtype == plan::DType::BF16 || dtype == plan::DType::F64;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + ")";
}

std::string expectFloat(const TensorView &tensor, const std::string &what) {
  if (isFloat(tensor.dtype))
    return {};
  return what + " has element type " +
         std::string(plan::getDTypeName(tensor.dtype)) +
         ", expected a float type";
}

/// The operand and result counts, and, unless told otherwise, float tensors
/// throughout.
std::string checkCall(const OpCall &call, size_t operands, size_t results,
                      bool allFloat) {
  if (call.operands.size() != operands || call.results.size() != results)
    return "expected " + std::to_string(operands) + " operands and " +
           std::to_string(results) + " results, got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  if (!allFloat)
    return {};
  for (size_t i = 0; i < operands; ++i)
    if (std::string error =
            expectFloat(call.operands[i], "operand " + std::to_string(i));
        !error.empty())
      return error;
  for (size_t i = 0; i < results; ++i)
    if (std::string error =
            expectFloat(call.results[i], "result " + std::to_string(i));
        !error.empty())
      return error;
  return {};
}

std::string expectShape(const TensorView &tensor,
                        const std::vector<int64_t> &shape,
                        const std::string &what) {
  if (tensor.shape == shape)
    return {};
  return what + " has shape " + formatShape(tensor.shape) + ", expected " +
         formatShape(shape);
}

/// A required attribute (one without an ODS default).
std::string requireFloatAttr(const OpCall &call, std::string_view name,
                             double &value) {
  const double *attr = call.inst.getAttr<double>(name);
  if (!attr)
    return "missing float attribute '" + std::string(name) + "'";
  value = *attr;
  return {};
}

std::string requireIntAttr(const OpCall &call, std::string_view name,
                           int64_t &value) {
  const int64_t *attr = call.inst.getAttr<int64_t>(name);
  if (!attr)
    return "missing integer attribute '" + std::string(name) + "'";
  value = *attr;
  return {};
}

int64_t product(const std::vector<int64_t> &shape, size_t begin, size_t end) {
  int64_t count = 1;
  for (size_t d = begin; d < end; ++d)
    count *= shape[d];
  return count;
}

/// An axis attribute, negative counting from the end, as a dimension index.
std::string resolveAxis(int64_t axis, size_t rank, size_t &dim) {
  int64_t resolved = axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
  if (resolved < 0 || resolved >= static_cast<int64_t>(rank))
    return "axis " + std::to_string(axis) + " is out of range for rank " +
           std::to_string(rank);
  dim = static_cast<size_t>(resolved);
  return {};
}

/// The flat offset of row-major element `flat` of `shape` in a tensor read
/// with `strides` (0 along a broadcast or reduced dimension).
int64_t offsetOf(int64_t flat, const std::vector<int64_t> &shape,
                 const std::vector<int64_t> &strides) {
  int64_t offset = 0;
  for (size_t d = shape.size(); d-- > 0;) {
    offset += (flat % shape[d]) * strides[d];
    flat /= shape[d];
  }
  return offset;
}

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * shape[d];
  return strides;
}

/// Copies the operand's bytes into the result (same element type, same
/// count): every op that only renames dimensions.
std::string copyKernel(OpCall &call) {
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  if (input.dtype != result.dtype)
    return "result element type " +
           std::string(plan::getDTypeName(result.dtype)) +
           " differs from the input's " +
           std::string(plan::getDTypeName(input.dtype));
  if (input.numel() != result.numel())
    return "result " + formatShape(result.shape) + " has " +
           std::to_string(result.numel()) + " elements, input " +
           formatShape(input.shape) + " has " + std::to_string(input.numel());
  if (result.data != input.data)
    std::memcpy(result.data, input.data, static_cast<size_t>(input.bytes()));
  return {};
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &resultShape) {
  if (shape.size() > resultShape.size())
    return {};
  size_t extra = resultShape.size() - shape.size();
  std::vector<int64_t> own = rowMajorStrides(shape);
  std::vector<int64_t> strides(resultShape.size(), 0);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == resultShape[d + extra])
      strides[d + extra] = shape[d] == 1 ? 0 : own[d];
    else if (shape[d] != 1)
      return {};
  }
  return strides;
}

std::string checkReduceSum(const OpCall &call, std::vector<bool> &summed) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  std::vector<int64_t> dims = call.getInts("dims", {});
  if (dims.empty())
    return "missing 'dims'";
  summed.assign(input.shape.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= static_cast<int64_t>(input.shape.size()) ||
        (i > 0 && dims[i] <= dims[i - 1]))
      return "dims must be increasing and within rank " +
             std::to_string(input.shape.size());
    summed[dims[i]] = true;
  }
  bool keepDims = call.getBool("keep_dims");
  std::vector<int64_t> expected;
  for (size_t d = 0; d < input.shape.size(); ++d)
    if (!summed[d] || keepDims)
      expected.push_back(summed[d] ? 1 : input.shape[d]);
  return expectShape(call.results[0], expected, "result");
}

} // namespace var::cpu
