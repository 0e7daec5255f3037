// The executor's walk over a plan function: initial weights, model state
// allocated once in the backend's memory (or the host's, where the plan
// offloads it), the arenas each function's values live in, and dispatch of
// each instruction to a backend kernel, the host, or the dist ops
// (DistOps.cpp).
#include "runtime/exec/Executor.h"
#include "runtime/exec/ExecutorHelpers.h"
#include "runtime/exec/WorkerPool.h"
#include "runtime/plan/PlanMemoryReport.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace var::exec {

using plan::DType;

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

int64_t HostTensor::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

HostTensor HostTensor::f32(std::vector<int64_t> shape,
                           const std::vector<float> &values) {
  HostTensor t;
  t.shape = std::move(shape);
  t.bytes.resize(values.size() * sizeof(float));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

HostTensor HostTensor::i64(std::vector<int64_t> shape,
                           const std::vector<int64_t> &values) {
  HostTensor t;
  t.dtype = DType::I64;
  t.shape = std::move(shape);
  t.bytes.resize(values.size() * sizeof(int64_t));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

HostTensor HostTensor::scalarF32(float value) { return f32({}, {value}); }

HostTensor HostTensor::scalarI64(int64_t value) { return i64({}, {value}); }

std::vector<float> HostTensor::floats() const {
  cpu::TensorView view{dtype, shape, const_cast<uint8_t *>(bytes.data())};
  return cpu::readFloats(view);
}

//===----------------------------------------------------------------------===//
// Initialization
//===----------------------------------------------------------------------===//

namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t hashName(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name)
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

/// A deterministic stream of uniform numbers in (0, 1).
class Random {
public:
  explicit Random(uint64_t seed) : state(seed) {}
  double uniform() {
    state = mix(state);
    return (static_cast<double>(state >> 11) + 0.5) / 9007199254740992.0;
  }
  double normal() {
    double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

private:
  uint64_t state;
};

} // namespace

std::vector<float> initialValues(const plan::PlanParam &param, uint64_t seed) {
  std::vector<float> values(static_cast<size_t>(param.numel));
  Random random(mix(seed) ^ hashName(param.name));
  int64_t receptive = 1;
  for (size_t i = 2; i < param.shape.size(); ++i)
    receptive *= param.shape[i];
  double fanOut = param.shape.empty() ? 1.0 : param.shape[0] * receptive;
  double fanIn = param.shape.size() < 2 ? fanOut : param.shape[1] * receptive;
  double arg = param.initArgs.empty() ? 0.0 : param.initArgs[0];
  for (float &v : values) {
    switch (param.init) {
    case plan::InitKind::Zeros:
      v = 0.0f;
      break;
    case plan::InitKind::Ones:
      v = 1.0f;
      break;
    case plan::InitKind::Normal:
      v = static_cast<float>(arg * random.normal());
      break;
    case plan::InitKind::Uniform:
      v = static_cast<float>(arg * (2.0 * random.uniform() - 1.0));
      break;
    case plan::InitKind::KaimingNormalFanIn:
      v = static_cast<float>(std::sqrt(2.0 / fanIn) * random.normal());
      break;
    case plan::InitKind::KaimingNormalFanOut:
      v = static_cast<float>(std::sqrt(2.0 / fanOut) * random.normal());
      break;
    case plan::InitKind::KaimingUniform:
      v = static_cast<float>((2.0 * random.uniform() - 1.0) / std::sqrt(fanIn));
      break;
    case plan::InitKind::XavierUniform:
      v = static_cast<float>((2.0 * random.uniform() - 1.0) *
                             std::sqrt(6.0 / (fanIn + fanOut)));
      break;
    }
  }
  return values;
}

namespace {

/// Bytes of physical memory: no single allocation a plan asks for may exceed
/// it (a hostile plan must get an error, not an out-of-memory kill).
int64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<int64_t>(pages) * size
                               : int64_t(1) << 40;
}

std::string checkAllocation(int64_t bytes, const std::string &what) {
  if (bytes < 0 || bytes > physicalMemory())
    return what + " needs " + std::to_string(bytes) +
           " bytes, more than this machine's memory (" +
           std::to_string(physicalMemory()) + " bytes)";
  return "";
}

} // namespace

Executor::Executor(const plan::Plan &plan, comm::Communicator &comm)
    : plan(plan), comm(&comm) {}

plan::Expected<Executor> Executor::create(const plan::Plan &plan,
                                          comm::Communicator &comm,
                                          uint64_t seed,
                                          std::unique_ptr<Backend> backend) {
  if (!plan.isResolved() || plan.worldSize != comm.getWorldSize())
    return plan::PlanError{
        "the plan is resolved for " + std::to_string(plan.worldSize) +
        " ranks; the job has " + std::to_string(comm.getWorldSize())};
  Executor executor(plan, comm);
  executor.backend = backend ? std::move(backend) : createCpuBackend();
  std::string error = executor.initialize(seed);
  if (!error.empty())
    return plan::PlanError{error};
  return executor;
}

std::string Executor::initialize(uint64_t seed) {
  rank = comm->getRank();
  worldSize = comm->getWorldSize();
  stage = plan.config.zeroStage;
  initSeed = seed;
  if (!backend->isHostMemory()) {
    paramsOnHost = plan.config.offloadParams && stage == 3;
    optimizerOnHost = plan.config.offloadOptimizer && stage >= 1;
  }
  const char *sync = std::getenv("VAR_SYNC_EACH_OP");
  syncEachOp = sync && std::string(sync) == "1";
  const char *poison = std::getenv("VAR_POISON_ARENA");
  poisonArena = poison && std::string(poison) == "1";
  if (worldSize > 1) {
    std::string error;
    deviceComm = backend->createDeviceCommunicator(*comm, error);
    if (!error.empty())
      return "cannot create the device communicator: " + error;
  }
  location.assign(plan.params.size(), {-1, 0});
  buffers.resize(plan.params.size());
  buckets.resize(plan.buckets.size());
  for (size_t b = 0; b < plan.buckets.size(); ++b) {
    const plan::PlanBucket &source = plan.buckets[b];
    for (size_t i = 0; i < source.params.size(); ++i)
      location[source.params[i]] = {static_cast<int64_t>(b), source.offsets[i]};
    if (std::string error = allocateBucket(b); !error.empty())
      return error;
    Bucket &bucket = buckets[b];
    std::vector<float> full(static_cast<size_t>(bucket.padded), 0.0f);
    for (size_t i = 0; i < source.params.size(); ++i) {
      std::vector<float> values =
          initialValues(plan.params[source.params[i]], seed);
      std::copy(values.begin(), values.end(), full.begin() + source.offsets[i]);
    }
    if (std::string error = setBucketValues(bucket, full); !error.empty())
      return error;
  }
  for (size_t p = 0; p < plan.params.size(); ++p) {
    if (location[p].first >= 0)
      continue;
    const plan::PlanParam &param = plan.params[p];
    std::string what = "parameter '" + param.name + "'";
    if (std::string error = checkAllocation(param.numel * 8, what);
        !error.empty())
      return error;
    std::vector<float> values = initialValues(param, seed);
    if (std::string error = buffers[p].allocate(
            *backend, param.numel * plan::getDTypeBytes(param.dtype), what);
        !error.empty())
      return withPlanReport(error);
    if (std::string error = upload(values.data(), param.numel,
                                   {buffers[p].data(), param.dtype, false});
        !error.empty())
      return error;
  }
  return withPlanReport(
      gradNorm.allocate(*backend, sizeof(double), "the gradient norm"));
}

std::string Executor::withPlanReport(const std::string &error) const {
  if (error.empty())
    return error;
  plan::Expected<plan::PlanMemoryReport> report =
      plan::computePlanMemoryReport(plan);
  if (!report)
    return error;
  return error + "; the plan's memory report for this rank: " +
         plan::formatPlanMemoryReport(*report);
}

std::string Executor::allocateBucket(size_t index) {
  const plan::PlanBucket &source = plan.buckets[index];
  Bucket &bucket = buckets[index];
  bucket.numel = source.numel;
  bucket.padded = source.paddedNumel;
  bucket.shard = source.shardNumel;
  bucket.dtype = source.dtype;
  bucket.hasMaster =
      source.dtype != DType::F32 || paramsOnHost != optimizerOnHost;
  std::string what = "bucket '" + source.name + "'";
  // The whole f32 bucket is built on the host to initialize it.
  int64_t states = static_cast<int64_t>(source.stateKeys.size());
  int64_t bytes = 0;
  if (__builtin_mul_overflow(bucket.padded, 4 * (3 + states), &bytes))
    bytes = -1;
  if (std::string error = checkAllocation(bytes, what); !error.empty())
    return error;
  int64_t elementBytes = plan::getDTypeBytes(bucket.dtype);
  int64_t masterBytes = masterCount(bucket) * 4;
  std::string error = bucket.params.allocate(
      *backend, (stage == 3 ? bucket.shard : bucket.padded) * elementBytes,
      what + " parameters", paramsOnHost);
  if (error.empty() && bucket.hasMaster)
    error = bucket.master.allocate(*backend, masterBytes, what + " master",
                                   optimizerOnHost);
  bucket.state.resize(source.stateKeys.size());
  for (size_t k = 0; k < bucket.state.size() && error.empty(); ++k) {
    error = bucket.state[k].allocate(*backend, masterBytes,
                                     what + " " + source.stateKeys[k],
                                     optimizerOnHost);
    if (error.empty())
      error = zero({bucket.state[k].data(), DType::F32, optimizerOnHost},
                   masterCount(bucket));
  }
  // The f32 gradient sum only exists where micro-batches accumulate into
  // it; otherwise the packed gradients live in the step's arena.
  int64_t gradCount = stage <= 1 ? bucket.padded : bucket.shard;
  if (error.empty() && plan.config.gradAccum > 1)
    error = bucket.grads.allocate(*backend, gradCount * 4, what + " gradients");
  if (error.empty() && bucket.grads.data())
    error = zero({bucket.grads.data(), DType::F32, false}, gradCount);
  if (error.empty())
    error = bucket.squares.allocate(*backend, kSquarePartials * 8,
                                    what + " gradient norm", optimizerOnHost);
  if (error.empty())
    error = zero({bucket.squares.data(), DType::F32, optimizerOnHost},
                 kSquarePartials * 2);
  return withPlanReport(error);
}

std::string Executor::setBucketValues(Bucket &bucket,
                                      const std::vector<float> &full) {
  int64_t count = stage == 3 ? bucket.shard : bucket.padded;
  const float *first = full.data() + (stage == 3 ? rank * bucket.shard : 0);
  if (std::string error = upload(first, count, paramsData(bucket));
      !error.empty())
    return error;
  if (!bucket.hasMaster)
    return "";
  const float *mine = full.data() + (stage == 0 ? 0 : rank * bucket.shard);
  return upload(mine, masterCount(bucket), masterData(bucket));
}

Executor::Place Executor::Place::at(int64_t elements) const {
  return {static_cast<uint8_t *>(data) + elements * plan::getDTypeBytes(dtype),
          dtype, host};
}

Executor::Place Executor::paramsData(Bucket &bucket) {
  return {bucket.params.data(), bucket.dtype, bucket.params.isHost()};
}

Executor::Place Executor::masterData(Bucket &bucket) {
  if (bucket.hasMaster)
    return {bucket.master.data(), DType::F32, bucket.master.isHost()};
  Place params = paramsData(bucket);
  return stage == 1 || stage == 2 ? params.at(rank * bucket.shard) : params;
}

int64_t Executor::masterCount(const Bucket &bucket) const {
  return stage == 0 ? bucket.padded : bucket.shard;
}

//===----------------------------------------------------------------------===//
// Running a function
//===----------------------------------------------------------------------===//

std::string Executor::run(std::string_view name,
                          const std::vector<HostTensor> &args,
                          std::vector<HostTensor> &results, uint64_t microSeed,
                          int64_t firstSample) {
  const plan::PlanFunction *function = plan.findFunction(name);
  if (!function)
    return "the plan has no function '" + std::string(name) + "'";
  if (args.size() != function->args.size())
    return "function '" + std::string(name) + "' takes " +
           std::to_string(function->args.size()) + " arguments, got " +
           std::to_string(args.size());

  // Every function's layout at the first run, so that the arenas get
  // their final size at once and never move: a recorded step refers to
  // them.
  if (layouts.empty())
    for (const plan::PlanFunction &other : plan.functions) {
      const FunctionLayout *unused = nullptr;
      if (std::string error = prepareMemory(other, other.name, unused);
          !error.empty())
        return error;
    }
  const FunctionLayout *layout = nullptr;
  if (std::string error = prepareMemory(*function, std::string(name), layout);
      !error.empty())
    return error;
  int64_t bytes = 0, hostBytes = 0;
  for (const auto &[other, otherLayout] : layouts) {
    bytes = std::max(bytes, otherLayout.bytes);
    hostBytes = std::max(hostBytes, otherLayout.hostBytes);
  }
  std::string what = "function '" + std::string(name) + "'";
  if (bytes > arena.size())
    if (std::string error = arena.allocate(*backend, bytes, what);
        !error.empty())
      return withPlanReport(error);
  if (hostBytes > hostArena.size())
    if (std::string error =
            hostArena.allocate(*backend, hostBytes, what + " (host)", true);
        !error.empty())
      return withPlanReport(error);
  bool device = !backend->isHostMemory();
  if (device) {
    int64_t areaBytes = 0;
    for (const auto &[other, otherLayout] : layouts)
      areaBytes = std::max(areaBytes, otherLayout.argumentStaging.size());
    if (areaBytes > argumentArea.size()) {
      if (std::string error =
              argumentArea.allocate(*backend, areaBytes, "the runs' arguments");
          !error.empty())
        return withPlanReport(error);
      argumentsHolder.clear();
    }
  }
  auto *base = static_cast<uint8_t *>(arena.data());
  auto *hostBase = static_cast<uint8_t *>(hostArena.data());
  std::vector<cpu::TensorView> views(function->values.size());
  for (size_t id = 0; id < views.size(); ++id) {
    const plan::PlanValue &value = function->values[id];
    views[id] = {value.dtype, value.shape,
                 (layout->onHost[id] ? hostBase : base) + layout->offsets[id]};
  }
  for (const auto &[id, address] : layout->paramAliases)
    views[id].data = address;
  if (device)
    for (size_t i = 0; i < function->args.size(); ++i)
      views[function->args[i].value].data =
          static_cast<uint8_t *>(argumentArea.data()) +
          layout->argumentOffsets[i];

  runBatch = 0;
  for (const plan::PlanArgument &arg : function->args)
    if (arg.role == plan::ArgRole::Input && !views[arg.value].shape.empty())
      runBatch = views[arg.value].shape[0];
  argumentBytes.assign(views.size(), nullptr);
  if (device && argumentsHolder != name) {
    argumentsHolder = std::string(name);
    argumentsCurrent.assign(args.size(), false);
  }
  for (size_t i = 0; i < args.size(); ++i) {
    uint32_t id = function->args[i].value;
    const HostTensor &arg = args[i];
    if (arg.dtype != views[id].dtype || arg.shape != views[id].shape) {
      argumentBytes.clear();
      return "argument " + std::to_string(i) + " of '" + std::string(name) +
             "' must be a " + std::string(plan::getDTypeName(views[id].dtype)) +
             " tensor of the plan's shape";
    }
    argumentBytes[id] = arg.bytes.data();
    // A device copies from the function's fixed page-locked staging.
    if (!device)
      continue;
    std::vector<const uint8_t *> &staged = stagedArguments[std::string(name)];
    staged.resize(args.size(), nullptr);
    // Small arguments (a step's LR, a label batch) are copied every run:
    // cheap, and a caller rebuilding one may get the freed storage back.
    if (!fixedArguments.count(name) || staged[i] != arg.bytes.data() ||
        arg.bytes.size() < kFixedArgumentBytes) {
      copyOnThreads(static_cast<uint8_t *>(layout->argumentStaging.data()) +
                        layout->argumentOffsets[i],
                    arg.bytes.data(), arg.bytes.size());
      argumentsCurrent[i] = false;
    }
    staged[i] = arg.bytes.data();
  }
  // Changed arguments go to the device ahead of the run, in stream order
  // (a recorded step holds no argument copies).
  if (device) {
    if (std::string error = backend->selectStream(PlanStream::Compute);
        !error.empty()) {
      argumentBytes.clear();
      return what + ": " + error;
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (argumentsCurrent[i])
        continue;
      int64_t offset = layout->argumentOffsets[i];
      if (std::string error = backend->enqueueCopyToDevice(
              static_cast<uint8_t *>(argumentArea.data()) + offset,
              static_cast<const uint8_t *>(layout->argumentStaging.data()) +
                  offset,
              static_cast<int64_t>(args[i].bytes.size()));
          !error.empty()) {
        argumentBytes.clear();
        argumentsHolder.clear();
        return "argument " + std::to_string(i) + " of '" + std::string(name) +
               "': " + error;
      }
      argumentsCurrent[i] = true;
    }
  }
  if (std::string error =
          writeStepScalars(*function, *layout, microSeed, firstSample);
      !error.empty()) {
    argumentBytes.clear();
    return what + ": " + error;
  }
  runScalars = static_cast<const cpu::StepScalars *>(layout->scalars.data());
  runHostScalars =
      static_cast<const cpu::StepScalars *>(layout->hostScalars.data());

  bool syncEach = device && (syncEachOp || timer);
  runOnLane = layout->hostLane && !captureGradients;
  StepGraph &graph = stepGraphs[std::string(name)];
  RunMode mode =
      chooseRunMode(*function, *layout, graph, syncEach || timer || timeline,
                    timeline && !timer && !syncEach);
  std::string error;
  if (mode == RunMode::ReplayTimed) {
    bool replayed = false;
    error = replayTimed(*function, *layout, views, graph, replayed);
    if (error.empty() && !replayed)
      mode = RunMode::Eager;
  }
  if (mode == RunMode::Replay) {
    bool stale = false;
    error = backend->replay(graph.graph, stale);
    if (!error.empty())
      error = what + ": replaying its step graph failed: " + error;
    else if (stale) {
      graph.graph = -1; // the backend dropped it: recorded again next run
      mode = RunMode::Eager;
    } else
      ++graphReplays;
  }
  if (mode == RunMode::Record) {
    bool recorded = false;
    error = recordRun(*function, *layout, views, graph, recorded);
    if (error.empty() && !recorded)
      mode = RunMode::Eager; // nothing ran: run it as usual
  }
  if (mode == RunMode::Eager)
    error = enqueueRun(*function, *layout, views, syncEach);
  ++graph.runs;
  argumentBytes.clear();
  if (!error.empty())
    return error;
  if (device && !syncEach)
    if (std::string error = backend->synchronize(); !error.empty())
      return "a kernel of function '" + std::string(name) +
             "' failed: " + error +
             (mode == RunMode::Eager
                  ? " (run with VAR_SYNC_EACH_OP=1 to name its instruction)"
                  : " (in its step graph; run with VAR_SYNC_EACH_OP=1 to "
                    "name its instruction)");
  hostCalls.clear(); // run: what they read is no longer needed
  if (timeline)
    if (std::string error = recordTimeline(*function, *layout); !error.empty())
      return what + ": " + error;
  results.clear();
  for (size_t r = 0; r < function->results.size(); ++r) {
    uint32_t id = function->results[r];
    HostTensor out;
    out.dtype = views[id].dtype;
    out.shape = views[id].shape;
    out.bytes.resize(static_cast<size_t>(views[id].bytes()));
    const void *source = views[id].data;
    if (device && !layout->onHost[id])
      source = static_cast<const uint8_t *>(layout->resultStaging.data()) +
               layout->resultOffsets[r];
    std::memcpy(out.bytes.data(), source, out.bytes.size());
    results.push_back(std::move(out));
  }
  return "";
}

void Executor::setFixedArguments(std::string_view name, bool fixed) {
  if (fixed)
    fixedArguments.emplace(name);
  else if (auto found = fixedArguments.find(name);
           found != fixedArguments.end())
    fixedArguments.erase(found);
}

std::string Executor::enqueueRun(const plan::PlanFunction &function,
                                 const FunctionLayout &layout,
                                 std::vector<cpu::TensorView> &views,
                                 bool syncEach) {
  const std::string &name = function.name;
  std::string what = "function '" + name + "'";
  PlanStream current = PlanStream::Compute;
  if (std::string error = backend->selectStream(current); !error.empty())
    return what + ": " + error;
  // The arenas are not cleared between runs (gigabytes of memset a step):
  // every kernel writes all of its results, and the dist ops clear what
  // they accumulate into. VAR_POISON_ARENA=1 fills them with 0xFF bytes
  // (NaN in every float type) before each run instead, for tests to show
  // that nothing reads what the run did not write.
  if (poisonArena) {
    if (std::string error = backend->fill(arena.data(), layout.bytes, 0xFF);
        !error.empty())
      return what + ": " + error;
    if (layout.hostBytes)
      std::memset(hostArena.data(), 0xFF,
                  static_cast<size_t>(layout.hostBytes));
  }
  if (std::string error = backend->enqueueCopyToDevice(
          layout.scalars.data(), layout.hostScalars.data(), layout.scalarBytes);
      !error.empty())
    return what + ": the step scalars: " + error;
  bool device = !backend->isHostMemory();
  // A device run's arguments are in the argument area already (run()).
  for (size_t i = 0; !device && i < function.args.size(); ++i) {
    const cpu::TensorView &view = views[function.args[i].value];
    if (std::string error = backend->copyToDevice(
            view.data, argumentBytes[function.args[i].value], view.bytes());
        !error.empty())
      return "argument " + std::to_string(i) + " of '" + name + "': " + error;
  }
  // The comm and copy streams start after the prologue above (step
  // scalars, and before it the arguments), which went on compute: a gather
  // racing the zeroing of its bucket left ZeRO-3 training on zeros.
  if (device) {
    if (std::string error = backend->recordEvent(kRunStartEvent);
        !error.empty())
      return what + ": " + error;
    for (PlanStream side : {PlanStream::Comm, PlanStream::Copy})
      if (std::string error = backend->waitEvent(side, kRunStartEvent);
          !error.empty())
        return what + ": " + error;
  }
  if (timeline)
    if (std::string error = backend->markTime(0, false); !error.empty())
      return what + ": " + error;
  for (size_t i = 0; i < function.instructions.size(); ++i) {
    const plan::Instruction &inst = function.instructions[i];
    if (timer)
      timer->begin(function, i);
    // The host stream's device work (copies, zeroing) goes on compute,
    // or on the host lane with its host calls.
    bool hostWork = layout.streams[i] == PlanStream::Host && !runOnLane;
    PlanStream stream = hostWork ? PlanStream::Compute : layout.streams[i];
    std::string error;
    if (stream != current) {
      error = backend->selectStream(stream);
      current = stream;
    }
    if (error.empty() && timeline)
      error = backend->markTime(1 + 2 * i, hostWork);
    if (error.empty())
      error = execute(function, layout, i, views);
    if (error.empty() && timeline)
      error = backend->markTime(2 + 2 * i, hostWork);
    if (error.empty() && syncEach)
      error = backend->synchronize(); // a kernel's fault names its op
    if (timer)
      timer->end(function, i);
    if (!error.empty())
      return "instruction " + std::to_string(i) + " (" + inst.op +
             (inst.location.empty() ? "" : " at " + inst.location) + ") of '" +
             name + "': " + error +
             (device && !syncEach
                  ? " (kernels run asynchronously: an earlier instruction "
                    "may have failed; VAR_SYNC_EACH_OP=1 names it)"
                  : "");
  }
  if (std::string error = backend->selectStream(PlanStream::Compute);
      !error.empty())
    return what + ": " + error;
  // Device results go to their staging in stream order, read after the
  // run's synchronize; synchronizing each instruction, the run has none
  // left, and the copies wait.
  for (size_t r = 0; device && r < function.results.size(); ++r) {
    uint32_t id = function.results[r];
    if (layout.onHost[id])
      continue;
    void *staged = static_cast<uint8_t *>(layout.resultStaging.data()) +
                   layout.resultOffsets[r];
    std::string error =
        syncEach
            ? backend->copyToHost(staged, views[id].data, views[id].bytes())
            : backend->enqueueCopyToHost(staged, views[id].data,
                                         views[id].bytes());
    if (!error.empty())
      return "result of '" + name + "': " + error;
  }
  return "";
}

std::string Executor::recordTimeline(const plan::PlanFunction &function,
                                     const FunctionLayout &layout) {
  size_t count = function.instructions.size();
  std::vector<double> seconds;
  if (std::string error = backend->readTimes(1 + 2 * count, seconds);
      !error.empty())
    return error;
  std::vector<double> begin(count), end(count);
  for (size_t i = 0; i < count; ++i) {
    begin[i] = seconds[1 + 2 * i];
    end[i] = seconds[2 + 2 * i];
  }
  timeline->record(function, layout.streams, begin, end);
  return "";
}

std::string Executor::prepareMemory(const plan::PlanFunction &function,
                                    const std::string &name,
                                    const FunctionLayout *&layout) {
  auto found = layouts.find(name);
  if (found != layouts.end()) {
    layout = &found->second;
    return "";
  }
  FunctionLayout fresh;
  size_t count = function.values.size();
  fresh.offsets.resize(count);
  fresh.onHost.assign(count, false);
  // On a device backend, what dist.to_host and the "host" stream produce,
  // and the parameter shards loaded from host memory, stay on the host.
  // Full buckets a collective reads or writes get room for the padding.
  std::vector<int64_t> capacity(count, 0);
  for (const plan::Instruction &inst : function.instructions) {
    bool event = inst.op == "dist.record_event" || inst.op == "dist.wait_event";
    PlanStream stream = parsePlanStream(
        inst.getAttr<std::string>(event ? "stream" : "dist.stream"));
    fresh.streams.push_back(stream);
    if (inst.op == "dist.record_event" && stream == PlanStream::Host)
      fresh.hostEvents.push_back(*inst.getAttr<int64_t>("event"));
    bool host = inst.op == "dist.to_host" || stream == PlanStream::Host ||
                (inst.op == "dist.load_params" && paramsOnHost);
    for (uint32_t id : inst.results)
      fresh.onHost[id] = host && !backend->isHostMemory();
    bool gather = inst.op == "dist.all_gather";
    if (gather || inst.op == "dist.reduce_scatter") {
      uint32_t full = gather ? inst.results[0] : inst.operands[0];
      uint32_t shard = gather ? inst.operands[0] : inst.results[0];
      int64_t bucket = function.values[shard].shardOf;
      if (bucket >= 0)
        capacity[full] = plan.buckets[bucket].paddedNumel *
                         plan::getDTypeBytes(function.values[full].dtype);
    }
  }
  aliasParameters(function, fresh);
  viewUnpacked(function, fresh);
  fuseStores(function, fresh);
  std::vector<int64_t> storage = leftOutStorage(function, fresh);
  // The planned arena, then every value the planner left out, 256-byte
  // aligned (what cuDNN and vector loads want). The loader keeps each
  // value's bytes within int64; the sums are checked.
  int64_t total = (function.arenaBytes + 255) / 256 * 256, hostTotal = 0;
  for (size_t id = 0; id < count; ++id) {
    const plan::PlanValue &value = function.values[id];
    if (value.arenaOffset >= 0 && !fresh.onHost[id]) {
      fresh.offsets[id] = value.arenaOffset;
      continue;
    }
    if (storage[id] != static_cast<int64_t>(id)) {
      if (storage[id] >= 0) // shares an earlier value's room
        fresh.offsets[id] = fresh.offsets[static_cast<size_t>(storage[id])];
      continue;
    }
    int64_t elements = 1;
    for (int64_t dim : value.shape)
      elements *= dim;
    int64_t bytes =
        std::max(elements * plan::getDTypeBytes(value.dtype), capacity[id]);
    int64_t &end = fresh.onHost[id] ? hostTotal : total;
    fresh.offsets[id] = end;
    if (end < 0 || __builtin_add_overflow(end, (bytes + 255) / 256 * 256, &end))
      end = -1;
  }
  for (const UnpackView &view : fresh.unpackViews)
    fresh.offsets[view.id] = fresh.offsets[view.source] + view.bytes;
  for (int64_t bytes : {total, hostTotal})
    if (std::string error = checkAllocation(bytes, "function '" + name + "'");
        !error.empty())
      return error;
  fresh.bytes = total;
  fresh.hostBytes = hostTotal;
  if (std::string error = prepareStaging(function, name, fresh); !error.empty())
    return withPlanReport(error);
  fresh.hostLane = optimizerOnHost && hostLaneWork(function, fresh).empty();
  layout = &layouts.emplace(name, std::move(fresh)).first->second;
  return "";
}

} // namespace var::exec
