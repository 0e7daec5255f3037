// Shape rules of the windowed ops (convolution, pooling) and of linear,
// shared by the CPU kernels and the CUDA backend: both check a call the
// same way and see its geometry as the same padded 3-D window. A call with
// the `channels_last` attribute has its activations (N, spatial..., C)
// instead of (N, C, spatial...); convolution weights keep (O, I/groups, k...).
#ifndef VAR_RUNTIME_CPU_WINDOWGEOMETRY_H
#define VAR_RUNTIME_CPU_WINDOWGEOMETRY_H

#include "runtime/cpu/KernelChecks.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace var::cpu {

using Shape = std::vector<int64_t>;
using Dims = std::array<int64_t, 3>;

inline int64_t product(const Dims &dims) { return dims[0] * dims[1] * dims[2]; }

/// One sliding window over up to three spatial dimensions, padded to three
/// with leading unit dimensions (kernel 1, stride 1, no padding).
struct Window {
  int64_t batch = 0;
  int64_t inChannels = 0;
  int64_t outChannels = 0; // a pool's equal its input's
  int64_t groups = 1;
  Dims in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
  Dims stride{1, 1, 1}, padding{0, 0, 0}, dilation{1, 1, 1};
  /// Activations are (N, spatial..., C) rather than (N, C, spatial...).
  bool channelsLast = false;
};

/// Whether `call` has the `channels_last` attribute: its activation-like
/// tensors of rank >= 3 have the channel last.
bool isChannelsLast(const OpCall &call);

/// Operand and result counts, and float element types throughout.
std::string checkSignature(const OpCall &call, size_t minOperands,
                           size_t maxOperands, size_t results);

/// The window of a convolution of `input` by `weight` giving `output`: of
/// the three shapes the op's operands give two and its result the third.
/// `input` and `output` are laid out as isChannelsLast(call) says.
std::string makeConvWindow(const OpCall &call, const Shape &input,
                           const Shape &weight, const Shape &output,
                           const char *outputName, Window &w);

/// The window of a max or average pool of `input` giving `output`.
std::string makePoolWindow(const OpCall &call, const Shape &input,
                           const Shape &output, const char *outputName,
                           Window &w);

/// The most positions a window of var.max_pool_with_indices may have, as
/// the dialect's kMaxIndexedWindow: i8 indices name positions 0 to 126.
inline constexpr int64_t kMaxIndexedWindow = 127;

/// Checks a call of var.max_pool_with_indices (`forward`: a float input, a
/// float output and the output's i8 indices) or var.max_pool_grad_indices
/// (i8 indices and a float grad of one shape, a float result of the
/// input's shape), and makes its window, whose positions i8 must name.
std::string makeIndexedPoolWindow(const OpCall &call, bool forward, Window &w);

/// Checks that `pooled` is the global average pool of `input`: (N, C), or
/// (N, C, 1, ...) when `keepDims` ((N, 1, ..., C) when `channelsLast`).
std::string checkGlobalPool(const Shape &input, const Shape &pooled,
                            bool keepDims, const char *pooledName,
                            bool channelsLast = false);

/// `shape` with its last dimension replaced by `last`.
Shape withLastDim(Shape shape, int64_t last);

/// Checks a (..., in) x (out, in) -> (..., out) product; `rows` is the
/// product of the leading dimensions.
std::string checkLinear(const Shape &input, const Shape &weight,
                        const Shape &output, const char *outputName,
                        int64_t &rows);

} // namespace var::cpu

#endif
