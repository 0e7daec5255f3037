// The executor's weights by PyTorch name: consolidated from every rank's
// shards for export, set from a file (fine-tuning, --init-weights), and the
// gradients the updates received, for numerical checks.
#include "runtime/exec/Executor.h"
#include "runtime/exec/ExecutorHelpers.h"

#include <algorithm>
#include <cstring>

namespace var::exec {

using plan::DType;

//===----------------------------------------------------------------------===//
// Export
//===----------------------------------------------------------------------===//

std::string Executor::gatherBuckets(const std::vector<Place> &regions,
                                    std::vector<std::vector<float>> &full) {
  full.assign(buckets.size(), {});
  for (size_t b = 0; b < buckets.size(); ++b) {
    const Bucket &bucket = buckets[b];
    std::vector<float> mine;
    if (std::string error = download(regions[b], masterCount(bucket), mine);
        !error.empty())
      return error;
    if (stage == 0) {
      full[b] = std::move(mine);
      continue;
    }
    full[b].resize(static_cast<size_t>(bucket.padded));
    std::string error =
        comm->allGather(mine.data(), full[b].data(), bucket.shard);
    if (!error.empty())
      return error;
  }
  return "";
}

std::string Executor::exportWeights(std::vector<NamedTensor> &out) {
  out.clear();
  std::vector<Place> regions;
  for (Bucket &bucket : buckets)
    regions.push_back(masterData(bucket));
  std::vector<std::vector<float>> full;
  std::string error = gatherBuckets(regions, full);
  if (!error.empty())
    return error;
  for (size_t p = 0; p < plan.params.size(); ++p) {
    const plan::PlanParam &param = plan.params[p];
    NamedTensor tensor{param.name, param.shape, {}};
    auto [b, offset] = location[p];
    if (b >= 0)
      tensor.values.assign(full[b].begin() + offset,
                           full[b].begin() + offset + param.numel);
    else if (std::string error =
                 download({buffers[p].data(), param.dtype, false}, param.numel,
                          tensor.values);
             !error.empty())
      return error;
    out.push_back(std::move(tensor));
  }
  return "";
}

//===----------------------------------------------------------------------===//
// Import and gradient capture
//===----------------------------------------------------------------------===//

namespace {

bool hasPrefix(const std::string &name,
               const std::vector<std::string> &prefixes) {
  for (const std::string &prefix : prefixes)
    if (!prefix.empty() && name.rfind(prefix, 0) == 0)
      return true;
  return false;
}

bool isBatchCounter(const std::string &name) {
  static const std::string suffix = "num_batches_tracked";
  return name.size() >= suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::string Executor::importWeights(const std::vector<NamedTensor> &weights,
                                    const ImportOptions &options,
                                    std::vector<std::string> &notes) {
  notes.clear();
  std::vector<std::string> problems;
  // The file's tensor for each parameter, or null: keep the initial values.
  std::vector<const NamedTensor *> source(plan.params.size(), nullptr);
  std::vector<bool> used(weights.size(), false);
  for (size_t p = 0; p < plan.params.size(); ++p) {
    const plan::PlanParam &param = plan.params[p];
    size_t found = weights.size();
    for (size_t w = 0; w < weights.size() && found == weights.size(); ++w)
      if (weights[w].name == param.name)
        found = w;
    bool reset = hasPrefix(param.name, options.resetPrefixes);
    if (found == weights.size()) {
      if (reset)
        notes.push_back("'" + param.name +
                        "' is not in the file; it keeps its initialization");
      else
        problems.push_back("missing tensor '" + param.name + "' of shape " +
                           formatShape(param.shape));
      continue;
    }
    used[found] = true;
    const NamedTensor &tensor = weights[found];
    if (tensor.shape != param.shape) {
      if (reset)
        notes.push_back(
            "'" + param.name + "' has shape " + formatShape(tensor.shape) +
            " in the file, the model's is " + formatShape(param.shape) +
            "; it keeps its initialization");
      else
        problems.push_back("tensor '" + param.name + "' has shape " +
                           formatShape(tensor.shape) +
                           " in the file, the model's is " +
                           formatShape(param.shape));
      continue;
    }
    if (static_cast<int64_t>(tensor.values.size()) != param.numel) {
      problems.push_back("tensor '" + param.name + "' has " +
                         std::to_string(tensor.values.size()) +
                         " values for shape " + formatShape(param.shape));
      continue;
    }
    source[p] = &tensor;
  }
  int64_t counters = 0;
  for (size_t w = 0; w < weights.size(); ++w) {
    if (used[w])
      continue;
    if (isBatchCounter(weights[w].name))
      ++counters;
    else if (hasPrefix(weights[w].name, options.resetPrefixes))
      notes.push_back("'" + weights[w].name +
                      "' is not in the model; skipped (reset prefix)");
    else
      problems.push_back("extra tensor '" + weights[w].name + "' of shape " +
                         formatShape(weights[w].shape) +
                         " is not a parameter or buffer of the model");
  }
  if (counters)
    notes.push_back("skipped " + std::to_string(counters) +
                    " BatchNorm num_batches_tracked counter(s): no op reads "
                    "them");
  if (!problems.empty()) {
    std::string error = "the weights do not fit the model:";
    for (const std::string &problem : problems)
      error += "\n  " + problem;
    return error;
  }

  // Every rank builds each whole bucket and keeps its slice.
  for (size_t b = 0; b < buckets.size(); ++b) {
    const plan::PlanBucket &layout = plan.buckets[b];
    Bucket &bucket = buckets[b];
    std::vector<float> full(static_cast<size_t>(bucket.padded), 0.0f);
    for (size_t i = 0; i < layout.params.size(); ++i) {
      uint32_t p = layout.params[i];
      std::vector<float> values = source[p]
                                      ? source[p]->values
                                      : initialValues(plan.params[p], initSeed);
      std::copy(values.begin(), values.end(), full.begin() + layout.offsets[i]);
    }
    if (std::string error = setBucketValues(bucket, full); !error.empty())
      return error;
    if (std::string error = resetOptimizer(bucket); !error.empty())
      return error;
  }
  for (size_t p = 0; p < plan.params.size(); ++p) {
    if (location[p].first >= 0)
      continue;
    const plan::PlanParam &param = plan.params[p];
    std::vector<float> values =
        source[p] ? source[p]->values : initialValues(param, initSeed);
    if (std::string error = upload(values.data(), param.numel,
                                   {buffers[p].data(), param.dtype, false});
        !error.empty())
      return error;
  }
  return "";
}

void Executor::setCaptureGradients(bool on) {
  // Off (gatherCapturedGradients says so) when the memory is not there.
  // Recorded steps copy gradients or not, into memory replaced here; and
  // an offloaded optimizer leaves the host lane while they are captured:
  // every function is decided afresh.
  dropStepGraphs();
  stepGraphs.clear();
  captureGradients = on;
  for (Bucket &bucket : buckets) {
    bucket.captured.reset();
    if (!on)
      continue;
    Place master = masterData(bucket);
    captureGradients = captureGradients &&
                       bucket.captured
                           .allocate(*backend, masterCount(bucket) * 4,
                                     "captured gradients", master.host)
                           .empty() &&
                       zero({bucket.captured.data(), DType::F32, master.host},
                            masterCount(bucket))
                           .empty();
  }
}

std::string Executor::gatherCapturedGradients(std::vector<NamedTensor> &out) {
  out.clear();
  if (!captureGradients)
    return "gradient capture is off";
  std::vector<Place> regions;
  for (Bucket &bucket : buckets)
    regions.push_back(
        {bucket.captured.data(), DType::F32, bucket.captured.isHost()});
  std::vector<std::vector<float>> full;
  std::string error = gatherBuckets(regions, full);
  if (!error.empty())
    return error;
  for (size_t p = 0; p < plan.params.size(); ++p) {
    auto [b, offset] = location[p];
    if (b < 0 || !plan.params[p].isTrainable())
      continue;
    const plan::PlanParam &param = plan.params[p];
    out.push_back({param.name, param.shape,
                   std::vector<float>(full[b].begin() + offset,
                                      full[b].begin() + offset + param.numel)});
  }
  return "";
}

} // namespace var::exec
