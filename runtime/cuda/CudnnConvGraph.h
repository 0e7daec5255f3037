// Convolutions through cuDNN's graph (backend) API: the engine
// configurations cuDNN's heuristics give for one convolution, as execution
// plans varrun can time against the legacy API's algorithms and run.
// The legacy cudnnFind* measures a fixed list of algorithms; the graph API
// reaches engines and knob settings it does not (R(2+1)D-18's (1,3,3)
// 64->144 filter gradient: 0.36 ms a call deterministic in PyTorch, which
// uses this API, against 0.49 ms for the legacy API's best deterministic
// algorithm on an H200). Only deterministic configurations are kept:
// varrun's runs are bit-reproducible.
#ifndef VAR_RUNTIME_CUDA_CUDNNCONVGRAPH_H
#define VAR_RUNTIME_CUDA_CUDNNCONVGRAPH_H

#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace var::cuda {

/// One convolution as the graph API takes it: the direction (0 forward, 1
/// backward data, 2 backward filter), the element type, and the dims and
/// strides of x (N, C, spatial...), w (K, C / groups, kernel...) and y
/// (N, K, spatial...); for the backward directions dx, dw and dy.
struct ConvGraphShape {
  int direction = 0;
  cudnnDataType_t dataType = CUDNN_DATA_BFLOAT16;
  std::vector<int64_t> x, xStrides, w, wStrides, y, yStrides;
  std::vector<int64_t> padding, stride, dilation;
};

/// Descriptors a convolution's plans share (tensors, convolution,
/// operation, operation graph), destroyed with the last plan.
struct ConvGraphDescriptors;

/// A finalized execution plan of one engine configuration.
class ConvGraphPlan {
public:
  ConvGraphPlan() = default;
  ConvGraphPlan(const ConvGraphPlan &) = delete;
  ConvGraphPlan &operator=(const ConvGraphPlan &) = delete;
  ~ConvGraphPlan();

  int64_t workspaceBytes() const { return workspace; }
  /// The engine's global index, for logs.
  int64_t engine() const { return engineIndex; }
  /// Runs the convolution on the stream `handle` is bound to: x, w and y
  /// as ConvGraphShape names them (the direction writes one of them).
  std::string execute(cudnnHandle_t handle, void *x, void *w, void *y,
                      void *workspaceMemory) const;

private:
  friend std::string
  buildConvGraphPlans(cudnnHandle_t handle, const ConvGraphShape &shape,
                      size_t limit,
                      std::vector<std::unique_ptr<ConvGraphPlan>> &plans);
  std::shared_ptr<ConvGraphDescriptors> shared;
  cudnnBackendDescriptor_t config = nullptr, plan = nullptr;
  int64_t workspace = 0, engineIndex = -1;
};

/// Appends to `plans` the configurations cuDNN's heuristics (mode A) give
/// for `shape`, in their order, at most `limit`, leaving out those that are
/// not deterministic, that compile kernels at run time (seconds each), or
/// that fail to finalize. An error only where the graph itself is refused.
std::string
buildConvGraphPlans(cudnnHandle_t handle, const ConvGraphShape &shape,
                    size_t limit,
                    std::vector<std::unique_ptr<ConvGraphPlan>> &plans);

} // namespace var::cuda

#endif
