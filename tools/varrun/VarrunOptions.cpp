// varrun's command line: the flags, their help text and the parser.
#include "tools/varrun/VarrunOptions.h"

#include "runtime/train/Profiler.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace var::tools {

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
    "  --cuda-graphs=auto|local|off\n"
    "                         auto: record each step (each plan function) as "
    "a\n"
    "                         CUDA graph on its 2nd run and replay it from "
    "its\n"
    "                         3rd, where the plan allows, NCCL collectives\n"
    "                         between ranks included as graph nodes (default;\n"
    "                         the log says which functions are recorded, and\n"
    "                         why others run eagerly: offload, "
    "VAR_SYNC_EACH_OP=1;\n"
    "                         profiled steps run eagerly, traced ones replay\n"
    "                         a second recording with time marks); local:\n"
    "                         as auto, but steps with collectives between\n"
    "                         ranks run eagerly; off: every step launches its\n"
    "                         kernels one by one. Results are the same either\n"
    "                         way\n"
    "  --data=SOURCE          training data; builtin:synthetic (default):\n"
    "                         generated clips of a shape moving in one of\n"
    "                         up to 8 directions, so only motion tells the\n"
    "                         class; builtin:synthetic-trails: the same with\n"
    "                         fading trails, so that each frame shows the\n"
    "                         motion (for per-frame models like basic_cnn);\n"
    "                         builtin:random: normal(0, 1) clips and uniform\n"
    "                         labels over the model's classes, seeded; every\n"
    "                         step trains on the first batch, drawn once, so\n"
    "                         that benchmarks time the step, not the data;\n"
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
    "                         and MFU, then the 15 slowest instructions with\n"
    "                         their shapes and source lines (rank 0; on a\n"
    "                         GPU timed as the replayed step runs)\n"
    "  --peak-tflops=X        the peak MFU is measured against, per rank\n"
    "                         (default on the CPU backend 0.1: one core's\n"
    "                         FP32 peak with AVX2 FMA at 3 GHz, 2 x 8 x 2 x\n"
    "                         3e9 FLOP/s, as it runs one thread per rank; on\n"
    "                         CUDA an H100 SXM's dense peak for the plan's\n"
    "                         compute type: 989 for BF16, 67 for FP32)\n"
    "  --trace=FILE           write the instruction timeline of the\n"
    "                         --trace-steps as Chrome trace-event JSON\n"
    "                         (chrome://tracing, Perfetto; one lane per\n"
    "                         stream: compute, comm, copy, host), timed on\n"
    "                         each stream without synchronizing, and print\n"
    "                         each stream's busy time and how much of the\n"
    "                         communication ran under compute; rank r > 0\n"
    "                         writes FILE.rankR\n"
    "  --trace-steps=A:B      the optimizer steps --trace records (default\n"
    "                         2:3; not overlapping --profile-steps)\n"
    "  --train-size=N         builtin data's training clips (default 4096)\n"
    "  --eval-size=N          builtin data's evaluation clips (default 512)\n"
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

void printUsage(std::ostream &out) {
  out << kUsage << var::data::kDataFlagsUsage << kUsageTail;
}

} // namespace

int usageError(const std::string &message) {
  std::cerr << "varrun: error: " << message << "\n\n";
  printUsage(std::cerr);
  return 2;
}

namespace {

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
} // namespace

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
    } else if (name == "cuda-graphs") {
      if (value != "auto" && value != "local" && value != "off")
        return usageError("--cuda-graphs must be auto, local or off, got '" +
                          value + "'");
      options.cudaGraphs = value != "off";
      options.cudaGraphsWithNccl = value == "auto";
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
    } else if (name == "trace-steps") {
      if (!var::train::parseStepRange(value, options.traceFirst,
                                      options.traceLast))
        return usageError("--trace-steps must be A:B with 1 <= A <= B, got '" +
                          value + "'");
    } else if (name == "trace") {
      options.trace = value;
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
  if (options.traceFirst > 0 && options.trace.empty())
    return usageError("--trace-steps needs --trace=FILE");
  if (!options.trace.empty() && options.traceFirst == 0) {
    options.traceFirst = 2; // step 1 also measures convolution algorithms
    options.traceLast = 3;
  }
  if (options.traceFirst > 0 && options.profileFirst > 0 &&
      options.traceFirst <= options.profileLast &&
      options.profileFirst <= options.traceLast)
    return usageError("--trace-steps and --profile-steps overlap: profiling "
                      "synchronizes after every instruction, tracing must "
                      "not");
  if (!options.dumpStep.empty() && (options.stepsGiven || options.epochsGiven))
    return usageError("--dump-step runs exactly one step; leave out --steps "
                      "and --epochs");
  return std::nullopt;
}

} // namespace var::tools
