// layout-bench: the CUDA backend's convolution, batch-norm and pooling
// kernels timed channels-first against channels_last on the same shapes
// (R(2+1)D and MobileNetV2 layers), bf16 and f32: the mean of 20 calls
// after 3 warmups (the first also lets cuDNN measure its algorithms).
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaBackend.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace var;
using Shape = std::vector<int64_t>;

/// A tensor of a call by its channels-first shape; `activation`: (N, C,
/// spatial...) that channels_last lays out (N, spatial..., C).
struct Arg {
  Shape shape;
  bool activation = true;
  bool i8 = false; // max pooling's window positions
};

struct Case {
  std::string name, op;
  std::vector<Arg> operands, results;
  std::vector<plan::Attribute> attrs;
};

Shape layoutShape(const Arg &arg, bool channelsLast) {
  Shape shape = arg.shape;
  if (channelsLast && arg.activation && shape.size() >= 3) {
    shape.erase(shape.begin() + 1);
    shape.push_back(arg.shape[1]);
  }
  return shape;
}

/// Seconds a call of `c` takes in one layout and element type, or a
/// negative value after printing why it failed.
double timeCall(exec::Backend &backend, const Case &c, bool channelsLast,
                plan::DType dtype) {
  plan::Instruction inst;
  inst.op = c.op;
  inst.attributes = c.attrs;
  if (channelsLast)
    inst.attributes.push_back({"channels_last", true});
  cpu::OpCall call{inst, {}, {}, 0};
  std::vector<void *> buffers;
  auto release = [&] {
    for (void *buffer : buffers)
      backend.release(buffer);
  };
  for (size_t i = 0; i < c.operands.size() + c.results.size(); ++i) {
    bool isOperand = i < c.operands.size();
    const Arg &arg =
        isOperand ? c.operands[i] : c.results[i - c.operands.size()];
    // Batch-norm weights and statistics stay f32, as the compiler keeps them.
    cpu::TensorView view{arg.i8                  ? plan::DType::I8
                         : arg.shape.size() == 1 ? plan::DType::F32
                                                 : dtype,
                         layoutShape(arg, channelsLast), nullptr};
    std::vector<float> values(static_cast<size_t>(view.numel()));
    for (size_t k = 0; k < values.size(); ++k)
      values[k] = 0.5f + 0.25f * static_cast<float>((k * 7919) % 13) / 13.0f;
    std::vector<char> host(static_cast<size_t>(view.bytes()));
    cpu::TensorView hostView = view;
    hostView.data = host.data();
    cpu::writeFloats(values, hostView);
    if (std::string error = backend.allocate(view.bytes(), c.name, &view.data);
        !error.empty()) {
      std::printf("%s: %s\n", c.name.c_str(), error.c_str());
      release();
      return -1;
    }
    buffers.push_back(view.data);
    if (std::string error =
            backend.copyToDevice(view.data, host.data(), view.bytes());
        !error.empty()) {
      std::printf("%s: %s\n", c.name.c_str(), error.c_str());
      release();
      return -1;
    }
    (isOperand ? call.operands : call.results).push_back(view);
  }
  constexpr int kWarmup = 3, kCalls = 20;
  double seconds = -1;
  std::string error;
  for (int i = 0; i < kWarmup && error.empty(); ++i)
    error = backend.runOp(call);
  if (error.empty())
    error = backend.synchronize();
  if (error.empty()) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls && error.empty(); ++i)
      error = backend.runOp(call);
    if (error.empty())
      error = backend.synchronize();
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() /
        kCalls;
  }
  if (!error.empty()) {
    std::printf("%s (%s): %s\n", c.name.c_str(),
                channelsLast ? "channels-last" : "channels-first",
                error.c_str());
    seconds = -1;
  }
  release();
  return seconds;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  auto conv = [&](std::string name, Shape x, Shape w, Shape y,
                  std::vector<plan::Attribute> attrs) {
    Arg weight{w, false};
    all.push_back({name, "var.conv", {{x}, weight}, {{y}}, attrs});
    all.push_back(
        {name + " dx", "var.conv_grad_input", {{y}, weight}, {{x}}, attrs});
    all.push_back(
        {name + " dw", "var.conv_grad_weight", {{x}, {y}}, {weight}, attrs});
  };
  // R(2+1)D-18, layer 2 at 16x112x112 clips, batch 8.
  conv("r2plus1d spatial 1x3x3", {8, 64, 8, 28, 28}, {144, 64, 1, 3, 3},
       {8, 144, 8, 28, 28}, {{"padding", Shape{0, 1, 1}}});
  conv("r2plus1d temporal 3x1x1", {8, 144, 8, 28, 28}, {64, 144, 3, 1, 1},
       {8, 64, 8, 28, 28}, {{"padding", Shape{1, 0, 0}}});
  conv("conv3d 3x3x3", {8, 64, 8, 28, 28}, {64, 64, 3, 3, 3},
       {8, 64, 8, 28, 28}, {{"padding", Shape{1, 1, 1}}});
  // MobileNetV2 at 224x224, batch 64 (frames).
  conv("mobilenet depthwise 3x3", {64, 96, 56, 56}, {96, 1, 3, 3},
       {64, 96, 56, 56}, {{"padding", Shape{1, 1}}, {"groups", int64_t{96}}});
  conv("mobilenet pointwise 1x1", {64, 96, 56, 56}, {24, 96, 1, 1},
       {64, 24, 56, 56}, {});
  // Batch 128 at 56x56, 144 channels: where channels-last depthwise and
  // pointwise convolutions leave cuDNN (DepthwiseKernels.cu, cuBLAS).
  conv("mbv2 b128 dw 3x3 c144", {128, 144, 56, 56}, {144, 1, 3, 3},
       {128, 144, 56, 56},
       {{"padding", Shape{1, 1}}, {"groups", int64_t{144}}});
  conv("mbv2 b128 dw 3x3/2 c144", {128, 144, 56, 56}, {144, 1, 3, 3},
       {128, 144, 28, 28},
       {{"stride", Shape{2, 2}},
        {"padding", Shape{1, 1}},
        {"groups", int64_t{144}}});
  conv("mbv2 b128 pw 24->144", {128, 24, 56, 56}, {144, 24, 1, 1},
       {128, 144, 56, 56}, {});
  conv("vgg 3x3", {16, 128, 56, 56}, {128, 128, 3, 3}, {16, 128, 56, 56},
       {{"padding", Shape{1, 1}}});

  Shape bn = {64, 96, 56, 56}, ch = {96};
  Arg c{ch, false};
  all.push_back({"batch_norm_train",
                 "var.batch_norm_train",
                 {{bn}, c, c, c, c},
                 {{bn}, c, c, c, c},
                 {}});
  all.push_back({"batch_norm_grad",
                 "var.batch_norm_grad",
                 {{bn}, {bn}, c, c, c},
                 {{bn}, c, c},
                 {}});
  std::vector<plan::Attribute> pool = {{"kernel", Shape{3, 3}},
                                       {"stride", Shape{2, 2}},
                                       {"padding", Shape{1, 1}}};
  Shape px = {64, 64, 112, 112}, py = {64, 64, 56, 56};
  all.push_back({"max_pool 3x3/2", "var.max_pool", {{px}}, {{py}}, pool});
  all.push_back({"max_pool_grad 3x3/2",
                 "var.max_pool_grad",
                 {{px}, {py}, {py}},
                 {{px}},
                 pool});
  // vgg11_bn's first pool at 224x224, 64 frames: the input kept for
  // max_pool_grad against the i8 indices (zeros here: every window routes
  // to its first element).
  std::vector<plan::Attribute> tiles = {{"kernel", Shape{2, 2}}};
  Shape vx = {64, 64, 224, 224}, vy = {64, 64, 112, 112};
  Arg positions{vy, true, true};
  all.push_back({"vgg max_pool 2x2", "var.max_pool", {{vx}}, {{vy}}, tiles});
  all.push_back({"vgg max_pool_grad 2x2",
                 "var.max_pool_grad",
                 {{vx}, {vy}, {vy}},
                 {{vx}},
                 tiles});
  all.push_back({"vgg max_pool_with_indices 2x2",
                 "var.max_pool_with_indices",
                 {{vx}},
                 {{vy}, positions},
                 tiles});
  all.push_back({"vgg max_pool_grad_indices 2x2",
                 "var.max_pool_grad_indices",
                 {positions, {vy}},
                 {{vx}},
                 tiles});
  all.push_back({"global_avg_pool",
                 "var.global_avg_pool",
                 {{{64, 1280, 7, 7}}},
                 {{{64, 1280}, false}},
                 {}});
  return all;
}

} // namespace

int main() {
  std::string whyNot;
  std::unique_ptr<exec::Backend> backend = cuda::createCudaBackend(0, whyNot);
  if (!backend) {
    std::printf("no GPU: %s\n", whyNot.c_str());
    return 1;
  }
  std::printf("%-32s %-5s %12s %12s %8s\n", "op", "type", "NCHW ms", "NHWC ms",
              "speedup");
  for (plan::DType dtype : {plan::DType::BF16, plan::DType::F32})
    for (const Case &c : cases()) {
      double first = timeCall(*backend, c, false, dtype);
      double last = timeCall(*backend, c, true, dtype);
      std::printf("%-32s %-5s %12.3f %12.3f %8.2f\n", c.name.c_str(),
                  dtype == plan::DType::BF16 ? "bf16" : "f32", first * 1e3,
                  last * 1e3, first > 0 && last > 0 ? first / last : 0.0);
    }
  return 0;
}
