// builtin:random as a DataSource: clips of independent normal(0, 1) values
// and uniform labels over all the model's classes, a pure function of
// (seed, split, index). Nothing to learn; it exists so that benchmarks
// measure the training step, not data generation or decoding (varrun
// draws one batch and feeds it to every step).
#include "runtime/data/DataSource.h"
#include "runtime/data/Random.h"
#include "runtime/data/Synthetic.h"

#include <cmath>

namespace var::data {
namespace {

// Streams of hashKey, apart from the other sources' draws.
constexpr uint64_t kTrainStream = 0x72616e64'74726e00ULL;
constexpr uint64_t kEvalStream = 0x72616e64'6576616cULL;
constexpr double kTwoPi = 6.283185307179586;

class RandomSource : public DataSource {
public:
  RandomSource(const DataOptions &options, const ClipShape &shape,
               const RankLayout &layout, StagingAllocator allocator)
      : DataSource(options, shape, layout, std::move(allocator)) {}
  ~RandomSource() override { stopWorkers(); }

  std::string describe() const override {
    return "random normal(0, 1) clips, " + std::to_string(taskClasses()) +
           " classes";
  }

protected:
  std::string makeTrainClip(int64_t index, int64_t, float *clip,
                            int64_t &label) override {
    makeRandomClip(kTrainStream, index, clip, label);
    return "";
  }
  std::string makeEvalViews(int64_t video, int64_t, int64_t count, float *clips,
                            int64_t &label) override {
    for (int64_t view = 0; view < count; ++view)
      makeRandomClip(kEvalStream, video, clips + view * shape.clipFloats(),
                     label);
    return "";
  }

private:
  void makeRandomClip(uint64_t stream, int64_t index, float *clip,
                      int64_t &label) const {
    Rng rng(hashKey(options.seed, stream, static_cast<uint64_t>(index)));
    label = rng.range(0, taskClasses() - 1);
    // Box-Muller: two uniforms give two independent normals.
    const int64_t count = shape.clipFloats();
    for (int64_t i = 0; i < count; i += 2) {
      double u = 1.0 - rng.uniform(), v = rng.uniform(); // u in (0, 1]
      double radius = std::sqrt(-2.0 * std::log(u));
      clip[i] = static_cast<float>(radius * std::cos(kTwoPi * v));
      if (i + 1 < count)
        clip[i + 1] = static_cast<float>(radius * std::sin(kTwoPi * v));
    }
  }
};

} // namespace

std::unique_ptr<DataSource>
createRandomSource(const DataOptions &options, const ClipShape &shape,
                   int64_t modelClasses, const RankLayout &layout,
                   StagingAllocator allocator, std::string &error) {
  if (modelClasses < 1 || options.trainSize < 1 || options.evalSize < 0) {
    error = "builtin:random needs a model with classes, --train-size >= 1 "
            "and --eval-size >= 0";
    return nullptr;
  }
  auto source = std::make_unique<RandomSource>(options, shape, layout,
                                               std::move(allocator));
  error = source->init(modelClasses, options.trainSize, options.evalSize, 1);
  if (!error.empty())
    return nullptr;
  return source;
}

} // namespace var::data
