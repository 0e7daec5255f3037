// The executor's walk over a plan function, and the dist ops: bucket
// storage, collectives through the communicator, and flat optimizer updates
// on the rank's shard of the FP32 master.
#include "runtime/exec/Executor.h"
#include "runtime/exec/ExecutorHelpers.h"

#include <algorithm>
#include <cmath>
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
  location.assign(plan.params.size(), {-1, 0});
  buffers.resize(plan.params.size());
  buckets.resize(plan.buckets.size());
  for (size_t b = 0; b < plan.buckets.size(); ++b) {
    const plan::PlanBucket &source = plan.buckets[b];
    Bucket &bucket = buckets[b];
    bucket.numel = source.numel;
    bucket.padded = source.paddedNumel;
    bucket.shard = source.shardNumel;
    bucket.dtype = source.dtype;
    bucket.hasMaster = source.dtype != DType::F32;
    // Full f32 bucket, compute copy, master, state and gradients.
    int64_t states = static_cast<int64_t>(source.stateKeys.size());
    int64_t bytes = 0;
    if (__builtin_mul_overflow(bucket.padded, 4 * (3 + states), &bytes))
      bytes = -1;
    std::string error = checkAllocation(bytes, "bucket '" + source.name + "'");
    if (!error.empty())
      return error;
    std::vector<float> full(static_cast<size_t>(bucket.padded), 0.0f);
    for (size_t i = 0; i < source.params.size(); ++i) {
      const plan::PlanParam &param = plan.params[source.params[i]];
      location[source.params[i]] = {static_cast<int64_t>(b), source.offsets[i]};
      std::vector<float> values = initialValues(param, seed);
      std::copy(values.begin(), values.end(), full.begin() + source.offsets[i]);
    }
    setBucketValues(bucket, full);
    bucket.state.assign(source.stateKeys.size(),
                        std::vector<float>(masterCount(bucket), 0.0f));
    bucket.grads.assign(stage <= 1 ? bucket.padded : bucket.shard, 0.0f);
  }
  for (size_t p = 0; p < plan.params.size(); ++p) {
    if (location[p].first >= 0)
      continue;
    const plan::PlanParam &param = plan.params[p];
    std::string error =
        checkAllocation(param.numel * 8, "parameter '" + param.name + "'");
    if (!error.empty())
      return error;
    std::vector<float> values = initialValues(param, seed);
    buffers[p].resize(
        static_cast<size_t>(param.numel * plan::getDTypeBytes(param.dtype)));
    storeAs(values.data(), param.numel, param.dtype, buffers[p].data());
  }
  return "";
}

void Executor::setBucketValues(Bucket &bucket, const std::vector<float> &full) {
  int64_t count = stage == 3 ? bucket.shard : bucket.padded;
  const float *first = full.data() + (stage == 3 ? rank * bucket.shard : 0);
  bucket.params.resize(
      static_cast<size_t>(count * plan::getDTypeBytes(bucket.dtype)));
  storeAs(first, count, bucket.dtype, bucket.params.data());
  if (bucket.hasMaster) {
    const float *mine = full.data() + (stage == 0 ? 0 : rank * bucket.shard);
    bucket.master.assign(mine, mine + masterCount(bucket));
  }
}

float *Executor::masterData(Bucket &bucket) {
  if (bucket.hasMaster)
    return bucket.master.data();
  auto *params = reinterpret_cast<float *>(bucket.params.data());
  return stage == 1 || stage == 2 ? params + rank * bucket.shard : params;
}

int64_t Executor::masterCount(const Bucket &bucket) const {
  return stage == 0 ? bucket.padded : bucket.shard;
}

//===----------------------------------------------------------------------===//
// Running a function
//===----------------------------------------------------------------------===//

std::string Executor::run(std::string_view name,
                          const std::vector<HostTensor> &args,
                          std::vector<HostTensor> &results,
                          uint64_t microSeed) {
  const plan::PlanFunction *function = plan.findFunction(name);
  if (!function)
    return "the plan has no function '" + std::string(name) + "'";
  if (args.size() != function->args.size())
    return "function '" + std::string(name) + "' takes " +
           std::to_string(function->args.size()) + " arguments, got " +
           std::to_string(args.size());

  const FunctionLayout *layout = nullptr;
  if (std::string error = prepareMemory(*function, std::string(name), layout);
      !error.empty())
    return error;
  // Growing frees the smaller arena first: never both at once.
  if (layout->bytes > arena.size()) {
    if (std::string error = arena.allocate(
            *backend, layout->bytes, "function '" + std::string(name) + "'");
        !error.empty())
      return error;
  }
  // Every run starts from a zeroed arena, as kernels that accumulate expect.
  auto *base = static_cast<uint8_t *>(arena.data());
  if (std::string error = backend->zero(base, layout->bytes); !error.empty())
    return "function '" + std::string(name) + "': " + error;
  std::vector<cpu::TensorView> views(function->values.size());
  for (size_t id = 0; id < views.size(); ++id) {
    const plan::PlanValue &value = function->values[id];
    views[id] = {value.dtype, value.shape, base + layout->offsets[id]};
  }

  for (size_t i = 0; i < args.size(); ++i) {
    uint32_t id = function->args[i].value;
    const HostTensor &arg = args[i];
    if (arg.dtype != views[id].dtype || arg.shape != views[id].shape)
      return "argument " + std::to_string(i) + " of '" + std::string(name) +
             "' must be a " + std::string(plan::getDTypeName(views[id].dtype)) +
             " tensor of the plan's shape";
    if (std::string error =
            backend->copyToDevice(views[id].data, arg.bytes.data(),
                                  static_cast<int64_t>(arg.bytes.size()));
        !error.empty())
      return "argument " + std::to_string(i) + " of '" + std::string(name) +
             "': " + error;
  }
  for (size_t i = 0; i < function->instructions.size(); ++i) {
    const plan::Instruction &inst = function->instructions[i];
    if (timer)
      timer->begin(*function, i);
    std::string error = execute(*function, inst, views, microSeed);
    if (error.empty() && !backend->isHostMemory())
      error = backend->synchronize(); // a kernel's fault names its op
    if (timer)
      timer->end(*function, i);
    if (!error.empty())
      return "instruction " + std::to_string(i) + " (" + inst.op +
             (inst.location.empty() ? "" : " at " + inst.location) + ") of '" +
             std::string(name) + "': " + error;
  }
  results.clear();
  for (uint32_t id : function->results) {
    HostTensor out;
    out.dtype = views[id].dtype;
    out.shape = views[id].shape;
    out.bytes.resize(static_cast<size_t>(views[id].bytes()));
    if (std::string error = backend->copyToHost(
            out.bytes.data(), views[id].data, views[id].bytes());
        !error.empty())
      return "result of '" + std::string(name) + "': " + error;
    results.push_back(std::move(out));
  }
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
  // The planned arena, then every value the planner left out, 256-byte
  // aligned (what cuDNN and vector loads want). The loader keeps each
  // value's bytes within int64; the sum is checked.
  FunctionLayout fresh;
  fresh.offsets.resize(function.values.size());
  int64_t total = (function.arenaBytes + 255) / 256 * 256;
  for (size_t id = 0; id < function.values.size(); ++id) {
    const plan::PlanValue &value = function.values[id];
    if (value.arenaOffset >= 0) {
      fresh.offsets[id] = value.arenaOffset;
      continue;
    }
    int64_t count = 1;
    for (int64_t dim : value.shape)
      count *= dim;
    int64_t bytes = count * plan::getDTypeBytes(value.dtype);
    fresh.offsets[id] = total;
    if (total < 0 ||
        __builtin_add_overflow(total, (bytes + 255) / 256 * 256, &total))
      total = -1;
  }
  if (std::string error = checkAllocation(total, "function '" + name + "'");
      !error.empty())
    return error;
  fresh.bytes = total;
  layout = &layouts.emplace(name, std::move(fresh)).first->second;
  return "";
}

std::string Executor::execute(const plan::PlanFunction &function,
                              const plan::Instruction &inst,
                              std::vector<cpu::TensorView> &views,
                              uint64_t seed) {
  std::vector<cpu::TensorView> operands, results;
  for (uint32_t id : inst.operands)
    operands.push_back(views[id]);
  for (uint32_t id : inst.results)
    results.push_back(views[id]);

  bool hostOp = inst.op == "var.get_param" || inst.op == "var.update_buffer" ||
                inst.op.rfind("dist.", 0) == 0;
  if (!hostOp && backend->hasKernel(inst.op)) {
    cpu::OpCall call{inst, std::move(operands), std::move(results), seed};
    return backend->runOp(call);
  }
  if (backend->isHostMemory())
    return executeOnHost(function, inst, operands, results, seed);

  // Device tensors: run on host copies, then copy the results back. Results
  // start zeroed, as in the arena.
  int64_t words = 0;
  for (const auto *list : {&operands, &results})
    for (const cpu::TensorView &tensor : *list)
      words += (tensor.bytes() + 7) / 8;
  if (static_cast<int64_t>(staging.size()) < words)
    staging.resize(static_cast<size_t>(words));
  uint64_t *next = staging.data();
  std::vector<cpu::TensorView> hostOperands = operands, hostResults = results;
  for (cpu::TensorView &tensor : hostOperands) {
    if (std::string error =
            backend->copyToHost(next, tensor.data, tensor.bytes());
        !error.empty())
      return error;
    tensor.data = next;
    next += (tensor.bytes() + 7) / 8;
  }
  for (cpu::TensorView &tensor : hostResults) {
    std::fill(next, next + (tensor.bytes() + 7) / 8, 0);
    tensor.data = next;
    next += (tensor.bytes() + 7) / 8;
  }
  if (std::string error =
          executeOnHost(function, inst, hostOperands, hostResults, seed);
      !error.empty())
    return error;
  for (size_t r = 0; r < results.size(); ++r)
    if (std::string error = backend->copyToDevice(
            results[r].data, hostResults[r].data, results[r].bytes());
        !error.empty())
      return error;
  return "";
}

std::string Executor::executeOnHost(const plan::PlanFunction &function,
                                    const plan::Instruction &inst,
                                    std::vector<cpu::TensorView> &operands,
                                    std::vector<cpu::TensorView> &results,
                                    uint64_t seed) {
  if (inst.op == "var.get_param" || inst.op == "var.update_buffer") {
    const plan::SymbolRef *symbol = inst.findSymbol("name");
    if (!symbol || symbol->kind != plan::SymbolKind::Param)
      return "names no parameter";
    auto [b, offset] = location[symbol->index];
    const plan::PlanParam &param = plan.params[symbol->index];
    if (inst.op == "var.update_buffer") {
      std::vector<float> values = cpu::readFloats(operands[0]);
      storeAs(values.data(), param.numel, param.dtype,
              buffers[symbol->index].data());
      return "";
    }
    std::vector<float> values;
    if (b < 0) {
      values = loadAs(buffers[symbol->index].data(), param.numel, param.dtype);
    } else {
      if (stage == 3)
        return "parameter '" + param.name +
               "' is sharded at stage 3; the plan must gather it";
      Bucket &bucket = buckets[b];
      values = loadAs(bucket.params.data() +
                          offset * plan::getDTypeBytes(bucket.dtype),
                      param.numel, bucket.dtype);
    }
    cpu::writeFloats(values, results[0]);
    return "";
  }
  if (inst.op.rfind("dist.", 0) == 0)
    return executeDist(function, inst, operands, results);

  const cpu::OpTable &cpuOps = cpu::getCpuOps();
  auto kernel = cpuOps.find(inst.op);
  if (kernel == cpuOps.end())
    return "no backend has a kernel for it";
  cpu::OpCall call{inst, operands, results, seed};
  return kernel->second(call);
}

//===----------------------------------------------------------------------===//
// dist ops
//===----------------------------------------------------------------------===//

std::string Executor::executeDist(const plan::PlanFunction &function,
                                  const plan::Instruction &inst,
                                  std::vector<cpu::TensorView> &operands,
                                  std::vector<cpu::TensorView> &results) {
  const std::string &op = inst.op;
  if (op == "dist.release" || op == "dist.record_event" ||
      op == "dist.wait_event")
    return ""; // one stream, memory planned statically
  if (op == "dist.to_host" || op == "dist.to_device") {
    std::memcpy(results[0].data, operands[0].data, results[0].bytes());
    return "";
  }
  if (op == "dist.sum_squares") {
    double sum = 0;
    for (const cpu::TensorView &operand : operands)
      for (float v : cpu::readFloats(operand))
        sum += static_cast<double>(v) * v;
    cpu::writeFloats({static_cast<float>(sum)}, results[0]);
    return "";
  }
  if (op == "dist.clip_coefficient") {
    double norm = std::sqrt(cpu::readFloats(operands[0])[0]);
    lastGradNorm = norm;
    double maxNorm = *inst.getAttr<double>("max_norm");
    double coef = std::min(1.0, maxNorm / (norm + 1e-6));
    cpu::writeFloats({static_cast<float>(coef)}, results[0]);
    return "";
  }
  if (op == "dist.all_reduce") {
    std::vector<float> values = cpu::readFloats(operands[0]);
    bool sum = inst.getAttr<bool>("sum") && *inst.getAttr<bool>("sum");
    std::string error = comm->allReduce(
        values.data(), static_cast<int64_t>(values.size()), !sum);
    if (!error.empty())
      return error;
    cpu::writeFloats(values, results[0]);
    return "";
  }

  const plan::SymbolRef *symbol = inst.findSymbol("bucket");
  if (op == "dist.reduce_scatter" || op == "dist.all_gather") {
    // The bucket is the one the shard (result or operand) belongs to.
    uint32_t shardId =
        op == "dist.reduce_scatter" ? inst.results[0] : inst.operands[0];
    int64_t index = function.values[shardId].shardOf;
    if (index < 0)
      return "its shard belongs to no bucket";
    Bucket *bucket = &buckets[index];
    if ((op == "dist.reduce_scatter" ? operands[0] : results[0]).numel() !=
        bucket->numel)
      return "its full tensor is not the bucket's " +
             std::to_string(bucket->numel) + " elements";
    if (op == "dist.all_gather") {
      std::vector<float> shard = cpu::readFloats(operands[0]);
      std::vector<float> gathered(static_cast<size_t>(bucket->padded));
      std::string error =
          comm->allGather(shard.data(), gathered.data(), bucket->shard);
      if (!error.empty())
        return error;
      gathered.resize(static_cast<size_t>(bucket->numel));
      cpu::writeFloats(gathered, results[0]);
      return "";
    }
    std::vector<float> padded = cpu::readFloats(operands[0]);
    padded.resize(static_cast<size_t>(bucket->padded), 0.0f);
    std::vector<float> shard(static_cast<size_t>(bucket->shard));
    std::string error = comm->reduceScatter(padded.data(), shard.data(),
                                            bucket->shard, /*mean=*/true);
    if (!error.empty())
      return error;
    if (inst.getAttr<bool>("accumulate")) {
      for (int64_t i = 0; i < bucket->shard; ++i)
        bucket->grads[i] += shard[i];
      shard = bucket->grads;
    }
    cpu::writeFloats(shard, results[0]);
    return "";
  }

  if (!symbol || symbol->kind != plan::SymbolKind::Bucket)
    return "names no bucket";
  Bucket &bucket = buckets[symbol->index];
  const plan::PlanBucket &source = plan.buckets[symbol->index];

  if (op == "dist.pack") {
    std::vector<float> full(static_cast<size_t>(bucket.numel), 0.0f);
    for (size_t i = 0; i < operands.size(); ++i) {
      std::vector<float> grad = cpu::readFloats(operands[i]);
      std::copy(grad.begin(), grad.end(), full.begin() + source.offsets[i]);
    }
    if (inst.getAttr<bool>("accumulate")) {
      for (int64_t i = 0; i < bucket.numel; ++i)
        bucket.grads[i] += full[i];
      std::copy(bucket.grads.begin(), bucket.grads.begin() + bucket.numel,
                full.begin());
    }
    cpu::writeFloats(full, results[0]);
    return "";
  }
  if (op == "dist.unpack") {
    const plan::SymbolRef *param = inst.findSymbol("param");
    if (!param)
      return "names no parameter";
    int64_t offset = -1;
    for (size_t i = 0; i < source.params.size(); ++i)
      if (source.params[i] == param->index)
        offset = source.offsets[i];
    if (offset < 0)
      return "parameter is not in the bucket";
    std::vector<float> full = cpu::readFloats(operands[0]);
    int64_t count = results[0].numel();
    cpu::writeFloats(std::vector<float>(full.begin() + offset,
                                        full.begin() + offset + count),
                     results[0]);
    return "";
  }
  if (op == "dist.load_params") {
    int64_t count = results[0].numel();
    cpu::writeFloats(loadAs(bucket.params.data(), count, bucket.dtype),
                     results[0]);
    return "";
  }
  if (op == "dist.store_params") {
    std::vector<float> values = cpu::readFloats(operands[0]);
    storeAs(values.data(), static_cast<int64_t>(values.size()), bucket.dtype,
            bucket.params.data());
    return "";
  }
  if (op == "dist.adamw_update" || op == "dist.sgd_update") {
    std::vector<float> grad = cpu::readFloats(operands[0]);
    float lr = cpu::readFloats(operands[1])[0];
    int64_t step = cpu::readInts(operands[2])[0];
    double coef = 1.0;
    if (operands.size() > 3)
      coef = cpu::readFloats(operands[3])[0];
    int64_t count = static_cast<int64_t>(grad.size());
    if (count > masterCount(bucket))
      return "gradient of " + std::to_string(count) +
             " elements for a master of " + std::to_string(masterCount(bucket));
    float *p = masterData(bucket);
    if (captureGradients) {
      std::fill(bucket.captured.begin(), bucket.captured.end(), 0.0f);
      std::copy(grad.begin(), grad.end(), bucket.captured.begin());
    }
    bucket.gradSquares = 0;
    for (int64_t i = 0; i < count; ++i)
      bucket.gradSquares += static_cast<double>(grad[i]) * grad[i];
    double wd = *inst.getAttr<double>("weight_decay");
    if (op == "dist.adamw_update") {
      double b1 = *inst.getAttr<double>("beta1");
      double b2 = *inst.getAttr<double>("beta2");
      double eps = *inst.getAttr<double>("eps");
      double c1 = 1.0 - std::pow(b1, static_cast<double>(step));
      double c2 = 1.0 - std::pow(b2, static_cast<double>(step));
      std::vector<float> &m = bucket.state[0], &v = bucket.state[1];
      for (int64_t i = 0; i < count; ++i) {
        double g = grad[i] * coef;
        double w = p[i] * (1.0 - lr * wd);
        m[i] = static_cast<float>(b1 * m[i] + (1.0 - b1) * g);
        v[i] = static_cast<float>(b2 * v[i] + (1.0 - b2) * g * g);
        double denom = std::sqrt(v[i] / c2) + eps;
        p[i] = static_cast<float>(w - lr * (m[i] / c1) / denom);
      }
    } else {
      double momentum = *inst.getAttr<double>("momentum");
      double dampening = *inst.getAttr<double>("dampening");
      bool nesterov = inst.getAttr<bool>("nesterov") != nullptr;
      for (int64_t i = 0; i < count; ++i) {
        double g = grad[i] * coef + wd * p[i];
        if (momentum != 0.0) {
          float &buf = bucket.state[0][i];
          buf =
              step == 1
                  ? static_cast<float>(g)
                  : static_cast<float>(momentum * buf + (1.0 - dampening) * g);
          g = nesterov ? g + momentum * buf : buf;
        }
        p[i] = static_cast<float>(p[i] - lr * g);
      }
    }
    std::fill(bucket.grads.begin(), bucket.grads.end(), 0.0f);
    cpu::writeFloats(std::vector<float>(p, p + count), results[0]);
    return "";
  }
  return "the executor does not know this dist op";
}

std::string Executor::reduceGradNorm(double &norm) {
  double squares = 0;
  for (const Bucket &bucket : buckets)
    squares += bucket.gradSquares;
  if (stage > 0) { // shards: the whole is their sum over ranks
    float total = static_cast<float>(squares);
    if (std::string error = comm->allReduce(&total, 1, /*mean=*/false);
        !error.empty())
      return error;
    squares = total;
  }
  norm = std::sqrt(squares);
  return "";
}

} // namespace var::exec
