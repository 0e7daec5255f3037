// The CPU backend's contract with the executor: a kernel gets one plan
// instruction with its operand and result tensors (allocated, shapes known)
// and computes the results. Kernels are plain reference code in f32; tensors
// of narrower float types are widened on read and rounded (to nearest even)
// on write, exactly as the CUDA backend rounds.
#ifndef VAR_RUNTIME_CPU_CPUOPS_H
#define VAR_RUNTIME_CPU_CPUOPS_H

#include "runtime/cpu/StepScalars.h"
#include "runtime/plan/PlanFile.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace var::cpu {

/// A row-major, contiguous tensor the executor owns.
struct TensorView {
  plan::DType dtype = plan::DType::F32;
  std::vector<int64_t> shape;
  void *data = nullptr;

  int64_t numel() const;
  int64_t bytes() const { return numel() * plan::getDTypeBytes(dtype); }
};

/// bf16 <-> f32. Narrowing rounds to nearest, ties to even; NaN stays NaN
/// (quieted, sign kept). Inline and branch-free, so that loops over them
/// vectorize.
inline float bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}
inline uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  // Add 0x7fff plus the lowest kept bit: ties go to the even neighbour.
  uint32_t rounded = (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
  uint32_t quiet = (bits >> 16) | 0x40;
  bool nan = (bits & 0x7fffffff) > 0x7f800000;
  return static_cast<uint16_t>(nan ? quiet : rounded);
}
/// IEEE half <-> f32, round to nearest even.
float f16ToFloat(uint16_t bits);
uint16_t floatToF16(float value);
/// `value` as a tensor of `dtype` would hold it, widened back to f32.
float roundToDType(float value, plan::DType dtype);

/// Every element of a float tensor (f32, bf16, f16, f64) as f32.
std::vector<float> readFloats(const TensorView &tensor);
/// Writes `values` (tensor.numel() of them) into a float tensor, rounding.
void writeFloats(const std::vector<float> &values, TensorView &tensor);
/// Every element of an integer tensor (labels) as int64.
std::vector<int64_t> readInts(const TensorView &tensor);

/// The dropout mask bit of element `index`: a counter-based hash of
/// (seed, key, index), so that the backward regenerates the forward's mask
/// and every backend draws the same one. True: keep the element.
bool dropoutKeep(uint64_t seed, int64_t key, int64_t index, double p);

/// What a kernel sees of one instruction.
struct OpCall {
  const plan::Instruction &inst;
  std::vector<TensorView> operands;
  std::vector<TensorView> results;
  /// The run's seed and first sample, in the memory the kernel runs on
  /// (host for a CPU kernel, device for a device kernel); read by the
  /// kernels that need them (dropout), which fail without them.
  const StepScalars *scalars = nullptr;
  /// Where this call's samples sit in the step's global batch: samples
  /// [scalars->firstSample, scalars->firstSample + batch) (a first sample
  /// of 0 or no batch: the call is the whole batch). Dropout indexes a
  /// batch-major tensor's elements by their global position, so that its
  /// mask does not depend on how the batch is split over ranks and
  /// micro-steps. The batch is the function's input size: the same every
  /// run.
  int64_t batch = 0;

  /// Attribute accessors; `fallback` when the attribute is absent (ODS
  /// default-valued attributes are elided from the plan when default).
  int64_t getInt(std::string_view name, int64_t fallback) const;
  double getFloat(std::string_view name, double fallback) const;
  bool getBool(std::string_view name) const;
  /// A string attribute; empty when absent.
  std::string_view getString(std::string_view name) const;
  std::vector<int64_t> getInts(std::string_view name,
                               std::vector<int64_t> fallback) const;
};

/// The global index of element 0 of `call`'s batch-major tensor of `numel`
/// elements (see OpCall::batch), on host-readable scalars; an error when the
/// tensor does not split into `batch` samples.
std::string globalIndexOffset(const OpCall &call, int64_t numel,
                              int64_t &offset);
/// The elements of one sample of a batch-major tensor of `numel` elements,
/// for a device kernel to form the global offset from its first sample: 0
/// when the call is not part of a batch, -1 when the tensor does not split
/// into `batch` samples (an error once the first sample is nonzero).
int64_t elementsPerSample(const OpCall &call, int64_t numel);

/// A kernel: empty on success, else a message naming what is wrong (a shape
/// the verifier should have caught, an unsupported dtype). Never throws.
using OpFn = std::string (*)(OpCall &call);
using OpTable = std::map<std::string, OpFn, std::less<>>;

/// Each op family registers its kernels under the ops' full names
/// ("var.conv"). One function per family, so that a static library keeps
/// every kernel.
void registerConvPoolOps(OpTable &table);    // conv, pooling, linear
void registerElementwiseOps(OpTable &table); // activations, add/mul, cast,
                                             // fill, dropout, reductions,
                                             // time mean, loss
void registerShapeOps(OpTable &table);       // reshapes, time folding, slices,
                                             // concat, transpose
void registerNormLstmOps(OpTable &table);    // batch norm, LSTM
void registerFusedElementwiseOps(OpTable &table); // var.fused_elementwise
void registerNormPoolOps(OpTable &table);     // var.batch_norm_train_max_pool
void registerPoolGradNormOps(OpTable &table); // var.batch_norm_grad_max_pool

/// The kernels that var.batch_norm_train_max_pool runs one after the other
/// (NormPoolKernels.cpp), so that it computes their bits by construction.
std::string batchNormTrain(OpCall &call);
std::string maxPoolWithIndices(OpCall &call);

/// Every CPU kernel.
const OpTable &getCpuOps();

} // namespace var::cpu

#endif
