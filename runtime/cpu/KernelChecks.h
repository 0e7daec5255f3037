// Argument checks and small helpers shared by the CPU kernel families:
// every kernel returns these messages instead of reading out of bounds.
#ifndef VAR_RUNTIME_CPU_KERNELCHECKS_H
#define VAR_RUNTIME_CPU_KERNELCHECKS_H

#include "runtime/cpu/CpuOps.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace var::cpu {

bool isFloat(plan::DType dtype);

/// "(2, 3, 4)" for messages.
std::string formatShape(const std::vector<int64_t> &shape);

std::string expectFloat(const TensorView &tensor, const std::string &what);

/// A tensor and the element count it must have.
struct SizeCheck {
  const char *what;
  const TensorView &tensor;
  int64_t expected;
};

/// The first tensor whose element count is not the expected one, as a
/// message naming the op; empty when all match.
std::string checkSizes(const OpCall &call,
                       std::initializer_list<SizeCheck> checks);

/// The operand and result counts, and, unless told otherwise, float tensors
/// throughout.
std::string checkCall(const OpCall &call, size_t operands, size_t results,
                      bool allFloat = true);

std::string expectShape(const TensorView &tensor,
                        const std::vector<int64_t> &shape,
                        const std::string &what);

/// A required attribute (one without an ODS default).
std::string requireFloatAttr(const OpCall &call, std::string_view name,
                             double &value);
std::string requireIntAttr(const OpCall &call, std::string_view name,
                           int64_t &value);

/// The product of shape[begin, end).
int64_t product(const std::vector<int64_t> &shape, size_t begin, size_t end);

/// An axis attribute, negative counting from the end, as a dimension index.
std::string resolveAxis(int64_t axis, size_t rank, size_t &dim);

/// The flat offset of row-major element `flat` of `shape` in a tensor read
/// with `strides` (0 along a broadcast or reduced dimension).
int64_t offsetOf(int64_t flat, const std::vector<int64_t> &shape,
                 const std::vector<int64_t> &strides);

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape);

/// Strides that read `shape`, right-aligned in a result of `resultShape`,
/// with 0 along the dimensions it is stretched in. Empty when the shapes do
/// not broadcast.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &resultShape);

/// reduce_sum's call: one operand and result, its increasing `dims`
/// within the operand's rank (marked in `summed`), and the result's shape
/// (the summed dimensions dropped, or kept as 1 with `keep_dims`).
std::string checkReduceSum(const OpCall &call, std::vector<bool> &summed);

/// Copies the operand's bytes into the result (same element type, same
/// count): every op that only renames dimensions.
std::string copyKernel(OpCall &call);

} // namespace var::cpu

#endif
