// A backend for the executor's device path without a GPU: it runs the CPU
// kernels and primitives on memory the host cannot dereference (addresses
// moved out of the canonical range, so that any host access of "device"
// memory crashes), counts what the executor asks of it, and runs device
// work asynchronously, as a GPU does: only at the next synchronize or
// blocking copy, so that a host read of a result before it shows. When
// `recordSteps` is set it records device work instead of running it and
// replays it later, as a CUDA graph does: a replay reads the memory (step
// scalars, staging) as it is at replay time, so a value the executor baked
// into a call at recording time shows as a wrong result. With `raceOrder`
// set, each plan stream has its own queue and a flush runs them in the most
// hostile order their events allow (one side always first), as a GPU may:
// a missing event between streams then shows as a wrong result.
#ifndef VAR_TEST_UNIT_UNREACHABLEMEMORYBACKEND_H
#define VAR_TEST_UNIT_UNREACHABLEMEMORYBACKEND_H

#include "runtime/exec/Backend.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace var::test {

/// "Device" memory: CPU memory seen at an address kTag higher.
constexpr uintptr_t kTag = uintptr_t(1) << 62;

template <typename T> T *untag(T *tagged) {
  return tagged
             ? reinterpret_cast<T *>(reinterpret_cast<uintptr_t>(tagged) - kTag)
             : nullptr;
}

class UnreachableMemoryBackend final : public exec::Backend {
public:
  using DType = plan::DType;

  std::string_view getName() const override { return "unreachable"; }
  bool isHostMemory() const override { return false; }
  std::string allocate(int64_t bytes, const std::string &what,
                       void **memory) override {
    if (capturing)
      return broken("allocating " + what);
    if (bytes > allocationLimit)
      return what + ": cannot allocate " + std::to_string(bytes) +
             " bytes (the test's limit)";
    std::string error = cpu->allocate(bytes, what, memory);
    *memory =
        reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(*memory) + kTag);
    return error;
  }
  void release(void *memory) override {
    (void)flush(); // as cudaFree waits for the device
    cpu->release(untag(memory));
  }
  std::string fill(void *memory, int64_t bytes, uint8_t value) override {
    return work([=] { return cpu->fill(untag(memory), bytes, value); });
  }
  std::string copyToDevice(void *memory, const void *host,
                           int64_t bytes) override {
    if (capturing)
      return broken("a blocking copy to the device");
    if (std::string error = flush(); !error.empty())
      return error;
    return cpu->copyToDevice(untag(memory), host, bytes);
  }
  std::string copyToHost(void *host, const void *memory,
                         int64_t bytes) override {
    if (capturing)
      return broken("a blocking copy to the host");
    if (std::string error = flush(); !error.empty())
      return error;
    return cpu->copyToHost(host, untag(memory), bytes);
  }
  std::string enqueueCopyToDevice(void *memory, const void *host,
                                  int64_t bytes) override {
    return work([=] { return cpu->copyToDevice(untag(memory), host, bytes); });
  }
  std::string enqueueCopyToHost(void *host, const void *memory,
                                int64_t bytes) override {
    return work([=] { return cpu->copyToHost(host, untag(memory), bytes); });
  }
  bool hasKernel(std::string_view op) const override {
    return cpu->hasKernel(op);
  }
  std::string runOp(cpu::OpCall &call) override {
    cpu::OpCall local{call.inst, call.operands, call.results,
                      untag(call.scalars)};
    local.batch = call.batch;
    for (auto *list : {&local.operands, &local.results})
      for (cpu::TensorView &view : *list)
        view.data = untag(view.data);
    return work([this, local]() mutable { return cpu->runOp(local); });
  }
  std::string synchronize() override {
    if (capturing)
      return broken("a synchronize");
    ++synchronizations;
    if (std::string error = flush(); !error.empty())
      return error;
    return failSynchronize ? "an illegal memory access" : "";
  }
  std::string selectStream(exec::PlanStream stream) override {
    ++streamSwitches;
    current = queueOf(stream);
    return "";
  }
  std::string recordEvent(int64_t id) override {
    recorded.push_back(id);
    if (raceOrder != RaceOrder::None && !capturing)
      queues[current].push_back({nullptr, id, ++generations[id], false});
    return "";
  }
  std::string waitEvent(exec::PlanStream stream, int64_t id) override {
    if (std::find(recorded.begin(), recorded.end(), id) == recorded.end())
      ++unrecordedWaits;
    if (raceOrder == RaceOrder::None || capturing)
      return "";
    // As cudaStreamWaitEvent: the event's latest record so far.
    queues[queueOf(stream)].push_back({nullptr, id, generations[id], true});
    return "";
  }
  std::string waitEventOnHost(int64_t id) override {
    if (capturing)
      return broken("the host waiting for an event");
    if (std::find(recorded.begin(), recorded.end(), id) == recorded.end())
      ++unrecordedWaits;
    return flush(); // as cudaEventSynchronize: the work before it ran
  }
  std::string enqueueHostCall(void (*call)(void *), void *argument) override {
    ++hostCalls;
    return work([=] {
      call(argument);
      return std::string();
    });
  }
  void *allocateHost(size_t bytes) override {
    ++hostAllocations;
    return Backend::allocateHost(bytes);
  }

  std::string convert(void *dst, DType dstType, const void *src, DType srcType,
                      int64_t count) override {
    ++primitives;
    return work([=] {
      return cpu->convert(untag(dst), dstType, untag(src), srcType, count);
    });
  }
  std::string accumulate(float *sum, const void *addend, DType type,
                         int64_t count) override {
    ++primitives;
    return work([=] {
      return cpu->accumulate(untag(sum), untag(addend), type, count);
    });
  }
  std::string updateOptimizer(const exec::OptimizerStep &step) override {
    ++updates;
    exec::OptimizerStep local = step;
    local.master = untag(step.master);
    local.state[0] = untag(step.state[0]);
    local.state[1] = untag(step.state[1]);
    local.grad = untag(step.grad);
    local.clip = untag(step.clip);
    local.result = untag(step.result);
    local.resultBf16 = untag(step.resultBf16);
    local.squares = untag(step.squares);
    local.scalars = untag(step.scalars);
    return work([this, local] { return cpu->updateOptimizer(local); });
  }
  std::string sumSquares(const std::vector<exec::FlatInput> &inputs,
                         float *result) override {
    ++primitives;
    std::vector<exec::FlatInput> local = inputs;
    for (exec::FlatInput &input : local)
      input.data = untag(input.data);
    return work([=] { return cpu->sumSquares(local, untag(result)); });
  }
  std::string clipCoefficient(const float *squares, double maxNorm,
                              float *coefficient, double *norm) override {
    ++primitives;
    return work([=] {
      return cpu->clipCoefficient(untag(squares), maxNorm, untag(coefficient),
                                  untag(norm));
    });
  }

  std::string whyNoStepGraphs() const override {
    return recordSteps ? "" : "the test backend records only when asked";
  }
  std::string beginCapture() override {
    if (!recordSteps)
      return whyNoStepGraphs();
    capturing = true;
    failure.clear();
    recording.clear();
    return "";
  }
  std::string endCapture(int64_t &graph, size_t &nodes) override {
    capturing = false;
    graph = -1;
    nodes = 0;
    if (!failure.empty())
      return failure;
    graphs.push_back(std::move(recording));
    recording.clear();
    graph = static_cast<int64_t>(graphs.size()) - 1;
    nodes = graphs.back().size();
    ++recordings;
    return "";
  }
  std::string replay(int64_t graph, bool &stale) override {
    stale = false;
    if (staleAfter == 0) { // as a CUDA graph whose workspace was replaced
      staleAfter = -1;
      dropGraph(graph);
      stale = true;
      return "";
    }
    if (staleAfter > 0)
      --staleAfter;
    ++replays;
    for (const std::function<std::string()> &step : graphs.at(graph))
      pending.push_back(step); // a launch: runs at the next synchronize
    return "";
  }
  void dropGraph(int64_t graph) override {
    graphs.at(graph).clear();
    graphs.at(graph).push_back([] { return std::string("a dropped graph"); });
  }

  static inline int64_t primitives = 0, updates = 0, hostAllocations = 0,
                        synchronizations = 0, streamSwitches = 0,
                        unrecordedWaits = 0, recordings = 0, replays = 0,
                        hostCalls = 0;
  static inline bool failSynchronize = false;
  /// Record steps (whyNoStepGraphs is empty); break every recording at its
  /// first device work.
  static inline bool recordSteps = false, breakRecordings = false;
  /// After this many more replays, one finds its graph stale (and drops
  /// it); -1: never.
  static inline int64_t staleAfter = -1;
  /// Allocations above this many bytes fail, as on a full device.
  static inline int64_t allocationLimit = INT64_MAX;
  /// Issue order (None), or per-stream queues run with the comm and copy
  /// streams as far ahead of compute as events allow (SideFirst), or
  /// compute as far ahead of them as events allow (ComputeFirst).
  enum class RaceOrder { None, SideFirst, ComputeFirst };
  static inline RaceOrder raceOrder = RaceOrder::None;

private:
  /// Device work: run now, or recorded while capturing.
  template <typename Work> std::string work(Work run) {
    if (!capturing && raceOrder != RaceOrder::None) {
      queues[current].push_back({std::move(run), -1, 0, false});
      return "";
    }
    if (!capturing) {
      pending.emplace_back(std::move(run));
      return "";
    }
    if (breakRecordings)
      return broken("device work the test refuses");
    recording.emplace_back(std::move(run));
    return "";
  }
  /// Runs the device work enqueued so far; its first error.
  std::string flush() {
    std::vector<std::function<std::string()>> work = std::move(pending);
    pending.clear();
    std::string first;
    for (const std::function<std::string()> &step : work)
      if (std::string error = step(); !error.empty() && first.empty())
        first = error;
    if (std::string error = flushQueues(); !error.empty() && first.empty())
      first = error;
    return first;
  }

  /// One entry of a stream's queue: work, an event's record (its
  /// generation) or a wait for an event's generation.
  struct Entry {
    std::function<std::string()> run;
    int64_t event = -1, generation = 0;
    bool wait = false;
  };
  static size_t queueOf(exec::PlanStream stream) {
    return static_cast<size_t>(stream); // Host: the host lane
  }
  /// Runs the per-stream queues in raceOrder's order; an error if the
  /// events leave work that can never run.
  std::string flushQueues() {
    std::array<size_t, 4> order = {1, 2, 3, 0};
    if (raceOrder == RaceOrder::ComputeFirst)
      order = {0, 1, 2, 3};
    std::array<size_t, 4> next = {0, 0, 0, 0};
    std::string first;
    for (bool progress = true; progress;) {
      progress = false;
      for (size_t q : order) {
        if (next[q] >= queues[q].size())
          continue;
        Entry &entry = queues[q][next[q]];
        if (entry.wait && done[entry.event] < entry.generation)
          continue; // blocked: try the next stream
        if (entry.run) {
          if (std::string error = entry.run(); !error.empty() && first.empty())
            first = error;
        } else if (!entry.wait) {
          done[entry.event] = entry.generation;
        }
        ++next[q];
        progress = true;
        break; // from the most favoured stream again
      }
    }
    for (size_t q = 0; q < queues.size(); ++q) {
      if (next[q] < queues[q].size() && first.empty())
        first = "stream " + std::to_string(q) +
                " waits for an event no stream records";
      queues[q].clear();
    }
    return first;
  }
  /// A call that has no place in a recording: it breaks the recording, as
  /// CUDA's thread-local capture mode does.
  std::string broken(const std::string &what) {
    failure = what + " while recording";
    return failure;
  }

  std::unique_ptr<Backend> cpu = exec::createCpuBackend();
  std::vector<int64_t> recorded;
  bool capturing = false;
  std::string failure;
  std::vector<std::function<std::string()>> recording, pending;
  std::vector<std::vector<std::function<std::string()>>> graphs;
  std::array<std::vector<Entry>, 4> queues;
  std::map<int64_t, int64_t> generations, done;
  size_t current = 0;
};

} // namespace var::test

#endif
