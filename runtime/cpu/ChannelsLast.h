// The CPU backend's channels-last calls: the reference kernels are written
// for (N, C, spatial...) activations, so a call with `channels_last` runs
// the same kernel on channels-first copies of its activations and
// transposes the results back. The results are then bit for bit those of
// the channels-first op on transposed data.
#ifndef VAR_RUNTIME_CPU_CHANNELSLAST_H
#define VAR_RUNTIME_CPU_CHANNELSLAST_H

#include "runtime/cpu/CpuOps.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace var::cpu {

/// (N, spatial..., C) -> (N, C, spatial...), and back.
std::vector<int64_t> toChannelsFirst(const std::vector<int64_t> &shape);
std::vector<int64_t> toChannelsLast(const std::vector<int64_t> &shape);

/// Copies the elements of `from` (any dtype, raw bytes) into `to`, which
/// has the same dtype and the permuted shape: channels-last -> first when
/// `toFirst`, else first -> last. Both ranks >= 3.
void permuteChannels(const TensorView &from, TensorView &to, bool toFirst);

/// Runs the channels-first `kernel` for a channels_last `call` whose shapes
/// the caller has checked: every operand and result of rank >= 3 but those
/// listed in `keptOperands` / `keptResults` (convolution weights) is
/// transposed into channels-first scratch, the kernel runs on a copy of
/// the instruction without `channels_last`, and its results are
/// transposed back.
std::string runChannelsFirst(OpCall &call, OpFn kernel,
                             std::initializer_list<size_t> keptOperands = {},
                             std::initializer_list<size_t> keptResults = {});

} // namespace var::cpu

#endif
