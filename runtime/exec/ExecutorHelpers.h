// What the executor's source files share and nobody else needs: shapes in
// messages, f32 values stored as and loaded from a bucket's dtype, and a
// parameter's initial values.
#ifndef VAR_RUNTIME_EXEC_EXECUTORHELPERS_H
#define VAR_RUNTIME_EXEC_EXECUTORHELPERS_H

#include "runtime/cpu/CpuOps.h"
#include "runtime/plan/PlanFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace var::exec {

/// "[2, 3, 32, 32]".
inline std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Writes f32 `values` into `bytes` as `dtype`, rounding.
inline void storeAs(const float *values, int64_t count, plan::DType dtype,
                    void *bytes) {
  cpu::TensorView view{dtype, {count}, bytes};
  cpu::writeFloats(std::vector<float>(values, values + count), view);
}

inline std::vector<float> loadAs(const void *bytes, int64_t count,
                                 plan::DType dtype) {
  cpu::TensorView view{dtype, {count}, const_cast<void *>(bytes)};
  return cpu::readFloats(view);
}

/// A parameter's initial FP32 values: a function of the run seed and its
/// name only, so every rank and every ZeRO stage starts from the same
/// weights.
std::vector<float> initialValues(const plan::PlanParam &param, uint64_t seed);

} // namespace var::exec

#endif
