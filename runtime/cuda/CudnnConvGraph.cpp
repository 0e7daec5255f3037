#include "runtime/cuda/CudnnConvGraph.h"

#include "runtime/cuda/CudaCheck.h"

#include <algorithm>
#include <array>

namespace var::cuda {

struct ConvGraphDescriptors {
  std::vector<cudnnBackendDescriptor_t> all;
  ConvGraphDescriptors() = default;
  ConvGraphDescriptors(const ConvGraphDescriptors &) = delete;
  ConvGraphDescriptors &operator=(const ConvGraphDescriptors &) = delete;
  ~ConvGraphDescriptors() {
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      cudnnBackendDestroyDescriptor(*it);
  }
  std::string create(cudnnBackendDescriptorType_t type,
                     cudnnBackendDescriptor_t &descriptor) {
    VAR_CUDA_TRY(cudnnBackendCreateDescriptor(type, &descriptor));
    all.push_back(descriptor);
    return {};
  }
};

ConvGraphPlan::~ConvGraphPlan() {
  if (plan)
    cudnnBackendDestroyDescriptor(plan);
  if (config)
    cudnnBackendDestroyDescriptor(config);
}

namespace {

/// Destroys a descriptor that only one scope uses.
struct ScopedDescriptor {
  cudnnBackendDescriptor_t d = nullptr;
  ScopedDescriptor() = default;
  ScopedDescriptor(const ScopedDescriptor &) = delete;
  ScopedDescriptor &operator=(const ScopedDescriptor &) = delete;
  ~ScopedDescriptor() {
    if (d)
      cudnnBackendDestroyDescriptor(d);
  }
};

/// Tensors' unique ids in the graph and the variant pack.
constexpr int64_t kX = 1, kW = 2, kY = 3;
/// Data pointers are at least this aligned (the arena's and the
/// workspace's offsets are multiples of 256 bytes).
constexpr int64_t kAlignment = 16;

std::string describeTensor(ConvGraphDescriptors &d, int64_t uid,
                           cudnnDataType_t type,
                           const std::vector<int64_t> &dims,
                           const std::vector<int64_t> &strides,
                           cudnnBackendDescriptor_t &tensor) {
  if (std::string error = d.create(CUDNN_BACKEND_TENSOR_DESCRIPTOR, tensor);
      !error.empty())
    return error;
  int64_t alignment = kAlignment;
  auto rank = static_cast<int64_t>(dims.size());
  VAR_CUDA_TRY(cudnnBackendSetAttribute(tensor, CUDNN_ATTR_TENSOR_DATA_TYPE,
                                        CUDNN_TYPE_DATA_TYPE, 1, &type));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(tensor, CUDNN_ATTR_TENSOR_DIMENSIONS,
                                        CUDNN_TYPE_INT64, rank, dims.data()));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(tensor, CUDNN_ATTR_TENSOR_STRIDES,
                                        CUDNN_TYPE_INT64, rank,
                                        strides.data()));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(tensor, CUDNN_ATTR_TENSOR_UNIQUE_ID,
                                        CUDNN_TYPE_INT64, 1, &uid));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(tensor,
                                        CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT,
                                        CUDNN_TYPE_INT64, 1, &alignment));
  VAR_CUDA_TRY(cudnnBackendFinalize(tensor));
  return {};
}

std::string describeConvolution(ConvGraphDescriptors &d,
                                const ConvGraphShape &shape,
                                cudnnBackendDescriptor_t &conv) {
  if (std::string error = d.create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, conv);
      !error.empty())
    return error;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  auto dims = static_cast<int64_t>(shape.padding.size());
  VAR_CUDA_TRY(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE,
                                        CUDNN_TYPE_DATA_TYPE, 1, &compute));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE,
                                        CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(
      conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS,
                                        CUDNN_TYPE_INT64, dims,
                                        shape.dilation.data()));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES,
                               CUDNN_TYPE_INT64, dims, shape.stride.data()));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS,
                               CUDNN_TYPE_INT64, dims, shape.padding.data()));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS,
                               CUDNN_TYPE_INT64, dims, shape.padding.data()));
  VAR_CUDA_TRY(cudnnBackendFinalize(conv));
  return {};
}

/// The operation of `shape`'s direction over tensors x, w, y and `conv`.
std::string
describeOperation(ConvGraphDescriptors &d, const ConvGraphShape &shape,
                  cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t w,
                  cudnnBackendDescriptor_t y, cudnnBackendDescriptor_t conv,
                  cudnnBackendDescriptor_t &op) {
  struct Names {
    cudnnBackendDescriptorType_t type;
    cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
  };
  static const std::array<Names, 3> kNames = {{
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA},
  }};
  if (shape.direction < 0 || shape.direction > 2)
    return "convolution direction " + std::to_string(shape.direction) +
           " is not 0, 1 or 2";
  const Names &n = kNames[static_cast<size_t>(shape.direction)];
  if (std::string error = d.create(n.type, op); !error.empty())
    return error;
  float alpha = 1.0f, beta = 0.0f;
  for (auto [name, tensor] : {std::pair{n.x, x}, std::pair{n.w, w},
                              std::pair{n.y, y}, std::pair{n.conv, conv}})
    VAR_CUDA_TRY(cudnnBackendSetAttribute(
        op, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &tensor));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(op, n.alpha, CUDNN_TYPE_FLOAT, 1, &alpha));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(op, n.beta, CUDNN_TYPE_FLOAT, 1, &beta));
  VAR_CUDA_TRY(cudnnBackendFinalize(op));
  return {};
}

/// Whether the engine of `config` may run here: deterministic, no kernels
/// compiled at run time, and for f32 no tensor cores (TF32) or narrowed
/// inputs, as the legacy path's FMA math; its global index in `index`.
bool allowed(cudnnBackendDescriptor_t config, cudnnDataType_t dataType,
             int64_t &index) {
  ScopedDescriptor engine;
  if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR,
                                   &engine.d) != CUDNN_STATUS_SUCCESS)
    return false;
  int64_t count = 0;
  if (cudnnBackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_ENGINE,
                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &count,
                               &engine.d) != CUDNN_STATUS_SUCCESS)
    return false;
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  cudnnBackendBehaviorNote_t behaviors[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
  int64_t noteCount = 0, behaviorCount = 0;
  if (cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                               CUDNN_TYPE_NUMERICAL_NOTE,
                               CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &noteCount,
                               notes) != CUDNN_STATUS_SUCCESS ||
      cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE,
                               CUDNN_TYPE_BEHAVIOR_NOTE,
                               CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &behaviorCount,
                               behaviors) != CUDNN_STATUS_SUCCESS ||
      cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_GLOBAL_INDEX,
                               CUDNN_TYPE_INT64, 1, &count,
                               &index) != CUDNN_STATUS_SUCCESS)
    return false;
  for (int64_t i = 0; i < noteCount; ++i) {
    cudnnBackendNumericalNote_t note = notes[i];
    if (note == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC)
      return false;
    if (dataType == CUDNN_DATA_FLOAT &&
        (note == CUDNN_NUMERICAL_NOTE_TENSOR_CORE ||
         note == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS ||
         note == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION))
      return false;
  }
  for (int64_t i = 0; i < behaviorCount; ++i)
    if (behaviors[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION)
      return false;
  return true;
}

} // namespace

std::string
buildConvGraphPlans(cudnnHandle_t handle, const ConvGraphShape &shape,
                    size_t limit,
                    std::vector<std::unique_ptr<ConvGraphPlan>> &plans) {
  auto d = std::make_shared<ConvGraphDescriptors>();
  cudnnBackendDescriptor_t x, w, y, conv, op, graph, heuristics;
  if (std::string error =
          describeTensor(*d, kX, shape.dataType, shape.x, shape.xStrides, x);
      !error.empty())
    return error;
  if (std::string error =
          describeTensor(*d, kW, shape.dataType, shape.w, shape.wStrides, w);
      !error.empty())
    return error;
  if (std::string error =
          describeTensor(*d, kY, shape.dataType, shape.y, shape.yStrides, y);
      !error.empty())
    return error;
  if (std::string error = describeConvolution(*d, shape, conv); !error.empty())
    return error;
  if (std::string error = describeOperation(*d, shape, x, w, y, conv, op);
      !error.empty())
    return error;
  if (std::string error =
          d->create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, graph);
      !error.empty())
    return error;
  VAR_CUDA_TRY(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                        CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE,
                                        CUDNN_TYPE_HANDLE, 1, &handle));
  VAR_CUDA_TRY(cudnnBackendFinalize(graph));
  if (std::string error =
          d->create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, heuristics);
      !error.empty())
    return error;
  cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  VAR_CUDA_TRY(cudnnBackendSetAttribute(
      heuristics, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(heuristics, CUDNN_ATTR_ENGINEHEUR_MODE,
                                        CUDNN_TYPE_HEUR_MODE, 1, &mode));
  VAR_CUDA_TRY(cudnnBackendFinalize(heuristics));
  int64_t count = 0;
  VAR_CUDA_TRY(cudnnBackendGetAttribute(
      heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
      0, &count, nullptr));
  std::vector<cudnnBackendDescriptor_t> configs(
      static_cast<size_t>(std::max<int64_t>(count, 0)), nullptr);
  for (cudnnBackendDescriptor_t &config : configs)
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR,
                                     &config) != CUDNN_STATUS_SUCCESS)
      config = nullptr;
  int64_t returned = 0;
  cudnnStatus_t status = cudnnBackendGetAttribute(
      heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
      count, &returned, configs.data());
  for (size_t i = 0; i < configs.size(); ++i) {
    auto plan = std::make_unique<ConvGraphPlan>();
    plan->config = configs[i];
    if (!plan->config || status != CUDNN_STATUS_SUCCESS ||
        static_cast<int64_t>(i) >= returned || plans.size() >= limit ||
        !allowed(plan->config, shape.dataType, plan->engineIndex))
      continue; // destroys the configuration with the plan
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR,
                                     &plan->plan) != CUDNN_STATUS_SUCCESS)
      continue;
    int64_t got = 0;
    if (cudnnBackendSetAttribute(plan->plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE,
                                 CUDNN_TYPE_HANDLE, 1,
                                 &handle) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendSetAttribute(plan->plan,
                                 CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                 &plan->config) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendFinalize(plan->plan) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendGetAttribute(plan->plan,
                                 CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                 CUDNN_TYPE_INT64, 1, &got,
                                 &plan->workspace) != CUDNN_STATUS_SUCCESS)
      continue; // an engine the heuristics offer but this shape refuses
    plan->shared = d;
    plans.push_back(std::move(plan));
  }
  VAR_CUDA_TRY(status);
  return {};
}

std::string ConvGraphPlan::execute(cudnnHandle_t handle, void *x, void *w,
                                   void *y, void *workspaceMemory) const {
  for (void *data : {x, w, y, workspaceMemory})
    if (reinterpret_cast<uintptr_t>(data) % kAlignment != 0)
      return "a cuDNN graph plan got a tensor at " +
             std::to_string(reinterpret_cast<uintptr_t>(data)) +
             ", not 16-byte aligned";
  ScopedDescriptor pack;
  VAR_CUDA_TRY(cudnnBackendCreateDescriptor(
      CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack.d));
  int64_t uids[3] = {kX, kW, kY};
  void *pointers[3] = {x, w, y};
  VAR_CUDA_TRY(cudnnBackendSetAttribute(
      pack.d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids));
  VAR_CUDA_TRY(cudnnBackendSetAttribute(pack.d,
                                        CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                        CUDNN_TYPE_VOID_PTR, 3, pointers));
  VAR_CUDA_TRY(
      cudnnBackendSetAttribute(pack.d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE,
                               CUDNN_TYPE_VOID_PTR, 1, &workspaceMemory));
  VAR_CUDA_TRY(cudnnBackendFinalize(pack.d));
  VAR_CUDA_TRY(cudnnBackendExecute(handle, plan, pack.d));
  return {};
}

} // namespace var::cuda
