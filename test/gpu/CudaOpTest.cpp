// Every CUDA kernel against the CPU backend's kernel of the same op, on
// random inputs, in f32 and bf16 (forward and backward ops alike): the same
// call runs on host tensors through runtime/cpu and on device tensors
// through the CUDA backend, and the results must agree: bit for bit for ops
// that only move, mask or round values, within a tolerance scaled to the
// result's magnitude for arithmetic (f32: 2e-5; bf16 results: 1e-2, about
// two bf16 steps, since sums run in another order). Elementwise ops run on
// tensors aligned and not, of a multiple of 8 elements and not, for both
// paths of their kernels, which must also agree bit for bit with each
// other. Without a GPU every case is skipped (ctest counts it so).
#include "runtime/cpu/CpuOps.h"
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaCheck.h"
#include "runtime/cuda/CudaOps.h"
#include "test/gpu/CudaOpCheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace var::gputest;
using var::cpu::OpCall;
using var::exec::Backend;

class CudaOpTest : public CudaBackendTest<::testing::TestWithParam<CaseId>> {
protected:
  void check(const Call &call) { checkAgainstCpu(*backend, call); }
};

/// Every case, built for compute type `t` (f32 or bf16); statistics, labels
/// and the loss stay in the types the compiler gives them.
Cases buildCases(DType t) {
  const DType f32 = DType::F32;
  std::vector<std::pair<std::string, Call>> cases;
  auto add = [&](std::string name, Call call) {
    cases.emplace_back(std::move(name), std::move(call));
  };
  Shape act = {2, 3, 17, 5};
  for (const char *op :
       {"var.relu", "var.relu6", "var.sigmoid", "var.silu", "var.hardswish"}) {
    bool exact =
        std::string(op) == "var.relu" || std::string(op) == "var.relu6";
    add(std::string(op).substr(4),
        {op, {uniform(t, act, 8.0f)}, {result(t, act)}, {}, exact});
    add(std::string(op).substr(4) + "_grad",
        {std::string(op) + "_grad",
         {uniform(t, act, 8.0f), uniform(t, act)},
         {result(t, act)},
         {}});
  }
  add("add_same",
      {"var.add", {uniform(t, act), uniform(t, act)}, {result(t, act)}});
  add("add_broadcast", {"var.add",
                        {uniform(t, {2, 8, 5, 5}), uniform(t, {8, 1, 1})},
                        {result(t, {2, 8, 5, 5})}});
  add("mul_broadcast", {"var.mul",
                        {uniform(t, {4, 1, 6}), uniform(t, {3, 1})},
                        {result(t, {4, 3, 6})}});
  // Ties (1 + 2^-8 and 1 + 3 * 2^-8), NaN, infinities and ordinary values.
  std::vector<float> special = {
      1.00390625f, 1.01171875f, -1.00390625f, NAN,    INFINITY, -INFINITY,
      0.0f,        -0.0f,       3.14159265f,  1e-40f, -2.5e30f, 65504.0f};
  add("cast_to_bf16", {"var.cast",
                       {given(f32, {3, 4}, special)},
                       {result(DType::BF16, {3, 4})},
                       {},
                       true});
  add("cast_random", {"var.cast",
                      {uniform(f32, {1000})},
                      {result(DType::BF16, {1000})},
                      {},
                      true});
  add("cast_from_bf16", {"var.cast",
                         {uniform(DType::BF16, {1000})},
                         {result(f32, {1000})},
                         {},
                         true});
  add("fill", {"var.fill", {}, {result(t, {7, 9})}, {real("value", 0.3)}});

  // The elementwise kernels' two paths: packed (every tensor 16-byte
  // aligned; 8 elements a thread, then the last numel % 8 one a thread) and
  // one element a thread (a tensor one element past a 16-byte boundary).
  // Each op on 4096 elements, on 1003 (a tail of 3) and misaligned.
  Shape even = {4, 8, 128}, odd = {17, 59};
  auto addPaths = [&](const std::string &name, const std::string &op,
                      int operands, bool exact,
                      std::vector<Attribute> attributes = {}) {
    for (int path = 0; path < 3; ++path) {
      const Shape &shape = path == 0 ? even : odd;
      std::vector<Spec> in;
      for (int k = 0; k < operands; ++k)
        in.push_back(uniform(t, shape, k == 0 ? 8.0f : 2.0f));
      Call call(op, in, {result(t, shape)}, attributes, exact);
      const char *suffix[] = {"_even", "_odd", "_misaligned"};
      add(name + suffix[path], path == 2 ? misaligned(call) : call);
    }
  };
  addPaths("relu6", "var.relu6", 1, true);
  addPaths("silu", "var.silu", 1, false);
  addPaths("sigmoid", "var.sigmoid", 1, false);
  addPaths("relu_grad", "var.relu_grad", 2, true);
  addPaths("hardswish_grad", "var.hardswish_grad", 2, false);
  addPaths("add_same", "var.add", 2, true);
  addPaths("mul_same", "var.mul", 2, true);
  addPaths("fill", "var.fill", 0, true, {real("value", -1.7)});
  addPaths("dropout_train", "var.dropout_train", 1, true,
           {real("p", 0.3), integer("key", 5)});
  addPaths("dropout_grad", "var.dropout_grad", 1, true,
           {real("p", 0.5), integer("key", 9)});
  // Only the second operand misaligned: every tensor must be aligned for
  // the packed path.
  add("mul_rhs_misaligned", misaligned({"var.mul",
                                        {uniform(t, even), uniform(t, even)},
                                        {result(t, even)},
                                        {},
                                        true},
                                       0b010));
  for (DType from : {f32, DType::BF16}) {
    DType to = from == f32 ? DType::BF16 : f32;
    std::string name = from == f32 ? "cast_to_bf16" : "cast_from_bf16";
    for (const Shape &shape : {even, odd}) {
      Call call("var.cast", {uniform(from, shape)}, {result(to, shape)}, {},
                true);
      add(name + (shape == even ? "_even" : "_odd"), call);
      if (shape == odd) {
        add(name + "_misaligned", misaligned(call));
        add(name + "_result_misaligned", misaligned(call, 0b10));
      }
    }
  }

  // Broadcasts as the nets use them: the squeeze-excitation scale
  // channels-last (N, H, W, C) * (N, 1, 1, C) and NCHW (N, C, H, W) * (N, C,
  // 1, 1), a bias row (M, C) + (C), a column stretched along the innermost
  // dimension, the stretched operand first. Packed stores where the
  // innermost dimension (after merging those both operands read alike) is
  // a multiple of 8 and the result aligned, each operand read packed,
  // element by element or as one value per pack.
  add("mul_se_channels_last",
      {"var.mul",
       {uniform(t, {2, 5, 5, 24}), uniform(t, {2, 1, 1, 24})},
       {result(t, {2, 5, 5, 24})},
       {},
       true});
  add("mul_se_channels_last_misaligned",
      misaligned({"var.mul",
                  {uniform(t, {2, 5, 5, 24}), uniform(t, {2, 1, 1, 24})},
                  {result(t, {2, 5, 5, 24})},
                  {},
                  true},
                 0b010));
  add("mul_se_nchw", {"var.mul",
                      {uniform(t, {2, 24, 4, 4}), uniform(t, {2, 24, 1, 1})},
                      {result(t, {2, 24, 4, 4})},
                      {},
                      true});
  add("mul_se_nchw_odd",
      {"var.mul",
       {uniform(t, {2, 24, 5, 5}), uniform(t, {2, 24, 1, 1})},
       {result(t, {2, 24, 5, 5})},
       {},
       true});
  add("add_bias_row", {"var.add",
                       {uniform(t, {50, 16}), uniform(t, {16})},
                       {result(t, {50, 16})},
                       {},
                       true});
  add("add_bias_row_odd", {"var.add",
                           {uniform(t, {50, 13}), uniform(t, {13})},
                           {result(t, {50, 13})},
                           {},
                           true});
  add("add_column", {"var.add",
                     {uniform(t, {6, 8}), uniform(t, {6, 1})},
                     {result(t, {6, 8})},
                     {},
                     true});
  add("mul_stretched_lhs", {"var.mul",
                            {uniform(t, {1, 16}), uniform(t, {40, 16})},
                            {result(t, {40, 16})},
                            {},
                            true});
  add("mul_stretched_lhs_misaligned",
      misaligned({"var.mul",
                  {uniform(t, {1, 16}), uniform(t, {40, 16})},
                  {result(t, {40, 16})},
                  {},
                  true},
                 0b100));

  add("reduce_sum", {"var.reduce_sum",
                     {uniform(t, {4, 6, 5, 3})},
                     {result(t, {6, 3})},
                     {ints("dims", {0, 2})}});
  add("reduce_sum_keep", {"var.reduce_sum",
                          {uniform(t, {4, 6, 5, 3})},
                          {result(t, {1, 6, 1, 3})},
                          {ints("dims", {0, 2}), unit("keep_dims")}});
  // reduce_sum as the compiler emits it (ReduceKernels.cu): bias gradients
  // (M, C) -> (C) and NHWC (N, H, W, C) -> (C) as column sums (packed where
  // C is a multiple of 8, more columns than one block row takes), NCHW (N,
  // C, H, W) -> (C) as runs of H * W, the gradients of squeeze-excitation
  // scales in both layouts, a full sum; sizes of one chunk and of several,
  // misaligned. The cases above interleave summed and kept dimensions
  // beyond that form (the general kernel).
  auto addSum = [&](const std::string &name, Shape in, Shape out, Shape dims,
                    bool keep = false, bool misalign = false) {
    std::vector<Attribute> attributes = {ints("dims", std::move(dims))};
    if (keep)
      attributes.push_back(unit("keep_dims"));
    Call call("var.reduce_sum", {uniform(t, std::move(in))},
              {result(t, std::move(out))}, attributes);
    add(name, misalign ? misaligned(call) : call);
  };
  addSum("reduce_rows", {1000, 24}, {24}, {0});
  addSum("reduce_rows_misaligned", {1000, 24}, {24}, {0}, false, true);
  addSum("reduce_rows_odd", {1003, 3}, {3}, {0});
  addSum("reduce_rows_chunks", {4096, 64}, {64}, {0});
  addSum("reduce_rows_wide", {40, 2056}, {2056}, {0});
  addSum("reduce_nhwc_bias", {4, 9, 9, 40}, {40}, {0, 1, 2});
  addSum("reduce_nchw_bias", {8, 16, 12, 12}, {16}, {0, 2, 3});
  addSum("reduce_nchw_bias_odd", {4, 6, 7, 7}, {6}, {0, 2, 3});
  addSum("reduce_nchw_bias_chunks", {4, 4, 128, 128}, {4}, {0, 2, 3});
  addSum("reduce_se_nhwc", {4, 6, 6, 32}, {4, 1, 1, 32}, {1, 2}, true);
  addSum("reduce_se_nchw", {4, 32, 6, 6}, {4, 32, 1, 1}, {2, 3}, true);
  addSum("reduce_all", {1003}, {}, {0});
  addSum("reduce_all_chunks", {300000}, {}, {0});
  addSum("reduce_all_misaligned", {300000}, {}, {0}, false, true);
  add("mean_time",
      {"var.mean_time", {uniform(t, {2, 8, 101})}, {result(t, {2, 101})}});
  add("mean_time_grad", {"var.mean_time_grad",
                         {uniform(t, {2, 101})},
                         {result(t, {2, 8, 101})},
                         {integer("frames", 8)}});
  add("dropout_train", {"var.dropout_train",
                        {uniform(t, {3, 1000})},
                        {result(t, {3, 1000})},
                        {real("p", 0.3), integer("key", 5)},
                        true});
  add("dropout_grad", {"var.dropout_grad",
                       {uniform(t, {3, 1000})},
                       {result(t, {3, 1000})},
                       {real("p", 0.5), integer("key", 9)},
                       true});
  add("dropout_eval",
      {"var.dropout", {uniform(t, {3, 100})}, {result(t, {3, 100})}, {}, true});

  // var.fused_elementwise, bit for bit: a chain that adds, multiplies, masks
  // and rounds (a broadcast operand, or a full one `dense`, two dropouts, an
  // extra result), casts; one through the transcendental activations within
  // the tolerance.
  using Names = std::vector<std::string>;
  auto maskChain = [&](int64_t rows, bool dense = false) -> Call {
    return {"var.fused_elementwise",
            {uniform(t, {3, rows, 7}, 8.0f),
             uniform(t, dense ? Shape{3, rows, 7} : Shape{rows, 1}),
             uniform(t, {3, rows, 7})},
            {result(t, {3, rows, 7}), result(t, {3, rows, 7})},
            {{"steps", Names{"add", "relu", "relu_grad", "dropout_train", "mul",
                             "relu6", "dropout_grad"}},
             ints("args", {0, 1, 3, 4, 2, 5, 6, 0, 7, 8}),
             ints("returns", {6, 1}),
             {"p", std::vector<double>{0.3, 0.5}},
             ints("key", {5, 9})},
            true};
  };
  // 41 rows: 861 elements (not a multiple of 8), the packed kernels' tails.
  for (int64_t rows : {40, 41})
    for (bool dense : {false, true})
      add(std::string("fused_mask_chain") + (dense ? "_dense" : "") +
              (rows == 41 ? "_odd" : ""),
          maskChain(rows, dense));
  // The compiled programs (values in registers): ResNet's residual add and
  // ReLU, its gradient (the tail too), a multiply-add with a channels-last
  // scale.
  auto program = [&](std::vector<Shape> operands, Names steps,
                     std::vector<int64_t> args) -> Call {
    std::vector<Spec> inputs;
    for (const Shape &shape : operands)
      inputs.push_back(uniform(t, shape, 8.0f));
    return {"var.fused_elementwise",
            inputs,
            {result(t, operands[0])},
            {{"steps", steps}, ints("args", args), ints("returns", {1})},
            true};
  };
  for (int64_t rows : {40, 41})
    add(rows == 40 ? "fused_residual_grad" : "fused_residual_grad_odd",
        program({{3, rows, 8}, {3, rows, 8}, {3, rows, 8}},
                {"add", "relu_grad"}, {0, 1, 2, 3}));
  add("fused_add_relu",
      program({{3, 40, 8}, {3, 40, 8}}, {"add", "relu"}, {0, 1, 2}));
  add("fused_mul_add", program({{4, 6, 5, 16}, {4, 1, 1, 16}, {4, 6, 5, 16}},
                               {"mul", "add"}, {0, 1, 3, 2}));
  // Misaligned: everything (one element a thread), or the broadcast alone.
  for (uint32_t tensors : {~0u, 0b00010u})
    add(tensors == ~0u ? "fused_mask_chain_misaligned"
                       : "fused_mask_chain_broadcast_misaligned",
        misaligned(maskChain(40), tensors));
  // Channels-last scales, as squeeze-excitation multiplies them: a pack's
  // 8 scales are consecutive (one load) where C % 8 == 0, else one by one.
  for (int64_t c : {16, 12})
    for (const Shape &scale :
         {Shape{4, 1, 1, c}, Shape{1, 1, 1, c}, Shape{4, 1, 5, c}}) {
      std::string name = "fused_scale";
      for (int64_t dim : scale)
        name += "_" + std::to_string(dim);
      Call call("var.fused_elementwise",
                {uniform(t, {4, 6, 5, c}, 8.0f), uniform(t, scale)},
                {result(t, {4, 6, 5, c})},
                {{"steps", Names{"mul", "relu"}},
                 ints("args", {0, 1, 2}),
                 ints("returns", {1})},
                true);
      add(name, call);
      if (c == 16 && scale[0] == 4 && scale[2] == 1)
        add(name + "_misaligned", misaligned(call, 0b00010u));
    }
  for (const Shape &shape : {Shape{2, 3, 17, 5}, Shape{2, 4, 16, 8}})
    for (bool misalign : {false, true}) {
      Call call("var.fused_elementwise",
                {uniform(t, shape, 8.0f), uniform(t, shape)},
                {result(t, shape), result(t, shape)},
                {{"steps", Names{"silu", "sigmoid", "sigmoid_grad", "hardswish",
                                 "hardswish_grad", "silu_grad", "relu6_grad"}},
                 ints("args", {0, 2, 3, 1, 4, 5, 1, 6, 1, 7, 1}),
                 ints("returns", {6, 2})});
      std::string name =
          shape[1] == 3 ? "fused_activations" : "fused_activations_even";
      if (misalign)
        add(name + "_misaligned", misaligned(call, 0b1000)); // a result
      else
        add(name, call);
    }
  add("fused_casts", {"var.fused_elementwise",
                      {uniform(f32, {1000}, 8.0f)},
                      {result(f32, {1000}), result(DType::BF16, {1000})},
                      {{"steps", Names{"cast_bf16", "relu", "cast_f32"}},
                       ints("args", {0, 1, 2}),
                       ints("returns", {2, 1})},
                      true});

  for (DType label : {DType::I64, DType::I32}) {
    std::string suffix = label == DType::I64 ? "_i64" : "_i32";
    add("cross_entropy" + suffix,
        {"var.softmax_cross_entropy",
         {uniform(t, {16, 101}, 5.0f), labels(label, 16, 101)},
         {result(f32, {})}});
    add("cross_entropy_grad" + suffix,
        {"var.softmax_cross_entropy_grad",
         {uniform(t, {16, 101}, 5.0f), labels(label, 16, 101),
          given(f32, {}, {1.0f})},
         {result(t, {16, 101})}});
  }
  add("cross_entropy_smoothed",
      {"var.softmax_cross_entropy",
       {uniform(t, {8, 10}), labels(DType::I64, 8, 10)},
       {result(f32, {})},
       {real("label_smoothing", 0.1)}});
  add("cross_entropy_grad_smoothed",
      {"var.softmax_cross_entropy_grad",
       {uniform(t, {8, 10}), labels(DType::I64, 8, 10), given(f32, {}, {0.5f})},
       {result(t, {8, 10})},
       {real("label_smoothing", 0.1)}});

  Shape clip = {2, 4, 3, 5, 6};
  add("reshape", {"var.reshape",
                  {uniform(t, clip)},
                  {result(t, {8, 90})},
                  {ints("shape", {-1, 90})},
                  true});
  add("flatten",
      {"var.flatten", {uniform(t, clip)}, {result(t, {2, 360})}, {}, true});
  add("fold_time", {"var.fold_time",
                    {uniform(t, clip)},
                    {result(t, {8, 3, 5, 6})},
                    {},
                    true});
  add("unfold_time", {"var.unfold_time",
                      {uniform(t, {8, 3, 5, 6})},
                      {result(t, clip)},
                      {integer("frames", 4)},
                      true});
  add("slice", {"var.slice",
                {uniform(t, clip)},
                {result(t, {2, 4, 2, 5, 6})},
                {integer("axis", 2), integer("offset", 1), integer("size", 2)},
                true});
  add("concat", {"var.concat",
                 {uniform(t, {2, 3, 4}), uniform(t, {2, 5, 4})},
                 {result(t, {2, 8, 4})},
                 {integer("axis", 1)},
                 true});
  // Transposes; runs of dimensions that stay adjacent merge (the
  // channels-last input and flatten ones: (N, C, H * W) <-> (N, H * W, C)).
  for (const auto &[name, in, out, permutation] :
       std::vector<std::tuple<std::string, Shape, Shape, Shape>>{
           {"transpose", clip, {2, 3, 4, 6, 5}, {0, 2, 1, 4, 3}},
           {"to_channels_last", {2, 3, 5, 7}, {2, 5, 7, 3}, {0, 2, 3, 1}},
           {"from_channels_last", {2, 3, 5, 7}, {2, 7, 3, 5}, {0, 3, 1, 2}},
           {"merged_runs", {2, 3, 1, 4, 5}, {4, 5, 2, 3, 1}, {3, 4, 0, 1, 2}}})
    add(name == "transpose" ? name : "transpose_" + name,
        {"var.transpose",
         {uniform(t, in)},
         {result(t, out)},
         {ints("permutation", permutation)},
         true});

  // Convolutions: 2-D with bias and stride, grouped, depthwise, dilated,
  // 3-D, 1-D; each forward and both gradients.
  std::vector<ConvCase> convs = {
      {"conv2d",
       {2, 4, 9, 9},
       {6, 4, 3, 3},
       {2, 6, 5, 5},
       {ints("stride", {2, 2}), ints("padding", {1, 1})},
       true},
      {"conv2d_grouped",
       {2, 4, 8, 8},
       {6, 2, 3, 3},
       {2, 6, 8, 8},
       {ints("padding", {1, 1}), integer("groups", 2)},
       false},
      {"conv2d_depthwise",
       {2, 8, 10, 10},
       {8, 1, 3, 3},
       {2, 8, 5, 5},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 8)},
       false},
      {"conv2d_dilated",
       {1, 3, 11, 11},
       {4, 3, 3, 3},
       {1, 4, 7, 7},
       {ints("dilation", {2, 2})},
       true},
      {"conv2d_pointwise",
       {4, 16, 6, 6},
       {24, 16, 1, 1},
       {4, 24, 6, 6},
       {},
       false},
      {"conv3d",
       {2, 3, 4, 6, 6},
       {4, 3, 3, 3, 3},
       {2, 4, 4, 6, 6},
       {ints("padding", {1, 1, 1})},
       true},
      {"conv3d_temporal",
       {1, 4, 5, 4, 4},
       {4, 4, 3, 1, 1},
       {1, 4, 3, 4, 4},
       {},
       false},
      {"conv1d", {2, 3, 10}, {4, 3, 3}, {2, 4, 8}, {}, false},
      // R(2+1)D's deep layers: one frame left under a 3-tap temporal
      // kernel (all but its centre tap read padding), and the strided
      // temporal and spatial convolutions that get there.
      {"conv3d_one_frame",
       {2, 8, 1, 4, 4},
       {8, 8, 3, 1, 1},
       {2, 8, 1, 4, 4},
       {ints("padding", {1, 0, 0})},
       false},
      {"conv3d_time_stride",
       {2, 8, 2, 4, 4},
       {8, 8, 3, 1, 1},
       {2, 8, 1, 4, 4},
       {ints("stride", {2, 1, 1}), ints("padding", {1, 0, 0})},
       false},
      {"conv3d_space_stride",
       {2, 4, 2, 8, 8},
       {6, 4, 1, 3, 3},
       {2, 6, 2, 4, 4},
       {ints("stride", {1, 2, 2}), ints("padding", {0, 1, 1})},
       false},
  };
  for (const ConvCase &c : convs)
    addConvCalls(t, c, add);

  // Pools: max and average (2-D padded, 3-D), global average. Windows
  // that overlap, tile the input (kernel == stride: the max gradient's own
  // kernel), or leave inputs uncovered: sizes not a multiple of the
  // stride, strides beyond the kernel.
  std::vector<PoolCase> pools = {
      {"pool2d",
       {2, 3, 9, 9},
       {2, 3, 5, 5},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"pool2d_plain", {2, 3, 8, 8}, {2, 3, 4, 4}, {ints("kernel", {2, 2})}},
      {"pool2d_remainder",
       {2, 3, 7, 9},
       {2, 3, 3, 4},
       {ints("kernel", {2, 2})}},
      {"pool2d_overlap_remainder",
       {2, 3, 8, 8},
       {2, 3, 3, 3},
       {ints("kernel", {3, 3}), ints("stride", {2, 2})}},
      {"pool2d_gaps",
       {1, 2, 8, 8},
       {1, 2, 3, 3},
       {ints("kernel", {2, 2}), ints("stride", {3, 3})}},
      {"pool1d", {2, 3, 11}, {2, 3, 5}, {ints("kernel", {2})}},
      {"pool3d", {1, 2, 4, 6, 6}, {1, 2, 2, 3, 3}, {ints("kernel", {2, 2, 2})}},
      {"pool3d_spatial",
       {1, 2, 3, 7, 6},
       {1, 2, 3, 3, 3},
       {ints("kernel", {1, 2, 2})}},
      {"pool3d_remainder",
       {1, 2, 5, 5, 7},
       {1, 2, 2, 2, 3},
       {ints("kernel", {2, 2, 2})}},
  };
  for (const PoolCase &p : pools)
    addPoolCalls(t, p, add);
  // Ties, signed zeros and NaN, tiled and overlapping windows.
  std::vector<PoolCase> tiePools = {
      {"2d", {2, 3, 7, 9}, {2, 3, 3, 4}, {ints("kernel", {2, 2})}},
      {"2d_overlap",
       {2, 3, 9, 9},
       {2, 3, 5, 5},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"3d", {1, 2, 3, 5, 7}, {1, 2, 3, 2, 3}, {ints("kernel", {1, 2, 2})}},
  };
  for (const PoolCase &p : tiePools)
    addMaxPoolTieCalls(t, p, add);
  // Ties: every window of a constant plane picks its first element.
  add("max_pool_ties_grad",
      {"var.max_pool_grad",
       {given(t, {1, 1, 4, 4}, {1.0f}), given(t, {1, 1, 2, 2}, {1.0f}),
        uniform(t, {1, 1, 2, 2})},
       {result(t, {1, 1, 4, 4})},
       {ints("kernel", {2, 2})},
       true});
  add("max_pool_ties_indices",
      {"var.max_pool_with_indices",
       {given(t, {1, 1, 4, 4}, {1.0f})},
       {result(t, {1, 1, 2, 2}), positions({1, 1, 2, 2}, 4)},
       {ints("kernel", {2, 2})},
       true});
  add("global_avg_pool", {"var.global_avg_pool",
                          {uniform(t, {4, 16, 7, 7})},
                          {result(t, {4, 16})}});
  add("global_avg_pool_keep", {"var.global_avg_pool",
                               {uniform(t, {2, 8, 3, 5, 5})},
                               {result(t, {2, 8, 1, 1, 1})},
                               {unit("keep_dims")}});
  add("global_avg_pool_grad", {"var.global_avg_pool_grad",
                               {uniform(t, {4, 16})},
                               {result(t, {4, 16, 7, 7})}});

  add("linear",
      {"var.linear",
       {uniform(t, {2, 3, 40}), uniform(t, {24, 40}, 0.3f), uniform(t, {24})},
       {result(t, {2, 3, 24})}});
  add("linear_nobias", {"var.linear",
                        {uniform(t, {16, 300}), uniform(t, {101, 300}, 0.2f)},
                        {result(t, {16, 101})}});
  add("linear_grad_input", {"var.linear_grad_input",
                            {uniform(t, {16, 101}), uniform(t, {101, 300})},
                            {result(t, {16, 300})}});
  add("linear_grad_weight", {"var.linear_grad_weight",
                             {uniform(t, {16, 300}), uniform(t, {16, 101})},
                             {result(t, {101, 300})}});

  // Batch norm: the compiler keeps weights and statistics in f32.
  Shape bn = {4, 6, 5, 5};
  Shape ch = {6};
  add("batch_norm", {"var.batch_norm",
                     {uniform(t, bn), uniform(f32, ch), uniform(f32, ch),
                      uniform(f32, ch, 0.5f), positive(f32, ch)},
                     {result(t, bn)},
                     {real("eps", 1e-5)}});
  add("batch_norm_train", {"var.batch_norm_train",
                           {uniform(t, bn), uniform(f32, ch), uniform(f32, ch),
                            uniform(f32, ch, 0.5f), positive(f32, ch)},
                           {result(t, bn), result(f32, ch), result(f32, ch),
                            result(f32, ch), result(f32, ch)},
                           {real("eps", 1e-3), real("momentum", 0.01)}});
  add("batch_norm_train_3d",
      {"var.batch_norm_train",
       {uniform(t, {2, 3, 4, 5, 5}), uniform(f32, {3}), uniform(f32, {3}),
        uniform(f32, {3}, 0.5f), positive(f32, {3})},
       {result(t, {2, 3, 4, 5, 5}), result(f32, {3}), result(f32, {3}),
        result(f32, {3}), result(f32, {3})}});
  add("batch_norm_grad", {"var.batch_norm_grad",
                          {uniform(t, bn), uniform(t, bn), uniform(f32, ch),
                           uniform(f32, ch, 0.5f), positive(f32, ch)},
                          {result(t, bn), result(f32, ch), result(f32, ch)}});
  add("batch_norm_frozen_grad",
      {"var.batch_norm_frozen_grad",
       {uniform(t, bn), uniform(t, bn), uniform(f32, ch),
        uniform(f32, ch, 0.5f), positive(f32, ch)},
       {result(t, bn), result(f32, ch), result(f32, ch)},
       {real("eps", 1e-3)}});
  // Every path of the sums and the elementwise passes: packs of one
  // channel's plane where spatial % 8 == 0 (wide, large, planes24), single
  // elements otherwise (narrow, and bn above); chunks over one sample's
  // plane (large: a block's stride inside a plane) and over several
  // samples (narrow, planes24: a stride of whole samples and a remainder),
  // many chunks a channel (large); rank 2, an (N, C) matrix read as rows,
  // packed (C % 8 == 0) or not.
  std::vector<std::pair<std::string, Shape>> norms = {
      {"_wide", {8, 3, 40, 40}},   {"_narrow", {600, 5, 3, 3}},
      {"_large", {64, 2, 56, 56}}, {"_planes24", {1000, 3, 4, 6}},
      {"_2d", {1000, 16}},         {"_2d_c5", {300, 5}},
  };
  for (const auto &[tag, x] : norms) {
    Shape c = {x[1]};
    add("batch_norm" + tag, {"var.batch_norm",
                             {uniform(t, x), uniform(f32, c), uniform(f32, c),
                              uniform(f32, c, 0.5f), positive(f32, c)},
                             {result(t, x)},
                             {real("eps", 1e-5)}});
    add("batch_norm_train" + tag,
        {"var.batch_norm_train",
         {uniform(t, x), uniform(f32, c), uniform(f32, c),
          uniform(f32, c, 0.5f), positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c), result(f32, c),
          result(f32, c)}});
    add("batch_norm_grad" + tag,
        {"var.batch_norm_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)}});
    add("batch_norm_frozen_grad" + tag,
        {"var.batch_norm_frozen_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)},
         {real("eps", 1e-3)}});
  }
  return cases;
}

TEST_P(CudaOpTest, MatchesCpu) {
  runCase(buildCases(GetParam().dtype), GetParam(),
          [&](const Call &call) { check(call); });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaOpTest,
                         ::testing::ValuesIn(allCasesOf(buildCases)),
                         caseTestName);

/// The backend for tests outside the parameterized suite.
class CudaOpRepeatTest : public CudaBackendTest<::testing::Test> {
protected:
  /// `call`'s results on the device.
  std::vector<HostTensor> run(const Call &call) {
    std::vector<HostTensor> operands = makeOperands(call);
    std::vector<HostTensor> results = makeResults(call);
    runOnDevice(*backend, call, operands, results);
    return results;
  }
  /// `a`'s results and `b`'s on the same operands, byte for byte.
  void expectSameBits(const Call &a, const Call &b) {
    std::vector<HostTensor> first = run(a), second = run(b);
    if (HasFatalFailure())
      return;
    for (size_t r = 0; r < first.size(); ++r)
      EXPECT_EQ(std::memcmp(first[r].view.data, second[r].view.data,
                            static_cast<size_t>(first[r].view.bytes())),
                0)
          << "result " << r << " differs";
  }
};

// The packed and one-element paths of the elementwise kernels give the
// same bits where the CPU comparison allows a tolerance (the
// transcendental activations, their gradients, the fused kernel): both
// compute each element with the same device function.
TEST_F(CudaOpRepeatTest, PackedAndOneElementPathsAgree) {
  Shape shape = {4, 8, 128};
  for (DType t : {DType::F32, DType::BF16}) {
    std::vector<Call> calls;
    for (const char *op : {"var.sigmoid", "var.silu", "var.hardswish"})
      calls.push_back({op, {uniform(t, shape, 8.0f)}, {result(t, shape)}});
    for (const char *op :
         {"var.sigmoid_grad", "var.silu_grad", "var.hardswish_grad"})
      calls.push_back({op,
                       {uniform(t, shape, 8.0f), uniform(t, shape)},
                       {result(t, shape)}});
    calls.push_back(
        {"var.fused_elementwise",
         {uniform(t, shape, 8.0f), uniform(t, shape)},
         {result(t, shape), result(t, shape)},
         {{"steps", std::vector<std::string>{"silu", "sigmoid", "sigmoid_grad",
                                             "hardswish", "hardswish_grad",
                                             "silu_grad", "relu6_grad"}},
          ints("args", {0, 2, 3, 1, 4, 5, 1, 6, 1, 7, 1}),
          ints("returns", {6, 2})}});
    for (const Call &call : calls) {
      SCOPED_TRACE(call.op + (t == DType::BF16 ? " in bf16" : " in f32"));
      expectSameBits(call, misaligned(call));
    }
  }
}

// reduce_sum's chunked sums (several chunks a result element, added in a
// fixed order) give the same bits run after run.
TEST_F(CudaOpRepeatTest, ReduceSumIsDeterministic) {
  const DType t = DType::BF16;
  std::vector<Call> calls = {
      {"var.reduce_sum",
       {uniform(t, {16384, 64})},
       {result(t, {64})},
       {ints("dims", {0})}},
      {"var.reduce_sum",
       {uniform(t, {8, 8, 96, 96})},
       {result(t, {8})},
       {ints("dims", {0, 2, 3})}},
      {"var.reduce_sum",
       {uniform(DType::F32, {1000000})},
       {result(DType::F32, {})},
       {ints("dims", {0})}},
  };
  for (const Call &call : calls) {
    SCOPED_TRACE(var::cpu::formatShape(call.operands[0].shape));
    expectSameBits(call, call);
  }
}

/// Every op that has a CPU kernel has a CUDA kernel too.
TEST(CudaOpTable, CoversTheCpuTable) {
  const auto &cuda = var::cuda::getCudaOps();
  for (const auto &[op, kernel] : var::cpu::getCpuOps()) {
    (void)kernel;
    EXPECT_EQ(cuda.count(op), 1u) << op << " has no CUDA kernel";
  }
}

} // namespace

namespace {

std::string failingCall() {
  VAR_CUDA_TRY(cudaSetDevice(-1));
  return {};
}

// A failed call names itself, its status and where it was made.
TEST(CudaCheck, NamesTheCallItsStatusAndPlace) {
  std::string message = failingCall();
  EXPECT_NE(message.find("cudaSetDevice(-1) failed: cudaError"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("CudaOpTest.cpp:"), std::string::npos) << message;
}

TEST(CudaOpTable, RejectsBadCallsAsTheCpuDoes) {
  expectCpuErrors({
      {"var.conv", {{1, 3, 8, 8}, {4, 2, 3, 3}}, {{1, 4, 6, 6}}, {}},
      {"var.max_pool",
       {{1, 2, 8, 8}},
       {{1, 2, 3, 3}},
       {ints("kernel", {2, 2})}},
      // f32 indices.
      {"var.max_pool_with_indices",
       {{1, 2, 8, 8}},
       {{1, 2, 4, 4}, {1, 2, 4, 4}},
       {ints("kernel", {2, 2})}},
      {"var.max_pool_grad_indices",
       {{1, 2, 4, 4}, {1, 2, 4, 4}},
       {{1, 2, 8, 8}},
       {ints("kernel", {2, 2})}},
      {"var.linear", {{2, 5}, {3, 4}}, {{2, 3}}, {}},
      {"var.add", {{2, 3}, {4}}, {{2, 3}}, {}},
      {"var.slice",
       {{4, 6}},
       {{4, 3}},
       {integer("axis", 1), integer("offset", 4), integer("size", 3)}},
      {"var.mean_time", {{5}}, {{5}}, {}},
      {"var.fused_elementwise",
       {{4}},
       {{4}},
       {{"steps", std::vector<std::string>{"tanh"}},
        ints("args", {0}),
        ints("returns", {0})}},
  });
}

} // namespace
