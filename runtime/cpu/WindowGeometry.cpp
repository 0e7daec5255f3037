// Shape rules of the windowed ops and of linear (WindowGeometry.h).
#include "runtime/cpu/WindowGeometry.h"

namespace var::cpu {

namespace {

/// PyTorch's floor-mode output size; 0 when the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation) {
  int64_t reach = in + 2 * padding - dilation * (kernel - 1) - 1;
  return reach < 0 ? 0 : reach / stride + 1;
}

/// (N, C, spatial...), or (N, spatial..., C) when `channelsLast`, with 1
/// to 3 spatial dimensions.
std::string checkSpatialShape(const Shape &shape, const char *what,
                              bool channelsLast) {
  if (shape.size() < 3 || shape.size() > 5)
    return std::string(what) + " must be " +
           (channelsLast ? "(N, spatial..., C)" : "(N, C, spatial...)") +
           " with 1 to 3 spatial dimensions, got " + formatShape(shape);
  return {};
}

/// The channel count of an activation in the given layout.
int64_t channelsOf(const Shape &shape, bool channelsLast) {
  return channelsLast ? shape.back() : shape[1];
}

/// Spatial dimension i (0-based) of an activation in the given layout.
int64_t spatialOf(const Shape &shape, size_t i, bool channelsLast) {
  return shape[(channelsLast ? 1 : 2) + i];
}

/// Reads per-spatial-dimension attribute `name` (absent: `fallback`) into
/// the trailing entries of `dims`.
std::string readDims(const OpCall &call, const char *name,
                     const Shape &fallback, int64_t minValue, Dims &dims) {
  Shape values = call.getInts(name, fallback);
  if (values.size() != fallback.size())
    return std::string("'") + name + "' has " + std::to_string(values.size()) +
           " entries, expected one per spatial dimension (" +
           std::to_string(fallback.size()) + ")";
  size_t offset = 3 - values.size();
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < minValue)
      return std::string("'") + name + "' entries must be at least " +
             std::to_string(minValue) + ", got " + formatShape(values);
    dims[offset + i] = values[i];
  }
  return {};
}

/// Output sizes of `w` from its input, kernel and attributes, checked
/// against the (N, C_out, spatial...) (or channels-last) shape `output`.
std::string finishWindow(Window &w, size_t spatial, const Shape &output,
                         const char *what) {
  Shape expected = {w.batch};
  if (!w.channelsLast)
    expected.push_back(w.outChannels);
  for (size_t d = 3 - spatial; d < 3; ++d) {
    w.out[d] = windowOutputSize(w.in[d], w.kernel[d], w.stride[d], w.padding[d],
                                w.dilation[d]);
    if (w.out[d] < 1)
      return "the window (kernel " + std::to_string(w.kernel[d]) +
             ", dilation " + std::to_string(w.dilation[d]) +
             ") does not fit a spatial dimension of size " +
             std::to_string(w.in[d]) + " with padding " +
             std::to_string(w.padding[d]);
    expected.push_back(w.out[d]);
  }
  if (w.channelsLast)
    expected.push_back(w.outChannels);
  if (output != expected)
    return std::string(what) + " is " + formatShape(output) + ", expected " +
           formatShape(expected);
  return {};
}

} // namespace

bool isChannelsLast(const OpCall &call) {
  return call.getBool("channels_last");
}

// Operand and result counts, and float element types throughout.
std::string checkSignature(const OpCall &call, size_t minOperands,
                           size_t maxOperands, size_t results) {
  if (call.operands.size() < minOperands ||
      call.operands.size() > maxOperands || call.results.size() != results)
    return "expected " + std::to_string(minOperands) +
           (maxOperands != minOperands ? " or " + std::to_string(maxOperands)
                                       : "") +
           " operands and " + std::to_string(results) + " result(s), got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  for (const auto *list : {&call.operands, &call.results})
    for (const TensorView &tensor : *list)
      if (!isFloat(tensor.dtype))
        return "unsupported element type " +
               std::string(plan::getDTypeName(tensor.dtype)) +
               " (float tensors only)";
  return {};
}

std::string makeConvWindow(const OpCall &call, const Shape &input,
                           const Shape &weight, const Shape &output,
                           const char *outputName, Window &w) {
  w.channelsLast = isChannelsLast(call);
  if (std::string error = checkSpatialShape(input, "input", w.channelsLast);
      !error.empty())
    return error;
  if (weight.size() != input.size())
    return "weight " + formatShape(weight) + " does not match input " +
           formatShape(input) +
           " (weight is (C_out, C_in / groups, kernel...))";
  size_t spatial = input.size() - 2;
  w.batch = input[0];
  w.inChannels = channelsOf(input, w.channelsLast);
  w.outChannels = weight[0];
  w.groups = call.getInt("groups", 1);
  if (w.groups < 1 || w.outChannels < 1 || weight[1] < 1 ||
      w.outChannels % w.groups != 0 || weight[1] * w.groups != w.inChannels)
    return "weight " + formatShape(weight) + " with " +
           std::to_string(w.groups) + " groups does not fit input " +
           formatShape(input);
  for (size_t i = 0; i < spatial; ++i) {
    w.in[3 - spatial + i] = spatialOf(input, i, w.channelsLast);
    w.kernel[3 - spatial + i] = weight[2 + i];
    if (weight[2 + i] < 1)
      return "weight " + formatShape(weight) + " has an empty kernel";
  }
  for (std::string error :
       {readDims(call, "stride", Shape(spatial, 1), 1, w.stride),
        readDims(call, "padding", Shape(spatial, 0), 0, w.padding),
        readDims(call, "dilation", Shape(spatial, 1), 1, w.dilation)})
    if (!error.empty())
      return error;
  return finishWindow(w, spatial, output, outputName);
}

std::string makePoolWindow(const OpCall &call, const Shape &input,
                           const Shape &output, const char *outputName,
                           Window &w) {
  w.channelsLast = isChannelsLast(call);
  if (std::string error = checkSpatialShape(input, "input", w.channelsLast);
      !error.empty())
    return error;
  size_t spatial = input.size() - 2;
  w.batch = input[0];
  w.inChannels = w.outChannels = channelsOf(input, w.channelsLast);
  for (size_t i = 0; i < spatial; ++i)
    w.in[3 - spatial + i] = spatialOf(input, i, w.channelsLast);
  Shape kernel = call.getInts("kernel", {});
  if (kernel.size() != spatial)
    return "'kernel' must have one entry per spatial dimension (" +
           std::to_string(spatial) + "), got " + formatShape(kernel);
  for (std::string error :
       {readDims(call, "kernel", kernel, 1, w.kernel),
        readDims(call, "stride", kernel, 1, w.stride),
        readDims(call, "padding", Shape(spatial, 0), 0, w.padding)})
    if (!error.empty())
      return error;
  for (size_t d = 0; d < 3; ++d)
    if (w.padding[d] > w.kernel[d] / 2)
      return "padding " + std::to_string(w.padding[d]) +
             " must be at most half the kernel " + std::to_string(w.kernel[d]);
  return finishWindow(w, spatial, output, outputName);
}

std::string makeIndexedPoolWindow(const OpCall &call, bool forward, Window &w) {
  size_t operands = forward ? 1 : 2, results = forward ? 2 : 1;
  if (call.operands.size() != operands || call.results.size() != results)
    return "expected " + std::to_string(operands) + " operand(s) and " +
           std::to_string(results) + " result(s), got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  const TensorView &indices = forward ? call.results[1] : call.operands[0];
  const TensorView &input = forward ? call.operands[0] : call.results[0];
  const TensorView &pooled = forward ? call.results[0] : call.operands[1];
  if (indices.dtype != plan::DType::I8)
    return "indices must be i8, got " +
           std::string(plan::getDTypeName(indices.dtype));
  for (const TensorView *tensor : {&input, &pooled})
    if (!isFloat(tensor->dtype))
      return "unsupported element type " +
             std::string(plan::getDTypeName(tensor->dtype)) +
             " (float tensors besides the indices)";
  const char *pooledName = forward ? "output" : "grad";
  if (std::string error =
          makePoolWindow(call, input.shape, pooled.shape, pooledName, w);
      !error.empty())
    return error;
  if (indices.shape != pooled.shape)
    return "indices " + formatShape(indices.shape) +
           " must have the shape of " + pooledName + " " +
           formatShape(pooled.shape);
  if (product(w.kernel) > kMaxIndexedWindow)
    return "a window of " + std::to_string(product(w.kernel)) +
           " positions is more than the " + std::to_string(kMaxIndexedWindow) +
           " that i8 indices name";
  return {};
}

std::string checkGlobalPool(const Shape &input, const Shape &pooled,
                            bool keepDims, const char *pooledName,
                            bool channelsLast) {
  if (std::string error = checkSpatialShape(input, "input", channelsLast);
      !error.empty())
    return error;
  int64_t channels = channelsOf(input, channelsLast);
  Shape expected = {input[0], channels};
  if (keepDims) {
    expected.resize(input.size(), 1);
    if (channelsLast) {
      expected[1] = 1;
      expected.back() = channels;
    }
  }
  if (pooled != expected)
    return std::string(pooledName) + " is " + formatShape(pooled) +
           ", expected " + formatShape(expected);
  return {};
}

Shape withLastDim(Shape shape, int64_t last) {
  shape.back() = last;
  return shape;
}

std::string checkLinear(const Shape &input, const Shape &weight,
                        const Shape &output, const char *outputName,
                        int64_t &rows) {
  if (input.empty() || weight.size() != 2 || weight[1] != input.back())
    return "input " + formatShape(input) + " and weight " +
           formatShape(weight) + " are not (..., in) and (out, in)";
  if (output != withLastDim(input, weight[0]))
    return std::string(outputName) + " is " + formatShape(output) +
           ", expected " + formatShape(withLastDim(input, weight[0]));
  rows = 1;
  for (size_t i = 0; i + 1 < input.size(); ++i)
    rows *= input[i];
  return {};
}

} // namespace var::cpu
