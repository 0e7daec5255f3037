// The executor's training state by parameter name, for checkpoints: each
// rank's slices of masters and optimizer state out, consolidated tensors in,
// re-sliced for this job's world size and ZeRO stage.
#include "runtime/exec/Executor.h"
#include "runtime/exec/ExecutorHelpers.h"

#include <algorithm>
#include <map>

namespace var::exec {

using plan::DType;

namespace {

/// Tensors by name; the first of duplicates wins (checkpoint readers reject
/// duplicates before this).
std::map<std::string, const NamedTensor *>
byName(const std::vector<NamedTensor> &tensors) {
  std::map<std::string, const NamedTensor *> map;
  for (const NamedTensor &tensor : tensors)
    map.emplace(tensor.name, &tensor);
  return map;
}

} // namespace

int64_t Executor::shardStartInMaster(const Bucket &bucket) const {
  return stage == 0 ? rank * bucket.shard : 0;
}

std::vector<std::string> Executor::getOptimizerStateKeys() const {
  std::vector<std::string> keys;
  for (const plan::PlanBucket &bucket : plan.buckets)
    for (const std::string &key : bucket.stateKeys)
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.push_back(key);
  return keys;
}

std::string Executor::resetOptimizer(Bucket &bucket) {
  for (DeviceBuffer &state : bucket.state)
    if (std::string error =
            zero({state.data(), DType::F32, state.isHost()}, state.size() / 4);
        !error.empty())
      return error;
  if (!bucket.grads.data())
    return "";
  return zero({bucket.grads.data(), DType::F32, false},
              bucket.grads.size() / 4);
}

Executor::DeviceBytes Executor::getDeviceBytes() const {
  auto onDevice = [](const DeviceBuffer &buffer) {
    return buffer.isHost() ? 0 : buffer.size();
  };
  DeviceBytes out;
  for (const Bucket &bucket : buckets) {
    out.modelStates += onDevice(bucket.params) + onDevice(bucket.master) +
                       onDevice(bucket.grads) + onDevice(bucket.captured) +
                       onDevice(bucket.squares);
    for (const DeviceBuffer &state : bucket.state)
      out.modelStates += onDevice(state);
  }
  for (const DeviceBuffer &buffer : buffers)
    out.buffers += onDevice(buffer);
  out.arena = onDevice(arena);
  out.arguments = onDevice(argumentArea);
  return out;
}

RankTrainingState Executor::getTrainingState() {
  RankTrainingState out;
  std::vector<std::string> keys = getOptimizerStateKeys();
  for (const std::string &key : keys)
    out.optimizer.push_back({key, {}});
  for (size_t b = 0; b < buckets.size(); ++b) {
    Bucket &bucket = buckets[b];
    const plan::PlanBucket &layout = plan.buckets[b];
    // A failed copy leaves zeros: the caller checks the backend's health
    // at its next step.
    std::vector<float> master;
    std::vector<std::vector<float>> states(bucket.state.size());
    download(masterData(bucket), masterCount(bucket), master);
    master.resize(static_cast<size_t>(masterCount(bucket)));
    for (size_t k = 0; k < states.size(); ++k) {
      download({bucket.state[k].data(), DType::F32, bucket.state[k].isHost()},
               masterCount(bucket), states[k]);
      states[k].resize(static_cast<size_t>(masterCount(bucket)));
    }
    int64_t start = shardStartInMaster(bucket);
    for (size_t i = 0; i < layout.params.size(); ++i) {
      const plan::PlanParam &param = plan.params[layout.params[i]];
      plan::ShardSlice slice = plan::intersectShard(
          {param.name, layout.offsets[i], param.numel}, bucket.shard, rank);
      if (slice.numel == 0)
        continue;
      const float *first = master.data() + start + slice.shardOffset;
      out.master.push_back({param.name, slice.paramOffset,
                            std::vector<float>(first, first + slice.numel)});
      for (size_t k = 0; k < layout.stateKeys.size(); ++k) {
        const float *state = states[k].data() + start + slice.shardOffset;
        auto entry = std::find(keys.begin(), keys.end(), layout.stateKeys[k]);
        out.optimizer[entry - keys.begin()].second.push_back(
            {param.name, slice.paramOffset,
             std::vector<float>(state, state + slice.numel)});
      }
    }
  }
  for (size_t p = 0; p < plan.params.size(); ++p) {
    if (location[p].first >= 0)
      continue;
    const plan::PlanParam &param = plan.params[p];
    NamedTensor buffer{param.name, param.shape, {}};
    download({buffers[p].data(), param.dtype, false}, param.numel,
             buffer.values);
    buffer.values.resize(static_cast<size_t>(param.numel));
    out.buffers.push_back(std::move(buffer));
  }
  return out;
}

std::string Executor::setTrainingState(const TrainingState &state) {
  std::vector<std::string> problems;
  // Checks `tensor` against `param`; null when it cannot be used.
  auto check = [&](const NamedTensor *tensor, const plan::PlanParam &param,
                   const std::string &what) -> const NamedTensor * {
    if (!tensor) {
      problems.push_back("missing " + what + " '" + param.name + "' of shape " +
                         formatShape(param.shape));
      return nullptr;
    }
    if (tensor->shape != param.shape ||
        static_cast<int64_t>(tensor->values.size()) != param.numel) {
      problems.push_back(what + " '" + param.name + "' has shape " +
                         formatShape(tensor->shape) +
                         " in the checkpoint, the model's is " +
                         formatShape(param.shape));
      return nullptr;
    }
    return tensor;
  };
  auto extras = [&](const std::vector<NamedTensor> &tensors, bool buffer,
                    const std::string &what) {
    for (const NamedTensor &tensor : tensors) {
      bool known = false;
      for (size_t p = 0; p < plan.params.size() && !known; ++p)
        known = plan.params[p].name == tensor.name &&
                (location[p].first < 0) == buffer;
      if (!known)
        problems.push_back("extra " + what + " '" + tensor.name +
                           "' of shape " + formatShape(tensor.shape) +
                           " is not a " + (buffer ? "buffer" : "parameter") +
                           " of the model");
    }
  };

  std::vector<std::string> keys = getOptimizerStateKeys();
  std::map<std::string, std::map<std::string, const NamedTensor *>> optimizer;
  std::string savedKeys;
  for (const auto &[key, tensors] : state.optimizer) {
    optimizer[key] = byName(tensors);
    savedKeys += (savedKeys.empty() ? "" : ", ") + key;
  }
  std::string planKeys;
  for (const std::string &key : keys)
    planKeys += (planKeys.empty() ? "" : ", ") + key;
  bool sameOptimizer = optimizer.size() == keys.size();
  for (const std::string &key : keys)
    sameOptimizer &= optimizer.count(key) != 0;
  if (!sameOptimizer)
    problems.push_back("the checkpoint's optimizer state (" +
                       (savedKeys.empty() ? std::string("none") : savedKeys) +
                       ") is not the plan's (" +
                       (planKeys.empty() ? std::string("none") : planKeys) +
                       "): it was written with another optimizer");

  std::map<std::string, const NamedTensor *> masters = byName(state.master);
  std::map<std::string, const NamedTensor *> savedBuffers =
      byName(state.buffers);
  auto find = [](const std::map<std::string, const NamedTensor *> &map,
                 const std::string &name) -> const NamedTensor * {
    auto it = map.find(name);
    return it == map.end() ? nullptr : it->second;
  };
  // Per parameter: its master, its state per plan key, or its buffer.
  std::vector<const NamedTensor *> master(plan.params.size(), nullptr);
  std::vector<std::vector<const NamedTensor *>> states(plan.params.size());
  for (size_t p = 0; p < plan.params.size(); ++p) {
    const plan::PlanParam &param = plan.params[p];
    if (location[p].first < 0) {
      master[p] = check(find(savedBuffers, param.name), param, "buffer");
      continue;
    }
    master[p] = check(find(masters, param.name), param, "parameter");
    if (!sameOptimizer)
      continue;
    for (const std::string &key : plan.buckets[location[p].first].stateKeys)
      states[p].push_back(check(find(optimizer[key], param.name), param,
                                "optimizer state '" + key + "' of"));
  }
  extras(state.master, false, "parameter");
  extras(state.buffers, true, "buffer");
  if (sameOptimizer)
    for (const auto &[key, tensors] : state.optimizer)
      extras(tensors, false, "optimizer state '" + key + "' of");
  if (!problems.empty()) {
    std::string error = "the checkpoint does not fit the model:";
    for (const std::string &problem : problems)
      error += "\n  " + problem;
    return error;
  }

  for (size_t b = 0; b < buckets.size(); ++b) {
    Bucket &bucket = buckets[b];
    const plan::PlanBucket &layout = plan.buckets[b];
    // Whole padded buckets, zero in the gaps as training keeps them.
    std::vector<float> full(static_cast<size_t>(bucket.padded), 0.0f);
    for (size_t i = 0; i < layout.params.size(); ++i) {
      const std::vector<float> &values = master[layout.params[i]]->values;
      std::copy(values.begin(), values.end(), full.begin() + layout.offsets[i]);
    }
    if (std::string error = setBucketValues(bucket, full); !error.empty())
      return error;
    if (std::string error = resetOptimizer(bucket); !error.empty())
      return error;
    int64_t first = stage == 0 ? 0 : rank * bucket.shard;
    for (size_t k = 0; k < layout.stateKeys.size(); ++k) {
      std::fill(full.begin(), full.end(), 0.0f);
      for (size_t i = 0; i < layout.params.size(); ++i) {
        const std::vector<float> &values = states[layout.params[i]][k]->values;
        std::copy(values.begin(), values.end(),
                  full.begin() + layout.offsets[i]);
      }
      if (std::string error = upload(
              full.data() + first, masterCount(bucket),
              {bucket.state[k].data(), DType::F32, bucket.state[k].isHost()});
          !error.empty())
        return error;
    }
  }
  for (size_t p = 0; p < plan.params.size(); ++p) {
    if (location[p].first >= 0)
      continue;
    const plan::PlanParam &param = plan.params[p];
    if (std::string error = upload(master[p]->values.data(), param.numel,
                                   {buffers[p].data(), param.dtype, false});
        !error.empty())
      return error;
  }
  return "";
}

} // namespace var::exec
