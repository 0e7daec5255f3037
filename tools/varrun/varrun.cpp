// varrun: executes a training plan, one process per rank. Ranks come from
// Slurm, torchrun-style variables, OpenMPI, or varrun's own launcher
// (--nproc-per-node); the CPU or CUDA backend (--device) runs the model's
// ops; Gloo carries the collectives between processes.
#include "runtime/comm/GlooCommunicator.h"
#include "runtime/comm/Launcher.h"
#include "runtime/comm/Rendezvous.h"
#include "runtime/data/DataFlags.h"
#include "runtime/data/Synthetic.h"
#include "runtime/exec/Executor.h"
#include "runtime/exec/SingleRank.h"
#include "runtime/train/Checkpoint.h"

#include "runtime/train/LrSchedule.h"
#include "runtime/train/Profiler.h"
#include "runtime/train/Safetensors.h"
#include "runtime/train/TrainLog.h"
#include "tools/varrun/DeviceChoice.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

const char *kUsage =
    "usage: varrun PLAN.fb [options]\n"
    "       varrun export CHECKPOINT -o FILE\n"
    "\n"
    "Trains with a plan compiled by `varc -o PLAN.fb`, one process per rank.\n"
    "Ranks come from Slurm (srun), torchrun-style variables (RANK,\n"
    "WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), OpenMPI (mpirun),\n"
    "or --nproc-per-node, which starts and supervises the local ranks.\n"
    "\n"
    "  --nproc-per-node=N     start N local ranks and supervise them\n"
    "  --device=cpu|cuda|auto the backend of the model's ops (default auto:\n"
    "                         cuda when this process sees a GPU, else cpu);\n"
    "                         local rank i takes GPU i modulo the GPUs seen\n"
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
    "  --lr=X                 learning rate (default: the plan's --lr); the\n"
    "                         base of the schedule\n"
    "  --lr-schedule=NAME     constant, warmup (WarmupLR), warmup-decay\n"
    "                         (WarmupDecayLR), warmup-cosine (WarmupCosineLR)\n"
    "                         or step (default: the DeepSpeed config's\n"
    "                         scheduler the plan carries, else constant);\n"
    "                         DeepSpeed's formulas and step timing\n"
    "  --warmup-steps=N       warmup_num_steps (default 1000)\n"
    "  --warmup-min-lr=X      warmup_min_lr (default 0)\n"
    "  --warmup-max-lr=X      warmup_max_lr (default: the base LR)\n"
    "  --warmup-type=log|linear  warmup_type (default log)\n"
    "  --total-steps=N        total_num_steps of the decay and cosine\n"
    "                         schedules (default: the run's steps)\n"
    "  --warmup-min-ratio=X   WarmupCosineLR's warmup_min_ratio (default 0)\n"
    "  --cos-min-ratio=X      WarmupCosineLR's cos_min_ratio (default 1e-4)\n"
    "  --lr-step-size=N       step: multiply the LR by --lr-gamma every N\n"
    "                         optimizer steps\n"
    "  --lr-gamma=X           step's factor (default 0.1)\n"
    "  --seed=S               initialization, data order, dropout (default 0)\n"
    "  --log-every=N          print loss, accuracy, LR and (when the plan\n"
    "                         clips) the global gradient norm every N steps\n"
    "                         (default 10); on a terminal as one progress\n"
    "                         line with the ETA\n"
    "  --eval-every-steps=N   also evaluate every N steps\n"
    "  --eval-every-epochs=N  also evaluate every N epochs (evaluation:\n"
    "                         loss, top-1, top-5, mean class accuracy on the\n"
    "                         evaluation set; always once at the end)\n"
    "  --tensorboard=DIR      write TensorBoard scalars (train/, eval/,\n"
    "                         memory/) to an event file in DIR\n"
    "  --metrics=FILE         write each log line as a JSON object (JSON\n"
    "                         Lines: kind train or eval)\n"
    "  --profile-steps=A:B    time every instruction of optimizer steps A to\n"
    "                         B and print per-op-kind time, FLOPs, TFLOP/s\n"
    "                         and MFU (rank 0)\n"
    "  --peak-tflops=X        the peak MFU is measured against, per rank\n"
    "                         (default 0.1: one core's FP32 peak with AVX2\n"
    "                         FMA at 3 GHz, 2 x 8 x 2 x 3e9 FLOP/s, as the\n"
    "                         CPU backend runs one thread per rank)\n"
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
    "  --checkpoint-dir=DIR   write checkpoints to DIR/step-N (N: steps done)\n"
    "                         at the end of every epoch and of training;\n"
    "                         each rank writes its shard, rank 0 the\n"
    "                         metadata last, so a crash leaves the previous\n"
    "                         checkpoint loadable\n"
    "  --checkpoint-every=N   also every N steps\n"
    "  --keep-checkpoints=K   keep the newest K checkpoints (default: all)\n"
    "  --resume               continue from the newest complete checkpoint in\n"
    "                         --checkpoint-dir (or start, when there is\n"
    "                         none) as an uninterrupted run would; it may\n"
    "                         have another world size and ZeRO stage, not\n"
    "                         another seed, data or global batch; --steps\n"
    "                         and --epochs still count from the start\n"
    "  --comm-timeout=SEC     a collective that waits longer fails the job\n"
    "                         (default 300)\n";
// After the data pipeline's flags (kDataFlagsUsage).
const char *kUsageTail =
    "  --help                 this text\n"
    "\n"
    "`varrun export CHECKPOINT -o FILE` writes a checkpoint's consolidated\n"
    "FP32 weights and rank 0's buffers under their PyTorch names\n"
    "(safetensors); CHECKPOINT is a DIR/step-N directory, or DIR for its\n"
    "newest complete one.\n"
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
  std::string checkpointDir;
  int64_t checkpointEvery = 0, keepCheckpoints = 0;
  bool resume = false;

  /// The schedule: flags override the plan's DeepSpeed scheduler.
  std::optional<var::train::LrScheduleKind> lrSchedule;
  var::train::LrScheduleConfig lrFlags;
  int64_t evalEverySteps = 0, evalEveryEpochs = 0;
  std::string tensorboard, metrics;
  int64_t profileFirst = 0, profileLast = 0;
  double peakTflops = 0.1;
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
    if (arg == "--resume") {
      options.resume = true;
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
    } else if (name == "lr-schedule") {
      options.lrSchedule = var::train::parseLrScheduleKind(value);
      if (!options.lrSchedule)
        return usageError("--lr-schedule must be constant, warmup, "
                          "warmup-decay, warmup-cosine or step, got '" +
                          value + "'");
    } else if (name == "warmup-type") {
      options.lrFlags.warmupType = var::train::parseWarmupType(value);
      if (!options.lrFlags.warmupType)
        return usageError("--warmup-type must be log or linear, got '" + value +
                          "'");
    } else if (name == "warmup-steps" || name == "total-steps" ||
               name == "lr-step-size" || name == "eval-every-steps" ||
               name == "eval-every-epochs") {
      if (!integer(name == "warmup-steps" ? 0 : 1))
        return usageError(
            "--" + name + " must be a " +
            (name == "warmup-steps" ? "non-negative" : "positive") +
            " integer, got '" + value + "'");
      if (name == "warmup-steps")
        options.lrFlags.warmupNumSteps = number;
      else if (name == "total-steps")
        options.lrFlags.totalNumSteps = number;
      else if (name == "lr-step-size")
        options.lrFlags.stepSize = number;
      else
        (name == "eval-every-steps" ? options.evalEverySteps
                                    : options.evalEveryEpochs) = number;
    } else if (name == "warmup-min-lr" || name == "warmup-max-lr" ||
               name == "warmup-min-ratio" || name == "cos-min-ratio" ||
               name == "lr-gamma" || name == "peak-tflops") {
      char *end = nullptr;
      double real = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !std::isfinite(real) || real < 0 ||
          (name == "peak-tflops" && real == 0))
        return usageError(
            "--" + name + " must be a " +
            (name == "peak-tflops" ? "positive" : "non-negative") +
            " number, got '" + value + "'");
      if (name == "peak-tflops")
        options.peakTflops = real;
      else
        (name == "warmup-min-lr"      ? options.lrFlags.warmupMinLr
         : name == "warmup-max-lr"    ? options.lrFlags.warmupMaxLr
         : name == "warmup-min-ratio" ? options.lrFlags.warmupMinRatio
         : name == "cos-min-ratio"    ? options.lrFlags.cosMinRatio
                                      : options.lrFlags.gamma) = real;
    } else if (name == "tensorboard") {
      options.tensorboard = value;
    } else if (name == "metrics") {
      options.metrics = value;
    } else if (name == "profile-steps") {
      if (!var::train::parseStepRange(value, options.profileFirst,
                                      options.profileLast))
        return usageError(
            "--profile-steps must be A:B with 1 <= A <= B, got '" + value +
            "'");
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
    } else if (name == "checkpoint-every" || name == "keep-checkpoints") {
      if (!integer(1))
        return usageError("--" + name + " must be a positive integer, got '" +
                          value + "'");
      (name == "checkpoint-every" ? options.checkpointEvery
                                  : options.keepCheckpoints) = number;
    } else if (name == "checkpoint-dir") {
      options.checkpointDir = value;
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
  if (options.checkpointDir.empty() &&
      (options.resume || options.checkpointEvery || options.keepCheckpoints))
    return usageError(std::string(options.resume ? "--resume"
                                  : options.checkpointEvery
                                      ? "--checkpoint-every"
                                      : "--keep-checkpoints") +
                      " needs --checkpoint-dir");
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
  std::string backendName;
  std::unique_ptr<var::exec::Backend> backend = var::tools::chooseBackend(
      options.device, info.localRank, backendName, error);
  if (!backend) {
    std::cerr << who << "error: " << error << "\n";
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
  auto executor = var::exec::Executor::create(*plan, *comm, options.seed,
                                              std::move(backend));
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
  // Batches are staged in the memory the backend copies from fastest
  // (page-locked on a GPU).
  var::exec::Backend &device = executor->getBackend();
  var::data::StagingAllocator staging{
      [&device](size_t bytes) {
        void *memory = device.allocateHost(bytes);
        if (!memory)
          throw std::bad_alloc();
        return memory;
      },
      [&device](void *memory) { device.releaseHost(memory); }};
  std::unique_ptr<var::data::DataSource> data = var::data::DataSource::create(
      dataOptions,
      {micro, shapes.input[1], shapes.input[2], shapes.input[3],
       shapes.input[4]},
      shapes.classes, {info.rank, info.worldSize, shapes.gradAccum}, staging,
      error);
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
  var::train::LrSchedule schedule;
  error = var::train::resolveLrSchedule(
      plan->config.lrSchedule, options.lrSchedule, options.lrFlags,
      options.lr.value_or(plan->config.initialLR), steps, schedule);
  if (!error.empty()) {
    std::cerr << who << "error: LR schedule: " << error << "\n";
    return 2;
  }
  std::unique_ptr<var::train::TrainLog> log;
  if (info.rank == 0) {
    error = var::train::TrainLog::open(options.tensorboard, options.metrics,
                                       std::cout, ::isatty(STDOUT_FILENO),
                                       steps, log);
    if (!error.empty()) {
      std::cerr << who << "error: " << error << "\n";
      return 2;
    }
  }
  say("varrun: " + std::to_string(info.worldSize) + " rank(s) (" + info.source +
      "), " + backendName + " backend, ZeRO stage " +
      std::to_string(plan->config.zeroStage) + ", global batch " +
      std::to_string(globalBatch) + " (" + std::to_string(micro) + " x " +
      std::to_string(shapes.gradAccum) + " x " +
      std::to_string(info.worldSize) + "), " + std::to_string(steps) +
      " steps, " + data->describe());
  say("varrun: LR schedule " + schedule.describe());

  // What a checkpoint records of this run; --resume loads the newest one.
  var::train::CheckpointMeta run;
  run.seed = options.seed;
  run.data = options.data;
  run.trainSize = data->trainVideos();
  run.globalBatch = globalBatch;
  run.microBatch = micro;
  run.gradAccum = shapes.gradAccum;
  run.zeroStage = plan->config.zeroStage;
  run.lr = options.lr.value_or(plan->config.initialLR);
  run.optimizerKeys = executor->getOptimizerStateKeys();
  run.tensors = var::train::describeTensors(*plan);
  int64_t firstStep = 0;
  if (options.resume) {
    std::vector<std::string> notes;
    error = var::train::resumeTraining(options.checkpointDir, run, *executor,
                                       *comm, notes, firstStep);
    for (const std::string &note : notes)
      say("varrun: --resume: " + note);
    if (!error.empty()) {
      std::cerr << who << "error: --resume: " << error << "\n";
      return 2;
    }
  }
  var::train::CheckpointWriteOptions saving;
  saving.keep = options.keepCheckpoints;
  // Slows checkpoint writing down for test/varrun/checkpoint-kill.test.
  if (const char *delay = std::getenv("VARRUN_CHECKPOINT_TEST_DELAY_MS"))
    saving.testDelayMs = std::atoll(delay);

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

  // Evaluation: every rank runs the same number of forward passes (stage 3
  // gathers inside them) on its part of the evaluation set; a video's
  // views (clips x crops) count once, by their averaged logits.
  int64_t rounds = options.dumpStep.empty() ? data->evalRounds() : 0;
  double chance = 1.0 / data->taskClasses();
  auto evaluate = [&](int64_t step) -> std::string {
    var::train::ClassificationMetrics eval(shapes.classes);
    for (int64_t round = 0; round < rounds; ++round) {
      var::data::DataSource::Batch batch;
      std::string failed = data->evalBatch(round, batch);
      std::vector<var::exec::HostTensor> results;
      if (failed.empty())
        failed = executor->run(
            "forward",
            {var::exec::HostTensor::f32(
                shapes.input,
                std::vector<float>(batch.clips, batch.clips + clips.size()))},
            results, 0);
      if (!failed.empty())
        return "evaluation: " + failed;
      data->addEvalLogits(round, results[0].floats().data(), shapes.classes);
    }
    std::vector<float> videoLogits;
    std::vector<int64_t> videoLabels;
    data->evalResults(videoLogits, videoLabels);
    if (!videoLabels.empty())
      eval.addBatch(videoLogits, videoLabels);
    std::vector<float> sums = eval.sums();
    std::string failed = comm->allReduce(
        sums.data(), static_cast<int64_t>(sums.size()), /*mean=*/false);
    if (!failed.empty())
      return failed;
    var::train::ClassificationSummary summary =
        var::train::ClassificationMetrics::summarize(sums);
    if (log && summary.count > 0)
      return log->logEval(step, static_cast<double>(step) / stepsPerEpoch,
                          summary, chance);
    return "";
  };

  var::train::ClassificationMetrics tally(shapes.classes);
  var::train::CpuProfiler profiler;
  double profileSeconds = 0;
  auto trainingStart = std::chrono::steady_clock::now();
  auto start = trainingStart;
  int64_t epoch = 0;
  for (int64_t step = firstStep; step < steps; ++step) {
    bool profiled = step + 1 >= options.profileFirst &&
                    step + 1 <= options.profileLast && info.rank == 0;
    executor->setInstructionTimer(profiled ? &profiler : nullptr);
    auto stepStart = std::chrono::steady_clock::now();
    double lr = schedule.lrAtStep(step + 1);
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
      tally.addBatch(results[1].floats(), labels, results[0].floats()[0]);
      if (last && !options.dumpStep.empty())
        lastResults = std::move(results);
    }
    if (profiled)
      profileSeconds += std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - stepStart)
                            .count();
    if ((step + 1) % options.logEvery == 0 || step + 1 == steps) {
      std::vector<float> sums = tally.sums();
      error = comm->allReduce(sums.data(), static_cast<int64_t>(sums.size()),
                              /*mean=*/false);
      if (!error.empty()) {
        std::cerr << who << "error: " << error << "\n";
        return 1;
      }
      auto now = std::chrono::steady_clock::now();
      var::train::TrainRecord record;
      record.step = step + 1;
      record.epoch = static_cast<double>(step + 1) / stepsPerEpoch;
      record.train = var::train::ClassificationMetrics::summarize(sums);
      record.lr = lr;
      record.gradNorm = executor->getLastGradNorm();
      record.deviceBytes = executor->getBackend().getDeviceBytesInUse();
      if (!record.gradNorm) { // the plan does not clip: reduce it here
        double norm = 0;
        error = executor->reduceGradNorm(norm);
        if (!error.empty()) {
          std::cerr << who << "error: " << error << "\n";
          return 1;
        }
        record.gradNorm = norm;
      }
      record.clipsPerSecond =
          sums[3] / std::chrono::duration<double>(now - start).count();
      record.framesPerClip = shapes.input[1];
      record.elapsedSeconds =
          std::chrono::duration<double>(now - trainingStart).count();
      if (log)
        error = log->logTrain(record);
      if (!error.empty()) {
        std::cerr << who << "error: " << error << "\n";
        return 1;
      }
      tally.reset();
      start = std::chrono::steady_clock::now();
    }
    if (!options.checkpointDir.empty() &&
        ((options.checkpointEvery &&
          (step + 1) % options.checkpointEvery == 0) ||
         (step + 1) % stepsPerEpoch == 0 || step + 1 == steps)) {
      run.step = step + 1;
      run.epoch = run.step / stepsPerEpoch;
      run.epochStep = run.step % stepsPerEpoch;
      std::string path;
      error = var::train::writeCheckpoint(options.checkpointDir, run,
                                          executor->getTrainingState(), saving,
                                          *comm, path);
      if (!error.empty()) {
        std::cerr << who << "error: checkpoint at step " << step + 1 << ": "
                  << error << "\n";
        return 1;
      }
      say("varrun: saved " + path);
    }

    bool periodic =
        (options.evalEverySteps && (step + 1) % options.evalEverySteps == 0) ||
        (options.evalEveryEpochs &&
         (step + 1) % (options.evalEveryEpochs * stepsPerEpoch) == 0);
    if (periodic && step + 1 < steps) {
      error = evaluate(step + 1);
      if (!error.empty()) {
        std::cerr << who << "error: " << error << "\n";
        return 1;
      }
    }
  }
  executor->setInstructionTimer(nullptr);
  if (log)
    log->finish();
  if (steps > firstStep) {
    std::string report = data->badVideoReport();
    if (!report.empty())
      std::cerr << who << "epoch " << epoch + 1 << ": " << report << "\n";
    // How long the step waited for decoding (builtin data is generated on
    // the training thread's behalf and its logs stay comparable).
    if (options.data.rfind("builtin:", 0) != 0) {
      char line[160];
      std::snprintf(line, sizeof line,
                    "varrun: the steps waited %.1f ms each for data (rank 0)",
                    1000.0 * data->dataWaitSeconds() / (steps - firstStep));
      say(line);
    }
  }
  if (options.profileFirst > 0 && info.rank == 0) {
    int64_t last = std::min(options.profileLast, steps);
    if (last < options.profileFirst)
      say("varrun: --profile-steps " + std::to_string(options.profileFirst) +
          ":" + std::to_string(options.profileLast) + ": the run has only " +
          std::to_string(steps) + " steps; nothing profiled");
    else
      say("varrun: profile of steps " + std::to_string(options.profileFirst) +
          "-" + std::to_string(last) + " (rank 0)\n" +
          profiler.report(options.peakTflops, last - options.profileFirst + 1,
                          profileSeconds));
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

  error = evaluate(steps);
  if (!error.empty()) {
    std::cerr << who << "error: " << error << "\n";
    return 1;
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

/// `varrun export CHECKPOINT -o FILE`.
static int exportCheckpoint(int argc, char **argv) {
  std::string checkpoint, output;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o" && i + 1 < argc)
      output = argv[++i];
    else if (arg.rfind("-", 0) != 0 && checkpoint.empty())
      checkpoint = arg;
    else
      return usageError("varrun export: unexpected argument '" + arg + "'");
  }
  if (checkpoint.empty() || output.empty())
    return usageError("varrun export needs CHECKPOINT and -o FILE");
  std::string exported;
  std::vector<std::string> skipped;
  std::string error =
      var::train::exportCheckpoint(checkpoint, output, exported, skipped);
  for (const std::string &reason : skipped)
    std::cout << "varrun: export: skipped " << reason << "\n";
  if (!error.empty()) {
    std::cerr << "varrun: error: export: " << error << "\n";
    return 1;
  }
  std::cout << "varrun: exported " << exported << " to " << output << "\n";
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "export")
    return exportCheckpoint(argc, argv);
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
