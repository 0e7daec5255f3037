// The operands, results and sizes of var.lstm and var.lstm_grad, checked in
// one place for every backend: the CPU reference and the CUDA kernels read
// the same slots and report the same messages.
#ifndef VAR_RUNTIME_CPU_LSTMCALL_H
#define VAR_RUNTIME_CPU_LSTMCALL_H

#include "runtime/cpu/CpuOps.h"

#include <cstdint>
#include <string>

namespace var::cpu {

struct LSTMShape {
  int64_t batch = 0, steps = 0, features = 0, hidden = 0;

  int64_t gates() const { return 4 * hidden; }
  int64_t rows() const { return batch * steps; }
};

/// The operands of var.lstm (the first five) or var.lstm_grad (all seven),
/// in ODS order. The ODS biases are required today; the kernels still take
/// them as optional, both absent when two operands fewer come, or either one
/// as an operandSegmentSizes attribute says, so that a bias-free LSTM needs
/// no zero tensors.
struct LSTMOperands {
  enum Slot { Input, WIh, WHh, BIh, BHh, SequenceGrad, LastGrad };
  const TensorView *slots[7] = {};

  const TensorView *operator[](Slot slot) const { return slots[slot]; }
};

/// var.lstm: its operands and its two results (sequence (B, T, H), last
/// (B, H)).
std::string checkLSTMCall(const OpCall &call, LSTMOperands &operands,
                          LSTMShape &shape);

/// var.lstm_grad: its operands and its results (input, w_ih and w_hh
/// gradients, then both bias gradients unless the biases are absent).
std::string checkLSTMGradCall(const OpCall &call, LSTMOperands &operands,
                              LSTMShape &shape);

} // namespace var::cpu

#endif
