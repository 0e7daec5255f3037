// The part every source shares: the sampler, the prefetch queues, unreadable
// video accounting and per-video evaluation.
#include "runtime/data/DataSource.h"
#include "runtime/data/Synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>

namespace var::data {

std::unique_ptr<DataSource>
DataSource::create(const DataOptions &given, const ClipShape &shape,
                   int64_t modelClasses, const RankLayout &layout,
                   StagingAllocator allocator, std::string &error) {
  DataOptions options = given;
  if (options.sampling.frames != 0 && options.sampling.frames != shape.frames) {
    error = "--frames=" + std::to_string(options.sampling.frames) +
            " differs from the plan's " + std::to_string(shape.frames) +
            " frames per clip";
    return nullptr;
  }
  if (options.sampling.frames == 0)
    options.sampling.frames = shape.frames;
  options.augment.height = shape.height;
  options.augment.width = shape.width;
  if (options.workers < 0 || options.prefetch < 1) {
    error = "--data-workers must be non-negative and --prefetch positive";
    return nullptr;
  }
  if (options.data == kSyntheticSourceName ||
      options.data == kSyntheticTrailsSourceName)
    return createSyntheticSource(options, shape, modelClasses, layout,
                                 std::move(allocator), error);
  if (options.data == kRandomSourceName)
    return createRandomSource(options, shape, modelClasses, layout,
                              std::move(allocator), error);
  return createVideoSource(options, shape, modelClasses, layout,
                           std::move(allocator), error);
}

DataSource::DataSource(const DataOptions &options, const ClipShape &shape,
                       const RankLayout &layout, StagingAllocator allocator)
    : options(options), shape(shape), layout(layout),
      allocator(std::move(allocator)) {}

DataSource::~DataSource() = default;

void DataSource::stopWorkers() {
  trainQueue.reset();
  evalQueue.reset();
}

std::string DataSource::init(int64_t classCount, int64_t train, int64_t eval,
                             int64_t viewCount) {
  classes = classCount;
  trainCount = train;
  evalCount = eval;
  views = viewCount;
  std::string error =
      validateBatchSplit(globalBatch(), layout.worldSize, shape.batch);
  if (!error.empty())
    return error;
  if (stepsPerEpoch() < 1)
    return "the " + std::to_string(trainCount) +
           " training videos do not fill one global batch of " +
           std::to_string(globalBatch());
  // --max-bad-videos: N or P%.
  const std::string &text = options.maxBadVideos;
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  bool percent = end && *end == '%' && end[1] == '\0';
  if (text.empty() || !std::isfinite(value) || value < 0 ||
      (*end != '\0' && !percent) || (!percent && value != std::floor(value)))
    return "--max-bad-videos must be a count or a percentage (e.g. 5 or 1%), "
           "got '" +
           text + "'";
  maxBad = percent ? static_cast<int64_t>(
                         std::floor(value / 100.0 * (trainCount + evalCount)))
                   : static_cast<int64_t>(value);
  return "";
}

int64_t DataSource::globalBatch() const {
  return shape.batch * layout.gradAccum * layout.worldSize;
}

int64_t DataSource::stepsPerEpoch() const {
  return getStepsPerEpoch(trainCount, globalBatch());
}

const std::vector<int64_t> &DataSource::orderOf(int64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = orders.find(epoch);
  if (it == orders.end()) {
    // Workers run at most a few batches ahead: two epochs suffice.
    while (orders.size() >= 2 && orders.begin()->first < epoch)
      orders.erase(orders.begin());
    it = orders.emplace(epoch, epochOrder(trainCount, options.seed, epoch))
             .first;
  }
  return it->second;
}

std::string DataSource::markBad(bool eval, int64_t index,
                                const std::string &why) {
  int64_t total = 0;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!(eval ? badEval : badTrain).insert(index).second)
      return "";
    total = static_cast<int64_t>(badTrain.size() + badEval.size());
  }
  std::string line = "warning: skipping unreadable video: " + why;
  if (options.warn)
    options.warn(line);
  else
    std::cerr << line << std::endl;
  if (total > maxBad)
    return std::to_string(total) +
           " unreadable videos, more than --max-bad-videos=" +
           options.maxBadVideos + " allows (" + std::to_string(maxBad) +
           "); the last: " + why;
  return "";
}

std::string DataSource::fillTrain(int64_t item, float *clips, int64_t *labels) {
  const int64_t step = item / layout.gradAccum;
  const int64_t micro = item % layout.gradAccum;
  const int64_t epoch = step / stepsPerEpoch();
  const std::vector<int64_t> &order = orderOf(epoch);
  std::vector<int64_t> indices =
      rankBatchIndices(order, step % stepsPerEpoch(), globalBatch(),
                       layout.rank, layout.worldSize, shape.batch, micro);
  for (size_t b = 0; b < indices.size(); ++b) {
    // An unreadable video gives way to the next readable one in index
    // order: which one depends only on which videos are unreadable.
    int64_t index = indices[b];
    for (int64_t tries = 0;; ++tries) {
      if (tries == trainCount)
        return "no training video is readable";
      bool known;
      {
        std::lock_guard<std::mutex> lock(mutex);
        known = badTrain.count(index) > 0;
      }
      if (!known) {
        std::string why = makeTrainClip(
            index, epoch, clips + b * shape.clipFloats(), labels[b]);
        if (why.empty())
          break;
        std::string error = markBad(false, index, why);
        if (!error.empty())
          return error;
      }
      index = (index + 1) % trainCount;
    }
  }
  return "";
}

std::string DataSource::trainBatch(int64_t step, int64_t microStep,
                                   Batch &batch) {
  if (!trainQueue) {
    evalQueue.reset();
    trainQueue = std::make_unique<Prefetcher>(
        shape.batch, shape.clipFloats(), options.prefetch, options.workers,
        allocator, [this](int64_t item, float *clips, int64_t *labels) {
          return fillTrain(item, clips, labels);
        });
  }
  return trainQueue->get(step * layout.gradAccum + microStep, batch.clips,
                         batch.labels, waited);
}

int64_t DataSource::evalRounds() const {
  const int64_t perRank = (evalCount + layout.worldSize - 1) / layout.worldSize;
  return (perRank * views + shape.batch - 1) / shape.batch;
}

std::string DataSource::fillEval(int64_t round, float *clips, int64_t *labels) {
  const int64_t floats = shape.clipFloats();
  std::fill(clips, clips + shape.batch * floats, 0.0f);
  for (int64_t b = 0; b < shape.batch;) {
    // Slot b holds view `view` of this rank's video number `slot`.
    const int64_t item = round * shape.batch + b;
    const int64_t slot = item / views, view = item % views;
    const int64_t video = layout.rank + slot * layout.worldSize;
    const int64_t count = std::min(views - view, shape.batch - b);
    int64_t label = -1;
    bool known;
    {
      std::lock_guard<std::mutex> lock(mutex);
      known = badEval.count(video) > 0;
    }
    if (video < evalCount && !known) {
      std::string why =
          makeEvalViews(video, view, count, clips + b * floats, label);
      if (!why.empty()) {
        label = -1;
        std::string error = markBad(true, video, why);
        if (!error.empty())
          return error;
      }
    }
    std::fill(labels + b, labels + b + count, label);
    b += count;
  }
  return "";
}

std::string DataSource::evalBatch(int64_t round, Batch &batch) {
  if (!evalQueue) {
    trainQueue.reset();
    evalQueue = std::make_unique<Prefetcher>(
        shape.batch, shape.clipFloats(), options.prefetch, options.workers,
        allocator, [this](int64_t item, float *clips, int64_t *labels) {
          return fillEval(item, clips, labels);
        });
  }
  if (round == 0)
    logitClasses = 0; // a new pass
  double evalWait = 0;
  std::string error =
      evalQueue->get(round, batch.clips, batch.labels, evalWait);
  roundLabels.assign(batch.labels, batch.labels + shape.batch);
  return error;
}

void DataSource::addEvalLogits(int64_t round, const float *logits,
                               int64_t classCount) {
  const int64_t perRank = (evalCount + layout.worldSize - 1) / layout.worldSize;
  if (logitClasses == 0) {
    logitClasses = classCount;
    logitSums.assign(perRank * classCount, 0.0f);
    evalLabels.assign(perRank, -2); // -2: not seen yet
    viewsSeen.assign(perRank, 0);
  }
  for (int64_t b = 0; b < shape.batch; ++b) {
    const int64_t slot = (round * shape.batch + b) / views;
    if (slot >= perRank || layout.rank + slot * layout.worldSize >= evalCount)
      continue;
    // A view that failed marks its whole video.
    int64_t label = roundLabels[b];
    evalLabels[slot] = evalLabels[slot] == -1 ? -1 : label;
    if (label < 0)
      continue;
    for (int64_t c = 0; c < classCount; ++c)
      logitSums[slot * classCount + c] += logits[b * classCount + c];
    ++viewsSeen[slot];
  }
}

void DataSource::evalResults(std::vector<float> &logits,
                             std::vector<int64_t> &labels) const {
  logits.clear();
  labels.clear();
  for (size_t slot = 0; slot < evalLabels.size(); ++slot) {
    if (evalLabels[slot] < 0 || viewsSeen[slot] != views)
      continue;
    for (int64_t c = 0; c < logitClasses; ++c)
      logits.push_back(logitSums[slot * logitClasses + c] /
                       static_cast<float>(views));
    labels.push_back(evalLabels[slot]);
  }
}

std::string DataSource::badVideoReport() const {
  std::lock_guard<std::mutex> lock(mutex);
  int64_t total = static_cast<int64_t>(badTrain.size() + badEval.size());
  if (total == 0)
    return "";
  return std::to_string(total) + " unreadable video(s) skipped so far (" +
         std::to_string(badTrain.size()) + " training, " +
         std::to_string(badEval.size()) + " evaluation; limit " +
         std::to_string(maxBad) + ")";
}

} // namespace var::data
