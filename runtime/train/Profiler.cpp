// Per-op-kind time, FLOPs, bytes moved, TFLOP/s and MFU.
#include "runtime/train/Profiler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace var::train {

void Profiler::begin(const plan::PlanFunction &, size_t) {
  started = std::chrono::steady_clock::now();
}

namespace {

/// "16x8x112x112x32 bf16, 32x3x3 bf16 -> 16x8x56x56x32 bf16".
std::string describeShapes(const plan::PlanFunction &function,
                           const plan::Instruction &inst) {
  auto values = [&](const std::vector<uint32_t> &ids) {
    std::string text;
    for (uint32_t id : ids) {
      if (id >= function.values.size())
        continue;
      const plan::PlanValue &value = function.values[id];
      if (!text.empty())
        text += ", ";
      std::string dims;
      for (int64_t dim : value.shape)
        dims += (dims.empty() ? "" : "x") + std::to_string(dim);
      text += (dims.empty() ? "scalar" : dims) + " " +
              std::string(plan::getDTypeName(value.dtype));
    }
    return text;
  };
  return values(inst.operands) + " -> " + values(inst.results);
}

/// Whether `op` only orders the streams (its time is a stream waiting for
/// another, not work).
bool isStreamEvent(const std::string &op) {
  return op == "dist.record_event" || op == "dist.wait_event";
}

} // namespace

void Profiler::end(const plan::PlanFunction &function, size_t index) {
  add(function, index,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
}

void Profiler::record(const plan::PlanFunction &function,
                      const std::vector<exec::PlanStream> &,
                      const std::vector<double> &begin,
                      const std::vector<double> &end) {
  for (size_t i = 0;
       i < function.instructions.size() && i < begin.size() && i < end.size();
       ++i)
    add(function, i, std::max(0.0, end[i] - begin[i]));
}

void Profiler::add(const plan::PlanFunction &function, size_t index,
                   double seconds) {
  const plan::Instruction &inst = function.instructions[index];
  OpProfile &op = ops[inst.op];
  op.count += 1;
  op.seconds += seconds;
  op.flops += inst.flops;
  op.bytes += getInstructionBytes(function, inst);
  InstructionProfile &one = instructions[{function.name, index}];
  if (one.count == 0) {
    one.op = inst.op;
    one.location = inst.location;
    one.shapes = describeShapes(function, inst);
  }
  one.count += 1;
  one.seconds += seconds;
  one.flops += inst.flops;
}

int64_t getInstructionBytes(const plan::PlanFunction &function,
                            const plan::Instruction &inst) {
  int64_t bytes = 0;
  auto add = [&](uint32_t id) {
    if (id >= function.values.size())
      return;
    const plan::PlanValue &value = function.values[id];
    int64_t count = 1;
    for (int64_t dim : value.shape)
      count *= dim > 0 ? dim : 0;
    bytes += count * plan::getDTypeBytes(value.dtype);
  };
  for (uint32_t id : inst.operands)
    add(id);
  for (uint32_t id : inst.results)
    add(id);
  return bytes;
}

std::string Profiler::report(double peakTflops, int64_t steps,
                             double wallSeconds) const {
  std::vector<std::pair<std::string, OpProfile>> rows;
  OpProfile waits;
  for (const auto &[name, op] : ops) {
    if (!isStreamEvent(name)) {
      rows.push_back({name, op});
      continue;
    }
    waits.count += op.count;
    waits.seconds += op.seconds;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.seconds > b.second.seconds;
  });
  OpProfile total;
  for (const auto &[name, op] : rows) {
    total.count += op.count;
    total.seconds += op.seconds;
    total.flops += op.flops;
    total.bytes += op.bytes;
  }
  std::string text;
  char line[256];
  auto row = [&](const std::string &name, const OpProfile &op) {
    double tflops = op.seconds > 0 ? op.flops / op.seconds / 1e12 : 0.0;
    std::snprintf(
        line, sizeof line, "%-32s %8lld %10.3f %6.1f%% %12.4g %9.4f %7.2f%%\n",
        name.c_str(), static_cast<long long>(op.count), op.seconds * 1e3,
        total.seconds > 0 ? 100.0 * op.seconds / total.seconds : 0.0,
        op.flops / 1e9, tflops,
        peakTflops > 0 ? 100.0 * tflops / peakTflops : 0.0);
    text += line;
  };
  std::snprintf(line, sizeof line, "%-32s %8s %10s %7s %12s %9s %8s\n", "op",
                "calls", "ms", "time", "GFLOPs", "TFLOP/s", "MFU");
  text += line;
  for (const auto &[name, op] : rows)
    row(name, op);
  row("total (instructions)", total);
  // On a GPU a stream's wait for another is the time between its marks
  // around dist.wait_event: idle, not work, so left out of the rows.
  if (waits.count > 0) {
    std::snprintf(line, sizeof line,
                  "stream waits (dist.wait_event, dist.record_event): %lld "
                  "calls, %.3f ms, not counted above\n",
                  static_cast<long long>(waits.count), waits.seconds * 1e3);
    text += line;
  }
  // MFU of the whole step: model FLOPs over wall time, which includes the
  // runtime's own work between instructions.
  double perStep = steps > 0 ? wallSeconds / steps : 0.0;
  double achieved = wallSeconds > 0 ? total.flops / wallSeconds / 1e12 : 0.0;
  std::snprintf(line, sizeof line,
                "%lld steps in %.3f s (%.3f s/step): %lld FLOPs per step, "
                "%.4f TFLOP/s, MFU %.2f%% of %g TFLOP/s\n",
                static_cast<long long>(steps), wallSeconds, perStep,
                static_cast<long long>(steps > 0 ? total.flops / steps : 0),
                achieved, peakTflops > 0 ? 100.0 * achieved / peakTflops : 0.0,
                peakTflops);
  text += line;
  std::snprintf(line, sizeof line,
                "%lld bytes per step (instruction operands and results), "
                "%.4f TB/s\n",
                static_cast<long long>(steps > 0 ? total.bytes / steps : 0),
                wallSeconds > 0 ? total.bytes / wallSeconds / 1e12 : 0.0);
  text += line;
  std::vector<const InstructionProfile *> slowest;
  for (const auto &[key, one] : instructions)
    if (!isStreamEvent(one.op))
      slowest.push_back(&one);
  std::stable_sort(
      slowest.begin(), slowest.end(),
      [](const InstructionProfile *a, const InstructionProfile *b) {
        return a->seconds > b->seconds;
      });
  size_t timed = slowest.size();
  if (slowest.size() > kSlowest)
    slowest.resize(kSlowest);
  if (!slowest.empty()) {
    std::snprintf(line, sizeof line,
                  "slowest instructions (of %zu): ms, time, TFLOP/s, op, "
                  "operands -> results, location\n",
                  timed);
    text += line;
  }
  for (const InstructionProfile *one : slowest) {
    std::snprintf(
        line, sizeof line, "%10.3f %6.1f%% %9.4f  ", one->seconds * 1e3,
        total.seconds > 0 ? 100.0 * one->seconds / total.seconds : 0.0,
        one->seconds > 0 ? one->flops / one->seconds / 1e12 : 0.0);
    text += line + one->op + "  " + one->shapes +
            (one->location.empty() ? "" : "  " + one->location) + "\n";
  }
  text.pop_back(); // the caller ends the last line
  return text;
}

bool parseStepRange(const std::string &text, int64_t &first, int64_t &last) {
  size_t colon = text.find(':');
  if (colon == std::string::npos)
    return false;
  std::string a = text.substr(0, colon), b = text.substr(colon + 1);
  char *end = nullptr;
  long long x = std::strtoll(a.c_str(), &end, 10);
  if (a.empty() || *end != '\0')
    return false;
  long long y = std::strtoll(b.c_str(), &end, 10);
  if (b.empty() || *end != '\0' || x < 1 || y < x)
    return false;
  first = x;
  last = y;
  return true;
}

} // namespace var::train
