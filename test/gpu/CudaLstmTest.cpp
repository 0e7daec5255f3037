// The CUDA LSTM (var.lstm, var.lstm_grad) against the CPU reference, on
// random inputs, f32 and bf16, over several shapes: the cnn_lstm model's
// (batch 16, 8 steps, 1280 features, hidden 512), odd sizes, one step, no
// biases, mixed element types. Two device runs of a call must agree bit for
// bit. Without a GPU every case is skipped, and ctest counts it as skipped.
// VAR_LSTM_TIMING=1 also times the cnn_lstm layer (printed, not asserted).
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaOps.h"
#include "test/gpu/CudaOpCheck.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace {

using namespace var::gputest;
using var::exec::Backend;

/// One LSTM layer's sizes, and the element types of its tensors.
struct Layer {
  std::string name;
  int64_t batch, steps, features, hidden;
  bool biases = true;
  bool mixed = false; // f32 w_ih and biases beside a bf16 input and w_hh
};

const std::vector<Layer> &layers() {
  static const std::vector<Layer> all = {
      {"cnn_lstm", 16, 8, 1280, 512},
      {"small", 2, 3, 5, 4},
      {"odd", 3, 7, 37, 19},
      {"one_step", 5, 1, 13, 11},
      {"long", 2, 40, 6, 9},
      {"no_bias", 2, 4, 9, 6, false},
      {"mixed_types", 3, 5, 21, 10, true, true},
  };
  return all;
}

/// The forward (or, with `grad`, the backward) call of `layer` in compute
/// type `t`. Weights are drawn as PyTorch initializes them.
Call lstmCall(const Layer &layer, DType t, bool grad) {
  int64_t b = layer.batch, s = layer.steps, i = layer.features,
          h = layer.hidden;
  float scale = 1.0f / std::sqrt(static_cast<float>(h));
  DType weightType = layer.mixed ? DType::F32 : t;
  std::vector<Spec> operands = {uniform(t, {b, s, i}, 1.0f),
                                uniform(weightType, {4 * h, i}, scale),
                                uniform(t, {4 * h, h}, scale)};
  if (layer.biases) {
    operands.push_back(uniform(weightType, {4 * h}, scale));
    operands.push_back(uniform(weightType, {4 * h}, scale));
  }
  if (!grad)
    return {"var.lstm", operands, {result(t, {b, s, h}), result(t, {b, h})}};
  operands.push_back(uniform(t, {b, s, h}, 1.0f));
  operands.push_back(uniform(t, {b, h}, 1.0f));
  std::vector<Spec> results = {result(t, {b, s, i}),
                               result(weightType, {4 * h, i}),
                               result(t, {4 * h, h})};
  if (layer.biases) {
    results.push_back(result(weightType, {4 * h}));
    results.push_back(result(weightType, {4 * h}));
  }
  return {"var.lstm_grad", operands, results};
}

struct LstmCase {
  std::string layer;
  DType dtype;
  bool grad;
};
void PrintTo(const LstmCase &c, std::ostream *out) {
  *out << c.layer << (c.grad ? " backward" : " forward")
       << (c.dtype == DType::BF16 ? " in bf16" : " in f32");
}

std::vector<LstmCase> allCases() {
  std::vector<LstmCase> cases;
  for (const Layer &layer : layers())
    for (DType t : {DType::F32, DType::BF16})
      for (bool grad : {false, true})
        cases.push_back({layer.name, t, grad});
  return cases;
}

class CudaLstmTest
    : public CudaBackendTest<::testing::TestWithParam<LstmCase>> {};

TEST_P(CudaLstmTest, MatchesCpuAndRepeatsBitForBit) {
  const LstmCase &c = GetParam();
  const Layer *layer = nullptr;
  for (const Layer &candidate : layers())
    if (candidate.name == c.layer)
      layer = &candidate;
  ASSERT_NE(layer, nullptr) << c.layer;
  Call call = lstmCall(*layer, c.dtype, c.grad);
  std::vector<HostTensor> operands = makeOperands(call);
  std::vector<HostTensor> want = makeResults(call);
  std::vector<HostTensor> first = makeResults(call);
  std::vector<HostTensor> second = makeResults(call);
  ASSERT_NO_FATAL_FAILURE(runOnCpu(call, operands, want));
  ASSERT_NO_FATAL_FAILURE(runOnDevice(*backend, call, operands, first));
  ASSERT_NO_FATAL_FAILURE(runOnDevice(*backend, call, operands, second));
  expectAgree(call, want, first);
  for (size_t r = 0; r < first.size(); ++r)
    EXPECT_EQ(std::memcmp(first[r].view.data, second[r].view.data,
                          static_cast<size_t>(first[r].view.bytes())),
              0)
        << "result " << r << " differs between two runs";
}

INSTANTIATE_TEST_SUITE_P(Lstm, CudaLstmTest, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<LstmCase> &info) {
                           const LstmCase &c = info.param;
                           return c.layer + (c.grad ? "_grad" : "") +
                                  (c.dtype == DType::BF16 ? "_bf16" : "_f32");
                         });

TEST(CudaLstmCheck, RejectsBadCallsAsTheCpuDoes) {
  expectCpuErrors({
      {"var.lstm",
       {{2, 3, 5}, {16, 5}, {16, 3}, {16}, {16}},
       {{2, 3, 4}, {2, 4}}},
      {"var.lstm",
       {{2, 3, 5}, {16, 5}, {16, 4}, {12}, {16}},
       {{2, 3, 4}, {2, 4}}},
      {"var.lstm", {{2, 3, 5}, {16, 5}, {16, 4}, {16}, {16}}, {{2, 3, 4}}},
      {"var.lstm_grad",
       {{2, 3, 5}, {16, 5}, {16, 4}, {16}, {16}, {2, 3, 4}, {2, 5}},
       {{2, 3, 5}, {16, 5}, {16, 4}, {16}, {16}}},
      {"var.lstm_grad",
       {{2, 3, 5}, {16, 5}, {16, 4}, {16}, {16}, {2, 3, 4}, {2, 4}},
       {{2, 3, 5}, {16, 5}, {16, 4}, {16}}},
  });
}

/// Device tensors for one call, drawn as lstmCall says.
struct DeviceCall {
  Call call;
  var::plan::Instruction inst;
  std::vector<HostTensor> host;
  std::vector<var::exec::DeviceBuffer> buffers;
  std::vector<TensorView> operands, results;

  DeviceCall(Backend &backend, Call from) : call(std::move(from)) {
    inst = makeInstruction(call);
    host = makeOperands(call);
    for (HostTensor &t : makeResults(call))
      host.push_back(std::move(t));
    buffers.resize(host.size());
    for (size_t k = 0; k < host.size(); ++k) {
      TensorView view = host[k].view;
      EXPECT_EQ(buffers[k].allocate(backend, view.bytes(), call.op), "");
      view.data = buffers[k].data();
      EXPECT_EQ(
          backend.copyToDevice(view.data, host[k].view.data, view.bytes()), "");
      (k < call.operands.size() ? operands : results).push_back(view);
    }
  }
  std::string run(Backend &backend) {
    var::cpu::OpCall op{inst, operands, results, nullptr};
    return backend.runOp(op);
  }
};

// Forward and backward of the cnn_lstm layer, as the training step runs
// them (the backward recomputes the forward): mean time over many calls.
TEST(CudaLstmTiming, TimesTheCnnLstmLayer) {
  if (!std::getenv("VAR_LSTM_TIMING"))
    GTEST_SKIP() << "set VAR_LSTM_TIMING=1 to time the cnn_lstm layer";
  std::string whyNot;
  std::unique_ptr<Backend> backend = var::cuda::createCudaBackend(0, whyNot);
  if (!backend)
    GTEST_SKIP() << "no GPU to time the CUDA backend on: " << whyNot;
  const Layer &layer = layers().front();
  for (DType t : {DType::BF16, DType::F32}) {
    DeviceCall forward(*backend, lstmCall(layer, t, false));
    DeviceCall backward(*backend, lstmCall(layer, t, true));
    auto time = [&](bool withBackward, int calls) {
      for (int k = 0; k < calls; ++k) {
        EXPECT_EQ(forward.run(*backend), "");
        if (withBackward) {
          EXPECT_EQ(backward.run(*backend), "");
        }
      }
      EXPECT_EQ(backend->synchronize(), "");
    };
    time(true, 20); // warm up: workspace, cuBLAS heuristics
    constexpr int kCalls = 200;
    double microseconds[2];
    for (bool withBackward : {false, true}) {
      auto start = std::chrono::steady_clock::now();
      time(withBackward, kCalls);
      std::chrono::duration<double, std::micro> spent =
          std::chrono::steady_clock::now() - start;
      microseconds[withBackward] = spent.count() / kCalls;
    }
    std::printf(
        "LSTM timing %s B=%lld T=%lld I=%lld H=%lld: forward %.1f us, "
        "forward+backward %.1f us\n",
        t == DType::BF16 ? "bf16" : "f32", static_cast<long long>(layer.batch),
        static_cast<long long>(layer.steps),
        static_cast<long long>(layer.features),
        static_cast<long long>(layer.hidden), microseconds[0], microseconds[1]);
  }
}

} // namespace
