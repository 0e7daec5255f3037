// The dist ops: parameter loads and stores, packing, collectives (on the
// device communicator, or staged through host memory and the host
// communicator) and fused flat optimizer updates on the rank's shard of the
// FP32 master. Each runs on the primitives of the memory its tensors live
// in: the backend's, or the host's for what the plan offloads.
#include "runtime/exec/Executor.h"
#include "runtime/exec/ExecutorHelpers.h"
#include "runtime/exec/HostDistKernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace var::exec {

using plan::DType;

/// An accumulating pack or reduce-scatter in a plan whose config says its
/// gradients do not accumulate (the f32 sum is allocated only when they do).
constexpr const char *noAccumulator =
    "accumulates gradients, but the plan's config has no gradient "
    "accumulation (grad_accum 1): a corrupt plan";

//===----------------------------------------------------------------------===//
// Moving elements between memories
//===----------------------------------------------------------------------===//

std::string Executor::copy(const Place &dst, const Place &src, int64_t count) {
  if (dst.host == src.host) {
    if (dst.host) {
      host::convert(dst.data, dst.dtype, src.data, src.dtype, count);
      return "";
    }
    return backend->convert(dst.data, dst.dtype, src.data, src.dtype, count);
  }
  if (dst.dtype == src.dtype) {
    int64_t bytes = count * plan::getDTypeBytes(dst.dtype);
    return dst.host ? backend->copyToHost(dst.data, src.data, bytes)
                    : backend->copyToDevice(dst.data, src.data, bytes);
  }
  std::vector<float> values;
  if (std::string error = download(src, count, values); !error.empty())
    return error;
  return upload(values.data(), count, dst);
}

std::string Executor::zero(const Place &place, int64_t count) {
  int64_t bytes = count * plan::getDTypeBytes(place.dtype);
  if (place.host) {
    std::memset(place.data, 0, static_cast<size_t>(bytes));
    return "";
  }
  return backend->zero(place.data, bytes);
}

std::string Executor::download(const Place &src, int64_t count,
                               std::vector<float> &values) {
  if (src.host || backend->isHostMemory()) {
    values = loadAs(src.data, count, src.dtype);
    return "";
  }
  std::vector<uint8_t> bytes(
      static_cast<size_t>(count * plan::getDTypeBytes(src.dtype)));
  if (std::string error = backend->copyToHost(
          bytes.data(), src.data, static_cast<int64_t>(bytes.size()));
      !error.empty())
    return error;
  values = loadAs(bytes.data(), count, src.dtype);
  return "";
}

std::string Executor::upload(const float *values, int64_t count,
                             const Place &dst) {
  if (dst.host || backend->isHostMemory()) {
    storeAs(values, count, dst.dtype, dst.data);
    return "";
  }
  std::vector<uint8_t> bytes(
      static_cast<size_t>(count * plan::getDTypeBytes(dst.dtype)));
  storeAs(values, count, dst.dtype, bytes.data());
  return backend->copyToDevice(dst.data, bytes.data(),
                               static_cast<int64_t>(bytes.size()));
}

std::string Executor::readScalar(const plan::Instruction &inst, size_t operand,
                                 const Place &place, double &value) {
  const void *bytes =
      argumentBytes.empty() ? nullptr : argumentBytes[inst.operands[operand]];
  uint64_t word = 0;
  if (!bytes) {
    if (place.host || backend->isHostMemory())
      bytes = place.data;
    else if (std::string error = backend->copyToHost(
                 &word, place.data, plan::getDTypeBytes(place.dtype));
             !error.empty())
      return error;
    else
      bytes = &word;
  }
  if (place.dtype == DType::I64)
    value = static_cast<double>(*static_cast<const int64_t *>(bytes));
  else
    value = loadAs(bytes, 1, place.dtype)[0];
  return "";
}

//===----------------------------------------------------------------------===//
// dist ops
//===----------------------------------------------------------------------===//

std::string Executor::executeDist(const plan::PlanFunction &function,
                                  const FunctionLayout &layout, size_t index,
                                  std::vector<cpu::TensorView> &views) {
  const plan::Instruction &inst = function.instructions[index];
  const std::string &op = inst.op;
  if (op == "dist.release")
    return ""; // memory is planned statically
  if (op == "dist.record_event" || op == "dist.wait_event") {
    const int64_t *id = inst.getAttr<int64_t>("event");
    if (!id)
      return "names no event";
    int64_t event = *id;
    if (event < 0 || event >= kRunStartEvent)
      return "event " + std::to_string(event) + " is out of range [0, " +
             std::to_string(kRunStartEvent) + ")";
    // Synchronous host work (not on the host lane): what a host event
    // marks is done.
    if (!runOnLane &&
        std::find(layout.hostEvents.begin(), layout.hostEvents.end(), event) !=
            layout.hostEvents.end())
      return "";
    if (op == "dist.record_event")
      return backend->recordEvent(event); // on the selected stream
    PlanStream waiting = layout.streams[index];
    if (waiting == PlanStream::Host && !runOnLane)
      return backend->waitEventOnHost(event);
    return backend->waitEvent(waiting, event);
  }
  std::vector<Place> operands, results;
  for (uint32_t id : inst.operands)
    operands.push_back({views[id].data, views[id].dtype, layout.onHost[id]});
  for (uint32_t id : inst.results)
    results.push_back({views[id].data, views[id].dtype, layout.onHost[id]});
  int64_t count = inst.results.empty() ? 0 : views[inst.results[0]].numel();

  if (op == "var.get_param" || op == "var.update_buffer") {
    const plan::SymbolRef *symbol = inst.findSymbol("name");
    if (!symbol || symbol->kind != plan::SymbolKind::Param)
      return "names no parameter";
    auto [b, offset] = location[symbol->index];
    const plan::PlanParam &param = plan.params[symbol->index];
    Place buffer{buffers[symbol->index].data(), param.dtype, false};
    if (op == "var.update_buffer")
      return operands[0].data == buffer.data
                 ? "" // written in place (aliasParameters)
                 : copy(buffer, operands[0], param.numel);
    if (b < 0)
      return results[0].data == buffer.data
                 ? "" // read in place (aliasParameters)
                 : copy(results[0], buffer, param.numel);
    if (stage == 3)
      return "parameter '" + param.name +
             "' is sharded at stage 3; the plan must gather it";
    Place source = paramsData(buckets[b]).at(offset);
    if (results[0].data == source.data)
      return ""; // read in place (aliasParameters)
    return copy(results[0], source, param.numel);
  }
  if (op == "dist.to_host" || op == "dist.to_device") {
    if (!runOnLane)
      return copy(results[0], operands[0], count);
    // In stream order, without waiting (page-locked host memory; the same
    // type both sides: hostLaneWork).
    int64_t bytes = count * plan::getDTypeBytes(results[0].dtype);
    return results[0].host ? backend->enqueueCopyToHost(results[0].data,
                                                        operands[0].data, bytes)
                           : backend->enqueueCopyToDevice(
                                 results[0].data, operands[0].data, bytes);
  }
  if (op == "dist.sum_squares") {
    std::vector<FlatInput> inputs;
    for (size_t i = 0; i < operands.size(); ++i) {
      if (operands[i].host != results[0].host)
        return "its operands and result are in different memories";
      inputs.push_back({operands[i].data, operands[i].dtype,
                        views[inst.operands[i]].numel()});
    }
    auto *result = static_cast<float *>(results[0].data);
    if (results[0].host) {
      host::sumSquares(inputs, result);
      return "";
    }
    return backend->sumSquares(inputs, result);
  }
  if (op == "dist.clip_coefficient") {
    if (operands[0].host != results[0].host)
      return "its operand and result are in different memories";
    double maxNorm = *inst.getAttr<double>("max_norm");
    auto *squares = static_cast<const float *>(operands[0].data);
    auto *coefficient = static_cast<float *>(results[0].data);
    hasGradNorm = true;
    if (results[0].host) {
      double norm = 0;
      host::clipCoefficient(squares, maxNorm, coefficient, &norm);
      return backend->copyToDevice(gradNorm.data(), &norm, sizeof norm);
    }
    return backend->clipCoefficient(squares, maxNorm, coefficient,
                                    static_cast<double *>(gradNorm.data()));
  }
  if (op == "dist.all_reduce" || op == "dist.reduce_scatter" ||
      op == "dist.all_gather")
    return executeCollective(function, inst, operands, results, count);

  const plan::SymbolRef *symbol = inst.findSymbol("bucket");
  if (!symbol || symbol->kind != plan::SymbolKind::Bucket)
    return "names no bucket";
  Bucket &bucket = buckets[symbol->index];
  const plan::PlanBucket &source = plan.buckets[symbol->index];
  Place grads{bucket.grads.data(), DType::F32, false};

  if (op == "dist.pack") {
    // The gradients tile the bucket but for alignment gaps and the padding
    // at its end: only those are zeroed, not the whole bucket first.
    std::vector<std::pair<int64_t, int64_t>> spans; // offset, numel
    for (size_t i = 0; i < operands.size(); ++i) {
      int64_t numel = views[inst.operands[i]].numel();
      spans.emplace_back(source.offsets[i], numel);
      if (std::string error =
              copy(results[0].at(source.offsets[i]), operands[i], numel);
          !error.empty())
        return error;
    }
    std::sort(spans.begin(), spans.end());
    spans.emplace_back(bucket.numel, 0);
    int64_t covered = 0;
    for (auto [offset, numel] : spans) {
      if (offset > covered)
        if (std::string error = zero(results[0].at(covered), offset - covered);
            !error.empty())
          return error;
      covered = std::max(covered, offset + numel);
    }
    if (!inst.getAttr<bool>("accumulate"))
      return "";
    if (!grads.data)
      return noAccumulator;
    if (results[0].host)
      return "accumulates a bucket in host memory";
    if (std::string error = backend->accumulate(
            static_cast<float *>(grads.data), results[0].data, results[0].dtype,
            bucket.numel);
        !error.empty())
      return error;
    return copy(results[0], grads, bucket.numel);
  }
  if (op == "dist.unpack") {
    int64_t offset = unpackOffset(inst);
    if (offset < 0)
      return "names no parameter of its bucket";
    Place from = operands[0].at(offset);
    if (results[0].data == from.data)
      return ""; // a view of the gathered bucket (unpackViews)
    return copy(results[0], from, count);
  }
  if (op == "dist.load_params")
    return copy(results[0], paramsData(bucket), count);
  if (op == "dist.store_params")
    return copy(paramsData(bucket), operands[0],
                views[inst.operands[0]].numel());
  if (op == "dist.adamw_update" || op == "dist.sgd_update") {
    int64_t into = layout.roundsInto[index];
    auto *rounded =
        into < 0 ? nullptr : static_cast<uint16_t *>(views[into].data);
    return executeUpdate(layout, index, inst, bucket, operands, results,
                         views[inst.operands[0]].numel(), rounded);
  }
  return "the executor does not know this dist op";
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

namespace {

comm::ElementType toElementType(DType dtype) {
  return dtype == DType::BF16 ? comm::ElementType::BF16
                              : comm::ElementType::F32;
}

} // namespace

std::string Executor::executeCollective(const plan::PlanFunction &function,
                                        const plan::Instruction &inst,
                                        const std::vector<Place> &operands,
                                        const std::vector<Place> &results,
                                        int64_t count) {
  const std::string &op = inst.op;
  const Place &in = operands[0], &out = results[0];
  bool onDevice = !in.host && !out.host && !backend->isHostMemory();
  if (op == "dist.all_reduce") {
    bool sum = inst.getAttr<bool>("sum") && *inst.getAttr<bool>("sum");
    if (out.data == in.data && worldSize == 1)
      return "";        // reduced in place (leftOutStorage)
    if (worldSize == 1) // the sum or mean over one rank is the value
      return copy(out, in, count);
    if (deviceComm && onDevice) {
      if (out.data != in.data)
        if (std::string error = copy(out, in, count); !error.empty())
          return error;
      return deviceComm->allReduce(out.data, count, toElementType(out.dtype),
                                   !sum, backend->getStream());
    }
    std::vector<float> values;
    if (std::string error = download(in, count, values); !error.empty())
      return error;
    if (std::string error = comm->allReduce(values.data(), count, !sum);
        !error.empty())
      return error;
    return upload(values.data(), count, out);
  }

  // The bucket is the one the shard (result or operand) belongs to.
  bool gather = op == "dist.all_gather";
  uint32_t shardId = gather ? inst.operands[0] : inst.results[0];
  int64_t index = function.values[shardId].shardOf;
  if (index < 0)
    return "its shard belongs to no bucket";
  Bucket &bucket = buckets[index];
  uint32_t fullId = gather ? inst.results[0] : inst.operands[0];
  int64_t fullCount = 1;
  for (int64_t dim : function.values[fullId].shape)
    fullCount *= dim;
  if (fullCount != bucket.numel)
    return "its full tensor is not the bucket's " +
           std::to_string(bucket.numel) + " elements";
  // Room for the padding past the full tensor: a value outside the planned
  // arena (prepareMemory gives those room).
  bool roomy = function.values[fullId].arenaOffset < 0;
  bool direct = worldSize == 1 || (deviceComm && onDevice && roomy);
  if (gather) {
    if (worldSize == 1)
      return copy(out, in, bucket.numel);
    if (direct)
      return deviceComm->allGather(in.data, out.data, bucket.shard,
                                   toElementType(in.dtype),
                                   backend->getStream());
    std::vector<float> shard, gathered(static_cast<size_t>(bucket.padded));
    if (std::string error = download(in, bucket.shard, shard); !error.empty())
      return error;
    if (std::string error =
            comm->allGather(shard.data(), gathered.data(), bucket.shard);
        !error.empty())
      return error;
    return upload(gathered.data(), bucket.numel, out);
  }

  bool accumulate = inst.getAttr<bool>("accumulate") != nullptr;
  Place grads{bucket.grads.data(), DType::F32, false};
  if (accumulate && !grads.data)
    return noAccumulator;
  if (direct) {
    if (worldSize == 1) { // the mean over one rank: the bucket, padded
      if (!accumulate) {
        if (std::string error = zero(out, bucket.shard); !error.empty())
          return error;
        return copy(out, in, bucket.numel);
      }
    } else if (std::string error = deviceComm->reduceScatter(
                   in.data, out.data, bucket.shard, toElementType(in.dtype),
                   /*mean=*/true, backend->getStream());
               !error.empty()) {
      return error;
    }
    if (!accumulate)
      return "";
    const Place &reduced = worldSize == 1 ? in : out;
    if (std::string error = backend->accumulate(
            static_cast<float *>(grads.data), reduced.data, reduced.dtype,
            worldSize == 1 ? bucket.numel : bucket.shard);
        !error.empty())
      return error;
    return copy(out, grads, bucket.shard);
  }
  std::vector<float> padded, shard(static_cast<size_t>(bucket.shard));
  if (std::string error = download(in, bucket.numel, padded); !error.empty())
    return error;
  padded.resize(static_cast<size_t>(bucket.padded), 0.0f);
  if (std::string error = comm->reduceScatter(padded.data(), shard.data(),
                                              bucket.shard, /*mean=*/true);
      !error.empty())
    return error;
  if (accumulate) {
    std::vector<float> sum;
    if (std::string error = download(grads, bucket.shard, sum); !error.empty())
      return error;
    for (int64_t i = 0; i < bucket.shard; ++i)
      sum[i] += shard[i];
    if (std::string error = upload(sum.data(), bucket.shard, grads);
        !error.empty())
      return error;
    shard = std::move(sum);
  }
  return upload(shard.data(), bucket.shard, out);
}

//===----------------------------------------------------------------------===//
// Optimizer updates and the gradient norm
//===----------------------------------------------------------------------===//

std::string Executor::executeUpdate(const FunctionLayout &layout, size_t index,
                                    const plan::Instruction &inst,
                                    Bucket &bucket,
                                    const std::vector<Place> &operands,
                                    const std::vector<Place> &results,
                                    int64_t count, uint16_t *rounded) {
  if (count > masterCount(bucket))
    return "gradient of " + std::to_string(count) +
           " elements for a master of " + std::to_string(masterCount(bucket));
  Place master = masterData(bucket);
  bool onHost = master.host;
  if (operands[0].host != onHost || results[0].host != onHost ||
      (operands.size() > 3 && operands[3].host != onHost))
    return std::string("its gradient, clip coefficient and result must be "
                       "in the memory of the bucket's master (") +
           (onHost ? "host" : "device") + ")";
  OptimizerStep step;
  step.adamw = inst.op == "dist.adamw_update";
  step.master = static_cast<float *>(master.data);
  for (size_t k = 0; k < bucket.state.size() && k < 2; ++k)
    step.state[k] = static_cast<float *>(bucket.state[k].data());
  step.grad = operands[0].data;
  step.gradType = operands[0].dtype;
  step.count = count;
  if (operands.size() > 3)
    step.clip = static_cast<const float *>(operands[3].data);
  if (layout.storesItself[index])
    step.resultBf16 = static_cast<uint16_t *>(bucket.params.data());
  else if (rounded)
    step.resultBf16 = rounded;
  else
    step.result = static_cast<float *>(results[0].data);
  step.squares = static_cast<double *>(bucket.squares.data());
  step.weightDecay = *inst.getAttr<double>("weight_decay");
  if (step.adamw) {
    step.beta1 = *inst.getAttr<double>("beta1");
    step.beta2 = *inst.getAttr<double>("beta2");
    step.eps = *inst.getAttr<double>("eps");
  }
  // The LR, step and bias corrections: the step scalars' slot of this
  // update, in the memory the update runs in, written before the run.
  int64_t slot = layout.updateSlot[index];
  auto *hostBlock = static_cast<cpu::StepScalars *>(layout.hostScalars.data());
  auto *block = static_cast<cpu::StepScalars *>(layout.scalars.data());
  step.scalars = cpu::updateScalarsOf(onHost ? hostBlock : block, slot);
  cpu::UpdateScalars computed;
  if (!layout.updateFromArguments[slot]) {
    // Values computed inside the step: read back now (such a function is
    // never recorded as a graph).
    double lr = 0, stepNumber = 0;
    if (std::string error = readScalar(inst, 1, operands[1], lr);
        !error.empty())
      return error;
    if (std::string error = readScalar(inst, 2, operands[2], stepNumber);
        !error.empty())
      return error;
    computed.lr = static_cast<float>(lr);
    computed.step = static_cast<int64_t>(stepNumber);
    if (step.adamw)
      computeBiasCorrections(step.beta1, step.beta2, computed);
    if (onHost)
      step.scalars = &computed;
    else if (std::string error = backend->copyToDevice(
                 cpu::updateScalarsOf(block, slot), &computed, sizeof computed);
             !error.empty())
      return error;
  }
  if (!step.adamw) {
    step.momentum = *inst.getAttr<double>("momentum");
    step.dampening = *inst.getAttr<double>("dampening");
    step.nesterov = inst.getAttr<bool>("nesterov") != nullptr;
  }
  if ((step.adamw && bucket.state.size() < 2) ||
      (!step.adamw && step.momentum != 0.0 && bucket.state.empty()))
    return "the bucket lacks the optimizer's state";
  if (captureGradients) {
    Place captured{bucket.captured.data(), DType::F32, onHost};
    if (std::string error = zero(captured, masterCount(bucket)); !error.empty())
      return error;
    if (std::string error = copy(captured, operands[0], count); !error.empty())
      return error;
  }
  if (onHost && runOnLane) {
    // A host call in the host lane's order; the step it reads lives until
    // the run's synchronize (or with the step graph that records it).
    hostCalls.push_back(std::make_unique<OptimizerStep>(step));
    if (std::string error = backend->enqueueHostCall(
            [](void *update) {
              host::updateOptimizer(*static_cast<OptimizerStep *>(update));
            },
            hostCalls.back().get());
        !error.empty())
      return error;
  } else if (onHost)
    host::updateOptimizer(step);
  else if (std::string error = backend->updateOptimizer(step); !error.empty())
    return error;
  if (!bucket.grads.data())
    return "";
  return zero({bucket.grads.data(), DType::F32, false},
              bucket.grads.size() / 4);
}

std::optional<double> Executor::getLastGradNorm() const {
  if (!hasGradNorm)
    return std::nullopt;
  double norm = 0;
  if (!backend->copyToHost(&norm, gradNorm.data(), sizeof norm).empty())
    return std::nullopt;
  return norm;
}

std::string Executor::reduceGradNorm(double &norm) {
  double squares = 0;
  std::vector<double> partials(kSquarePartials);
  for (Bucket &bucket : buckets) {
    if (bucket.squares.isHost() || backend->isHostMemory())
      std::memcpy(partials.data(), bucket.squares.data(),
                  kSquarePartials * sizeof(double));
    else if (std::string error =
                 backend->copyToHost(partials.data(), bucket.squares.data(),
                                     kSquarePartials * sizeof(double));
             !error.empty())
      return error;
    double bucketSquares = 0;
    for (double partial : partials)
      bucketSquares += partial;
    squares += bucketSquares;
  }
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
