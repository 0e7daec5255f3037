// Helpers of the GPU op tests: operands drawn at random by a Spec, a call
// run through the CPU backend's kernel and through a device backend, and
// the comparison of their results (bit for bit for ops that only move,
// mask or round values; else within a tolerance scaled to the result's
// magnitude: f32 2e-5, bf16 results 1e-2, about two bf16 steps, since sums
// run in another order).
#ifndef VAR_TEST_GPU_CUDAOPCHECK_H
#define VAR_TEST_GPU_CUDAOPCHECK_H

#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/exec/Backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace var::gputest {

using cpu::TensorView;
using exec::Backend;
using exec::DeviceBuffer;
using plan::Attribute;
using plan::DType;
using Shape = std::vector<int64_t>;

/// How an operand's values are drawn.
struct Spec {
  DType dtype;
  Shape shape;
  enum Kind { Uniform, Positive, Labels, Given, Positions } kind = Uniform;
  float scale = 2.0f;        // Uniform: [-scale, scale); Positive: (0.5, ...)
                             // Labels: classes; Positions: window positions
  std::vector<float> values; // Given
};

inline Spec uniform(DType dtype, Shape shape, float scale = 2.0f) {
  return {dtype, std::move(shape), Spec::Uniform, scale, {}};
}
inline Spec positive(DType dtype, Shape shape) {
  return {dtype, std::move(shape), Spec::Positive, 1.5f, {}};
}
inline Spec labels(DType dtype, int64_t rows, int64_t classes) {
  return {dtype, {rows}, Spec::Labels, static_cast<float>(classes), {}};
}
inline Spec given(DType dtype, Shape shape, std::vector<float> values) {
  return {dtype, std::move(shape), Spec::Given, 0.0f, std::move(values)};
}
inline Spec result(DType dtype, Shape shape) { return uniform(dtype, shape); }
/// i8 window positions of a window of `window` positions, drawn from
/// [-1, window]: mostly in it (padding included), now and then outside.
inline Spec positions(Shape shape, int64_t window) {
  return {DType::I8,
          std::move(shape),
          Spec::Positions,
          static_cast<float>(window),
          {}};
}

/// A convolution case: input, weight and output as the call sees them.
struct ConvCase {
  std::string name;
  Shape x, w, y;
  std::vector<Attribute> attrs;
  bool bias;
};

/// A pooling case: input and output as the call sees them.
struct PoolCase {
  std::string name;
  Shape x, y;
  std::vector<Attribute> attrs;
};

struct Call {
  Call(std::string op, std::vector<Spec> operands, std::vector<Spec> results,
       std::vector<Attribute> attributes = {}, bool exact = false)
      : op(std::move(op)), operands(std::move(operands)),
        results(std::move(results)), attributes(std::move(attributes)),
        exact(exact) {}
  std::string op;
  std::vector<Spec> operands, results;
  std::vector<Attribute> attributes;
  bool exact; // bit-for-bit agreement expected
  /// Bit t set: device tensor t (operands, then results) starts one element
  /// past a 16-byte boundary, so that kernels with packed 16-byte accesses
  /// take their one-element path.
  uint32_t misaligned = 0;
};

/// `call` with the tensors in `tensors` (bits as Call::misaligned; all by
/// default) misaligned on the device.
inline Call misaligned(Call call, uint32_t tensors = ~0u) {
  call.misaligned = tensors;
  return call;
}

inline Attribute ints(std::string name, Shape value) {
  return {std::move(name), std::move(value)};
}
inline Attribute integer(std::string name, int64_t value) {
  return {std::move(name), value};
}
inline Attribute real(std::string name, double value) {
  return {std::move(name), value};
}
inline Attribute text(std::string name, std::string value) {
  return {std::move(name), std::move(value)};
}

/// `c`'s forward, backward-data and backward-filter calls in compute type
/// `t`, named NAME, NAME_grad_input and NAME_grad_weight, given to `add`.
template <typename Add>
void addConvCalls(DType t, const ConvCase &c, Add &&add) {
  std::vector<Spec> forward = {uniform(t, c.x), uniform(t, c.w, 0.5f)};
  if (c.bias)
    forward.push_back(uniform(t, {c.w[0]}));
  add(c.name, Call("var.conv", forward, {result(t, c.y)}, c.attrs));
  add(c.name + "_grad_input",
      Call("var.conv_grad_input", {uniform(t, c.y), uniform(t, c.w, 0.5f)},
           {result(t, c.x)}, c.attrs));
  add(c.name + "_grad_weight",
      Call("var.conv_grad_weight", {uniform(t, c.x), uniform(t, c.y)},
           {result(t, c.w)}, c.attrs));
}

/// The number of positions of `p`'s window (the product of its kernel).
inline int64_t windowPositions(const PoolCase &p) {
  int64_t count = 1;
  for (const Attribute &attr : p.attrs)
    if (attr.name == "kernel")
      for (int64_t k : std::get<std::vector<int64_t>>(attr.value))
        count *= k;
  return count;
}

/// `p`'s max and average pooling calls and their gradients in compute type
/// `t` (max_NAME, max_NAME_grad, max_NAME_indices, max_NAME_grad_indices,
/// avg_NAME, avg_NAME_grad), given to `add`. Max pooling agrees bit for
/// bit, with indices too, and so do its gradients: each input sums the
/// gradients routed to it in the CPU's order.
template <typename Add>
void addPoolCalls(DType t, const PoolCase &p, Add &&add) {
  add("max_" + p.name,
      Call("var.max_pool", {uniform(t, p.x)}, {result(t, p.y)}, p.attrs, true));
  add("max_" + p.name + "_grad",
      Call("var.max_pool_grad",
           {uniform(t, p.x), uniform(t, p.y), uniform(t, p.y)},
           {result(t, p.x)}, p.attrs, true));
  add("max_" + p.name + "_indices",
      Call("var.max_pool_with_indices", {uniform(t, p.x)},
           {result(t, p.y), positions(p.y, windowPositions(p))}, p.attrs,
           true));
  add("max_" + p.name + "_grad_indices",
      Call("var.max_pool_grad_indices",
           {positions(p.y, windowPositions(p)), uniform(t, p.y)},
           {result(t, p.x)}, p.attrs, true));
  add("avg_" + p.name,
      Call("var.avg_pool", {uniform(t, p.x)}, {result(t, p.y)}, p.attrs));
  add("avg_" + p.name + "_grad",
      Call("var.avg_pool_grad", {uniform(t, p.y)}, {result(t, p.x)}, p.attrs));
}
inline Attribute unit(std::string name) { return {std::move(name), true}; }

/// `p`'s max pooling and its gradient on inputs full of ties, in compute
/// type `t` (max_ties_NAME[_grad][_indices], max_zeros_NAME[_grad]
/// [_indices]), given to `add`: maxima repeated within most windows and a
/// NaN now and then, or windows of +0, -0 and negatives only, where the
/// output's sign shows which zero won. The first maximum in window order
/// (or the last NaN) must win, as on the CPU, bit for bit, and its index
/// name it; the gradients include -0, which an argmax receives as
/// 0 + -0 = +0 on the CPU.
template <typename Add>
void addMaxPoolTieCalls(DType t, const PoolCase &p, Add &&add) {
  std::vector<float> ties = {1.0f, 0.5f, 1.0f, -0.0f, 1.0f,  0.0f,
                             1.0f, 1.0f, 0.5f, 1.0f,  -1.0f, 1.0f,
                             NAN,  0.5f, 1.0f, 1.0f,  0.25f};
  std::vector<float> zeros = {-0.0f, 0.0f, -1.0f, 0.0f, -0.0f, -2.0f, -0.0f};
  std::vector<float> grads = {0.75f, -0.0f, -1.5f, 0.0f, 2.0f, -0.0f, 1.25f};
  const std::pair<const char *, std::vector<float>> inputs[] = {
      {"ties", ties}, {"zeros", zeros}};
  for (const auto &[kind, x] : inputs) {
    std::string name = std::string("max_") + kind + "_" + p.name;
    add(name, Call("var.max_pool", {given(t, p.x, x)}, {result(t, p.y)},
                   p.attrs, true));
    add(name + "_grad",
        Call("var.max_pool_grad",
             {given(t, p.x, x), uniform(t, p.y), given(t, p.y, grads)},
             {result(t, p.x)}, p.attrs, true));
    add(name + "_indices",
        Call("var.max_pool_with_indices", {given(t, p.x, x)},
             {result(t, p.y), positions(p.y, windowPositions(p))}, p.attrs,
             true));
    add(name + "_grad_indices",
        Call("var.max_pool_grad_indices",
             {positions(p.y, windowPositions(p)), given(t, p.y, grads)},
             {result(t, p.x)}, p.attrs, true));
  }
}

inline int64_t numel(const Shape &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

/// Host storage for one tensor.
struct HostTensor {
  std::vector<uint64_t> words;
  TensorView view;
  HostTensor(DType dtype, Shape shape) {
    view.dtype = dtype;
    view.shape = std::move(shape);
    words.assign(static_cast<size_t>(view.bytes() + 7) / 8 + 1, 0);
    view.data = words.data();
  }
};

inline void fill(const Spec &spec, HostTensor &tensor, std::mt19937 &rng) {
  int64_t n = numel(spec.shape);
  if (spec.kind == Spec::Positions) {
    std::uniform_int_distribution<int> pick(-1, static_cast<int>(spec.scale));
    for (int64_t i = 0; i < n; ++i)
      static_cast<int8_t *>(tensor.view.data)[i] =
          static_cast<int8_t>(pick(rng));
    return;
  }
  if (spec.kind == Spec::Labels) {
    std::uniform_int_distribution<int64_t> pick(
        0, static_cast<int64_t>(spec.scale) - 1);
    for (int64_t i = 0; i < n; ++i) {
      int64_t label = pick(rng);
      if (spec.dtype == DType::I64)
        static_cast<int64_t *>(tensor.view.data)[i] = label;
      else
        static_cast<int32_t *>(tensor.view.data)[i] =
            static_cast<int32_t>(label);
    }
    return;
  }
  std::vector<float> values(static_cast<size_t>(n));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    switch (spec.kind) {
    case Spec::Uniform:
      values[i] = spec.scale * u(rng);
      break;
    case Spec::Positive:
      values[i] = 1.0f + 0.5f * u(rng);
      break;
    default:
      values[i] = spec.values[static_cast<size_t>(i) % spec.values.size()];
    }
  }
  cpu::writeFloats(values, tensor.view);
}

/// The plan instruction of `call`, attributes sorted by name as in a plan.
inline plan::Instruction makeInstruction(const Call &call) {
  plan::Instruction inst;
  inst.op = call.op;
  inst.attributes = call.attributes;
  std::sort(
      inst.attributes.begin(), inst.attributes.end(),
      [](const Attribute &a, const Attribute &b) { return a.name < b.name; });
  return inst;
}

/// The operands of `call`, drawn from a fixed seed.
inline std::vector<HostTensor> makeOperands(const Call &call) {
  std::mt19937 rng(1234);
  std::vector<HostTensor> operands;
  for (const Spec &spec : call.operands) {
    operands.emplace_back(spec.dtype, spec.shape);
    fill(spec, operands.back(), rng);
  }
  return operands;
}

/// Zeroed host tensors for the results of `call`.
inline std::vector<HostTensor> makeResults(const Call &call) {
  std::vector<HostTensor> results;
  for (const Spec &spec : call.results)
    results.emplace_back(spec.dtype, spec.shape);
  return results;
}

constexpr uint64_t kSeed = 0x5eed;

/// Runs `call` through the CPU backend's kernel into `results`.
inline void runOnCpu(const Call &call, std::vector<HostTensor> &operands,
                     std::vector<HostTensor> &results) {
  plan::Instruction inst = makeInstruction(call);
  cpu::StepScalars scalars;
  scalars.seed = kSeed;
  cpu::OpCall cpuCall{inst, {}, {}, &scalars};
  for (HostTensor &t : operands)
    cpuCall.operands.push_back(t.view);
  for (HostTensor &t : results)
    cpuCall.results.push_back(t.view);
  auto cpuKernel = cpu::getCpuOps().find(call.op);
  ASSERT_NE(cpuKernel, cpu::getCpuOps().end()) << call.op;
  ASSERT_EQ(cpuKernel->second(cpuCall), "") << "CPU kernel of " << call.op;
}

/// Runs `call` on `backend` (results start zeroed), its results copied
/// back into `results`.
inline void runOnDevice(Backend &backend, const Call &call,
                        std::vector<HostTensor> &operands,
                        std::vector<HostTensor> &results) {
  plan::Instruction inst = makeInstruction(call);
  std::vector<DeviceBuffer> buffers;
  // The step scalars in device memory, where the kernels read them.
  cpu::StepScalars scalars;
  scalars.seed = kSeed;
  DeviceBuffer scalarBuffer;
  ASSERT_EQ(scalarBuffer.allocate(backend, sizeof scalars, "step scalars"), "");
  ASSERT_EQ(backend.copyToDevice(scalarBuffer.data(), &scalars, sizeof scalars),
            "");
  cpu::OpCall gpuCall{
      inst, {}, {}, static_cast<const cpu::StepScalars *>(scalarBuffer.data())};
  auto toDevice = [&](HostTensor &t, bool copy) {
    // Allocations start on 256-byte boundaries; a misaligned tensor starts
    // one element (2 or 4 bytes) later.
    size_t index = buffers.size();
    int64_t shift = index < 32 && (call.misaligned >> index & 1)
                        ? plan::getDTypeBytes(t.view.dtype)
                        : 0;
    buffers.emplace_back();
    ASSERT_EQ(buffers.back().allocate(backend, t.view.bytes() + shift, call.op),
              "");
    TensorView view = t.view;
    view.data = static_cast<char *>(buffers.back().data()) + shift;
    ASSERT_EQ(backend.zero(view.data, view.bytes()), "");
    if (copy) {
      ASSERT_EQ(backend.copyToDevice(view.data, t.view.data, view.bytes()), "");
    }
    (copy ? gpuCall.operands : gpuCall.results).push_back(view);
  };
  buffers.reserve(operands.size() + results.size());
  for (HostTensor &t : operands)
    toDevice(t, true);
  for (HostTensor &t : results)
    toDevice(t, false);
  ASSERT_TRUE(backend.hasKernel(call.op)) << call.op;
  ASSERT_EQ(backend.runOp(gpuCall), "") << "CUDA kernel of " << call.op;
  ASSERT_EQ(backend.synchronize(), "") << call.op;
  for (size_t r = 0; r < results.size(); ++r)
    ASSERT_EQ(backend.copyToHost(results[r].view.data, gpuCall.results[r].data,
                                 results[r].view.bytes()),
              "");
}

/// Every result of the device agrees with the CPU's, as `call.exact` says.
inline void expectAgree(const Call &call, const std::vector<HostTensor> &cpu,
                        const std::vector<HostTensor> &device) {
  for (size_t r = 0; r < device.size(); ++r) {
    SCOPED_TRACE(call.op + " result " + std::to_string(r));
    const TensorView &want = cpu[r].view;
    const TensorView &got = device[r].view;
    if (call.exact) {
      EXPECT_EQ(
          std::memcmp(want.data, got.data, static_cast<size_t>(want.bytes())),
          0)
          << "bytes differ";
      continue;
    }
    std::vector<float> a = cpu::readFloats(want);
    std::vector<float> b = cpu::readFloats(got);
    float magnitude = 1e-3f;
    for (float v : a)
      magnitude = std::max(magnitude, std::fabs(v));
    float tolerance = want.dtype == DType::BF16 ? 1e-2f : 2e-5f;
    int reported = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      bool close =
          std::fabs(a[i] - b[i]) <= tolerance * (magnitude + std::fabs(a[i]));
      if (!close && reported++ < 5)
        ADD_FAILURE() << "element " << i << ": CPU " << a[i] << ", CUDA "
                      << b[i] << " (magnitude " << magnitude << ")";
    }
  }
}

/// Runs `call` on both backends and compares every result.
inline void checkAgainstCpu(Backend &backend, const Call &call) {
  std::vector<HostTensor> operands = makeOperands(call);
  std::vector<HostTensor> cpuResults = makeResults(call);
  std::vector<HostTensor> deviceResults = makeResults(call);
  runOnCpu(call, operands, cpuResults);
  if (::testing::Test::HasFatalFailure())
    return;
  runOnDevice(backend, call, operands, deviceResults);
  if (::testing::Test::HasFatalFailure())
    return;
  expectAgree(call, cpuResults, deviceResults);
}

/// A call the verifier should have caught: shapes (f32) and attributes.
struct BadCall {
  std::string op;
  std::vector<Shape> operands, results;
  std::vector<Attribute> attributes = {};
};

/// Each bad call gets an error from the CPU kernel and the same message
/// from the CUDA kernel, before anything is launched (no GPU needed).
inline void expectCpuErrors(const std::vector<BadCall> &cases) {
  for (const BadCall &bad : cases) {
    SCOPED_TRACE(bad.op);
    plan::Instruction inst;
    inst.op = bad.op;
    inst.attributes = bad.attributes;
    std::vector<HostTensor> storage;
    storage.reserve(bad.operands.size() + bad.results.size());
    cpu::OpCall call{inst, {}, {}, 0};
    for (const Shape &shape : bad.operands) {
      storage.emplace_back(DType::F32, shape);
      call.operands.push_back(storage.back().view);
    }
    for (const Shape &shape : bad.results) {
      storage.emplace_back(DType::F32, shape);
      call.results.push_back(storage.back().view);
    }
    std::string cpuError = cpu::getCpuOps().find(bad.op)->second(call);
    cuda::CudaContext context;
    std::string cudaError =
        cuda::getCudaOps().find(bad.op)->second(context, call);
    EXPECT_NE(cpuError, "");
    EXPECT_EQ(cudaError, cpuError);
  }
}

/// One case of a parameterized op suite: its name and compute type.
struct CaseId {
  std::string name;
  DType dtype;
};
inline void PrintTo(const CaseId &id, std::ostream *out) {
  *out << id.name << (id.dtype == DType::BF16 ? " in bf16" : " in f32");
}

/// A suite's cases: `build(t)` gives (name, call) pairs for a compute type;
/// every case in f32 and in bf16.
using Cases = std::vector<std::pair<std::string, Call>>;
template <typename Build> std::vector<CaseId> allCasesOf(Build build) {
  std::vector<CaseId> all;
  for (DType t : {DType::F32, DType::BF16})
    for (const auto &entry : build(t))
      all.push_back({entry.first, t});
  return all;
}

/// The test name of a case: NAME_f32 or NAME_bf16.
inline std::string caseTestName(const ::testing::TestParamInfo<CaseId> &info) {
  return info.param.name + (info.param.dtype == DType::BF16 ? "_bf16" : "_f32");
}

/// Runs `check` on the call of `cases` named `id.name`; fails if none is.
template <typename Check>
void runCase(const Cases &cases, const CaseId &id, Check check) {
  for (const auto &entry : cases)
    if (entry.first == id.name)
      return check(entry.second);
  FAIL() << "no case " << id.name;
}

/// A fixture (over gtest's `Base`) whose tests share one CUDA backend,
/// created for each suite; every test skips, saying why, without a GPU.
template <typename Base> class CudaBackendTest : public Base {
protected:
  static void SetUpTestSuite() { backend = cuda::createCudaBackend(0, whyNot); }
  static void TearDownTestSuite() { backend.reset(); }
  void SetUp() override {
    if (!backend)
      GTEST_SKIP() << "no GPU to test the CUDA backend on: " << whyNot;
  }

  static inline std::unique_ptr<Backend> backend;
  static inline std::string whyNot;
};

} // namespace var::gputest

#endif
