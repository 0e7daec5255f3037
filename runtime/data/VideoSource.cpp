// Video datasets as a DataSource: each clip opens its video (file or JPEG
// folder), decodes only the frames its sampling picks, and is cropped,
// flipped and normalized into the batch (Augment.h).
#include "runtime/data/DataSource.h"
#include "runtime/data/Dataset.h"
#include "runtime/data/FrameReader.h"
#include "runtime/data/Random.h"

namespace var::data {
namespace {

// Random streams of a training clip.
constexpr uint64_t kClipTag = 0x636c6970;   // "clip"
constexpr uint64_t kFramesTag = 0x6672616d; // "fram"
constexpr uint64_t kCropTag = 0x63726f70;   // "crop"

class VideoSource : public DataSource {
public:
  VideoSource(const DataOptions &options, const ClipShape &shape,
              const RankLayout &layout, StagingAllocator allocator,
              Dataset dataset)
      : DataSource(options, shape, layout, std::move(allocator)),
        dataset(std::move(dataset)) {}
  ~VideoSource() override { stopWorkers(); }

  std::string describe() const override {
    std::string root = options.data.empty() ? options.trainList : options.data;
    return std::to_string(taskClasses()) + " classes from " + root + " (" +
           dataset.layout + "), " + std::to_string(dataset.train.size()) +
           " training and " + std::to_string(dataset.eval.size()) +
           " evaluation videos, " +
           (options.sampling.mode == Sampling::Segments ? "segment" : "dense") +
           " sampling, " + std::to_string(viewsPerVideo()) +
           " view(s) per evaluation video";
  }

protected:
  std::string makeTrainClip(int64_t index, int64_t epoch, float *clip,
                            int64_t &label) override {
    const VideoEntry &entry = dataset.train[index];
    std::string error;
    std::unique_ptr<FrameReader> reader = openFrameReader(entry.path, error);
    if (!reader)
      return error;
    const VideoInfo &info = reader->info();
    uint64_t key =
        hashKey(options.seed ^ kClipTag, static_cast<uint64_t>(epoch),
                static_cast<uint64_t>(index));
    std::vector<int64_t> indices = trainClipIndices(
        options.sampling, info.frames, hashKey(key, kFramesTag, 0));
    std::vector<uint8_t> rgb;
    error = reader->readFrames(indices, rgb);
    if (!error.empty())
      return error;
    CropBox box = trainCropBox(options.augment, info.width, info.height,
                               hashKey(key, kCropTag, 0));
    renderClip(options.augment, rgb.data(), info.width, info.height,
               shape.frames, box, clip);
    label = entry.label;
    return "";
  }

  std::string makeEvalViews(int64_t video, int64_t firstView, int64_t count,
                            float *clips, int64_t &label) override {
    const VideoEntry &entry = dataset.eval[video];
    std::string error;
    std::unique_ptr<FrameReader> reader = openFrameReader(entry.path, error);
    if (!reader)
      return error;
    const VideoInfo &info = reader->info();
    // One decode for every view asked for: view v is clip v / crops, crop
    // v % crops.
    const int64_t crops = options.testCrops;
    std::vector<int64_t> indices;
    for (int64_t v = firstView; v < firstView + count; ++v) {
      std::vector<int64_t> clip = evalClipIndices(options.sampling, info.frames,
                                                  v / crops, options.testClips);
      indices.insert(indices.end(), clip.begin(), clip.end());
    }
    std::vector<uint8_t> rgb;
    error = reader->readFrames(indices, rgb);
    if (!error.empty())
      return error;
    const size_t clipBytes =
        static_cast<size_t>(shape.frames) * info.width * info.height * 3;
    for (int64_t i = 0; i < count; ++i) {
      CropBox box = evalCropBox(options.augment, info.width, info.height,
                                (firstView + i) % crops, crops);
      renderClip(options.augment, rgb.data() + i * clipBytes, info.width,
                 info.height, shape.frames, box,
                 clips + i * shape.clipFloats());
    }
    label = entry.label;
    return "";
  }

private:
  const Dataset dataset;
};

} // namespace

std::unique_ptr<DataSource>
createVideoSource(const DataOptions &options, const ClipShape &shape,
                  int64_t modelClasses, const RankLayout &layout,
                  StagingAllocator allocator, std::string &error) {
  if (shape.channels != 3) {
    error = "video data feeds RGB clips; the plan's input has " +
            std::to_string(shape.channels) + " channels";
    return nullptr;
  }
  if (options.testClips < 1 || options.testCrops < 1) {
    error = "--test-clips and --test-crops must be positive";
    return nullptr;
  }
  DatasetOptions datasetOptions{options.data, options.trainList,
                                options.valList};
  Dataset dataset;
  error = loadDataset(datasetOptions, dataset);
  if (!error.empty())
    return nullptr;
  const int64_t classes = static_cast<int64_t>(dataset.classes.size());
  if (classes > modelClasses) {
    error = "the dataset has " + std::to_string(classes) +
            " classes, more than the model's " + std::to_string(modelClasses);
    return nullptr;
  }
  const int64_t train = static_cast<int64_t>(dataset.train.size());
  const int64_t eval = static_cast<int64_t>(dataset.eval.size());
  auto source = std::make_unique<VideoSource>(
      options, shape, layout, std::move(allocator), std::move(dataset));
  error =
      source->init(classes, train, eval, options.testClips * options.testCrops);
  if (!error.empty())
    return nullptr;
  return source;
}

} // namespace var::data
