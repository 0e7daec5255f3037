// var-synth: writes a synthetic action-recognition dataset as real video
// files in UCF101's layout (DIR/<Class>/v_<Class>_gNN_c01.EXT and
// DIR/ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt), K classes of
// moving shapes that only motion tells apart (ActionScene.h).
#include "runtime/data/VideoWriter.h"
#include "tools/var-synth/ActionScene.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace {

const char *kUsage =
    "usage: var-synth DIR [options]\n"
    "\n"
    "Writes a synthetic action dataset of real video files in UCF101's\n"
    "layout: DIR/<Class>/v_<Class>_gNN_c01.EXT, one group per video, and the\n"
    "split files DIR/ucfTrainTestlist/classInd.txt, trainlist01.txt and\n"
    "testlist01.txt (the first 7/25 of each class's groups are test videos,\n"
    "as UCF101's groups 1-7 of 25). A bright shape moves right, left, down\n"
    "or up, rotates clockwise or counter-clockwise, grows or shrinks, or\n"
    "moves diagonally: only its motion tells the class.\n"
    "\n"
    "  --classes=K           classes, 1 to 12 (default 8), in that order\n"
    "  --videos-per-class=N  default 25\n"
    "  --frames=F            frames per video (default 48)\n"
    "  --width=W --height=H  frame size, even (default 160x120)\n"
    "  --fps=R               frame rate (default 25)\n"
    "  --format=FMT          avi (MPEG-4 part 2, XVID, as UCF101; default),\n"
    "                        mp4 or mkv (H.264), webm (VP8)\n"
    "  --trail=N             draw fading copies of the last N positions so\n"
    "                        that every frame shows the motion, for models\n"
    "                        that look at frames one at a time (default 0)\n"
    "  --seed=S              default 0\n"
    "  --jobs=J              videos encoded in parallel (default: cores)\n"
    "  --help                this text\n";

struct Options {
  std::string dir;
  int64_t classes = 8, videosPerClass = 25, frames = 48, width = 160,
          height = 120, fps = 25, trail = 0, seed = 0, jobs = 0;
  std::string format = "avi";
};

int usageError(const std::string &message) {
  std::cerr << "var-synth: error: " << message << "\n\n" << kUsage;
  return 2;
}

std::optional<int> parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!options.dir.empty())
        return usageError("one output directory, got '" + options.dir +
                          "' and '" + arg + "'");
      options.dir = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq == std::string::npos)
      return usageError("option '" + arg + "' needs a value (" + arg + "=...)");
    std::string name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    if (name == "format") {
      std::string error = var::data::validateVideoFormat(value);
      if (!error.empty())
        return usageError("--format: " + error);
      options.format = value;
      continue;
    }
    struct Field {
      const char *name;
      int64_t *target;
      int64_t low, high;
    };
    const Field fields[] = {
        {"classes", &options.classes, 1,
         static_cast<int64_t>(var::synth::actionClassNames().size())},
        {"videos-per-class", &options.videosPerClass, 1, 99},
        {"frames", &options.frames, 2, 100000},
        {"width", &options.width, 16, 4096},
        {"height", &options.height, 16, 4096},
        {"fps", &options.fps, 1, 240},
        {"trail", &options.trail, 0, 16},
        {"seed", &options.seed, 0, INT64_MAX},
        {"jobs", &options.jobs, 1, 1024}};
    const Field *field = nullptr;
    for (const Field &f : fields)
      if (name == f.name)
        field = &f;
    if (!field)
      return usageError("unknown option '--" + name + "'");
    char *end = nullptr;
    errno = 0;
    long long number = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 || number < field->low ||
        number > field->high)
      return usageError("--" + name + " must be an integer from " +
                        std::to_string(field->low) + " to " +
                        std::to_string(field->high) + ", got '" + value + "'");
    *field->target = number;
  }
  if (options.dir.empty())
    return usageError("no output directory given");
  if (options.width % 2 || options.height % 2)
    return usageError("--width and --height must be even");
  return std::nullopt;
}

/// mkdir -p.
bool makeDir(const std::string &path, std::string &error) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      error = path + ": cannot create: " + std::strerror(errno);
      return false;
    }
    if (slash == std::string::npos)
      return true;
  }
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (std::optional<int> code = parseOptions(argc, argv, options))
    return *code;
  const std::vector<std::string> &names = var::synth::actionClassNames();
  const std::string splits = options.dir + "/ucfTrainTestlist";
  std::string error;
  if (!makeDir(options.dir, error) || !makeDir(splits, error)) {
    std::cerr << "var-synth: error: " << error << "\n";
    return 1;
  }
  for (int64_t c = 0; c < options.classes; ++c)
    if (!makeDir(options.dir + "/" + names[c], error)) {
      std::cerr << "var-synth: error: " << error << "\n";
      return 1;
    }

  // Groups 1..testGroups of each class are test videos.
  const int64_t testGroups =
      std::max<int64_t>(1, (options.videosPerClass * 7 + 12) / 25);
  auto relativePath = [&](int64_t c, int64_t v) {
    char name[256];
    std::snprintf(name, sizeof name, "%s/v_%s_g%02lld_c01.%s", names[c].c_str(),
                  names[c].c_str(), static_cast<long long>(v + 1),
                  options.format.c_str());
    return std::string(name);
  };

  const int64_t total = options.classes * options.videosPerClass;
  std::atomic<int64_t> next{0};
  std::mutex errorMutex;
  std::string firstError;
  auto work = [&] {
    var::synth::SceneOptions scene;
    scene.width = static_cast<int>(options.width);
    scene.height = static_cast<int>(options.height);
    scene.frames = static_cast<int>(options.frames);
    scene.trail = static_cast<int>(options.trail);
    var::data::VideoWriterOptions writerOptions;
    writerOptions.width = scene.width;
    writerOptions.height = scene.height;
    writerOptions.fps = static_cast<int>(options.fps);
    writerOptions.format = options.format;
    for (int64_t job; (job = next++) < total;) {
      const int64_t c = job / options.videosPerClass;
      const int64_t v = job % options.videosPerClass;
      std::vector<uint8_t> rgb = var::synth::renderActionVideo(
          scene, c, v, static_cast<uint64_t>(options.seed));
      std::string path = options.dir + "/" + relativePath(c, v);
      std::string failure;
      auto writer =
          var::data::VideoWriter::create(path, writerOptions, failure);
      const size_t frameBytes =
          static_cast<size_t>(scene.width) * scene.height * 3;
      for (int t = 0; writer && failure.empty() && t < scene.frames; ++t)
        failure = writer->writeFrame(rgb.data() + t * frameBytes);
      if (writer && failure.empty())
        failure = writer->finish();
      if (!failure.empty()) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (firstError.empty())
          firstError = failure;
        next = total;
      }
    }
  };
  const int64_t jobs =
      options.jobs > 0
          ? options.jobs
          : std::max<int64_t>(1, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (int64_t j = 0; j < std::min(jobs, total); ++j)
    threads.emplace_back(work);
  for (std::thread &thread : threads)
    thread.join();
  if (!firstError.empty()) {
    std::cerr << "var-synth: error: " << firstError << "\n";
    return 1;
  }

  std::ofstream classInd(splits + "/classInd.txt");
  std::ofstream train(splits + "/trainlist01.txt");
  std::ofstream test(splits + "/testlist01.txt");
  int64_t trainCount = 0, testCount = 0;
  for (int64_t c = 0; c < options.classes; ++c) {
    classInd << c + 1 << " " << names[c] << "\n";
    for (int64_t v = 0; v < options.videosPerClass; ++v) {
      if (v < testGroups) {
        test << relativePath(c, v) << "\n";
        ++testCount;
      } else {
        train << relativePath(c, v) << " " << c + 1 << "\n";
        ++trainCount;
      }
    }
  }
  classInd.close();
  train.close();
  test.close();
  if (!classInd || !train || !test) {
    std::cerr << "var-synth: error: " << splits
              << ": cannot write the split files\n";
    return 1;
  }
  std::cout << "var-synth: wrote " << total << " videos (" << options.classes
            << " classes x " << options.videosPerClass << ", " << options.width
            << "x" << options.height << ", " << options.frames << " frames at "
            << options.fps << " fps, " << options.format << ") to "
            << options.dir << ": " << trainCount << " training, " << testCount
            << " test\n";
  return 0;
}
