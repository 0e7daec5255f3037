// Channels-last calls through the channels-first reference kernels
// (ChannelsLast.h).
#include "runtime/cpu/ChannelsLast.h"

#include <algorithm>
#include <cstring>

namespace var::cpu {

std::vector<int64_t> toChannelsFirst(const std::vector<int64_t> &shape) {
  std::vector<int64_t> first = shape;
  std::rotate(first.begin() + 1, first.end() - 1, first.end());
  return first;
}

std::vector<int64_t> toChannelsLast(const std::vector<int64_t> &shape) {
  std::vector<int64_t> last = shape;
  std::rotate(last.begin() + 1, last.begin() + 2, last.end());
  return last;
}

// Per sample, a (spatial, C) <-> (C, spatial) transpose of whole elements.
void permuteChannels(const TensorView &from, TensorView &to, bool toFirst) {
  const std::vector<int64_t> &last = toFirst ? from.shape : to.shape;
  int64_t batch = last[0], channels = last.back();
  int64_t spatial = 1;
  for (size_t d = 1; d + 1 < last.size(); ++d)
    spatial *= last[d];
  size_t size = plan::getDTypeBytes(from.dtype);
  const char *src = static_cast<const char *>(from.data);
  char *dst = static_cast<char *>(to.data);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t s = 0; s < spatial; ++s)
      for (int64_t c = 0; c < channels; ++c) {
        int64_t lastIndex = (n * spatial + s) * channels + c;
        int64_t firstIndex = (n * channels + c) * spatial + s;
        int64_t in = toFirst ? lastIndex : firstIndex;
        int64_t out = toFirst ? firstIndex : lastIndex;
        std::memcpy(dst + out * size, src + in * size, size);
      }
}

namespace {

bool contains(std::initializer_list<size_t> list, size_t i) {
  return std::find(list.begin(), list.end(), i) != list.end();
}

/// A channels-first scratch copy of `view`'s shape and dtype.
TensorView makeScratch(const TensorView &view,
                       std::vector<std::vector<char>> &storage) {
  TensorView scratch{view.dtype, toChannelsFirst(view.shape), nullptr};
  storage.emplace_back(static_cast<size_t>(std::max<int64_t>(1, view.bytes())));
  scratch.data = storage.back().data();
  return scratch;
}

} // namespace

std::string runChannelsFirst(OpCall &call, OpFn kernel,
                             std::initializer_list<size_t> keptOperands,
                             std::initializer_list<size_t> keptResults) {
  plan::Instruction inst = call.inst;
  inst.attributes.erase(
      std::remove_if(inst.attributes.begin(), inst.attributes.end(),
                     [](const plan::Attribute &attribute) {
                       return attribute.name == "channels_last";
                     }),
      inst.attributes.end());
  OpCall inner{inst, call.operands, call.results, call.scalars, call.batch};
  std::vector<std::vector<char>> storage;
  storage.reserve(call.operands.size() + call.results.size());
  for (size_t i = 0; i < call.operands.size(); ++i)
    if (call.operands[i].shape.size() >= 3 && !contains(keptOperands, i)) {
      inner.operands[i] = makeScratch(call.operands[i], storage);
      permuteChannels(call.operands[i], inner.operands[i], true);
    }
  std::vector<size_t> permuted;
  for (size_t i = 0; i < call.results.size(); ++i)
    if (call.results[i].shape.size() >= 3 && !contains(keptResults, i)) {
      inner.results[i] = makeScratch(call.results[i], storage);
      permuted.push_back(i);
    }
  if (std::string error = kernel(inner); !error.empty())
    return error;
  for (size_t i : permuted)
    permuteChannels(inner.results[i], call.results[i], false);
  return {};
}

} // namespace var::cpu
