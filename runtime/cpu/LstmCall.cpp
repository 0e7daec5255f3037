// Checks of var.lstm and var.lstm_grad calls, shared by the backends.
#include "runtime/cpu/LstmCall.h"
#include "runtime/cpu/KernelChecks.h"

#include <initializer_list>
#include <vector>

namespace var::cpu {
namespace {

std::string getLSTMOperands(const OpCall &call, bool withGrads,
                            LSTMOperands &operands, LSTMShape &shape) {
  size_t slotCount = withGrads ? 7 : 5;
  size_t given = call.operands.size();
  std::vector<int64_t> segments = call.getInts("operandSegmentSizes", {});
  if (segments.empty()) {
    segments.assign(slotCount, 1);
    if (given == slotCount - 2)
      segments[LSTMOperands::BIh] = segments[LSTMOperands::BHh] = 0;
  }
  int64_t total = 0;
  for (int64_t size : segments)
    total += size;
  bool valid =
      segments.size() == slotCount && total == static_cast<int64_t>(given);
  for (size_t slot = 0; valid && slot < slotCount; ++slot) {
    bool optional = slot == LSTMOperands::BIh || slot == LSTMOperands::BHh;
    valid = segments[slot] == 1 || (optional && segments[slot] == 0);
  }
  if (!valid)
    return call.inst.op + ": expects " + std::to_string(slotCount) +
           " operands (or " + std::to_string(slotCount - 2) +
           " without biases), got " + std::to_string(given);
  for (size_t slot = 0, next = 0; slot < slotCount; ++slot)
    if (segments[slot])
      operands.slots[slot] = &call.operands[next++];

  const TensorView &input = *operands[LSTMOperands::Input];
  const TensorView &wIh = *operands[LSTMOperands::WIh];
  const TensorView &wHh = *operands[LSTMOperands::WHh];
  if (input.shape.size() != 3 || wIh.shape.size() != 2 || wHh.shape.size() != 2)
    return call.inst.op + ": needs input (B, T, I), w_ih (4H, I) and w_hh "
                          "(4H, H)";
  shape.batch = input.shape[0];
  shape.steps = input.shape[1];
  shape.features = input.shape[2];
  shape.hidden = wIh.shape[0] / 4;
  if (wIh.shape[0] % 4 != 0 || wIh.shape[1] != shape.features ||
      wHh.shape[0] != shape.gates() || wHh.shape[1] != shape.hidden)
    return call.inst.op + ": weights do not fit input (B, T, I), w_ih " +
           "(4H, I), w_hh (4H, H)";
  for (auto slot : {LSTMOperands::BIh, LSTMOperands::BHh})
    if (operands[slot] && operands[slot]->numel() != shape.gates())
      return call.inst.op +
             ": biases must have 4H = " + std::to_string(shape.gates()) +
             " elements";
  if (withGrads)
    return checkSizes(call,
                      {{"sequence_grad", *operands[LSTMOperands::SequenceGrad],
                        shape.rows() * shape.hidden},
                       {"last_grad", *operands[LSTMOperands::LastGrad],
                        shape.batch * shape.hidden}});
  return {};
}

} // namespace

std::string checkLSTMCall(const OpCall &call, LSTMOperands &operands,
                          LSTMShape &shape) {
  if (std::string error = getLSTMOperands(call, false, operands, shape);
      !error.empty())
    return error;
  if (call.results.size() != 2)
    return call.inst.op + ": expects 2 results, got " +
           std::to_string(call.results.size());
  return checkSizes(call,
                    {{"sequence", call.results[0], shape.rows() * shape.hidden},
                     {"last", call.results[1], shape.batch * shape.hidden}});
}

std::string checkLSTMGradCall(const OpCall &call, LSTMOperands &operands,
                              LSTMShape &shape) {
  if (std::string error = getLSTMOperands(call, true, operands, shape);
      !error.empty())
    return error;
  if (call.results.size() != 5 && call.results.size() != 3)
    return call.inst.op + ": expects 5 results (3 without bias gradients), " +
           "got " + std::to_string(call.results.size());
  int64_t gates = shape.gates();
  if (std::string error = checkSizes(
          call, {{"input_grad", call.results[0], shape.rows() * shape.features},
                 {"w_ih_grad", call.results[1], gates * shape.features},
                 {"w_hh_grad", call.results[2], gates * shape.hidden}});
      !error.empty())
    return error;
  for (size_t r = 3; r < call.results.size(); ++r)
    if (call.results[r].numel() != gates)
      return call.inst.op +
             ": bias gradients must have 4H = " + std::to_string(gates) +
             " elements";
  return {};
}

} // namespace var::cpu
