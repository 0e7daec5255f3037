// Convolutions through cuDNN: forward, backward data and backward filter,
// 1-D to 3-D, grouped and depthwise, in f32 (FMA math: no TF32, to stay
// within f32 rounding of the CPU) and bf16 (tensor cores, f32 accumulation).
// Tensors are NCHW / NCDHW as the plan lays them out; the algorithm is the
// fastest deterministic one cuDNN measures, once per geometry. The bias is a
// separate kernel (bf16 results round twice; within a bf16 ulp).
#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;
using cpu::Window;

namespace {

/// The descriptors of one convolution, destroyed with it.
struct ConvDescriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnDataType_t dataType = CUDNN_DATA_FLOAT;
  ConvDescriptors() = default;
  ConvDescriptors(const ConvDescriptors &) = delete;
  ~ConvDescriptors() {
    if (x)
      cudnnDestroyTensorDescriptor(x);
    if (y)
      cudnnDestroyTensorDescriptor(y);
    if (w)
      cudnnDestroyFilterDescriptor(w);
    if (conv)
      cudnnDestroyConvolutionDescriptor(conv);
  }
};

std::string setTensor(cudnnTensorDescriptor_t desc, cudnnDataType_t type,
                      const std::vector<int> &dims) {
  std::vector<int> strides(dims.size());
  int stride = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= dims[d];
  }
  VAR_CUDA_TRY(cudnnSetTensorNdDescriptor(
      desc, type, static_cast<int>(dims.size()), dims.data(), strides.data()));
  return {};
}

/// Descriptors for window `w` over tensors of one element type; 1-D and
/// 2-D windows use 4-D descriptors, 3-D ones 5-D.
std::string describe(const Window &w, plan::DType dtype, size_t spatial,
                     ConvDescriptors &d) {
  d.dataType =
      dtype == plan::DType::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  int first = spatial == 3 ? 0 : 1; // window dimensions cuDNN sees
  auto narrow = [](int64_t v) { return static_cast<int>(v); };
  std::vector<int> x = {narrow(w.batch), narrow(w.inChannels)};
  std::vector<int> y = {narrow(w.batch), narrow(w.outChannels)};
  std::vector<int> k = {narrow(w.outChannels), narrow(w.inChannels / w.groups)};
  std::vector<int> pad, stride, dilation;
  for (int i = first; i < 3; ++i) {
    x.push_back(narrow(w.in[i]));
    y.push_back(narrow(w.out[i]));
    k.push_back(narrow(w.kernel[i]));
    pad.push_back(narrow(w.padding[i]));
    stride.push_back(narrow(w.stride[i]));
    dilation.push_back(narrow(w.dilation[i]));
  }
  VAR_CUDA_TRY(cudnnCreateTensorDescriptor(&d.x));
  VAR_CUDA_TRY(cudnnCreateTensorDescriptor(&d.y));
  VAR_CUDA_TRY(cudnnCreateFilterDescriptor(&d.w));
  VAR_CUDA_TRY(cudnnCreateConvolutionDescriptor(&d.conv));
  if (std::string error = setTensor(d.x, d.dataType, x); !error.empty())
    return error;
  if (std::string error = setTensor(d.y, d.dataType, y); !error.empty())
    return error;
  VAR_CUDA_TRY(cudnnSetFilterNdDescriptor(d.w, d.dataType, CUDNN_TENSOR_NCHW,
                                          static_cast<int>(k.size()),
                                          k.data()));
  VAR_CUDA_TRY(cudnnSetConvolutionNdDescriptor(
      d.conv, static_cast<int>(pad.size()), pad.data(), stride.data(),
      dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  VAR_CUDA_TRY(cudnnSetConvolutionGroupCount(d.conv, narrow(w.groups)));
  // Heuristics then offer f32 algorithms without TF32 only.
  VAR_CUDA_TRY(cudnnSetConvolutionMathType(
      d.conv,
      d.dataType == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
  return {};
}

/// Every tensor of the call in one element type cuDNN takes here.
std::string commonType(const OpCall &call, plan::DType &dtype) {
  dtype = call.results[0].dtype;
  ElementType type;
  if (std::string error = elementTypeOf(call.results[0], "result", type);
      !error.empty())
    return error;
  for (size_t i = 0; i < call.operands.size(); ++i)
    if (call.operands[i].dtype != dtype && i < 2)
      return "operand " + std::to_string(i) + " is " +
             std::string(plan::getDTypeName(call.operands[i].dtype)) +
             ", the result " + std::string(plan::getDTypeName(dtype)) +
             "; cuDNN convolutions take one element type";
  return {};
}

/// f32 must not use TF32 tensor cores; bf16 uses tensor cores.
bool mathAllowed(cudnnDataType_t dataType, cudnnMathType_t math) {
  if (dataType == CUDNN_DATA_FLOAT)
    return math == CUDNN_DEFAULT_MATH || math == CUDNN_FMA_MATH;
  return true;
}

/// Picks the fastest measured result of `perf` (count `found`, fastest
/// first) that succeeded, fits the workspace, is deterministic (the same
/// seed must give the same weights run after run, at every ZeRO stage) and
/// keeps f32 exact.
template <typename Perf>
std::string pickAlgorithm(const ConvDescriptors &d, const Perf *perf, int found,
                          size_t workspaceBytes, ConvAlgorithm &chosen) {
  for (int i = 0; i < found; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS &&
        perf[i].memory <= workspaceBytes &&
        perf[i].determinism == CUDNN_DETERMINISTIC &&
        mathAllowed(d.dataType, perf[i].mathType)) {
      chosen = {static_cast<int>(perf[i].algo), perf[i].memory,
                static_cast<int>(perf[i].mathType)};
      return {};
    }
  return "cuDNN offers no deterministic algorithm for this convolution";
}

enum class Direction { Forward, BackwardData, BackwardFilter };

/// The algorithm of this convolution in `direction`: measured by cuDNN
/// (cudnnFind*Ex, on the call's own tensors; it writes the output, which
/// the real call then overwrites) the first time a geometry is seen, the
/// context's cache after that. A bf16 convolution takes the chosen
/// algorithm's math type. `x`, `w`, `y`: input, filter, output, whichever
/// of them the direction reads or writes.
std::string chooseAlgorithm(CudaContext &ctx, const ConvDescriptors &d,
                            const Window &w, Direction direction, void *x,
                            void *filter, void *y, ConvAlgorithm &chosen) {
  std::string key = std::to_string(static_cast<int>(direction)) + "/" +
                    std::to_string(static_cast<int>(d.dataType));
  for (int64_t v : {w.batch, w.inChannels, w.outChannels, w.groups})
    key += "/" + std::to_string(v);
  for (const cpu::Dims *dims :
       {&w.in, &w.out, &w.kernel, &w.stride, &w.padding, &w.dilation})
    for (int64_t v : *dims)
      key += "/" + std::to_string(v);
  auto found = ctx.convAlgorithms.find(key);
  if (found != ctx.convAlgorithms.end()) {
    chosen = found->second;
  } else if (ctx.capturing) {
    // A search runs convolutions and waits for them: not in a recording.
    return "cuDNN would search an algorithm for a convolution first seen "
           "while the step is recorded as a graph";
  } else {
    constexpr int64_t kSearchWorkspace = int64_t(256) << 20;
    void *workspace = nullptr;
    if (std::string error = ctx.getWorkspace(kSearchWorkspace, &workspace);
        !error.empty())
      return error;
    size_t bytes = static_cast<size_t>(ctx.getWorkspaceBytes());
    int count = 0;
    std::string error;
    if (direction == Direction::Forward) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      VAR_CUDA_TRY(cudnnFindConvolutionForwardAlgorithmEx(
          ctx.cudnn, d.x, x, d.w, filter, d.conv, d.y, y,
          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf, workspace, bytes));
      error = pickAlgorithm(d, perf, count, bytes, chosen);
    } else if (direction == Direction::BackwardData) {
      cudnnConvolutionBwdDataAlgoPerf_t
          perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      VAR_CUDA_TRY(cudnnFindConvolutionBackwardDataAlgorithmEx(
          ctx.cudnn, d.w, filter, d.y, y, d.conv, d.x, x,
          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf, workspace,
          bytes));
      error = pickAlgorithm(d, perf, count, bytes, chosen);
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t
          perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      VAR_CUDA_TRY(cudnnFindConvolutionBackwardFilterAlgorithmEx(
          ctx.cudnn, d.x, x, d.y, y, d.conv, d.w, filter,
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf, workspace,
          bytes));
      error = pickAlgorithm(d, perf, count, bytes, chosen);
    }
    if (!error.empty())
      return error;
    ctx.convAlgorithms.emplace(key, chosen);
  }
  if (d.dataType != CUDNN_DATA_FLOAT)
    VAR_CUDA_TRY(cudnnSetConvolutionMathType(
        d.conv, static_cast<cudnnMathType_t>(chosen.mathType)));
  return {};
}

__global__ void addBiasKernel(void *y, int yType, const void *bias,
                              int biasType, int64_t channels, int64_t size,
                              int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t c = i / size % channels;
    storeFloat(y, yType, i,
               loadFloat(y, yType, i) + loadFloat(bias, biasType, c));
  }
}

/// What one cuDNN convolution call needs once its window is known: the
/// descriptors, the algorithm measured for the geometry and its workspace.
struct ConvSetup {
  ConvDescriptors d;
  ConvAlgorithm chosen;
  void *workspace = nullptr;
};

std::string setUpConv(CudaContext &ctx, const OpCall &call, const Window &w,
                      size_t spatial, Direction direction, void *x,
                      void *filter, void *y, ConvSetup &setup) {
  plan::DType dtype;
  if (std::string error = commonType(call, dtype); !error.empty())
    return error;
  if (std::string error = describe(w, dtype, spatial, setup.d); !error.empty())
    return error;
  if (std::string error = chooseAlgorithm(ctx, setup.d, w, direction, x, filter,
                                          y, setup.chosen);
      !error.empty())
    return error;
  return ctx.getWorkspace(static_cast<int64_t>(setup.chosen.memory),
                          &setup.workspace);
}

std::string convForwardOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, input.shape, weight.shape,
                                              result.shape, "result", w);
      !error.empty())
    return error;
  bool hasBias = call.operands.size() == 3;
  if (hasBias && call.operands[2].shape != cpu::Shape{w.outChannels})
    return "bias is " + cpu::formatShape(call.operands[2].shape) +
           ", expected (" + std::to_string(w.outChannels) + ")";
  ConvSetup c;
  if (std::string error =
          setUpConv(ctx, call, w, input.shape.size() - 2, Direction::Forward,
                    input.data, weight.data, result.data, c);
      !error.empty())
    return error;
  float one = 1.0f, zero = 0.0f;
  VAR_CUDA_TRY(cudnnConvolutionForward(
      ctx.cudnn, &one, c.d.x, input.data, c.d.w, weight.data, c.d.conv,
      static_cast<cudnnConvolutionFwdAlgo_t>(c.chosen.algo), c.workspace,
      c.chosen.memory, &zero, c.d.y, result.data));
  if (hasBias) {
    ElementType yType, biasType;
    if (std::string error = elementTypeOf(result, "result", yType);
        !error.empty())
      return error;
    if (std::string error = elementTypeOf(call.operands[2], "bias", biasType);
        !error.empty())
      return error;
    int64_t n = result.numel();
    addBiasKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        result.data, yType, call.operands[2].data, biasType, w.outChannels,
        cpu::product(w.out), n);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

std::string convGradInputOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, result.shape, weight.shape,
                                              grad.shape, "grad", w);
      !error.empty())
    return error;
  ConvSetup c;
  if (std::string error = setUpConv(ctx, call, w, result.shape.size() - 2,
                                    Direction::BackwardData, result.data,
                                    weight.data, grad.data, c);
      !error.empty())
    return error;
  float one = 1.0f, zero = 0.0f;
  VAR_CUDA_TRY(cudnnConvolutionBackwardData(
      ctx.cudnn, &one, c.d.w, weight.data, c.d.y, grad.data, c.d.conv,
      static_cast<cudnnConvolutionBwdDataAlgo_t>(c.chosen.algo), c.workspace,
      c.chosen.memory, &zero, c.d.x, result.data));
  return {};
}

std::string convGradWeightOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &grad = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, input.shape, result.shape,
                                              grad.shape, "grad", w);
      !error.empty())
    return error;
  ConvSetup c;
  if (std::string error = setUpConv(ctx, call, w, input.shape.size() - 2,
                                    Direction::BackwardFilter, input.data,
                                    result.data, grad.data, c);
      !error.empty())
    return error;
  float one = 1.0f, zero = 0.0f;
  VAR_CUDA_TRY(cudnnConvolutionBackwardFilter(
      ctx.cudnn, &one, c.d.x, input.data, c.d.y, grad.data, c.d.conv,
      static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.chosen.algo), c.workspace,
      c.chosen.memory, &zero, c.d.w, result.data));
  return {};
}

} // namespace

void registerConvOps(CudaOpTable &table) {
  table["var.conv"] = convForwardOp;
  table["var.conv_grad_input"] = convGradInputOp;
  table["var.conv_grad_weight"] = convGradWeightOp;
}

} // namespace var::cuda
