// Step graphs and the fixed staging they need: each plan function's step
// scalars, argument and result staging, allocated on its first run and
// kept; which functions may be recorded (device work only, on memory that
// stays put) and the record-once, replay-after state of each.
#include "runtime/exec/Executor.h"
#include "runtime/exec/HostDistKernels.h"

#include <algorithm>
#include <cstring>

namespace var::exec {

namespace {

int64_t alignUp(int64_t bytes) { return (bytes + 255) / 256 * 256; }

bool isUpdate(const plan::Instruction &inst) {
  return inst.op == "dist.adamw_update" || inst.op == "dist.sgd_update";
}

} // namespace

std::string Executor::prepareStaging(const plan::PlanFunction &function,
                                     const std::string &name,
                                     FunctionLayout &layout) {
  std::string what = "function '" + name + "'";
  std::vector<bool> isArgument(function.values.size(), false);
  for (const plan::PlanArgument &arg : function.args)
    isArgument[arg.value] = true;
  layout.updateSlot.assign(function.instructions.size(), -1);
  int64_t slots = 0;
  for (size_t i = 0; i < function.instructions.size(); ++i) {
    const plan::Instruction &inst = function.instructions[i];
    if (!isUpdate(inst))
      continue;
    layout.updateSlot[i] = slots++;
    layout.updateFromArguments.push_back(isArgument[inst.operands[1]] &&
                                         isArgument[inst.operands[2]]);
  }
  layout.scalarBytes = cpu::stepScalarBytes(slots);
  if (std::string error = layout.scalars.allocate(*backend, layout.scalarBytes,
                                                  what + " step scalars");
      !error.empty())
    return error;
  if (std::string error = layout.hostScalars.allocate(
          *backend, layout.scalarBytes, what + " step scalars (host)", true);
      !error.empty())
    return error;
  std::memset(layout.hostScalars.data(), 0,
              static_cast<size_t>(layout.scalarBytes));
  if (backend->isHostMemory())
    return "";
  auto valueBytes = [&](uint32_t id) {
    int64_t elements = 1;
    for (int64_t dim : function.values[id].shape)
      elements *= dim;
    return elements * plan::getDTypeBytes(function.values[id].dtype);
  };
  int64_t total = 0;
  for (const plan::PlanArgument &arg : function.args) {
    layout.argumentOffsets.push_back(total);
    total += alignUp(valueBytes(arg.value));
  }
  if (std::string error = layout.argumentStaging.allocate(
          *backend, total, what + " argument staging", true);
      !error.empty())
    return error;
  total = 0;
  for (uint32_t id : function.results) {
    layout.resultOffsets.push_back(total);
    if (!layout.onHost[id])
      total += alignUp(valueBytes(id));
  }
  return layout.resultStaging.allocate(*backend, total,
                                       what + " result staging", true);
}

std::string Executor::writeStepScalars(const plan::PlanFunction &function,
                                       const FunctionLayout &layout,
                                       uint64_t seed, int64_t firstSample) {
  auto *block = static_cast<cpu::StepScalars *>(layout.hostScalars.data());
  block->seed = seed;
  block->firstSample = firstSample;
  for (size_t i = 0; i < function.instructions.size(); ++i) {
    int64_t slot = layout.updateSlot[i];
    if (slot < 0 || !layout.updateFromArguments[slot])
      continue; // computed in the run: executeUpdate reads it then
    const plan::Instruction &inst = function.instructions[i];
    double lr = 0, step = 0;
    Place lrPlace{nullptr, function.values[inst.operands[1]].dtype, true};
    Place stepPlace{nullptr, function.values[inst.operands[2]].dtype, true};
    if (std::string error = readScalar(inst, 1, lrPlace, lr); !error.empty())
      return error;
    if (std::string error = readScalar(inst, 2, stepPlace, step);
        !error.empty())
      return error;
    cpu::UpdateScalars &scalars = *cpu::updateScalarsOf(block, slot);
    scalars.lr = static_cast<float>(lr);
    scalars.step = static_cast<int64_t>(step);
    if (inst.op == "dist.adamw_update")
      computeBiasCorrections(*inst.getAttr<double>("beta1"),
                             *inst.getAttr<double>("beta2"), scalars);
  }
  return "";
}

std::string Executor::hostLaneWork(const plan::PlanFunction &function,
                                   const FunctionLayout &layout) const {
  if (backend->isHostMemory())
    return "all of its work (a backend without a device)";
  if (paramsOnHost)
    return "the collectives of parameters kept in host memory";
  const std::vector<plan::Instruction> &code = function.instructions;
  auto onHost = [&](const std::vector<uint32_t> &ids) {
    return std::any_of(ids.begin(), ids.end(),
                       [&](uint32_t id) { return layout.onHost[id]; });
  };
  for (size_t i = 0; i < code.size(); ++i) {
    const plan::Instruction &inst = code[i];
    bool event = inst.op == "dist.record_event" || inst.op == "dist.wait_event";
    if (layout.skipped[i] || event)
      continue;
    std::string what = "'" + inst.op + "'";
    if (inst.op == "dist.to_host" || inst.op == "dist.to_device") {
      if (function.values[inst.operands[0]].dtype !=
          function.values[inst.results[0]].dtype)
        return what + " converting as it copies";
      continue;
    }
    if (layout.streams[i] != PlanStream::Host) {
      if (onHost(inst.operands) || onHost(inst.results))
        return what + " on host memory";
      continue;
    }
    if (!isUpdate(inst))
      return what;
    const plan::SymbolRef *bucket = inst.findSymbol("bucket");
    bool hostMaster = bucket && bucket->kind == plan::SymbolKind::Bucket &&
                      bucket->index < buckets.size() &&
                      buckets[bucket->index].master.isHost();
    int64_t slot = layout.updateSlot[i];
    if (!hostMaster || slot < 0 || !layout.updateFromArguments[slot])
      return what + " with a learning rate or step computed in the step";
  }
  return "";
}

std::string Executor::whyEager(const plan::PlanFunction &function,
                               const FunctionLayout &layout) const {
  if (!stepGraphsOn)
    return "step graphs are off";
  if (std::string why = backend->whyNoStepGraphs(); !why.empty())
    return why;
  if (syncEachOp)
    return "VAR_SYNC_EACH_OP=1 synchronizes after every instruction";
  if (worldSize > 1 && !deviceComm)
    return "collectives are staged through host memory";
  if (worldSize > 1 && !stepGraphsWithCollectives)
    // varrun --cuda-graphs=local. Recorded collectives replay as graph
    // nodes; their end markers (the names a timeout reports) are recorded
    // once, not per replay, while the run's deadline still holds:
    // synchronize() polls the streams and NCCL's error state.
    return "collectives between ranks (NCCL) run eagerly "
           "(--cuda-graphs=local)";
  if ((paramsOnHost || optimizerOnHost) && !layout.hostLane)
    return "the plan offloads state to host memory, and the host runs " +
           hostLaneWork(function, layout) + " inside the step";
  if (layout.hostLane && captureGradients)
    return "gradients are captured: the host copies the offloaded "
           "optimizer's inside the step";
  if (layout.hostBytes > 0 && !layout.hostLane)
    return "values of the step live in host memory (the host stream)";
  for (const plan::Instruction &inst : function.instructions) {
    bool dist = inst.op.rfind("dist.", 0) == 0 || inst.op == "var.get_param" ||
                inst.op == "var.update_buffer";
    if (!dist && !backend->hasKernel(inst.op))
      return "'" + inst.op + "' has no " + std::string(backend->getName()) +
             " kernel and runs on the host";
    if (inst.op == "dist.wait_event" && !layout.hostLane &&
        parsePlanStream(inst.getAttr<std::string>("stream")) ==
            PlanStream::Host)
      return "the host waits for device work inside the step";
  }
  for (bool known : layout.updateFromArguments)
    if (!known)
      return "an optimizer update's learning rate or step is computed inside "
             "the step, so the host reads it back";
  return "";
}

Executor::RunMode Executor::chooseRunMode(const plan::PlanFunction &function,
                                          const FunctionLayout &layout,
                                          StepGraph &graph, bool transient,
                                          bool timedOnly) {
  if (graph.runs == 0 || !graph.eager.empty())
    return RunMode::Eager; // the first run searches and allocates
  if (!graph.checked) {
    graph.checked = true;
    if (std::string why = whyEager(function, layout); !why.empty()) {
      // A backend that never records (the CPU's) has nothing to log.
      if (backend->whyNoStepGraphs().empty())
        noteEager(function.name, graph, why);
      else
        graph.eager = why;
      return RunMode::Eager;
    }
  }
  if (!stepGraphsOn)
    return RunMode::Eager;
  if (graph.graph >= 0 &&
      (graph.arena != arena.data() || graph.hostArena != hostArena.data())) {
    // The arenas moved (run() sizes them once, so only if that changes):
    // record again.
    dropGraphs(graph);
  }
  if (transient) // a timer or timeline times this run alone
    return timedOnly && graph.graph >= 0 && !graph.timedFailed
               ? RunMode::ReplayTimed
               : RunMode::Eager;
  return graph.graph >= 0 ? RunMode::Replay : RunMode::Record;
}

std::string Executor::capture(const plan::PlanFunction &function,
                              const FunctionLayout &layout,
                              std::vector<cpu::TensorView> &views, int64_t &id,
                              size_t &nodes) {
  if (std::string error = backend->beginCapture(); !error.empty())
    return error;
  std::string failed = enqueueRun(function, layout, views, false);
  std::string ended = backend->endCapture(id, nodes);
  return failed.empty() ? ended : failed;
}

std::string Executor::recordRun(const plan::PlanFunction &function,
                                const FunctionLayout &layout,
                                std::vector<cpu::TensorView> &views,
                                StepGraph &graph, bool &recorded) {
  recorded = false;
  std::string what = "function '" + function.name + "'";
  int64_t id = -1;
  size_t nodes = 0;
  if (std::string error = capture(function, layout, views, id, nodes);
      !error.empty()) {
    // Nothing recorded ran; the caller runs the function eagerly.
    noteEager(function.name, graph, "recording failed: " + error);
    return "";
  }
  graph.graph = id;
  graph.hostCalls = std::move(hostCalls); // the graph's host nodes read them
  hostCalls.clear();
  graph.nodes = nodes;
  graph.arena = arena.data();
  graph.hostArena = hostArena.data();
  if (!graph.noted) {
    stepGraphNotes.push_back(
        "'" + function.name + "' is recorded as a graph of " +
        std::to_string(nodes) + " nodes and replayed from its next run");
    graph.noted = true;
  }
  bool stale = false;
  if (std::string error = backend->replay(id, stale); !error.empty())
    return what + ": launching its step graph failed: " + error;
  if (stale) { // cannot happen right after recording; never run it twice
    graph.graph = -1;
    return what + ": its step graph went stale as it was recorded";
  }
  recorded = true;
  ++graphReplays;
  return "";
}

std::string Executor::replayTimed(const plan::PlanFunction &function,
                                  const FunctionLayout &layout,
                                  std::vector<cpu::TensorView> &views,
                                  StepGraph &graph, bool &replayed) {
  replayed = false;
  std::string what = "function '" + function.name + "'";
  if (graph.timedGraph < 0) {
    // The timeline's marks are recorded into the graph (Backend::markTime
    // while capturing), where they time each replay.
    size_t nodes = 0;
    bool failed =
        !capture(function, layout, views, graph.timedGraph, nodes).empty();
    graph.timedHostCalls = std::move(hostCalls);
    hostCalls.clear();
    if (failed) {
      graph.timedGraph = -1;
      graph.timedFailed = true; // nothing recorded ran: eager, as before
      return "";
    }
  }
  bool stale = false;
  if (std::string error = backend->replay(graph.timedGraph, stale);
      !error.empty())
    return what + ": launching its timed step graph failed: " + error;
  if (stale) {
    graph.timedGraph = -1;
    return "";
  }
  replayed = true;
  ++graphReplays;
  return "";
}

void Executor::dropGraphs(StepGraph &graph) {
  for (int64_t *id : {&graph.graph, &graph.timedGraph})
    if (*id >= 0) {
      backend->dropGraph(*id);
      *id = -1;
    }
  graph.hostCalls.clear();
  graph.timedHostCalls.clear();
}

void Executor::noteEager(const std::string &name, StepGraph &graph,
                         std::string why) {
  // Once: an eager function stays eager.
  graph.eager = why;
  stepGraphNotes.push_back("'" + name + "' runs eagerly: " + why);
}

Executor::~Executor() {
  if (!backend)
    return; // moved from
  dropStepGraphs();
  deviceComm.reset();
}

void Executor::dropStepGraphs() {
  for (auto &[name, graph] : stepGraphs)
    dropGraphs(graph);
}

void Executor::setStepGraphs(bool on, bool withCollectives) {
  if (on == stepGraphsOn && withCollectives == stepGraphsWithCollectives)
    return;
  // Every function is decided afresh: first run eager, then recorded.
  stepGraphsOn = on;
  stepGraphsWithCollectives = withCollectives;
  dropStepGraphs();
  stepGraphs.clear();
}

std::vector<std::string> Executor::takeStepGraphNotes() {
  std::vector<std::string> notes = std::move(stepGraphNotes);
  stepGraphNotes.clear();
  return notes;
}

} // namespace var::exec
