// varrun: executes a training plan, one process per rank. Ranks come from
// Slurm, torchrun-style variables, OpenMPI, or varrun's own launcher
// (--nproc-per-node); the CPU backend runs every op; Gloo carries the
// collectives between processes.
#include "runtime/comm/GlooCommunicator.h"
#include "runtime/comm/Launcher.h"
#include "runtime/comm/Rendezvous.h"
#include "runtime/data/DataFlags.h"
#include "runtime/data/Synthetic.h"
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "runtime/train/Safetensors.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

const char *kUsage =
    "usage: varrun PLAN.fb [options]\n"
    "\n"
    "Trains with a plan compiled by `varc -o PLAN.fb`, one process per rank.\n"
    "Ranks come from Slurm (srun), torchrun-style variables (RANK,\n"
    "WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), OpenMPI (mpirun),\n"
    "or --nproc-per-node, which starts and supervises the local ranks.\n"
    "\n"
    "  --nproc-per-node=N     start N local ranks and supervise them\n"
    "  --device=cpu|cuda|auto the backend (default auto: cpu until the CUDA\n"
    "                         backend lands)\n"
    "  --data=SOURCE          training data; builtin:synthetic (default):\n"
    "                         generated clips of a shape moving in one of\n"
    "                         up to 8 directions, so only motion tells the\n"
    "                         class; builtin:synthetic-trails: the same with\n"
    "                         fading trails, so that each frame shows the\n"
    "                         motion (for per-frame models like basic_cnn);\n"
    "                         or a video dataset folder: UCF101/HMDB51 split\n"
    "                         files (classInd.txt, trainlist01.txt,\n"
    "                         testlist01.txt), a Kinetics-style train.csv,\n"
    "                         train/ and val/ class folders, or class\n"
    "                         folders DIR/<class>/<video> (every fifth video\n"
    "                         held out); videos are files FFmpeg decodes or\n"
    "                         folders of JPEG frames\n"
    "  --steps=N              optimizer steps from the start of training\n"
    "                         (0: none; default one epoch)\n"
    "  --epochs=E             or E passes over the training set\n"
    "  --lr=X                 learning rate (default: the plan's --lr)\n"
    "  --seed=S               initialization, data order, dropout (default 0)\n"
    "  --log-every=N          print loss and accuracy every N steps\n"
    "                         (default 10)\n"
    "  --train-size=N         synthetic training clips (default 4096)\n"
    "  --eval-size=N          synthetic evaluation clips (default 512)\n"
    "  --task-classes=N       synthetic directions, 2 to 8 (default: the\n"
    "                         model's classes, at most 8)\n"
    "  --export-weights=FILE  write the final FP32 weights, gathered from\n"
    "                         every shard, with their PyTorch names\n"
    "                         (safetensors)\n"
    "  --init-weights=FILE    start from these weights (safetensors, PyTorch\n"
    "                         names, F32/BF16/F16) instead of the seed's\n"
    "                         initialization; every tensor must match\n"
    "  --reset-classifier=PREFIX[,PREFIX]\n"
    "                         with --init-weights: parameters under these\n"
    "                         name prefixes (e.g. fc.) that the file lacks or\n"
    "                         has in another shape keep their initialization\n"
    "  --input-file=FILE      train on this one batch (safetensors: `input`\n"
    "                         (B, T, C, H, W) F32, `labels` (B) I64; one "
    "rank)\n"
    "  --dump-forward=FILE    before training, write the evaluation-mode\n"
    "                         `logits` of `forward` (BatchNorm running stats,\n"
    "                         no dropout) on the first batch (safetensors)\n"
    "  --dump-step=FILE       run one training step and write, as F32\n"
    "                         safetensors, `grad.NAME` for every trainable\n"
    "                         parameter (averaged over ranks and micro-steps,\n"
    "                         before clipping, gathered from every shard) and\n"
    "                         rank 0's `loss`, `logits`, `input` and `labels`\n"
    "  --comm-timeout=SEC     a collective that waits longer fails the job\n"
    "                         (default 300)\n";
// After the data pipeline's flags (kDataFlagsUsage).
const char *kUsageTail =
    "  --help                 this text\n"
    "\n"
    "Exit codes: 0 done, 1 training failed (a rank died, a kernel failed),\n"
    "2 bad command line or plan.\n";

struct Options {
  std::string plan;
  int nprocPerNode = 0;
  std::string device = "auto";
  std::string data = var::data::kSyntheticSourceName;
  int64_t steps = 0, epochs = 0;
  bool stepsGiven = false, epochsGiven = false; // --steps=0: no training
  std::optional<double> lr;
  uint64_t seed = 0;
  int64_t logEvery = 10;
  int64_t trainSize = 4096, evalSize = 512;
  int64_t taskClasses = 0;
  std::string exportWeights;
  std::string initWeights;
  std::vector<std::string> resetClassifier;
  std::string inputFile, dumpForward, dumpStep;
  int64_t commTimeout = 300;
  var::data::DataOptions dataOptions; // the video data flags
};

void printUsage(std::ostream &out) {
  out << kUsage << var::data::kDataFlagsUsage << kUsageTail;
}

int usageError(const std::string &message) {
  std::cerr << "varrun: error: " << message << "\n\n";
  printUsage(std::cerr);
  return 2;
}

bool parseInt(const std::string &text, int64_t low, int64_t &out) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < low)
    return false;
  out = value;
  return true;
}

/// Parses argv; returns an exit code when it should stop (help, error).
std::optional<int> parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      printUsage(std::cout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!options.plan.empty())
        return usageError("one plan at a time, got '" + options.plan +
                          "' and '" + arg + "'");
      options.plan = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq == std::string::npos && arg != "--no-flip")
      return usageError("option '" + arg + "' needs a value (" + arg + "=...)");
    std::string name = arg.substr(2, eq - 2);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    std::string dataError;
    var::data::FlagResult dataFlag =
        var::data::parseDataFlag(name, value, options.dataOptions, dataError);
    if (dataFlag == var::data::FlagResult::Bad)
      return usageError(dataError);
    if (dataFlag == var::data::FlagResult::Parsed)
      continue;
    int64_t number = 0;
    auto integer = [&](int64_t low) {
      if (!parseInt(value, low, number))
        return false;
      return true;
    };
    if (name == "nproc-per-node") {
      if (!integer(1) || number > 1024)
        return usageError("--nproc-per-node must be from 1 to 1024, got '" +
                          value + "'");
      options.nprocPerNode = static_cast<int>(number);
    } else if (name == "device") {
      if (value != "cpu" && value != "cuda" && value != "auto")
        return usageError("--device must be cpu, cuda or auto, got '" + value +
                          "'");
      options.device = value;
    } else if (name == "data") {
      options.data = value;
    } else if (name == "steps" || name == "epochs" || name == "log-every" ||
               name == "train-size" || name == "eval-size" ||
               name == "comm-timeout" || name == "task-classes") {
      if (!integer(name == "steps" || name == "epochs" ? 0 : 1))
        return usageError("--" + name + " must be a " +
                          (name == "steps" || name == "epochs" ? "non-negative"
                                                               : "positive") +
                          " integer, got '" + value + "'");
      options.stepsGiven |= name == "steps";
      options.epochsGiven |= name == "epochs";
      (name == "steps"          ? options.steps
       : name == "epochs"       ? options.epochs
       : name == "log-every"    ? options.logEvery
       : name == "train-size"   ? options.trainSize
       : name == "eval-size"    ? options.evalSize
       : name == "task-classes" ? options.taskClasses
                                : options.commTimeout) = number;
    } else if (name == "seed") {
      if (!integer(0))
        return usageError("--seed must be a non-negative integer, got '" +
                          value + "'");
      options.seed = static_cast<uint64_t>(number);
    } else if (name == "lr") {
      char *end = nullptr;
      double lr = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !std::isfinite(lr) || lr < 0)
        return usageError("--lr must be a non-negative number, got '" + value +
                          "'");
      options.lr = lr;
    } else if (name == "export-weights") {
      options.exportWeights = value;
    } else if (name == "init-weights") {
      options.initWeights = value;
    } else if (name == "reset-classifier") {
      for (size_t begin = 0; begin <= value.size();) {
        size_t comma = std::min(value.find(',', begin), value.size());
        if (comma > begin)
          options.resetClassifier.push_back(value.substr(begin, comma - begin));
        begin = comma + 1;
      }
      if (options.resetClassifier.empty())
        return usageError("--reset-classifier needs a name prefix, e.g. fc.");
    } else if (name == "input-file") {
      options.inputFile = value;
    } else if (name == "dump-forward") {
      options.dumpForward = value;
    } else if (name == "dump-step") {
      options.dumpStep = value;
    } else {
      return usageError("unknown option '--" + name + "'");
    }
  }
  if (options.plan.empty())
    return usageError("no plan given");
  if (options.stepsGiven && options.epochsGiven)
    return usageError("give --steps or --epochs, not both");
  if (!options.resetClassifier.empty() && options.initWeights.empty())
    return usageError("--reset-classifier needs --init-weights");
  if (!options.dumpStep.empty() && (options.stepsGiven || options.epochsGiven))
    return usageError("--dump-step runs exactly one step; leave out --steps "
                      "and --epochs");
  return std::nullopt;
}

uint64_t mixSeed(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// The shapes the plan's training step takes and gives.
struct StepShapes {
  std::vector<int64_t> input; // (B, T, C, H, W)
  int64_t classes = 0;
  int64_t gradAccum = 1;
};

std::string stepShapes(const var::plan::Plan &plan, StepShapes &shapes) {
  const var::plan::PlanFunction *step = plan.findFunction("train_step");
  if (!step)
    return "the plan has no train_step (compile it with varc's training "
           "flags)";
  for (const var::plan::PlanArgument &arg : step->args)
    if (arg.role == var::plan::ArgRole::Input) {
      if (!shapes.input.empty())
        return "train_step takes several inputs; builtin:synthetic feeds "
               "one clip tensor";
      shapes.input = step->values[arg.value].shape;
    }
  if (shapes.input.size() != 5)
    return "builtin:synthetic feeds clips of shape (B, T, C, H, W); the "
           "plan's input has rank " +
           std::to_string(shapes.input.size());
  if (step->results.size() < 2 ||
      step->values[step->results[1]].shape.size() != 2)
    return "train_step must return the loss and (B, classes) logits";
  shapes.classes = step->values[step->results[1]].shape[1];
  shapes.gradAccum = plan.config.gradAccum;
  if (shapes.gradAccum > 1 && !plan.findFunction("accumulate_step"))
    return "the plan accumulates gradients but has no accumulate_step";
  return "";
}

/// Counts of a stretch of training, summed over ranks before printing.
struct Tally {
  double loss = 0, correct = 0, count = 0;
};

void tallyLogits(const var::exec::HostTensor &logits,
                 const std::vector<int64_t> &labels, Tally &tally) {
  std::vector<float> values = logits.floats();
  int64_t classes = logits.shape[1];
  for (size_t i = 0; i < labels.size(); ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (values[i * classes + c] > values[i * classes + best])
        best = c;
    tally.correct += best == labels[i];
    tally.count += 1;
  }
}

/// Reads a weights file into FP32 tensors: F32, BF16 and F16 convert;
/// integer tensors only as BatchNorm counters, which the import skips.
std::string readWeights(const std::string &path,
                        std::vector<var::exec::NamedTensor> &out) {
  std::vector<var::train::SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  std::string error = var::train::readSafetensors(path, tensors, metadata);
  if (!error.empty())
    return error;
  for (var::train::SafetensorsTensor &tensor : tensors) {
    var::exec::NamedTensor named{tensor.name, tensor.shape, {}};
    std::optional<var::plan::DType> dtype;
    if (tensor.dtype == "F32")
      dtype = var::plan::DType::F32;
    else if (tensor.dtype == "BF16")
      dtype = var::plan::DType::BF16;
    else if (tensor.dtype == "F16")
      dtype = var::plan::DType::F16;
    if (dtype) {
      var::cpu::TensorView view{*dtype, tensor.shape, tensor.bytes.data()};
      named.values = var::cpu::readFloats(view);
    } else if (tensor.name.find("num_batches_tracked") == std::string::npos) {
      return path + ": tensor '" + tensor.name + "' is " + tensor.dtype +
             "; weights load from F32, BF16 or F16";
    }
    out.push_back(std::move(named));
  }
  return "";
}

var::train::SafetensorsTensor f32Tensor(const std::string &name,
                                        const std::vector<int64_t> &shape,
                                        const std::vector<float> &values) {
  var::train::SafetensorsTensor tensor{name, "F32", shape, {}};
  tensor.bytes.resize(values.size() * sizeof(float));
  std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

std::string
writeTensors(const std::string &path,
             const std::vector<var::train::SafetensorsTensor> &all) {
  return var::train::writeSafetensors(
      path, all, {{"format", "pt"}, {"producer", "varrun"}});
}

/// The fixed batch of --input-file, checked against the plan's shapes.
std::string readInputFile(const std::string &path, const StepShapes &shapes,
                          std::vector<float> &clips,
                          std::vector<int64_t> &labels) {
  std::vector<var::train::SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  std::string error = var::train::readSafetensors(path, tensors, metadata);
  if (!error.empty())
    return error;
  bool haveInput = false, haveLabels = false;
  for (const var::train::SafetensorsTensor &tensor : tensors) {
    if (tensor.name == "input") {
      if (tensor.dtype != "F32" || tensor.shape != shapes.input)
        return path + ": `input` must be an F32 tensor of the plan's input "
                      "shape (B, T, C, H, W)";
      std::memcpy(clips.data(), tensor.bytes.data(), tensor.bytes.size());
      haveInput = true;
    } else if (tensor.name == "labels") {
      if (tensor.dtype != "I64" ||
          tensor.shape != std::vector<int64_t>{shapes.input[0]})
        return path + ": `labels` must be an I64 tensor of shape (" +
               std::to_string(shapes.input[0]) + ")";
      std::memcpy(labels.data(), tensor.bytes.data(), tensor.bytes.size());
      for (int64_t label : labels)
        if (label < 0 || label >= shapes.classes)
          return path + ": label " + std::to_string(label) +
                 " is not below the model's " + std::to_string(shapes.classes) +
                 " classes";
      haveLabels = true;
    }
  }
  if (!haveInput || !haveLabels)
    return path + ": needs tensors `input` and `labels`";
  return "";
}

int train(const Options &options) {
  // Where this process sits in the job.
  var::comm::RankInfo info;
  std::string error;
  if (!var::comm::detectRankInfo(var::comm::readEnvironment(), info, error)) {
    std::cerr << "varrun: error: " << error << "\n";
    return 2;
  }
  auto say = [&](const std::string &line) {
    if (info.rank == 0)
      std::cout << line << std::endl;
  };
  std::string who = "varrun[rank " + std::to_string(info.rank) + "]: ";
  if (options.device == "cuda") {
    std::cerr << who
              << "error: --device=cuda: this build's CUDA backend runs no "
                 "training plans yet; use --device=cpu\n";
    return 2;
  }

  var::plan::Expected<var::plan::Plan> loaded =
      var::plan::loadPlan(options.plan);
  if (!loaded) {
    std::cerr << who << "error: " << options.plan << ": " << loaded.error()
              << "\n";
    return 2;
  }
  var::plan::Expected<var::plan::Plan> plan = loaded->resolve(info.worldSize);
  if (!plan) {
    std::cerr << who << "error: " << options.plan << ": " << plan.error()
              << "\n";
    return 2;
  }
  StepShapes shapes;
  error = stepShapes(*plan, shapes);
  if (!error.empty()) {
    std::cerr << who << "error: " << options.plan << ": " << error << "\n";
    return 2;
  }

  std::unique_ptr<var::comm::Communicator> comm;
  if (info.worldSize == 1) {
    comm = std::make_unique<var::exec::SingleRankCommunicator>();
  } else {
    comm = var::comm::createGlooCommunicator(
        info, std::chrono::seconds(options.commTimeout), error);
    if (!comm) {
      std::cerr << who << "error: " << error << "\n";
      return 1;
    }
  }
  auto executor = var::exec::Executor::create(*plan, *comm, options.seed);
  if (!executor) {
    std::cerr << who << "error: " << executor.error() << "\n";
    return 2;
  }
  if (!options.initWeights.empty()) {
    std::vector<var::exec::NamedTensor> weights;
    std::vector<std::string> notes;
    var::exec::ImportOptions import;
    import.resetPrefixes = options.resetClassifier;
    error = readWeights(options.initWeights, weights);
    if (error.empty())
      error = executor->importWeights(weights, import, notes);
    if (!error.empty()) {
      std::cerr << who << "error: --init-weights " << options.initWeights
                << ": " << error << "\n";
      return 2;
    }
    for (const std::string &note : notes)
      say("varrun: --init-weights: " + note);
    say("varrun: loaded " + options.initWeights);
  }
  if (!options.inputFile.empty() && info.worldSize != 1) {
    std::cerr << who << "error: --input-file feeds one rank; this job has "
              << info.worldSize << "\n";
    return 2;
  }

  var::data::DataOptions dataOptions = options.dataOptions;
  dataOptions.data = options.data;
  dataOptions.seed = options.seed;
  dataOptions.trainSize = options.trainSize;
  dataOptions.evalSize = options.evalSize;
  dataOptions.taskClasses = options.taskClasses;
  dataOptions.warn = [who](const std::string &line) {
    std::cerr << who << line << std::endl;
  };
  int64_t micro = shapes.input[0];
  std::unique_ptr<var::data::DataSource> data = var::data::DataSource::create(
      dataOptions,
      {micro, shapes.input[1], shapes.input[2], shapes.input[3],
       shapes.input[4]},
      shapes.classes, {info.rank, info.worldSize, shapes.gradAccum},
      var::data::hostStagingAllocator(), error);
  if (!data) {
    std::cerr << who << "error: --data " << options.data << ": " << error
              << "\n";
    return 2;
  }
  int64_t globalBatch = data->globalBatch();
  int64_t stepsPerEpoch = data->stepsPerEpoch();
  int64_t steps = !options.dumpStep.empty() ? 1
                  : options.stepsGiven      ? options.steps
                  : options.epochsGiven     ? options.epochs * stepsPerEpoch
                                            : stepsPerEpoch;
  double lr = options.lr.value_or(plan->config.initialLR);
  say("varrun: " + std::to_string(info.worldSize) + " rank(s) (" + info.source +
      "), CPU backend, ZeRO stage " + std::to_string(plan->config.zeroStage) +
      ", global batch " + std::to_string(globalBatch) + " (" +
      std::to_string(micro) + " x " + std::to_string(shapes.gradAccum) + " x " +
      std::to_string(info.worldSize) + "), " + std::to_string(steps) +
      " steps, " + data->describe());

  int64_t clipElements =
      shapes.input[1] * shapes.input[2] * shapes.input[3] * shapes.input[4];
  std::vector<float> clips(static_cast<size_t>(micro * clipElements));
  std::vector<int64_t> labels(static_cast<size_t>(micro));
  if (!options.inputFile.empty()) {
    error = readInputFile(options.inputFile, shapes, clips, labels);
    if (!error.empty()) {
      std::cerr << who << "error: --input-file " << error << "\n";
      return 2;
    }
  }
  // A training batch: the fixed one, or this rank's part of the data.
  auto nextBatch = [&](int64_t step, int64_t m) {
    if (!options.inputFile.empty())
      return std::string();
    var::data::DataSource::Batch batch;
    std::string failure = data->trainBatch(step, m, batch);
    if (failure.empty()) {
      std::copy(batch.clips, batch.clips + clips.size(), clips.begin());
      std::copy(batch.labels, batch.labels + micro, labels.begin());
    }
    return failure;
  };

  if (!options.dumpForward.empty()) {
    error = nextBatch(0, 0);
    std::vector<var::exec::HostTensor> results;
    if (error.empty())
      error = executor->run("forward",
                            {var::exec::HostTensor::f32(shapes.input, clips)},
                            results, 0);
    if (error.empty() && info.rank == 0)
      error = writeTensors(
          options.dumpForward,
          {f32Tensor("logits", results[0].shape, results[0].floats())});
    if (!error.empty()) {
      std::cerr << who << "error: --dump-forward: " << error << "\n";
      return 1;
    }
    say("varrun: wrote " + options.dumpForward);
  }
  if (!options.dumpStep.empty())
    executor->setCaptureGradients(true);
  std::vector<var::exec::HostTensor> lastResults;

  Tally tally;
  auto start = std::chrono::steady_clock::now();
  int64_t epoch = 0, loggedStep = 0;
  double waitedBefore = 0;
  for (int64_t step = 0; step < steps; ++step) {
    if (step / stepsPerEpoch != epoch) {
      std::string report = data->badVideoReport();
      if (!report.empty())
        std::cerr << who << "epoch " << epoch + 1 << ": " << report << "\n";
      epoch = step / stepsPerEpoch;
    }
    for (int64_t m = 0; m < shapes.gradAccum; ++m) {
      error = nextBatch(step, m);
      if (!error.empty()) {
        std::cerr << who << "error: step " << step + 1 << ": data: " << error
                  << "\n";
        return 1;
      }
      bool last = m + 1 == shapes.gradAccum;
      std::vector<var::exec::HostTensor> args = {
          var::exec::HostTensor::f32(shapes.input, clips),
          var::exec::HostTensor::i64({micro}, labels)};
      if (last) {
        args.push_back(
            var::exec::HostTensor::scalarF32(static_cast<float>(lr)));
        args.push_back(var::exec::HostTensor::scalarI64(step + 1));
      }
      uint64_t seed = mixSeed(mixSeed(options.seed, info.rank),
                              static_cast<uint64_t>(step * 1024 + m));
      std::vector<var::exec::HostTensor> results;
      error = executor->run(last ? "train_step" : "accumulate_step", args,
                            results, seed);
      if (!error.empty()) {
        std::cerr << who << "error: step " << step + 1 << ": " << error << "\n";
        return 1;
      }
      tally.loss += results[0].floats()[0] * micro;
      tallyLogits(results[1], labels, tally);
      if (last && !options.dumpStep.empty())
        lastResults = std::move(results);
    }
    if ((step + 1) % options.logEvery == 0 || step + 1 == steps) {
      float sums[3] = {static_cast<float>(tally.loss),
                       static_cast<float>(tally.correct),
                       static_cast<float>(tally.count)};
      error = comm->allReduce(sums, 3, /*mean=*/false);
      if (!error.empty()) {
        std::cerr << who << "error: " << error << "\n";
        return 1;
      }
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      // Rank 0's wait for data per step since the last line.
      double waited = data->dataWaitSeconds() - waitedBefore;
      waitedBefore = data->dataWaitSeconds();
      char line[240];
      std::snprintf(
          line, sizeof line,
          "step %lld/%lld  loss %.4f  train accuracy %.1f%%  "
          "(data wait %.1f ms/step, %.1f clips/s)",
          static_cast<long long>(step + 1), static_cast<long long>(steps),
          sums[0] / sums[2], 100.0 * sums[1] / sums[2],
          1000.0 * waited / (step + 1 - loggedStep), sums[2] / seconds);
      say(line);
      loggedStep = step + 1;
      tally = Tally();
      start = std::chrono::steady_clock::now();
    }
  }

  if (!options.dumpStep.empty()) {
    std::vector<var::exec::NamedTensor> grads;
    error = executor->gatherCapturedGradients(grads);
    if (error.empty() && info.rank == 0) {
      std::vector<var::train::SafetensorsTensor> tensors;
      for (const var::exec::NamedTensor &grad : grads)
        tensors.push_back(
            f32Tensor("grad." + grad.name, grad.shape, grad.values));
      tensors.push_back(f32Tensor("loss", {}, lastResults[0].floats()));
      tensors.push_back(
          f32Tensor("logits", lastResults[1].shape, lastResults[1].floats()));
      tensors.push_back(f32Tensor("input", shapes.input, clips));
      tensors.push_back(f32Tensor(
          "labels", {micro}, std::vector<float>(labels.begin(), labels.end())));
      error = writeTensors(options.dumpStep, tensors);
    }
    if (!error.empty()) {
      std::cerr << who << "error: --dump-step: " << error << "\n";
      return 1;
    }
    say("varrun: wrote " + options.dumpStep);
  }

  if (steps > 0) {
    std::string report = data->badVideoReport();
    if (!report.empty())
      std::cerr << who << "epoch " << epoch + 1 << ": " << report << "\n";
  }

  // Evaluation: every rank runs the same number of forward passes (stage 3
  // gathers inside them) on its part of the evaluation set; each video's
  // views (clips x crops) are scored on their averaged logits.
  int64_t rounds = options.dumpStep.empty() ? data->evalRounds() : 0;
  for (int64_t round = 0; round < rounds; ++round) {
    var::data::DataSource::Batch batch;
    error = data->evalBatch(round, batch);
    std::vector<var::exec::HostTensor> results;
    if (error.empty())
      error = executor->run(
          "forward",
          {var::exec::HostTensor::f32(
              shapes.input,
              std::vector<float>(batch.clips, batch.clips + clips.size()))},
          results, 0);
    if (!error.empty()) {
      std::cerr << who << "error: evaluation: " << error << "\n";
      return 1;
    }
    data->addEvalLogits(round, results[0].floats().data(), shapes.classes);
  }
  std::vector<float> averaged;
  std::vector<int64_t> videoLabels;
  data->evalResults(averaged, videoLabels);
  float sums[3] = {0, 0, static_cast<float>(videoLabels.size())};
  for (size_t v = 0; v < videoLabels.size(); ++v) {
    // Rank of the true class: how many classes score higher.
    const float *row = averaged.data() + v * shapes.classes;
    const int64_t label = videoLabels[v];
    int64_t higher = 0;
    for (int64_t c = 0; c < shapes.classes; ++c)
      higher += row[c] > row[label] || (row[c] == row[label] && c < label);
    sums[0] += higher == 0;
    sums[1] += higher < 5;
  }
  error = comm->allReduce(sums, 3, /*mean=*/false);
  if (!error.empty()) {
    std::cerr << who << "error: " << error << "\n";
    return 1;
  }
  if (sums[2] > 0) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "eval accuracy %.1f%% on %lld %s (chance %.1f%%), top-5 "
                  "%.1f%%, %lld view(s) each",
                  100.0 * sums[0] / sums[2], static_cast<long long>(sums[2]),
                  options.data.rfind("builtin:", 0) == 0 ? "clips" : "videos",
                  100.0 / data->taskClasses(), 100.0 * sums[1] / sums[2],
                  static_cast<long long>(data->viewsPerVideo()));
    say(line);
  }

  if (!options.exportWeights.empty()) {
    std::vector<var::exec::NamedTensor> weights;
    error = executor->exportWeights(weights);
    if (error.empty() && info.rank == 0) {
      std::vector<var::train::SafetensorsTensor> tensors;
      for (const var::exec::NamedTensor &weight : weights) {
        var::train::SafetensorsTensor tensor{
            weight.name, "F32", weight.shape, {}};
        tensor.bytes.resize(weight.values.size() * sizeof(float));
        std::memcpy(tensor.bytes.data(), weight.values.data(),
                    tensor.bytes.size());
        tensors.push_back(std::move(tensor));
      }
      error = var::train::writeSafetensors(
          options.exportWeights, tensors,
          {{"format", "pt"}, {"producer", "varrun"}});
      if (error.empty())
        say("varrun: wrote " + options.exportWeights);
    }
    if (!error.empty()) {
      std::cerr << who << "error: exporting weights: " << error << "\n";
      return 1;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (std::optional<int> code = parseOptions(argc, argv, options))
    return *code;
  if (options.nprocPerNode > 0 && !std::getenv("VARRUN_RANK")) {
    // The supervisor: start the local ranks (the same command, without
    // --nproc-per-node) and watch them.
    std::vector<std::string> child = {argv[0]};
    for (int i = 1; i < argc; ++i)
      if (std::string(argv[i]).rfind("--nproc-per-node", 0) != 0)
        child.push_back(argv[i]);
    return var::comm::launchLocalRanks(options.nprocPerNode, child, 0,
                                       std::chrono::seconds(5));
  }
  return train(options);
}
