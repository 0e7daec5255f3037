// Helpers of the CPU kernel tests: tensors with their own storage, attribute
// builders, and running one op through the CPU backend's kernel table.
#ifndef VAR_TEST_UNIT_CPUKERNELTEST_H
#define VAR_TEST_UNIT_CPUKERNELTEST_H

#include "runtime/cpu/CpuOps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace var::cputest {

using cpu::getCpuOps;
using cpu::OpCall;
using cpu::readFloats;
using cpu::StepScalars;
using cpu::TensorView;
using cpu::writeFloats;
using plan::DType;

using Shape = std::vector<int64_t>;
using Attrs = std::vector<plan::Attribute>;
using Inputs = std::vector<std::vector<float>>;

inline int64_t numel(const Shape &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

/// A tensor with its own (8-byte aligned) storage.
class Tensor {
public:
  Tensor(DType dtype, Shape shape) {
    view.dtype = dtype;
    view.shape = std::move(shape);
    storage.resize(static_cast<size_t>(view.bytes() + 7) / 8 + 1);
    view.data = storage.data();
  }
  Tensor(Shape shape, const std::vector<float> &values,
         DType dtype = DType::F32)
      : Tensor(dtype, std::move(shape)) {
    EXPECT_EQ(static_cast<int64_t>(values.size()), view.numel());
    writeFloats(values, view);
  }
  Tensor(Tensor &&) = default;
  Tensor(const Tensor &) = delete;

  std::vector<float> values() const { return readFloats(view); }
  uint16_t bitsAt(int64_t i) const {
    uint16_t bits;
    std::memcpy(&bits, static_cast<const char *>(view.data) + 2 * i, 2);
    return bits;
  }

  TensorView view;

private:
  std::vector<uint64_t> storage;
};

template <typename T>
inline Tensor labelTensor(const std::vector<int64_t> &labels) {
  DType dtype = sizeof(T) == 8 ? DType::I64 : DType::I32;
  Tensor tensor(dtype, {static_cast<int64_t>(labels.size())});
  for (size_t i = 0; i < labels.size(); ++i)
    static_cast<T *>(tensor.view.data)[i] = static_cast<T>(labels[i]);
  return tensor;
}

inline plan::Attribute intAttr(std::string name, int64_t value) {
  return {std::move(name), value};
}
inline plan::Attribute floatAttr(std::string name, double value) {
  return {std::move(name), value};
}
inline plan::Attribute intsAttr(std::string name, Shape value) {
  return {std::move(name), std::move(value)};
}
inline plan::Attribute unitAttr(std::string name) {
  return {std::move(name), true};
}

/// Runs `op`; the kernel's error, "" on success.
inline std::string run(std::string_view op,
                       std::vector<const Tensor *> operands,
                       std::vector<Tensor *> results, Attrs attrs = {},
                       uint64_t seed = 0) {
  auto it = getCpuOps().find(op);
  if (it == getCpuOps().end())
    return "no kernel for " + std::string(op);
  plan::Instruction inst;
  inst.op = std::string(op);
  inst.attributes = std::move(attrs);
  StepScalars scalars;
  scalars.seed = seed;
  OpCall call{inst, {}, {}, &scalars};
  for (const Tensor *tensor : operands)
    call.operands.push_back(tensor->view);
  for (Tensor *tensor : results)
    call.results.push_back(tensor->view);
  return it->second(call);
}

/// Runs `op` into one result of `shape`, which must succeed.
inline std::vector<float> eval(std::string_view op,
                               std::vector<const Tensor *> operands,
                               Shape shape, Attrs attrs = {},
                               uint64_t seed = 0) {
  Tensor result(DType::F32, std::move(shape));
  EXPECT_EQ(run(op, std::move(operands), {&result}, std::move(attrs), seed), "")
      << op;
  return result.values();
}

inline void expectValues(const std::vector<float> &actual,
                         const std::vector<float> &expected,
                         float tolerance = 1e-6f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tolerance) << "element " << i;
}

/// `values` scaled to [-scale, scale) and kept `gap` away from `kinks`, so
/// that a central difference never straddles a kink.
inline std::vector<float> awayFrom(std::vector<float> values, float scale,
                                   const std::vector<float> &kinks,
                                   float gap = 0.05f) {
  for (float &v : values) {
    v *= scale;
    for (float kink : kinks)
      if (std::fabs(v - kink) < gap)
        v = kink + (v < kink ? -gap : gap);
  }
  return values;
}

} // namespace var::cputest

#endif
