#include "runtime/cuda/ConvSearch.h"

#include "runtime/cuda/CudaCheck.h"

#include <algorithm>

namespace var::cuda {

using cpu::Window;

namespace {

/// The strides of a packed (N, C, spatial...) tensor, its memory
/// NCHW-ordered or, when `channelsLast`, NHWC-ordered (C the fastest
/// dimension).
template <typename Int>
std::vector<Int> packedStrides(const std::vector<Int> &dims,
                               bool channelsLast) {
  std::vector<Int> strides(dims.size());
  Int stride = 1;
  if (channelsLast) {
    strides[1] = 1;
    stride = dims[1];
    for (size_t d = dims.size(); d-- > 2;) {
      strides[d] = stride;
      stride *= dims[d];
    }
    strides[0] = stride;
  } else {
    for (size_t d = dims.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= dims[d];
    }
  }
  return strides;
}

/// A packed tensor descriptor (see packedStrides).
std::string setTensor(cudnnTensorDescriptor_t desc, cudnnDataType_t type,
                      const std::vector<int> &dims, bool channelsLast) {
  std::vector<int> strides = packedStrides(dims, channelsLast);
  VAR_CUDA_TRY(cudnnSetTensorNdDescriptor(
      desc, type, static_cast<int>(dims.size()), dims.data(), strides.data()));
  return {};
}

/// f32 must not use TF32 tensor cores; bf16 uses tensor cores.
bool mathAllowed(cudnnDataType_t dataType, cudnnMathType_t math) {
  if (dataType == CUDNN_DATA_FLOAT)
    return math == CUDNN_DEFAULT_MATH || math == CUDNN_FMA_MATH;
  return true;
}

/// Picks, among the results of `perf` (count `found`, fastest first) that
/// succeeded, fit the workspace, are deterministic (the same seed must give
/// the same weights run after run, at every ZeRO stage) and keep f32 exact,
/// the one using the least workspace of those within 5% of the fastest:
/// the workspace stays allocated for the whole run.
template <typename Perf>
std::string pickAlgorithm(const ConvDescriptors &d, const Perf *perf, int found,
                          size_t workspaceBytes, ConvAlgorithm &chosen) {
  const Perf *best = nullptr;
  float fastest = 0;
  for (int i = 0; i < found; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS ||
        perf[i].memory > workspaceBytes ||
        perf[i].determinism != CUDNN_DETERMINISTIC ||
        !mathAllowed(d.dataType, perf[i].mathType))
      continue;
    if (!best)
      fastest = perf[i].time;
    else if (perf[i].time > fastest * 1.05f)
      break;
    if (!best || perf[i].memory < best->memory)
      best = &perf[i];
  }
  if (!best)
    return "cuDNN offers no deterministic algorithm for this convolution";
  chosen = {static_cast<int>(best->algo), best->memory,
            static_cast<int>(best->mathType)};
  return {};
}

/// Measures this convolution in `direction` with cudnnFind*Ex on the
/// call's own tensors (it writes the output, which the real call then
/// overwrites) and picks from what it found. `x`, `filter`, `y`: input,
/// filter (as cuDNN reads it) and output.
std::string findAlgorithm(CudaContext &ctx, const ConvDescriptors &d,
                          Direction direction, void *x, void *filter, void *y,
                          void *workspace, size_t bytes,
                          ConvAlgorithm &chosen) {
  int count = 0;
  if (direction == Direction::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    VAR_CUDA_TRY(cudnnFindConvolutionForwardAlgorithmEx(
        ctx.cudnn, d.x, x, d.w, filter, d.conv, d.y, y,
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf, workspace, bytes));
    return pickAlgorithm(d, perf, count, bytes, chosen);
  }
  if (direction == Direction::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t
        perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    VAR_CUDA_TRY(cudnnFindConvolutionBackwardDataAlgorithmEx(
        ctx.cudnn, d.w, filter, d.y, y, d.conv, d.x, x,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf, workspace, bytes));
    return pickAlgorithm(d, perf, count, bytes, chosen);
  }
  cudnnConvolutionBwdFilterAlgoPerf_t
      perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  VAR_CUDA_TRY(cudnnFindConvolutionBackwardFilterAlgorithmEx(
      ctx.cudnn, d.x, x, d.y, y, d.conv, d.w, filter,
      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf, workspace, bytes));
  return pickAlgorithm(d, perf, count, bytes, chosen);
}

/// The median of 5 timed runs of `c` after one untimed, in milliseconds.
std::string timeConv(CudaContext &ctx, const ConvSetup &c, Direction direction,
                     void *y, float &ms) {
  cudaEvent_t marks[6] = {};
  std::string error;
  for (cudaEvent_t &mark : marks)
    if (error.empty() && !succeeded(cudaEventCreate(&mark)))
      error = "cudaEventCreate failed timing a convolution";
  if (error.empty())
    error = runConv(ctx, c, direction, y);
  for (int i = 0; error.empty() && i < 6; ++i) {
    if (i > 0)
      error = runConv(ctx, c, direction, y);
    if (error.empty() && !succeeded(cudaEventRecord(marks[i], ctx.stream)))
      error = "cudaEventRecord failed timing a convolution";
  }
  float runs[5] = {};
  if (error.empty() && !succeeded(cudaEventSynchronize(marks[5])))
    error = "a convolution failed while it was timed";
  for (int i = 0; error.empty() && i < 5; ++i)
    cudaEventElapsedTime(&runs[i], marks[i], marks[i + 1]);
  for (cudaEvent_t mark : marks)
    if (mark)
      cudaEventDestroy(mark);
  std::sort(runs, runs + 5);
  ms = runs[2];
  return error;
}

/// Whether cuDNN's graph API is tried for `setup`: bf16 with one group.
bool graphEligible(const ConvSetup &setup, const CudnnGeometry &g) {
  return setup.d.dataType == CUDNN_DATA_BFLOAT16 && g.groups == 1;
}

/// The convolution of `g` and `direction` as the graph API takes it.
ConvGraphShape graphShapeOf(const CudnnGeometry &g, Direction direction,
                            cudnnDataType_t dataType) {
  ConvGraphShape shape;
  shape.direction = static_cast<int>(direction);
  shape.dataType = dataType;
  auto dims = [](std::vector<int64_t> v, const std::vector<int> &rest) {
    v.insert(v.end(), rest.begin(), rest.end());
    return v;
  };
  shape.x = dims({g.batch, g.inChannels}, g.in);
  shape.y = dims({g.batch, g.outChannels}, g.out);
  shape.w = dims({g.outChannels, g.inChannels}, g.kernel);
  shape.xStrides = packedStrides(shape.x, g.channelsLast);
  shape.yStrides = packedStrides(shape.y, g.channelsLast);
  shape.wStrides = packedStrides(shape.w, g.channelsLast);
  shape.padding.assign(g.padding.begin(), g.padding.end());
  shape.stride.assign(g.stride.begin(), g.stride.end());
  shape.dilation.assign(g.dilation.begin(), g.dilation.end());
  return shape;
}

/// Measures the engines cuDNN's graph API offers for an eligible `setup`
/// (graphEligible) against the legacy algorithm already in setup.chosen
/// (none under ConvEngines::Graph) and takes a graph plan where it is 3%
/// faster, or under ConvEngines::Graph where it runs at all; of the graph
/// plans within 5% of the fastest, the one with the least workspace. The
/// legacy algorithm stays beside a chosen plan (for tensors off the
/// plans' 16-byte alignment), the workspace sized for both.
std::string chooseGraphPlan(CudaContext &ctx, ConvSetup &setup,
                            const CudnnGeometry &g, Direction direction,
                            void *y, size_t bytes) {
  bool graphOnly = ctx.convEngines == ConvEngines::Graph;
  std::vector<std::unique_ptr<ConvGraphPlan>> plans;
  std::string error = buildConvGraphPlans(
      ctx.cudnn, graphShapeOf(g, direction, setup.d.dataType), 16, plans);
  if (!error.empty())
    return graphOnly ? error : std::string();
  float legacyMs = 0;
  if (!graphOnly) {
    VAR_CUDA_TRY(cudnnSetConvolutionMathType(
        setup.d.conv, static_cast<cudnnMathType_t>(setup.chosen.mathType)));
    if ((error = timeConv(ctx, setup, direction, y, legacyMs)); !error.empty())
      return error;
  }
  std::vector<float> ms(plans.size(), -1.0f);
  float fastest = -1.0f;
  ConvSetup trial; // setup's tensors and workspace, each plan in turn
  trial.x = setup.x;
  trial.filter = setup.filter;
  trial.workspace = setup.workspace;
  trial.chosen.graph = static_cast<int>(ctx.convGraphPlans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    if (static_cast<size_t>(plans[i]->workspaceBytes()) > bytes)
      continue;
    ctx.convGraphPlans.push_back(std::move(plans[i]));
    error = timeConv(ctx, trial, direction, y, ms[i]);
    plans[i] = std::move(ctx.convGraphPlans.back());
    ctx.convGraphPlans.pop_back();
    if (!error.empty())
      ms[i] = -1.0f; // an engine that fails on these tensors
    else if (fastest < 0 || ms[i] < fastest)
      fastest = ms[i];
  }
  int best = -1;
  for (size_t i = 0; i < plans.size(); ++i)
    if (ms[i] >= 0 && ms[i] <= fastest * 1.05f &&
        (best < 0 || plans[i]->workspaceBytes() <
                         plans[static_cast<size_t>(best)]->workspaceBytes()))
      best = static_cast<int>(i);
  if (best < 0)
    return graphOnly ? "cuDNN's graph API offers no deterministic engine "
                       "that runs this convolution"
                     : "";
  if (!graphOnly && ms[static_cast<size_t>(best)] > legacyMs * 0.97f)
    return {};
  auto &plan = plans[static_cast<size_t>(best)];
  setup.chosen.memory = std::max(setup.chosen.memory,
                                 static_cast<size_t>(plan->workspaceBytes()));
  setup.chosen.graph = static_cast<int>(ctx.convGraphPlans.size());
  ctx.convGraphPlans.push_back(std::move(plan));
  return {};
}

} // namespace

/// The plan's window as cuDNN sees it. Channels-first: 1-D and 2-D
/// windows as 2-D (4-D descriptors), 3-D ones as 3-D. Channels-last: a
/// 3-D window that only slides over (H, W) (kernel, stride 1 and no
/// padding along D) is a 2-D convolution over N * D images (N, D, H, W, C)
/// = (N * D, H, W, C); one that only slides over D is a 2-D (k, 1)
/// convolution over (N, D, H * W, C). These are R(2+1)D's convolutions,
/// and cuDNN's 2-D NHWC kernels are its fastest; other 3-D windows stay
/// 3-D (5-D descriptors). The input channels are cudnnInputChannels's
/// (zero-padded for a few channels in `dtype`).
CudnnGeometry cudnnGeometryOf(const Window &w, size_t spatial,
                              plan::DType dtype) {
  auto narrow = [](int64_t v) { return static_cast<int>(v); };
  CudnnGeometry g;
  g.channelsLast = w.channelsLast;
  g.batch = narrow(w.batch);
  g.inChannels = narrow(cudnnInputChannels(w, dtype));
  g.outChannels = narrow(w.outChannels);
  g.groups = narrow(w.groups);
  auto push = [&](int64_t in, int64_t out, int64_t kernel, int64_t padding,
                  int64_t stride, int64_t dilation) {
    g.in.push_back(narrow(in));
    g.out.push_back(narrow(out));
    g.kernel.push_back(narrow(kernel));
    g.padding.push_back(narrow(padding));
    g.stride.push_back(narrow(stride));
    g.dilation.push_back(narrow(dilation));
  };
  auto pushDim = [&](int d) {
    push(w.in[d], w.out[d], w.kernel[d], w.padding[d], w.stride[d],
         w.dilation[d]);
  };
  auto onlyPoints = [&](int d) { // the window does not slide along d
    return w.kernel[d] == 1 && w.stride[d] == 1 && w.padding[d] == 0;
  };
  if (spatial == 3 && w.channelsLast && onlyPoints(0)) {
    g.batch = narrow(w.batch * w.in[0]);
    pushDim(1);
    pushDim(2);
  } else if (spatial == 3 && w.channelsLast && onlyPoints(1) && onlyPoints(2)) {
    pushDim(0);
    int64_t plane = w.in[1] * w.in[2];
    push(plane, plane, 1, 0, 1, 1);
  } else {
    for (int d = spatial == 3 ? 0 : 1; d < 3; ++d)
      pushDim(d);
  }
  return g;
}

/// Descriptors of geometry `g` over tensors of one element type. The
/// filter of a channels-last convolution is described NHWC (KRSC): see
/// ConvScratch for why and how the plan's (O, I/groups, k...) weight gets
/// there.
std::string describe(const CudnnGeometry &g, plan::DType dtype,
                     ConvDescriptors &d) {
  d.dataType =
      dtype == plan::DType::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  std::vector<int> x = {g.batch, g.inChannels};
  std::vector<int> y = {g.batch, g.outChannels};
  std::vector<int> k = {g.outChannels, g.inChannels / g.groups};
  x.insert(x.end(), g.in.begin(), g.in.end());
  y.insert(y.end(), g.out.begin(), g.out.end());
  k.insert(k.end(), g.kernel.begin(), g.kernel.end());
  VAR_CUDA_TRY(cudnnCreateTensorDescriptor(&d.x));
  VAR_CUDA_TRY(cudnnCreateTensorDescriptor(&d.y));
  VAR_CUDA_TRY(cudnnCreateFilterDescriptor(&d.w));
  VAR_CUDA_TRY(cudnnCreateConvolutionDescriptor(&d.conv));
  if (std::string error = setTensor(d.x, d.dataType, x, g.channelsLast);
      !error.empty())
    return error;
  if (std::string error = setTensor(d.y, d.dataType, y, g.channelsLast);
      !error.empty())
    return error;
  VAR_CUDA_TRY(cudnnSetFilterNdDescriptor(
      d.w, d.dataType, g.channelsLast ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
      static_cast<int>(k.size()), k.data()));
  VAR_CUDA_TRY(cudnnSetConvolutionNdDescriptor(
      d.conv, static_cast<int>(g.padding.size()), g.padding.data(),
      g.stride.data(), g.dilation.data(), CUDNN_CROSS_CORRELATION,
      CUDNN_DATA_FLOAT));
  VAR_CUDA_TRY(cudnnSetConvolutionGroupCount(d.conv, g.groups));
  // Heuristics then offer f32 algorithms without TF32 only.
  VAR_CUDA_TRY(cudnnSetConvolutionMathType(
      d.conv,
      d.dataType == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
  return {};
}

/// The algorithm cache's key: direction, type and the geometry as cuDNN
/// sees it (layout, folded batch and dimensions, padded channels included:
/// a stem padded to 8 channels shares the algorithm of an 8-channel input).
std::string algorithmKey(const ConvDescriptors &d, const CudnnGeometry &g,
                         Direction direction) {
  std::string key = std::to_string(static_cast<int>(direction)) + "/" +
                    std::to_string(static_cast<int>(d.dataType)) +
                    (g.channelsLast ? "/nhwc" : "/nchw");
  for (int v : {g.batch, g.inChannels, g.outChannels, g.groups})
    key += "/" + std::to_string(v);
  for (const std::vector<int> *dims :
       {&g.in, &g.out, &g.kernel, &g.stride, &g.padding, &g.dilation}) {
    key += ":";
    for (int v : *dims)
      key += std::to_string(v) + ",";
  }
  return key;
}

/// Points `setup` at the plan's `x` and `filter` or at their copies in the
/// workspace starting at `base` (ConvScratch's layout), cuDNN's part after
/// them, and fills the copies that `direction` reads.
std::string placeScratch(CudaContext &ctx, ConvSetup &setup,
                         Direction direction, void *base, void *x,
                         void *filter) {
  const ConvScratch &s = setup.scratch;
  char *at = static_cast<char *>(base);
  setup.filter = s.filterCopy ? at : filter;
  setup.x = s.channelPadding ? at + s.filterBytes() : x;
  setup.workspace = at + s.reservedBytes();
  if (s.filterCopy && direction != Direction::BackwardFilter)
    if (std::string error = toCudnnFilter(ctx, s, filter, setup.filter);
        !error.empty())
      return error;
  if (s.channelPadding && direction != Direction::BackwardData)
    return padChannels(ctx, s, x, setup.x);
  return {};
}

/// Runs the convolution `c` describes in `direction`: its graph-API plan
/// where its tensors are 16-byte aligned (always under ConvEngines::Graph,
/// which has no legacy algorithm), else its legacy algorithm. `y`: the
/// output (forward) or the gradient dY.
std::string runConv(CudaContext &ctx, const ConvSetup &c, Direction direction,
                    void *y) {
  bool aligned = true;
  for (const void *data : std::initializer_list<const void *>{c.x, c.filter, y})
    aligned = aligned && reinterpret_cast<uintptr_t>(data) % 16 == 0;
  if (c.chosen.graph >= 0 && (aligned || ctx.convEngines == ConvEngines::Graph))
    return ctx.convGraphPlans[static_cast<size_t>(c.chosen.graph)]->execute(
        ctx.cudnn, c.x, c.filter, y, c.workspace);
  float one = 1.0f, zero = 0.0f;
  if (direction == Direction::Forward)
    VAR_CUDA_TRY(cudnnConvolutionForward(
        ctx.cudnn, &one, c.d.x, c.x, c.d.w, c.filter, c.d.conv,
        static_cast<cudnnConvolutionFwdAlgo_t>(c.chosen.algo), c.workspace,
        c.chosen.memory, &zero, c.d.y, y));
  else if (direction == Direction::BackwardData)
    VAR_CUDA_TRY(cudnnConvolutionBackwardData(
        ctx.cudnn, &one, c.d.w, c.filter, c.d.y, y, c.d.conv,
        static_cast<cudnnConvolutionBwdDataAlgo_t>(c.chosen.algo), c.workspace,
        c.chosen.memory, &zero, c.d.x, c.x));
  else
    VAR_CUDA_TRY(cudnnConvolutionBackwardFilter(
        ctx.cudnn, &one, c.d.x, c.x, c.d.y, y, c.d.conv,
        static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.chosen.algo),
        c.workspace, c.chosen.memory, &zero, c.d.w, c.filter));
  return {};
}

/// Measures the convolution `setup` describes (first sight of its
/// geometry) into setup.chosen, on the copies cuDNN will read and write.
/// The device is quiesced first (see CudaContext::quiesce). The fast
/// algorithms of large convolutions need a few hundred MiB (R(2+1)D-18's
/// (1,3,3) convolutions channels-first: 319 MiB, 100x faster backward data
/// than the best within 256 MiB, on an H100), so the search may use 1 GiB
/// beside the copies where free; the excess is given back after.
std::string searchAlgorithm(CudaContext &ctx, ConvSetup &setup,
                            const CudnnGeometry &g, Direction direction,
                            void *x, void *filter, void *y) {
  if (ctx.capturing) // a search runs convolutions and waits for them
    return "cuDNN would search an algorithm for a convolution first seen "
           "while the step is recorded as a graph";
  if (ctx.quiesce)
    if (std::string error = ctx.quiesce(); !error.empty())
      return error;
  size_t reserved = setup.scratch.reservedBytes();
  void *base = nullptr;
  std::string error;
  for (int64_t mib : {1024, 256})
    if ((error = ctx.getWorkspace(static_cast<int64_t>(reserved) + (mib << 20),
                                  &base, true))
            .empty())
      break;
  if (!error.empty())
    return error;
  error = placeScratch(ctx, setup, direction, base, x, filter);
  size_t bytes = static_cast<size_t>(ctx.getWorkspaceBytes()) - reserved;
  bool graph =
      ctx.convEngines != ConvEngines::Legacy && graphEligible(setup, g);
  if (error.empty() && !(graph && ctx.convEngines == ConvEngines::Graph))
    error = findAlgorithm(ctx, setup.d, direction, setup.x, setup.filter, y,
                          setup.workspace, bytes, setup.chosen);
  if (error.empty() && graph)
    error = chooseGraphPlan(ctx, setup, g, direction, y, bytes);
  ctx.trimWorkspace();
  return error;
}

} // namespace var::cuda
