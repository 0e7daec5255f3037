// The video data pipeline above the decoder: dataset layouts and their
// errors, TSN and dense sampling, crops and normalization, prefetching that
// never changes what a batch holds, the per-rank share of every batch, and
// unreadable videos skipped, warned about once, counted and limited.
#include "runtime/data/Augment.h"
#include "runtime/data/ClipSampler.h"
#include "runtime/data/DataSource.h"
#include "runtime/data/Dataset.h"
#include "runtime/data/VideoWriter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/stat.h>

using namespace var::data;

namespace {

/// Temporary folders, removed when the test program exits.
struct TempDirs {
  std::vector<std::string> dirs;
  ~TempDirs() {
    for (const std::string &dir : dirs)
      std::filesystem::remove_all(dir);
  }
};

std::string makeTempDir() {
  static TempDirs temps;
  char pattern[] = "/tmp/var-data-test-XXXXXX";
  temps.dirs.push_back(mkdtemp(pattern));
  return temps.dirs.back();
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
}

void makeDirs(const std::string &path) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    mkdir(path.substr(0, slash).c_str(), 0755);
  }
}

/// A 32x24 AVI of `frames` frames; frame t is uniformly grey `level + t`.
void writeVideo(const std::string &path, int level, int frames = 12) {
  VideoWriterOptions options;
  options.width = 32;
  options.height = 24;
  std::string error;
  auto writer = VideoWriter::create(path, options, error);
  ASSERT_TRUE(writer) << error;
  for (int t = 0; t < frames; ++t) {
    std::vector<uint8_t> rgb(32 * 24 * 3, static_cast<uint8_t>(level + t));
    ASSERT_EQ(writer->writeFrame(rgb.data()), "");
  }
  ASSERT_EQ(writer->finish(), "");
}

/// DIR/<class>/<video>.avi for classes a, b, c with `perClass` videos each.
std::string classFolders(int perClass) {
  std::string dir = makeTempDir();
  for (const char *name : {"a", "b", "c"}) {
    makeDirs(dir + "/" + name);
    for (int v = 0; v < perClass; ++v)
      writeVideo(dir + "/" + name + "/v" + std::to_string(v) + ".avi",
                 20 * v + 10);
  }
  return dir;
}

ClipShape smallShape() { return ClipShape{2, 4, 3, 16, 16}; }

} // namespace

// --- Layouts ---------------------------------------------------------------

TEST(Dataset, ClassFoldersHoldOutEveryFifthVideo) {
  std::string dir = makeTempDir();
  for (const char *name : {"walk", "run"}) {
    makeDirs(dir + "/" + name);
    for (int v = 0; v < 10; ++v)
      writeText(dir + "/" + name + "/" + std::to_string(v) + ".mp4", "x");
  }
  Dataset dataset;
  ASSERT_EQ(loadDataset({dir, "", ""}, dataset), "");
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"run", "walk"}));
  EXPECT_EQ(dataset.train.size(), 16u);
  EXPECT_EQ(dataset.eval.size(), 4u);
  EXPECT_EQ(dataset.eval[0].path, dir + "/run/4.mp4");
  EXPECT_EQ(dataset.eval[3].label, 1);
}

TEST(Dataset, TrainAndValFolders) {
  std::string dir = makeTempDir();
  makeDirs(dir + "/train/x");
  makeDirs(dir + "/train/y");
  makeDirs(dir + "/val/y");
  writeText(dir + "/train/x/1.avi", "x");
  writeText(dir + "/train/y/2.avi", "x");
  writeText(dir + "/val/y/3.avi", "x");
  Dataset dataset;
  ASSERT_EQ(loadDataset({dir, "", ""}, dataset), "");
  ASSERT_EQ(dataset.eval.size(), 1u);
  EXPECT_EQ(dataset.eval[0].label, 1);
  makeDirs(dir + "/val/z");
  EXPECT_NE(loadDataset({dir, "", ""}, dataset)
                .find("class 'z' is not among the training classes"),
            std::string::npos);
}

TEST(Dataset, UcfSplitFiles) {
  std::string dir = makeTempDir();
  makeDirs(dir + "/UCF-101/Jump");
  makeDirs(dir + "/UCF-101/Swim");
  makeDirs(dir + "/ucfTrainTestlist");
  for (const char *video :
       {"Jump/v_Jump_g01_c01.avi", "Jump/v_Jump_g08_c01.avi",
        "Swim/v_Swim_g01_c01.avi", "Swim/v_Swim_g08_c01.avi"})
    writeText(dir + "/UCF-101/" + video, "x");
  writeText(dir + "/ucfTrainTestlist/classInd.txt", "1 Jump\n2 Swim\n");
  writeText(dir + "/ucfTrainTestlist/trainlist01.txt",
            "Jump/v_Jump_g08_c01.avi 1\nSwim/v_Swim_g08_c01.avi 2\n");
  writeText(dir + "/ucfTrainTestlist/testlist01.txt",
            "Jump/v_Jump_g01_c01.avi\r\nSwim/v_Swim_g01_c01.avi\r\n");
  Dataset dataset;
  ASSERT_EQ(loadDataset({dir, "", ""}, dataset), "");
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"Jump", "Swim"}));
  ASSERT_EQ(dataset.train.size(), 2u);
  ASSERT_EQ(dataset.eval.size(), 2u);
  EXPECT_EQ(dataset.train[1].path, dir + "/UCF-101/Swim/v_Swim_g08_c01.avi");
  EXPECT_EQ(dataset.train[1].label, 1);
  EXPECT_EQ(dataset.eval[1].label, 1);

  // A split file naming missing videos is an error listing them.
  writeText(dir + "/ucfTrainTestlist/testlist01.txt",
            "Jump/v_Jump_g01_c01.avi\nSwim/v_Swim_g02_c01.avi\n");
  std::string error = loadDataset({dir, "", ""}, dataset);
  EXPECT_NE(error.find("testlist01.txt names 1 video(s) that do not exist"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("v_Swim_g02_c01.avi"), std::string::npos);
  // So is a class index beyond classInd.txt.
  writeText(dir + "/ucfTrainTestlist/trainlist01.txt",
            "Jump/v_Jump_g08_c01.avi 3\n");
  EXPECT_NE(loadDataset({dir, "", ""}, dataset)
                .find("trainlist01.txt:1: class index '3' is not in"),
            std::string::npos);
}

TEST(Dataset, HmdbSplitFiles) {
  std::string dir = makeTempDir();
  for (const char *video : {"brush_hair/a.avi", "brush_hair/b.avi",
                            "brush_hair/c.avi", "cartwheel/d.avi"}) {
    makeDirs(dir + "/hmdb51_org/" +
             std::string(video).substr(0, std::string(video).find('/')));
    writeText(dir + "/hmdb51_org/" + video, "x");
  }
  makeDirs(dir + "/testTrainMulti_7030_splits");
  // Split 1 only; 0 leaves a video out, other splits are not read.
  writeText(dir + "/testTrainMulti_7030_splits/cartwheel_test_split1.txt",
            "d.avi 1 \n");
  writeText(dir + "/testTrainMulti_7030_splits/brush_hair_test_split1.txt",
            "a.avi 1 \nb.avi 2 \nc.avi 0 \n");
  writeText(dir + "/testTrainMulti_7030_splits/brush_hair_test_split2.txt",
            "a.avi 2 \nb.avi 1 \nc.avi 1 \n");
  Dataset dataset;
  ASSERT_EQ(loadDataset({dir, "", ""}, dataset), "");
  EXPECT_EQ(dataset.classes,
            (std::vector<std::string>{"brush_hair", "cartwheel"}));
  ASSERT_EQ(dataset.train.size(), 2u);
  ASSERT_EQ(dataset.eval.size(), 1u);
  EXPECT_EQ(dataset.train[0].path, dir + "/hmdb51_org/brush_hair/a.avi");
  EXPECT_EQ(dataset.train[1].path, dir + "/hmdb51_org/cartwheel/d.avi");
  EXPECT_EQ(dataset.train[1].label, 1);
  EXPECT_EQ(dataset.eval[0].path, dir + "/hmdb51_org/brush_hair/b.avi");

  // Missing videos and malformed lines are errors naming the file.
  writeText(dir + "/testTrainMulti_7030_splits/cartwheel_test_split1.txt",
            "d.avi 1\ne.avi 2\n");
  std::string error = loadDataset({dir, "", ""}, dataset);
  EXPECT_NE(error.find("cartwheel_test_split1.txt names 1 video(s)"),
            std::string::npos)
      << error;
  writeText(dir + "/testTrainMulti_7030_splits/cartwheel_test_split1.txt",
            "d.avi train\n");
  error = loadDataset({dir, "", ""}, dataset);
  EXPECT_NE(error.find("cartwheel_test_split1.txt:1: expected `video N`"),
            std::string::npos)
      << error;
}

TEST(Dataset, KineticsCsv) {
  std::string dir = makeTempDir();
  makeDirs(dir + "/train/abseiling");
  makeDirs(dir + "/val");
  writeText(dir + "/train/abseiling/AAA_000010_000020.mp4", "x");
  writeText(dir + "/train/abseiling/BBB_000000_000010.mp4", "x");
  writeText(dir + "/val/CCC.mkv", "x");
  writeText(dir + "/train.csv", "label,youtube_id,time_start,time_end,split\n"
                                "zumba,BBB,0,10,train\n"
                                "abseiling,AAA,10,20,train\n");
  writeText(dir + "/validate.csv",
            "label,youtube_id,time_start,time_end,split\n"
            "\"zumba\",CCC,5,15,val\n");
  Dataset dataset;
  ASSERT_EQ(loadDataset({dir, "", ""}, dataset), "");
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"abseiling", "zumba"}));
  ASSERT_EQ(dataset.train.size(), 2u);
  EXPECT_EQ(dataset.train[0].label, 1);
  EXPECT_EQ(dataset.train[1].path,
            dir + "/train/abseiling/AAA_000010_000020.mp4");
  ASSERT_EQ(dataset.eval.size(), 1u);
  EXPECT_EQ(dataset.eval[0].path, dir + "/val/CCC.mkv");
  writeText(dir + "/validate.csv",
            "label,youtube_id,time_start,time_end,split\nzumba,DDD,1,2,val\n");
  EXPECT_NE(loadDataset({dir, "", ""}, dataset).find("DDD_000001_000002"),
            std::string::npos);
}

TEST(Dataset, ListFilesOverrideDetection) {
  std::string dir = makeTempDir();
  makeDirs(dir + "/clips/f1");
  writeText(dir + "/clips/one.webm", "x");
  writeText(dir + "/train.txt", "clips/one.webm 2\nclips/f1 40 0\n");
  writeText(dir + "/val.txt", "clips/one.webm 1\n");
  Dataset dataset;
  ASSERT_EQ(loadDataset({"", dir + "/train.txt", dir + "/val.txt"}, dataset),
            "");
  EXPECT_EQ(dataset.classes.size(), 3u);
  EXPECT_EQ(dataset.train[0].path, dir + "/clips/one.webm");
  EXPECT_EQ(dataset.train[1].label, 0);
  EXPECT_EQ(dataset.eval[0].label, 1);
  writeText(dir + "/bad.txt", "clips/one.webm two\n");
  EXPECT_NE(loadDataset({"", dir + "/bad.txt", ""}, dataset)
                .find("bad.txt:1: expected `path label`"),
            std::string::npos);
}

TEST(Dataset, MissingAndEmptyDatasetsAreErrors) {
  Dataset dataset;
  EXPECT_EQ(loadDataset({"/nonexistent/ucf101", "", ""}, dataset),
            "/nonexistent/ucf101: no such dataset directory");
  std::string dir = makeTempDir();
  EXPECT_NE(loadDataset({dir, "", ""}, dataset).find("no class folders"),
            std::string::npos);
  makeDirs(dir + "/empty_class");
  EXPECT_NE(loadDataset({dir, "", ""}, dataset).find("no training videos"),
            std::string::npos);
  EXPECT_NE(loadDataset({"", dir + "/none.txt", ""}, dataset)
                .find("none.txt: cannot open the list file"),
            std::string::npos);
}

// --- Sampling and augmentation ----------------------------------------------

TEST(ClipSampler, SegmentsTakeOneFrameFromEachSegment) {
  SamplingOptions options{Sampling::Segments, 4, 1};
  for (uint64_t key = 0; key < 50; ++key) {
    std::vector<int64_t> indices = trainClipIndices(options, 40, key);
    ASSERT_EQ(indices.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      EXPECT_GE(indices[i], 10 * i);
      EXPECT_LT(indices[i], 10 * (i + 1));
    }
  }
  EXPECT_EQ(evalClipIndices(options, 40, 0, 1),
            (std::vector<int64_t>{5, 15, 25, 35}));
  EXPECT_EQ(evalClipIndices(options, 40, 1, 2),
            (std::vector<int64_t>{7, 17, 27, 37}));
  // Shorter than the clip: frames repeat, never past the end.
  EXPECT_EQ(evalClipIndices(options, 2, 0, 1),
            (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(ClipSampler, DenseClipsAreStrided) {
  SamplingOptions options{Sampling::Dense, 4, 3};
  std::set<int64_t> starts;
  for (uint64_t key = 0; key < 200; ++key) {
    std::vector<int64_t> indices = trainClipIndices(options, 20, key);
    for (int i = 1; i < 4; ++i)
      EXPECT_EQ(indices[i] - indices[i - 1], 3);
    EXPECT_LE(indices.back(), 19);
    starts.insert(indices[0]);
  }
  EXPECT_EQ(starts.size(), 11u); // every start from 0 to 20 - 10
  EXPECT_EQ(evalClipIndices(options, 20, 0, 1),
            (std::vector<int64_t>{5, 8, 11, 14})); // centred
  EXPECT_EQ(evalClipIndices(options, 6, 0, 1),
            (std::vector<int64_t>{0, 3, 5, 5}));
}

TEST(Augment, CropsAndNormalization) {
  AugmentOptions options;
  options.height = options.width = 8;
  // Eval, one crop of a 32x16 frame: scaled by 8/16 * 8/7, a centred 7x7.
  CropBox box = evalCropBox(options, 32, 16, 0, 1);
  EXPECT_NEAR(box.width, 14.0, 1e-9);
  EXPECT_NEAR(box.x, 9.0, 1e-9);
  // Three crops: full-height 16x16 windows at the left, centre and right.
  EXPECT_NEAR(evalCropBox(options, 32, 16, 0, 3).x, 0.0, 1e-9);
  EXPECT_NEAR(evalCropBox(options, 32, 16, 1, 3).x, 8.0, 1e-9);
  EXPECT_NEAR(evalCropBox(options, 32, 16, 2, 3).x, 16.0, 1e-9);
  for (TrainCrop crop : {TrainCrop::ScaleJitter, TrainCrop::ResizedCrop}) {
    options.crop = crop;
    int flips = 0;
    for (uint64_t key = 0; key < 100; ++key) {
      CropBox train = trainCropBox(options, 32, 16, key);
      EXPECT_GE(train.x, 0);
      EXPECT_GE(train.y, 0);
      EXPECT_LE(train.x + train.width, 32 + 1e-9);
      EXPECT_LE(train.y + train.height, 16 + 1e-9);
      flips += train.flip;
    }
    EXPECT_GT(flips, 20);
    EXPECT_LT(flips, 80);
  }
  options.flip = false;
  for (uint64_t key = 0; key < 20; ++key)
    EXPECT_FALSE(trainCropBox(options, 32, 16, key).flip);

  // A horizontal ramp, rendered whole and mirrored, normalized per channel.
  std::vector<uint8_t> rgb(8 * 8 * 3);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c)
        rgb[(y * 8 + x) * 3 + c] = static_cast<uint8_t>(30 * x + c);
  CropBox whole{0, 0, 8, 8, false};
  std::vector<float> out(3 * 64), mirrored(3 * 64);
  renderClip(options, rgb.data(), 8, 8, 1, whole, out.data());
  whole.flip = true;
  renderClip(options, rgb.data(), 8, 8, 1, whole, mirrored.data());
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 8; ++x) {
      float expected =
          ((30 * x + c) / 255.0f - options.mean[c]) / options.std[c];
      EXPECT_NEAR(out[c * 64 + 3 * 8 + x], expected, 1e-5);
      EXPECT_NEAR(mirrored[c * 64 + 3 * 8 + (7 - x)], expected, 1e-5);
    }
}

// --- DataSource
// ----------------------------------------------------------------

namespace {

/// Every batch of `steps` steps at rank `rank` of `world`, as floats.
std::vector<float> trainBatches(const DataOptions &options, int64_t rank,
                                int64_t world, int64_t steps,
                                std::vector<int64_t> *labels = nullptr) {
  std::string error;
  auto source = DataSource::create(options, smallShape(), 3, {rank, world, 1},
                                   hostStagingAllocator(), error);
  EXPECT_TRUE(source) << error;
  std::vector<float> all;
  for (int64_t step = 0; source && step < steps; ++step) {
    DataSource::Batch batch;
    EXPECT_EQ(source->trainBatch(step, 0, batch), "");
    all.insert(all.end(), batch.clips,
               batch.clips + 2 * smallShape().clipFloats());
    if (labels)
      labels->insert(labels->end(), batch.labels, batch.labels + 2);
  }
  return all;
}

} // namespace

TEST(DataSource, WorkersNeverChangeTheBatches) {
  DataOptions options;
  options.data = classFolders(5);
  options.seed = 7;
  options.workers = 0;
  std::vector<int64_t> labels0, labels3;
  std::vector<float> serial = trainBatches(options, 0, 1, 12, &labels0);
  options.workers = 3;
  options.prefetch = 2;
  std::vector<float> threaded = trainBatches(options, 0, 1, 12, &labels3);
  EXPECT_EQ(serial, threaded);
  EXPECT_EQ(labels0, labels3);
  // Another seed, other batches.
  options.seed = 8;
  EXPECT_NE(trainBatches(options, 0, 1, 12), serial);
}

TEST(DataSource, RanksShareEachGlobalBatch) {
  DataOptions options;
  options.data = classFolders(5);
  options.workers = 2;
  // 12 training videos, global batch 4 on 2 ranks: 3 steps per epoch.
  std::string error;
  ClipShape four = smallShape();
  four.batch = 4;
  auto single = DataSource::create(options, four, 3, {0, 1, 1},
                                   hostStagingAllocator(), error);
  ASSERT_TRUE(single) << error;
  EXPECT_EQ(single->stepsPerEpoch(), 3);
  std::vector<float> rank0 = trainBatches(options, 0, 2, 3);
  std::vector<float> rank1 = trainBatches(options, 1, 2, 3);
  const size_t clip = smallShape().clipFloats();
  for (int64_t step = 0; step < 3; ++step) {
    DataSource::Batch batch;
    ASSERT_EQ(single->trainBatch(step, 0, batch), "");
    // Rank 0 holds the first half of the global batch, rank 1 the second.
    EXPECT_TRUE(std::equal(batch.clips, batch.clips + 2 * clip,
                           rank0.begin() + step * 2 * clip));
    EXPECT_TRUE(std::equal(batch.clips + 2 * clip, batch.clips + 4 * clip,
                           rank1.begin() + step * 2 * clip));
  }
}

TEST(DataSource, EvaluationAveragesViewsPerVideo) {
  DataOptions options;
  options.data = classFolders(5); // 3 evaluation videos, one per class
  options.testClips = 2;
  options.testCrops = 3;
  std::string error;
  auto source = DataSource::create(options, smallShape(), 3, {0, 1, 1},
                                   hostStagingAllocator(), error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->viewsPerVideo(), 6);
  ASSERT_EQ(source->evalRounds(), 9); // 18 views, 2 per forward pass
  for (int64_t round = 0; round < 9; ++round) {
    DataSource::Batch batch;
    ASSERT_EQ(source->evalBatch(round, batch), "");
    // Logits: the true class wins in all views but one of each video, which
    // votes strongly for class (label + 1) % 3; averaged, the truth wins.
    std::vector<float> logits(6, 0.0f);
    for (int b = 0; b < 2; ++b) {
      int64_t view = (round * 2 + b) % 6;
      int64_t label = batch.labels[b];
      ASSERT_GE(label, 0);
      if (view == 0)
        logits[b * 3 + (label + 1) % 3] = 3.0f;
      else
        logits[b * 3 + label] = 1.0f;
    }
    source->addEvalLogits(round, logits.data(), 3);
  }
  std::vector<float> averaged;
  std::vector<int64_t> labels;
  source->evalResults(averaged, labels);
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1, 2}));
  ASSERT_EQ(averaged.size(), 9u);
  for (int64_t video = 0; video < 3; ++video)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_FLOAT_EQ(averaged[video * 3 + c], c == video             ? 5.0f / 6
                                               : c == (video + 1) % 3 ? 0.5f
                                                                      : 0.0f);
}

TEST(DataSource, UnreadableVideosAreSkippedCountedAndLimited) {
  std::string dir = classFolders(5);
  // One of each kind: empty, text, truncated AVI (train), and garbage in an
  // evaluation slot (v4 of each class is held out).
  writeText(dir + "/a/v0.avi", "");
  writeText(dir + "/b/v1.avi", "not a video\n");
  {
    std::ifstream in(dir + "/c/v2.avi", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    writeText(dir + "/c/v2.avi", bytes.substr(0, bytes.size() / 3));
  }
  writeText(dir + "/c/v4.avi", std::string(3000, '\x17'));
  DataOptions options;
  options.data = dir;
  options.maxBadVideos = "4";
  std::vector<std::string> warnings;
  std::mutex warningMutex;
  options.warn = [&](const std::string &line) {
    std::lock_guard<std::mutex> lock(warningMutex);
    warnings.push_back(line);
  };
  std::string error;
  auto source = DataSource::create(options, smallShape(), 3, {0, 1, 1},
                                   hostStagingAllocator(), error);
  ASSERT_TRUE(source) << error;
  // Two epochs: every video is visited twice, each bad one warned about once.
  for (int64_t step = 0; step < 2 * source->stepsPerEpoch(); ++step) {
    DataSource::Batch batch;
    ASSERT_EQ(source->trainBatch(step, 0, batch), "");
  }
  for (int64_t round = 0; round < source->evalRounds(); ++round) {
    DataSource::Batch batch;
    ASSERT_EQ(source->evalBatch(round, batch), "");
    std::vector<float> logits(6, 0.0f);
    source->addEvalLogits(round, logits.data(), 3);
  }
  std::vector<float> averaged;
  std::vector<int64_t> labels;
  source->evalResults(averaged, labels);
  EXPECT_EQ(labels.size(), 2u); // the garbage one is left out
  std::sort(warnings.begin(), warnings.end());
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_NE(warnings[0].find(dir + "/a/v0.avi: "), std::string::npos);
  EXPECT_NE(warnings[1].find(dir + "/b/v1.avi: "), std::string::npos);
  EXPECT_NE(warnings[2].find(dir + "/c/v2.avi: "), std::string::npos);
  EXPECT_NE(warnings[3].find(dir + "/c/v4.avi: "), std::string::npos);
  EXPECT_EQ(source->badVideoReport(),
            "4 unreadable video(s) skipped so far (3 training, 1 evaluation; "
            "limit 4)");

  // One fewer allowed: a clear error naming the count and the last file.
  options.maxBadVideos = "2";
  source = DataSource::create(options, smallShape(), 3, {0, 1, 1},
                              hostStagingAllocator(), error);
  ASSERT_TRUE(source) << error;
  std::string failure;
  for (int64_t step = 0; failure.empty() && step < source->stepsPerEpoch();
       ++step) {
    DataSource::Batch batch;
    failure = source->trainBatch(step, 0, batch);
  }
  EXPECT_NE(failure.find("3 unreadable videos, more than "
                         "--max-bad-videos=2 allows (2)"),
            std::string::npos)
      << failure;
  // The default, 1% of 15 videos, allows none.
  options.maxBadVideos = "1%";
  source = DataSource::create(options, smallShape(), 3, {0, 1, 1},
                              hostStagingAllocator(), error);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->badVideoReport(), "");
}

TEST(DataSource, ChecksBeforeTraining) {
  DataOptions options;
  options.data = classFolders(2);
  std::string error;
  // More classes than the model has outputs.
  EXPECT_FALSE(DataSource::create(options, smallShape(), 2, {0, 1, 1},
                                  hostStagingAllocator(), error));
  EXPECT_EQ(error, "the dataset has 3 classes, more than the model's 2");
  ClipShape grey = smallShape();
  grey.channels = 1;
  EXPECT_FALSE(DataSource::create(options, grey, 3, {0, 1, 1},
                                  hostStagingAllocator(), error));
  EXPECT_NE(error.find("RGB"), std::string::npos);
  options.sampling.frames = 16;
  EXPECT_FALSE(DataSource::create(options, smallShape(), 3, {0, 1, 1},
                                  hostStagingAllocator(), error));
  EXPECT_EQ(error, "--frames=16 differs from the plan's 4 frames per clip");
  options.sampling.frames = 0;
  options.maxBadVideos = "lots";
  EXPECT_FALSE(DataSource::create(options, smallShape(), 3, {0, 1, 1},
                                  hostStagingAllocator(), error));
  EXPECT_NE(error.find("--max-bad-videos must be"), std::string::npos);
}
