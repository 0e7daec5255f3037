// The CUDA batch norm kernels with a fused activation (var-fuse-bn-act)
// against the CPU backend's (which CpuBatchNormActivationTest ties, byte
// for byte, to the unfused ops), in f32 and bf16, channels-first and
// channels-last, on every path of the sums and the elementwise passes (the
// shapes of CudaOpTest and CudaOpChannelsLastTest), and with a misaligned
// activation value alone. var.batch_norm_train_max_pool against the
// batch norm and max pool it replaces, on the GPU, byte for byte, and
// against the CPU; var.batch_norm_grad_max_pool against the CPU and, byte
// for byte, against the pair it fuses on the GPU; var.batch_norm_apply
// against the training result it recomputes, likewise. Without a GPU
// every case is skipped.
#include "runtime/cuda/CudaBackend.h"
#include "test/gpu/CudaOpCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace var::gputest;

class CudaBatchNormActivationTest
    : public CudaBackendTest<::testing::TestWithParam<CaseId>> {};

/// The fused forms of batch norm on `x`, channels `c`, given to `add`:
/// results crossing 0 and 6 (weights from [-4, 4)), and backward
/// activation values from [-8, 8) that mask dz both ways (and, for ReLU,
/// from [-2, 2)); pre-activations recomputed from biases in [-2, 2) (and,
/// for ReLU6, [-8, 8)).
template <typename Add>
void addFusedCalls(DType t, const std::string &tag, const Shape &x,
                   const Shape &c, std::vector<Attribute> layout, Add &&add) {
  const DType f32 = DType::F32;
  auto with = [&](const char *activation) {
    std::vector<Attribute> attrs = layout;
    attrs.push_back(text("activation", activation));
    return attrs;
  };
  add("batch_norm_relu6_" + tag,
      {"var.batch_norm",
       {uniform(t, x), uniform(f32, c, 4.0f), uniform(f32, c),
        uniform(f32, c, 0.5f), positive(f32, c)},
       {result(t, x)},
       with("relu6")});
  add("batch_norm_train_relu6_" + tag,
      {"var.batch_norm_train",
       {uniform(t, x), uniform(f32, c, 4.0f), uniform(f32, c),
        uniform(f32, c, 0.5f), positive(f32, c)},
       {result(t, x), result(f32, c), result(f32, c), result(f32, c),
        result(f32, c)},
       with("relu6")});
  add("batch_norm_train_relu_" + tag,
      {"var.batch_norm_train",
       {uniform(t, x), uniform(f32, c), uniform(f32, c), uniform(f32, c, 0.5f),
        positive(f32, c)},
       {result(t, x), result(f32, c), result(f32, c), result(f32, c),
        result(f32, c)},
       with("relu")});
  add("batch_norm_grad_relu6_" + tag,
      {"var.batch_norm_grad",
       {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
        positive(f32, c), uniform(t, x, 8.0f)},
       {result(t, x), result(f32, c), result(f32, c)},
       with("relu6")});
  add("batch_norm_grad_relu_" + tag,
      {"var.batch_norm_grad",
       {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
        positive(f32, c), uniform(t, x)},
       {result(t, x), result(f32, c), result(f32, c)},
       with("relu")});
  // The backward's operand 5 the forward's bias, from which it recomputes
  // the pre-activation (SiLU's always).
  add("batch_norm_grad_relu_bias_" + tag,
      {"var.batch_norm_grad",
       {uniform(t, x), uniform(t, x), uniform(f32, c, 4.0f),
        uniform(f32, c, 0.5f), positive(f32, c), uniform(f32, c, 2.0f)},
       {result(t, x), result(f32, c), result(f32, c)},
       with("relu")});
  add("batch_norm_grad_relu6_bias_" + tag,
      {"var.batch_norm_grad",
       {uniform(t, x), uniform(t, x), uniform(f32, c, 4.0f),
        uniform(f32, c, 0.5f), positive(f32, c), uniform(f32, c, 8.0f)},
       {result(t, x), result(f32, c), result(f32, c)},
       with("relu6")});
  add("batch_norm_silu_" + tag,
      {"var.batch_norm",
       {uniform(t, x), uniform(f32, c, 4.0f), uniform(f32, c),
        uniform(f32, c, 0.5f), positive(f32, c)},
       {result(t, x)},
       with("silu")});
  add("batch_norm_train_silu_" + tag,
      {"var.batch_norm_train",
       {uniform(t, x), uniform(f32, c, 4.0f), uniform(f32, c),
        uniform(f32, c, 0.5f), positive(f32, c)},
       {result(t, x), result(f32, c), result(f32, c), result(f32, c),
        result(f32, c)},
       with("silu")});
  add("batch_norm_grad_silu_" + tag,
      {"var.batch_norm_grad",
       {uniform(t, x), uniform(t, x), uniform(f32, c, 4.0f),
        uniform(f32, c, 0.5f), positive(f32, c), uniform(f32, c, 2.0f)},
       {result(t, x), result(f32, c), result(f32, c)},
       with("silu")});
  // The activation value (operand 5) alone misaligned: the passes that
  // would move packs take the one-element paths.
  add("batch_norm_grad_relu6_misaligned_value_" + tag,
      misaligned(
          {"var.batch_norm_grad",
           {uniform(t, x), uniform(t, x), uniform(f32, c),
            uniform(f32, c, 0.5f), positive(f32, c), uniform(t, x, 8.0f)},
           {result(t, x), result(f32, c), result(f32, c)},
           with("relu6")},
          1u << 5));
}

Cases buildCases(DType t) {
  std::vector<std::pair<std::string, Call>> cases;
  auto add = [&](std::string name, Call call) {
    cases.emplace_back(std::move(name), std::move(call));
  };
  // Channels-first: packs of a plane (wide, large, planes24), elements
  // (narrow, bn), several chunks a channel (large), rank 2 as rows,
  // packed (2d) or not (2d_c5).
  std::vector<std::pair<std::string, Shape>> first = {
      {"bn", {4, 6, 5, 5}},          {"wide", {8, 3, 40, 40}},
      {"narrow", {600, 5, 3, 3}},    {"large", {64, 2, 56, 56}},
      {"planes24", {1000, 3, 4, 6}}, {"2d", {1000, 16}},
      {"2d_c5", {300, 5}},
  };
  for (const auto &[tag, x] : first)
    addFusedCalls(t, tag, x, {x[1]}, {}, add);
  // Channels-last rows: packed (c8, c16, c328, c576, c1280, large),
  // unpacked (c3, rows, large_c12).
  std::vector<std::pair<std::string, Shape>> last = {
      {"c3", {4, 7, 7, 3}},
      {"rows", {64, 9, 9, 37}},
      {"c8", {16, 5, 5, 8}},
      {"c16", {8, 7, 7, 16}},
      {"c328", {4, 6, 6, 328}},
      {"c576", {6, 11, 11, 576}},
      {"c1280", {16, 7, 7, 1280}},
      {"large", {64, 56, 56, 24}},
      {"large_c12", {64, 28, 28, 12}},
      {"3d", {2, 3, 4, 4, 40}},
  };
  for (const auto &[tag, x] : last)
    addFusedCalls(t, "nhwc_" + tag, x, {x.back()}, {unit("channels_last")},
                  add);
  return cases;
}

TEST_P(CudaBatchNormActivationTest, MatchesCpu) {
  runCase(buildCases(GetParam().dtype), GetParam(),
          [&](const Call &call) { checkAgainstCpu(*backend, call); });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaBatchNormActivationTest,
                         ::testing::ValuesIn(allCasesOf(buildCases)),
                         caseTestName);

/// var.batch_norm_train_max_pool on vgg-like shapes: channels-last with C
/// a whole number of vectors (vgg's first pool; 3x14x14x24), C that is not
/// (6 channels, 7x9), overlapping padded windows (vectors in f32 only,
/// C = 12), a window the vector kernel loops over (2x3), 3-D, channels-
/// first, and the vgg shape with a misaligned input (the scalar kernel).
/// Each with no activation, ReLU, ReLU6 and SiLU, on uniform inputs, on
/// inputs of few distinct values (windows tie after normalizing), and on
/// inputs with a NaN (its channel is NaN throughout: the last NaN wins).
class CudaBatchNormMaxPoolTest
    : public CudaBackendTest<::testing::TestWithParam<CaseId>> {};

Cases buildPoolCases(DType t) {
  struct Shapes {
    std::string name;
    Shape x, y;
    std::vector<Attribute> window;
    bool last;
    uint32_t misaligned;
  };
  auto window = [](Shape kernel, Shape stride, Shape padding) {
    return std::vector<Attribute>{ints("kernel", std::move(kernel)),
                                  ints("stride", std::move(stride)),
                                  ints("padding", std::move(padding))};
  };
  const std::vector<Shapes> shapes = {
      {"vgg",
       {2, 32, 32, 64},
       {2, 16, 16, 64},
       window({2, 2}, {2, 2}, {0, 0}),
       true,
       0},
      {"c24",
       {3, 14, 14, 24},
       {3, 7, 7, 24},
       window({2, 2}, {2, 2}, {0, 0}),
       true,
       0},
      {"c6_odd",
       {2, 7, 9, 6},
       {2, 3, 4, 6},
       window({2, 2}, {2, 2}, {0, 0}),
       true,
       0},
      {"c12_overlap",
       {2, 9, 9, 12},
       {2, 5, 5, 12},
       window({3, 3}, {2, 2}, {1, 1}),
       true,
       0},
      {"c16_2x3",
       {2, 8, 9, 16},
       {2, 4, 3, 16},
       window({2, 3}, {2, 3}, {0, 0}),
       true,
       0},
      {"c16_3d",
       {1, 4, 6, 6, 16},
       {1, 2, 3, 3, 16},
       window({2, 2, 2}, {2, 2, 2}, {0, 0, 0}),
       true,
       0},
      {"nchw",
       {2, 6, 9, 9},
       {2, 6, 4, 4},
       window({2, 2}, {2, 2}, {0, 0}),
       false,
       0},
      {"vgg_misaligned",
       {2, 16, 16, 64},
       {2, 8, 8, 64},
       window({2, 2}, {2, 2}, {0, 0}),
       true,
       1u},
  };
  std::vector<float> ties = {1.0f, 0.5f, 1.0f, -0.5f, 1.0f, 0.0f, 1.0f};
  std::vector<float> nan = {0.25f, -1.0f, 0.75f, NAN,  1.5f, -0.5f,
                            0.5f,  2.0f,  -1.5f, 0.0f, 1.0f};
  const DType f32 = DType::F32;
  Cases cases;
  for (const Shapes &sh : shapes)
    for (const char *activation : {"", "relu", "relu6", "silu"})
      for (const char *input : {"uniform", "ties", "nan"}) {
        int64_t c = sh.last ? sh.x.back() : sh.x[1];
        std::vector<Attribute> attrs = sh.window;
        if (sh.last)
          attrs.push_back(unit("channels_last"));
        if (*activation)
          attrs.push_back(text("activation", activation));
        attrs.push_back(real("momentum", 0.2));
        Spec x = std::string(input) == "uniform" ? uniform(t, sh.x)
                 : std::string(input) == "ties"  ? given(t, sh.x, ties)
                                                 : given(t, sh.x, nan);
        int64_t windowSize = 1;
        for (int64_t k : std::get<Shape>(sh.window[0].value))
          windowSize *= k;
        Call call("var.batch_norm_train_max_pool",
                  {x, uniform(f32, {c}, 4.0f), uniform(f32, {c}),
                   uniform(f32, {c}, 0.5f), positive(f32, {c})},
                  {result(t, sh.y), positions(sh.y, windowSize),
                   result(f32, {c}), result(f32, {c}), result(f32, {c}),
                   result(f32, {c})},
                  attrs);
        call.misaligned = sh.misaligned;
        cases.emplace_back("bn_pool_" + sh.name + "_" +
                               (*activation ? activation : "none") + "_" +
                               input,
                           std::move(call));
      }
  return cases;
}

bool sameBytes(const HostTensor &a, const HostTensor &b) {
  return a.view.bytes() == b.view.bytes() &&
         std::memcmp(a.view.data, b.view.data,
                     static_cast<size_t>(a.view.bytes())) == 0;
}

TEST_P(CudaBatchNormMaxPoolTest, MatchesBatchNormThenPoolAndCpu) {
  runCase(buildPoolCases(GetParam().dtype), GetParam(), [&](const Call &call) {
    std::vector<HostTensor> operands = makeOperands(call);
    std::vector<HostTensor> fused = makeResults(call);
    runOnDevice(*backend, call, operands, fused);
    if (HasFatalFailure())
      return;
    // The pair on the device: the batch norm's stored result, then its
    // pool (each op reads only its own attributes).
    const Spec &x = call.operands[0];
    Call norm("var.batch_norm_train", call.operands,
              {result(x.dtype, x.shape), call.results[2], call.results[3],
               call.results[4], call.results[5]},
              call.attributes);
    norm.misaligned = call.misaligned;
    std::vector<HostTensor> normResults = makeResults(norm);
    runOnDevice(*backend, norm, operands, normResults);
    if (HasFatalFailure())
      return;
    Call pool("var.max_pool_with_indices", {result(x.dtype, x.shape)},
              {call.results[0], call.results[1]}, call.attributes);
    pool.misaligned = call.misaligned & 1u;
    std::vector<HostTensor> poolOperands;
    poolOperands.push_back(std::move(normResults[0]));
    std::vector<HostTensor> pooled = makeResults(pool);
    runOnDevice(*backend, pool, poolOperands, pooled);
    if (HasFatalFailure())
      return;
    EXPECT_TRUE(sameBytes(fused[0], pooled[0])) << "output";
    EXPECT_TRUE(sameBytes(fused[1], pooled[1])) << "indices";
    for (int k = 0; k < 4; ++k)
      EXPECT_TRUE(sameBytes(fused[2 + k], normResults[1 + k]))
          << "statistic " << k;
    // The CPU's statistics differ from the GPU's within rounding, and so
    // the output; near-ties may then choose differently, so the indices
    // are compared between the GPU's two forms only. A NaN channel is NaN
    // on both.
    if (call.operands[0].kind == Spec::Given &&
        std::isnan(call.operands[0].values[3]))
      return;
    std::vector<HostTensor> cpu = makeResults(call);
    runOnCpu(call, operands, cpu);
    if (HasFatalFailure())
      return;
    cpu.erase(cpu.begin() + 1);
    fused.erase(fused.begin() + 1);
    expectAgree(call, cpu, fused);
  });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaBatchNormMaxPoolTest,
                         ::testing::ValuesIn(allCasesOf(buildPoolCases)),
                         caseTestName);

/// var.batch_norm_grad_max_pool: channels-last inputs under tiling pools
/// (vgg's first pool, 14x14x24, channels that packs do not take, sizes the
/// windows do not divide, a 3-D window), without and with each fused
/// activation, pooled gradients full of ties and -0s, and the pooled
/// gradient alone misaligned (the one-element paths).
struct PoolGradCase {
  std::string tag;
  Shape x, kernel;
};

Shape pooledOf(const PoolGradCase &p) {
  Shape out = p.x;
  for (size_t d = 0; d < p.kernel.size(); ++d)
    out[d + 1] = p.x[d + 1] / p.kernel[d];
  return out;
}

/// Values from a few, a fifth of them -0.
Spec tiedGrads(DType t, const Shape &shape) {
  std::vector<float> values(static_cast<size_t>(numel(shape)));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] =
        i % 5 == 0 ? -0.0f : static_cast<float>(int(i * 37 % 17) - 8) * 0.25f;
  return given(t, shape, std::move(values));
}

Cases buildPoolGradCases(DType t) {
  const DType f32 = DType::F32;
  std::vector<PoolGradCase> shapes = {
      {"vgg_c64", {2, 32, 32, 64}, {2, 2}},
      {"c24", {3, 14, 14, 24}, {2, 2}},
      {"c12_odd", {2, 9, 9, 12}, {2, 2}},
      {"c5", {4, 7, 7, 5}, {2, 2}},
      {"c40_odd", {2, 7, 5, 40}, {2, 2}},
      {"k3_c16", {2, 10, 8, 16}, {3, 3}},
      {"3d_c40", {2, 3, 5, 4, 40}, {1, 2, 2}},
  };
  Cases cases;
  for (const PoolGradCase &p : shapes) {
    Shape c = {p.x.back()}, pooled = pooledOf(p);
    int64_t window = 1;
    for (int64_t k : p.kernel)
      window *= k;
    auto call = [&](const char *activation, std::vector<Spec> value) {
      std::vector<Attribute> attrs = {unit("channels_last"),
                                      ints("kernel", p.kernel)};
      if (*activation)
        attrs.push_back(text("activation", activation));
      std::vector<Spec> operands = {
          uniform(t, p.x),       positions(pooled, window),
          tiedGrads(t, pooled),  uniform(f32, c, 4.0f),
          uniform(f32, c, 0.5f), positive(f32, c)};
      operands.insert(operands.end(), value.begin(), value.end());
      return Call("var.batch_norm_grad_max_pool", std::move(operands),
                  {result(t, p.x), result(f32, c), result(f32, c)},
                  std::move(attrs));
    };
    std::string tag = "pool_grad_" + p.tag;
    cases.emplace_back(tag, call("", {}));
    cases.emplace_back(tag + "_relu_bias",
                       call("relu", {uniform(f32, c, 2.0f)}));
    cases.emplace_back(tag + "_relu_value", call("relu", {uniform(t, p.x)}));
    cases.emplace_back(tag + "_relu6_bias",
                       call("relu6", {uniform(f32, c, 8.0f)}));
    cases.emplace_back(tag + "_silu", call("silu", {uniform(f32, c, 2.0f)}));
    cases.emplace_back(
        tag + "_relu_misaligned_grad",
        misaligned(call("relu", {uniform(f32, c, 2.0f)}), 1u << 2));
  }
  return cases;
}

class CudaPoolGradNormTest
    : public CudaBackendTest<::testing::TestWithParam<CaseId>> {};

TEST_P(CudaPoolGradNormTest, MatchesCpu) {
  runCase(buildPoolGradCases(GetParam().dtype), GetParam(),
          [&](const Call &call) { checkAgainstCpu(*backend, call); });
}

/// On the GPU, the fused op and the pair it replaces
/// (var.max_pool_grad_indices into a full-size gradient, then
/// var.batch_norm_grad) agree byte for byte, the sums included.
TEST_P(CudaPoolGradNormTest, IsThePairOnTheGpu) {
  runCase(
      buildPoolGradCases(GetParam().dtype), GetParam(), [&](const Call &call) {
        std::vector<HostTensor> operands = makeOperands(call);
        std::vector<HostTensor> fused = makeResults(call);
        runOnDevice(*backend, call, operands, fused);
        if (::testing::Test::HasFatalFailure())
          return;
        // The pair, on the same operands; a misaligned pooled gradient stays
        // misaligned (the routed gradient, dense, then is too).
        const Spec &x = call.operands[0], &grad = call.operands[2];
        std::vector<Attribute> poolAttrs, normAttrs;
        for (const Attribute &a : call.attributes) {
          if (a.name != "activation")
            poolAttrs.push_back(a);
          if (a.name != "kernel")
            normAttrs.push_back(a);
        }
        Call route("var.max_pool_grad_indices", {call.operands[1], grad},
                   {result(grad.dtype, x.shape)}, poolAttrs);
        route.misaligned = call.misaligned & (1u << 2) ? 1u << 1 : 0u;
        std::vector<HostTensor> routeIns;
        routeIns.emplace_back(operands[1].view.dtype, operands[1].view.shape);
        routeIns.emplace_back(operands[2].view.dtype, operands[2].view.shape);
        for (size_t i = 0; i < 2; ++i)
          std::memcpy(routeIns[i].view.data, operands[i + 1].view.data,
                      static_cast<size_t>(operands[i + 1].view.bytes()));
        std::vector<HostTensor> routed = makeResults(route);
        runOnDevice(*backend, route, routeIns, routed);
        if (::testing::Test::HasFatalFailure())
          return;
        std::vector<Spec> normSpecs = {x, result(grad.dtype, x.shape)};
        normSpecs.insert(normSpecs.end(), call.operands.begin() + 3,
                         call.operands.end());
        Call norm("var.batch_norm_grad", normSpecs, call.results, normAttrs);
        norm.misaligned = call.misaligned & (1u << 2) ? 1u << 1 : 0u;
        std::vector<HostTensor> normIns;
        for (size_t i = 0; i < operands.size(); ++i) {
          if (i == 1 || i == 2) {
            if (i == 1)
              normIns.push_back(std::move(routed[0]));
            continue;
          }
          normIns.emplace_back(operands[i].view.dtype, operands[i].view.shape);
          std::memcpy(normIns.back().view.data, operands[i].view.data,
                      static_cast<size_t>(operands[i].view.bytes()));
        }
        std::vector<HostTensor> pair = makeResults(norm);
        runOnDevice(*backend, norm, normIns, pair);
        if (::testing::Test::HasFatalFailure())
          return;
        for (size_t r = 0; r < fused.size(); ++r)
          EXPECT_EQ(std::memcmp(fused[r].view.data, pair[r].view.data,
                                static_cast<size_t>(fused[r].view.bytes())),
                    0)
              << "result " << r << " differs from the pair's";
      });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaPoolGradNormTest,
                         ::testing::ValuesIn(allCasesOf(buildPoolGradCases)),
                         caseTestName);

/// var.batch_norm_apply against the result of the var.batch_norm_train
/// that wrote its statistics, on the GPU, byte for byte (and against the
/// CPU within rounding: SiLU's sigmoid is a fast intrinsic on the GPU):
/// channels-last with C a whole number of packs, C that is not, channels-
/// first, and each with the apply's input misaligned (the one-element path
/// where the training pass took packs); f32 statistics, and the input's
/// type's; no activation, ReLU, ReLU6 and SiLU.
class CudaBatchNormApplyTest
    : public CudaBackendTest<::testing::TestWithParam<CaseId>> {};

Cases buildApplyCases(DType t) {
  struct Shapes {
    std::string name;
    Shape x;
    bool last;
    uint32_t misaligned;
  };
  const std::vector<Shapes> shapes = {
      {"c64", {2, 8, 8, 64}, true, 0},
      {"c24", {3, 7, 7, 24}, true, 0},
      {"c6_odd", {2, 5, 7, 6}, true, 0},
      {"nchw", {2, 6, 9, 9}, false, 0},
      {"c64_misaligned", {2, 8, 8, 64}, true, 1u},
      {"nchw_misaligned", {2, 8, 6, 6}, false, 1u},
  };
  std::vector<DType> statTypes = {DType::F32};
  if (t != DType::F32)
    statTypes.push_back(t);
  Cases cases;
  for (const Shapes &sh : shapes)
    for (const char *activation : {"", "relu", "relu6", "silu"})
      for (DType s : statTypes) {
        int64_t c = sh.last ? sh.x.back() : sh.x[1];
        std::vector<Attribute> attrs;
        if (sh.last)
          attrs.push_back(unit("channels_last"));
        if (*activation)
          attrs.push_back(text("activation", activation));
        Call call("var.batch_norm_train",
                  {uniform(t, sh.x), uniform(s, {c}, 4.0f), uniform(s, {c}),
                   uniform(s, {c}, 0.5f), positive(s, {c})},
                  {result(t, sh.x), result(s, {c}), result(s, {c}),
                   result(s, {c}), result(s, {c})},
                  attrs);
        call.misaligned = sh.misaligned;
        cases.emplace_back("bn_apply_" + sh.name + "_" +
                               (*activation ? activation : "none") +
                               (s == DType::F32 ? "_f32stats" : "_stats"),
                           std::move(call));
      }
  return cases;
}

TEST_P(CudaBatchNormApplyTest, MatchesTheTrainingResultAndCpu) {
  runCase(buildApplyCases(GetParam().dtype), GetParam(), [&](const Call &bn) {
    std::vector<HostTensor> operands = makeOperands(bn);
    std::vector<HostTensor> trained = makeResults(bn);
    Call train = bn;
    train.misaligned = 0;
    runOnDevice(*backend, train, operands, trained);
    if (HasFatalFailure())
      return;
    // The batch norm's input, weight and bias, and its saved statistics.
    Call apply("var.batch_norm_apply",
               {bn.operands[0], bn.operands[1], bn.operands[2], bn.results[1],
                bn.results[2]},
               {bn.results[0]}, bn.attributes);
    apply.misaligned = bn.misaligned;
    std::vector<HostTensor> applyOperands;
    for (HostTensor *t :
         {&operands[0], &operands[1], &operands[2], &trained[1], &trained[2]})
      applyOperands.push_back(std::move(*t));
    std::vector<HostTensor> applied = makeResults(apply);
    runOnDevice(*backend, apply, applyOperands, applied);
    if (HasFatalFailure())
      return;
    EXPECT_TRUE(sameBytes(applied[0], trained[0])) << "result";
    std::vector<HostTensor> cpu = makeResults(apply);
    runOnCpu(apply, applyOperands, cpu);
    if (HasFatalFailure())
      return;
    expectAgree(apply, cpu, applied);
  });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaBatchNormApplyTest,
                         ::testing::ValuesIn(allCasesOf(buildApplyCases)),
                         caseTestName);

class CudaReluBoundsTest : public CudaBackendTest<::testing::Test> {};

/// The fused ReLU and ReLU6 decide on the unrounded y = x * scale + shift
/// by bounds where y rounded to bf16 crosses 0 or 6 (NormMask.cuh's
/// storedBounds), not by rounding y first: on values at and just past each
/// rounding tie (x + bias exact in f32: scale 1, shift the bias) the
/// forward stores the CPU's bits, which round first, and the backward
/// masks the same elements (a flipped one moves dx by a whole dy).
TEST_F(CudaReluBoundsTest, MatchRoundingFirstAtTheTies) {
  const DType bf16 = DType::BF16, f32 = DType::F32;
  const float tie0 = 0x1p-134f, past0 = 0x1p-149f, tie6 = 0x1p-6f,
              past6 = 0x1p-21f;
  // Channel c's bias puts x = 0 (c < 4) or x = 6 (c >= 4) on a tie or
  // just past it, each way.
  const std::vector<float> bias = {-tie0, -tie0 - past0, tie0, tie0 + past0,
                                   -tie6, -tie6 - past6, tie6, tie6 + past6};
  const std::vector<float> column = {0.0f,     0.0f,      6.0f,       6.0f,
                                     -6.0f,    0x1p-133f, -0x1p-133f, 5.96875f,
                                     6.03125f, -0.0f};
  const int64_t channels = 8, rows = static_cast<int64_t>(column.size());
  std::vector<float> x;
  for (float value : column)
    x.insert(x.end(), channels, value);
  Shape shape = {1, rows, 1, channels}, c = {channels};
  auto ones = [&](int64_t n) { return std::vector<float>(n, 1.0f); };
  for (const char *activation : {"relu", "relu6"}) {
    SCOPED_TRACE(activation);
    std::vector<Attribute> attrs = {text("activation", activation),
                                    unit("channels_last"), real("eps", 0.0)};
    checkAgainstCpu(*backend,
                    Call("var.batch_norm",
                         {given(bf16, shape, x), given(f32, c, ones(channels)),
                          given(f32, c, bias),
                          given(f32, c, std::vector<float>(channels, 0.0f)),
                          given(f32, c, ones(channels))},
                         {result(bf16, shape)}, attrs, /*exact=*/true));
    // Saved mean 0 and 1/std 1: the recomputed pre-activation is x + bias.
    checkAgainstCpu(
        *backend,
        Call("var.batch_norm_grad",
             {given(bf16, shape, x), given(bf16, shape, ones(rows * channels)),
              given(f32, c, ones(channels)),
              given(f32, c, std::vector<float>(channels, 0.0f)),
              given(f32, c, ones(channels)), given(f32, c, bias)},
             {result(bf16, shape), result(f32, c), result(f32, c)}, attrs));
  }
}

/// An activation the kernels do not know, and one on the frozen backward
/// (which var-fuse-bn-act leaves alone), fail before anything is launched
/// (no GPU needed).
TEST(CudaBatchNormActivation, RejectsWhatItCannotCompute) {
  struct Bad {
    const char *op;
    std::vector<Shape> operands, results;
    const char *activation, *message;
  };
  const Bad cases[] = {
      {"var.batch_norm",
       {{2, 3}, {3}, {3}, {3}, {3}},
       {{2, 3}},
       "gelu",
       "unknown activation \"gelu\""},
      {"var.batch_norm_grad",
       {{2, 3}, {2, 3}, {3}, {3}, {3}, {2, 3}},
       {{2, 3}, {3}, {3}},
       "gelu",
       "unknown activation \"gelu\""},
      {"var.batch_norm_frozen_grad",
       {{2, 3}, {2, 3}, {3}, {3}, {3}},
       {{2, 3}, {3}, {3}},
       "relu",
       "takes no activation"},
  };
  for (const Bad &bad : cases) {
    SCOPED_TRACE(bad.op);
    var::plan::Instruction inst;
    inst.op = bad.op;
    inst.attributes = {text("activation", bad.activation)};
    std::vector<HostTensor> storage;
    storage.reserve(bad.operands.size() + bad.results.size());
    var::cpu::OpCall call{inst, {}, {}, 0};
    for (const Shape &shape : bad.operands) {
      storage.emplace_back(DType::F32, shape);
      call.operands.push_back(storage.back().view);
    }
    for (const Shape &shape : bad.results) {
      storage.emplace_back(DType::F32, shape);
      call.results.push_back(storage.back().view);
    }
    var::cuda::CudaContext context;
    EXPECT_EQ(var::cuda::getCudaOps().find(bad.op)->second(context, call),
              bad.message);
  }
}

} // namespace
