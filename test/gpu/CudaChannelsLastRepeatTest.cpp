// Properties of the CUDA channels_last kernels beyond matching the CPU
// (CudaOpChannelsLastTest): the depthwise and pointwise paths, the padded
// stems and batch norm repeat bit for bit, and the pool gradients write
// every element of their result. Without a GPU every case is skipped.
#include "runtime/cuda/CudaBackend.h"
#include "test/gpu/CudaOpCheck.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace var::gputest;
using var::exec::Backend;

/// The backend for cases outside the parameterized suite.
class CudaChannelsLastRepeatTest : public CudaBackendTest<::testing::Test> {};

// The depthwise kernels and the pointwise products give the same bits run
// after run (no atomics; the backward filter's chunks, lanes, ways and sums
// in a fixed order), on MobileNetV2-like shapes large enough for many
// chunks.
TEST_F(CudaChannelsLastRepeatTest, DepthwiseAndPointwiseAreDeterministic) {
  const DType t = DType::BF16;
  Shape x = {8, 28, 28, 96}, y = {8, 14, 14, 96}, dw = {96, 1, 3, 3};
  std::vector<Attribute> strided = {
      ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 96),
      unit("channels_last")};
  Shape p = {8, 28, 28, 144}, pw = {144, 96, 1, 1};
  std::vector<Attribute> last = {unit("channels_last")};
  // Stride 1 on the tile kernels with 54 (kh, pack) lanes of 4 ways.
  Shape q = {8, 14, 14, 144}, qw = {144, 1, 3, 3};
  std::vector<Attribute> padded = {
      ints("padding", {1, 1}), integer("groups", 144), unit("channels_last")};
  std::vector<Call> calls = {
      {"var.conv", {uniform(t, x), uniform(t, dw)}, {result(t, y)}, strided},
      {"var.conv_grad_input",
       {uniform(t, y), uniform(t, dw)},
       {result(t, x)},
       strided},
      {"var.conv_grad_weight",
       {uniform(t, x), uniform(t, y)},
       {result(t, dw)},
       strided},
      {"var.conv_grad_weight",
       {uniform(t, q), uniform(t, q)},
       {result(t, qw)},
       padded},
      {"var.conv", {uniform(t, x), uniform(t, pw)}, {result(t, p)}, last},
      {"var.conv_grad_weight",
       {uniform(t, x), uniform(t, p)},
       {result(t, pw)},
       last},
  };
  for (const Call &call : calls) {
    SCOPED_TRACE(call.op);
    std::vector<HostTensor> operands = makeOperands(call);
    std::vector<HostTensor> first = makeResults(call);
    std::vector<HostTensor> second = makeResults(call);
    runOnDevice(*backend, call, operands, first);
    runOnDevice(*backend, call, operands, second);
    if (HasFatalFailure())
      return;
    const TensorView &a = first[0].view, &b = second[0].view;
    EXPECT_EQ(std::memcmp(a.data, b.data, static_cast<size_t>(a.bytes())), 0)
        << "two runs differ";
  }
}

// A padded stem (ConvScratchKernels.h) gives the same bits run after run,
// forward, backward data and backward filter: vgg's 3 -> 64 and
// MobileNetV2's strided 3 -> 32 on enough images for cuDNN's large
// kernels.
TEST_F(CudaChannelsLastRepeatTest, PaddedStemIsDeterministic) {
  const DType t = DType::BF16;
  Shape x = {8, 56, 56, 3}, w = {64, 3, 3, 3}, y = {8, 56, 56, 64};
  Shape sw = {32, 3, 3, 3}, sy = {8, 28, 28, 32};
  std::vector<Attribute> padded = {ints("padding", {1, 1}),
                                   unit("channels_last")};
  std::vector<Attribute> strided = {
      ints("stride", {2, 2}), ints("padding", {1, 1}), unit("channels_last")};
  std::vector<Call> calls = {
      {"var.conv", {uniform(t, x), uniform(t, w)}, {result(t, y)}, padded},
      {"var.conv_grad_input",
       {uniform(t, y), uniform(t, w)},
       {result(t, x)},
       padded},
      {"var.conv_grad_weight",
       {uniform(t, x), uniform(t, y)},
       {result(t, w)},
       padded},
      {"var.conv", {uniform(t, x), uniform(t, sw)}, {result(t, sy)}, strided},
      {"var.conv_grad_weight",
       {uniform(t, x), uniform(t, sy)},
       {result(t, sw)},
       strided},
  };
  for (const Call &call : calls) {
    SCOPED_TRACE(call.op);
    std::vector<HostTensor> operands = makeOperands(call);
    std::vector<HostTensor> first = makeResults(call);
    std::vector<HostTensor> second = makeResults(call);
    runOnDevice(*backend, call, operands, first);
    runOnDevice(*backend, call, operands, second);
    if (HasFatalFailure())
      return;
    const TensorView &a = first[0].view, &b = second[0].view;
    EXPECT_EQ(std::memcmp(a.data, b.data, static_cast<size_t>(a.bytes())), 0)
        << "two runs differ";
  }
}

// Batch norm's sums (per-chunk partials, then a fixed order) give the same
// bits run after run, every result of each op: MobileNetV2-like shapes
// large enough for many chunks, packed (C = 32) and not (C = 12).
TEST_F(CudaChannelsLastRepeatTest, BatchNormIsDeterministic) {
  const DType t = DType::BF16, f32 = DType::F32;
  for (Shape x : {Shape{16, 56, 56, 32}, Shape{16, 28, 28, 12}}) {
    Shape c = {x.back()};
    std::vector<Attribute> last = {unit("channels_last")};
    std::vector<Call> calls = {
        {"var.batch_norm_train",
         {uniform(t, x), uniform(f32, c), uniform(f32, c),
          uniform(f32, c, 0.5f), positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c), result(f32, c),
          result(f32, c)},
         last},
        {"var.batch_norm_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)},
         last},
        {"var.batch_norm_frozen_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)},
         last},
    };
    for (const Call &call : calls) {
      SCOPED_TRACE(call.op + " C = " + std::to_string(x.back()));
      std::vector<HostTensor> operands = makeOperands(call);
      std::vector<HostTensor> first = makeResults(call);
      std::vector<HostTensor> second = makeResults(call);
      runOnDevice(*backend, call, operands, first);
      runOnDevice(*backend, call, operands, second);
      if (HasFatalFailure())
        return;
      for (size_t r = 0; r < first.size(); ++r) {
        const TensorView &a = first[r].view, &b = second[r].view;
        EXPECT_EQ(std::memcmp(a.data, b.data, static_cast<size_t>(a.bytes())),
                  0)
            << "two runs differ in result " << r;
      }
    }
  }
}

/// runOnDevice with the results' device memory first filled with 0xff bytes
/// (NaN in f32 and bf16) instead of zeros.
void runOnPoisonedResults(Backend &backend, const Call &call,
                          std::vector<HostTensor> &operands,
                          std::vector<HostTensor> &results) {
  var::plan::Instruction inst = makeInstruction(call);
  var::cpu::OpCall deviceCall{inst, {}, {}, nullptr};
  std::vector<DeviceBuffer> buffers;
  buffers.reserve(operands.size() + results.size());
  auto toDevice = [&](const HostTensor &t, bool poison) {
    int64_t bytes = t.view.bytes();
    std::vector<unsigned char> poisoned(poison ? bytes : 0, 0xff);
    buffers.emplace_back();
    ASSERT_EQ(buffers.back().allocate(backend, bytes, call.op), "");
    ASSERT_EQ(backend.copyToDevice(buffers.back().data(),
                                   poison ? poisoned.data() : t.view.data,
                                   bytes),
              "");
    TensorView view = t.view;
    view.data = buffers.back().data();
    (poison ? deviceCall.results : deviceCall.operands).push_back(view);
  };
  for (const HostTensor &t : operands)
    toDevice(t, false);
  for (const HostTensor &t : results)
    toDevice(t, true);
  if (::testing::Test::HasFatalFailure())
    return;
  ASSERT_EQ(backend.runOp(deviceCall), "") << "CUDA kernel of " << call.op;
  ASSERT_EQ(backend.synchronize(), "") << call.op;
  for (size_t r = 0; r < results.size(); ++r)
    ASSERT_EQ(backend.copyToHost(results[r].view.data,
                                 deviceCall.results[r].data,
                                 results[r].view.bytes()),
              "");
}

// The pools' backward kernels write every element of dx, zeros included:
// in a step dx is arena memory holding old values, where the parameterized
// cases start from zeros. Windows apart with gaps, remainders and padding
// (the vector kernels' blocks), overlapping, 3-D, and 5 channels (the
// scalar kernels).
TEST_F(CudaChannelsLastRepeatTest, PoolGradsWriteEveryElement) {
  std::vector<PoolCase> pools = {
      {"gaps_c8",
       {1, 8, 9, 8},
       {1, 3, 3, 8},
       {ints("kernel", {2, 2}), ints("stride", {3, 3})}},
      {"remainder_c16", {2, 9, 7, 16}, {2, 4, 3, 16}, {ints("kernel", {2, 2})}},
      {"s3_pad1_c8",
       {2, 10, 11, 8},
       {2, 4, 4, 8},
       {ints("kernel", {3, 3}), ints("stride", {3, 3}),
        ints("padding", {1, 1})}},
      {"overlap_c16",
       {2, 9, 10, 16},
       {2, 5, 5, 16},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"3d_remainder_c16",
       {2, 5, 5, 7, 16},
       {2, 2, 2, 3, 16},
       {ints("kernel", {2, 2, 2})}},
      {"gaps_c5",
       {1, 8, 8, 5},
       {1, 3, 3, 5},
       {ints("kernel", {2, 2}), ints("stride", {3, 3})}},
      {"remainder_c5", {2, 7, 9, 5}, {2, 3, 4, 5}, {ints("kernel", {2, 2})}},
  };
  for (DType t : {DType::F32, DType::BF16})
    for (const PoolCase &p : pools)
      addPoolCalls(t, p, [&](const std::string &name, Call call) {
        if (call.op != "var.max_pool_grad" && call.op != "var.avg_pool_grad" &&
            call.op != "var.max_pool_grad_indices")
          return;
        SCOPED_TRACE(name + (t == DType::BF16 ? " in bf16" : " in f32"));
        call.attributes.push_back(unit("channels_last"));
        std::vector<HostTensor> operands = makeOperands(call);
        std::vector<HostTensor> want = makeResults(call);
        std::vector<HostTensor> got = makeResults(call);
        runOnCpu(call, operands, want);
        runOnPoisonedResults(*backend, call, operands, got);
        if (!HasFatalFailure())
          expectAgree(call, want, got);
      });
}

} // namespace
