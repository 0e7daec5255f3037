// builtin:synthetic and builtin:synthetic-trails as a DataSource: generated
// clips (Synthetic.h), no files, never unreadable.
#include "runtime/data/DataSource.h"
#include "runtime/data/Synthetic.h"

namespace var::data {
namespace {

class SyntheticSource : public DataSource {
public:
  SyntheticSource(const DataOptions &options, const ClipShape &shape,
                  const RankLayout &layout, StagingAllocator allocator,
                  const SyntheticConfig &config)
      : DataSource(options, shape, layout, std::move(allocator)),
        config(config) {}
  ~SyntheticSource() override { stopWorkers(); }

  std::string describe() const override {
    return std::to_string(taskClasses()) + " synthetic classes";
  }

protected:
  std::string makeTrainClip(int64_t index, int64_t, float *clip,
                            int64_t &label) override {
    makeClip(config, /*eval=*/false, index, clip, label);
    return "";
  }
  std::string makeEvalViews(int64_t video, int64_t, int64_t, float *clips,
                            int64_t &label) override {
    makeClip(config, /*eval=*/true, video, clips, label);
    return "";
  }

private:
  const SyntheticConfig config;
};

} // namespace

std::unique_ptr<DataSource>
createSyntheticSource(const DataOptions &options, const ClipShape &shape,
                      int64_t modelClasses, const RankLayout &layout,
                      StagingAllocator allocator, std::string &error) {
  SyntheticConfig config;
  config.frames = shape.frames;
  config.channels = shape.channels;
  config.height = shape.height;
  config.width = shape.width;
  config.numClasses = modelClasses;
  config.seed = options.seed;
  config.trainSize = options.trainSize;
  config.evalSize = options.evalSize;
  config.taskClasses = options.taskClasses;
  if (options.data == kSyntheticTrailsSourceName)
    config.trail = 3;
  error = validateSyntheticConfig(config);
  if (!error.empty())
    return nullptr;
  auto source = std::make_unique<SyntheticSource>(options, shape, layout,
                                                  std::move(allocator), config);
  error = source->init(getSyntheticTaskClasses(config), config.trainSize,
                       config.evalSize, 1);
  if (!error.empty())
    return nullptr;
  return source;
}

} // namespace var::data
