// What varrun trains and evaluates on, behind one interface: a factory from
// --data (builtin:synthetic, builtin:synthetic-trails, builtin:random or a
// dataset folder)
// and the data flags, yielding each rank's micro-batch of (step, micro-step)
// from the deterministic sampler (Synthetic.h), filled ahead of time by
// worker threads into staging buffers, and the evaluation batches with
// multi-clip, multi-crop logits averaged per video.
#ifndef VAR_RUNTIME_DATA_DATASOURCE_H
#define VAR_RUNTIME_DATA_DATASOURCE_H

#include "runtime/data/Augment.h"
#include "runtime/data/ClipSampler.h"
#include "runtime/data/Prefetcher.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace var::data {

/// The plan's clip input: [batch][frames][channels][height][width] f32.
struct ClipShape {
  int64_t batch = 0, frames = 0, channels = 0, height = 0, width = 0;
  int64_t clipFloats() const { return frames * channels * height * width; }
};

struct DataOptions {
  std::string data = "builtin:synthetic";
  std::string trainList, valList;
  uint64_t seed = 0;
  /// Built-in sources only (taskClasses: builtin:synthetic only).
  int64_t trainSize = 4096, evalSize = 512, taskClasses = 0;
  /// Video datasets. sampling.frames 0 means the plan's clip length; the
  /// augmentation's output size is always the plan's.
  SamplingOptions sampling{Sampling::Segments, 0, 1};
  AugmentOptions augment;
  int64_t testClips = 1, testCrops = 1;
  int64_t workers = 2;
  int64_t prefetch = 4; // batches in flight
  /// "N" videos or "P%" of all videos (train and eval), rounded down, may be
  /// unreadable before training stops with an error.
  std::string maxBadVideos = "1%";
  /// Warnings (one per unreadable video); null: standard error.
  std::function<void(const std::string &)> warn;
};

/// Where this rank sits and how a step splits into micro-batches.
struct RankLayout {
  int64_t rank = 0, worldSize = 1, gradAccum = 1;
};

/// --data's name for random clips (RandomSource.cpp), for benchmarks.
inline constexpr const char *kRandomSourceName = "builtin:random";

class DataSource;
/// Builds the source for builtin:synthetic[-trails] (Synthetic.h).
std::unique_ptr<DataSource>
createSyntheticSource(const DataOptions &options, const ClipShape &shape,
                      int64_t modelClasses, const RankLayout &layout,
                      StagingAllocator allocator, std::string &error);
/// Builds the source for builtin:random: normal(0, 1) clips, uniform labels
/// over the model's classes, --train-size and --eval-size of them.
std::unique_ptr<DataSource>
createRandomSource(const DataOptions &options, const ClipShape &shape,
                   int64_t modelClasses, const RankLayout &layout,
                   StagingAllocator allocator, std::string &error);
/// Builds the source for a dataset folder or list files (Dataset.h).
std::unique_ptr<DataSource>
createVideoSource(const DataOptions &options, const ClipShape &shape,
                  int64_t modelClasses, const RankLayout &layout,
                  StagingAllocator allocator, std::string &error);

class DataSource {
public:
  /// The source `options.data` names, for a model taking `shape` clips with
  /// `modelClasses` outputs; null with `error` set when the options, the
  /// dataset or the model's input do not fit (checked before training).
  static std::unique_ptr<DataSource>
  create(const DataOptions &options, const ClipShape &shape,
         int64_t modelClasses, const RankLayout &layout,
         StagingAllocator allocator, std::string &error);
  virtual ~DataSource();

  /// One line for the log: classes, and the dataset's layout and sizes.
  virtual std::string describe() const = 0;
  /// Classes the data uses (at most the model's).
  int64_t taskClasses() const { return classes; }
  int64_t trainVideos() const { return trainCount; }
  int64_t globalBatch() const;
  int64_t stepsPerEpoch() const;

  struct Batch {
    const float *clips = nullptr; // [batch][clip floats]
    const int64_t *labels = nullptr;
  };
  /// This rank's micro-batch `microStep` of optimizer step `step` (epoch
  /// step / stepsPerEpoch, in the seed's order for that epoch). Valid until
  /// the next call. An error when too many videos were unreadable.
  std::string trainBatch(int64_t step, int64_t microStep, Batch &batch);
  /// Seconds the caller has waited for training batches so far.
  double dataWaitSeconds() const { return waited; }

  /// Forward passes every rank makes to evaluate (the same count on every
  /// rank; padding slots carry label -1). An evaluation pass fetches rounds
  /// 0, 1, ... in order; round 0 starts a new pass.
  int64_t evalRounds() const;
  std::string evalBatch(int64_t round, Batch &batch);
  /// Logits [batch][classes] of the round just fetched.
  void addEvalLogits(int64_t round, const float *logits, int64_t classes);
  /// The pass's result on this rank: per readable video, its views'
  /// averaged logits ([videos][classes]) and its label.
  void evalResults(std::vector<float> &logits,
                   std::vector<int64_t> &labels) const;
  /// Views (clips x crops) averaged per evaluation video.
  int64_t viewsPerVideo() const { return views; }

  /// "" or a line on the unreadable videos skipped so far, for the end of
  /// an epoch.
  std::string badVideoReport() const;

protected:
  DataSource(const DataOptions &options, const ClipShape &shape,
             const RankLayout &layout, StagingAllocator allocator);
  /// Joins the worker threads; every subclass's destructor calls it first,
  /// while the clip makers the workers call still exist.
  void stopWorkers();

  /// Training clip `index` as sampled in `epoch`; thread-safe.
  virtual std::string makeTrainClip(int64_t index, int64_t epoch, float *clip,
                                    int64_t &label) = 0;
  /// Views [firstView, firstView + count) of evaluation video `video`,
  /// consecutive clips; thread-safe.
  virtual std::string makeEvalViews(int64_t video, int64_t firstView,
                                    int64_t count, float *clips,
                                    int64_t &label) = 0;

  const DataOptions options;
  const ClipShape shape;
  const RankLayout layout;

private:
  friend std::unique_ptr<DataSource>
  createSyntheticSource(const DataOptions &, const ClipShape &, int64_t,
                        const RankLayout &, StagingAllocator, std::string &);
  friend std::unique_ptr<DataSource>
  createRandomSource(const DataOptions &, const ClipShape &, int64_t,
                     const RankLayout &, StagingAllocator, std::string &);
  friend std::unique_ptr<DataSource>
  createVideoSource(const DataOptions &, const ClipShape &, int64_t,
                    const RankLayout &, StagingAllocator, std::string &);

  /// Finishes construction once the factory knows the sizes.
  std::string init(int64_t classes, int64_t trainCount, int64_t evalCount,
                   int64_t views);
  std::string fillTrain(int64_t item, float *clips, int64_t *labels);
  std::string fillEval(int64_t round, float *clips, int64_t *labels);
  /// Records an unreadable video; an error once there are too many.
  std::string markBad(bool eval, int64_t index, const std::string &why);
  const std::vector<int64_t> &orderOf(int64_t epoch);

  StagingAllocator allocator;
  int64_t classes = 0, trainCount = 0, evalCount = 0, views = 1;
  int64_t maxBad = 0;
  std::unique_ptr<Prefetcher> trainQueue, evalQueue;
  double waited = 0;

  mutable std::mutex mutex;                       // guards what follows
  std::map<int64_t, std::vector<int64_t>> orders; // by epoch
  std::set<int64_t> badTrain, badEval;

  // Evaluation: this rank's videos rank, rank + worldSize, ...
  std::vector<float> logitSums;    // [video slot][classes]
  std::vector<int64_t> evalLabels; // per video slot; -1: none or unreadable
  std::vector<int64_t> viewsSeen;
  std::vector<int64_t> roundLabels; // of the round last fetched
  int64_t logitClasses = 0;
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_DATASOURCE_H
