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
#include "runtime/plan/PlanMemoryReport.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/LrSchedule.h"
#include "runtime/train/Profiler.h"
#include "runtime/train/Safetensors.h"
#include "runtime/train/Timeline.h"
#include "runtime/train/TrainLog.h"
#include "tools/varrun/DeviceChoice.h"
#include "tools/varrun/VarrunOptions.h"

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

using var::tools::Options;
using var::tools::usageError;

uint64_t mixSeed(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// The peak MFU is measured against when --peak-tflops is not given: one
/// core's FP32 FMA peak for the CPU backend (one thread a rank), an H100
/// SXM's dense tensor-core BF16 or FP32 (no TF32) peak on CUDA.
double defaultPeakTflops(var::exec::Backend &backend,
                         var::plan::DType compute) {
  if (backend.getName() != "cuda")
    return 0.1;
  return compute == var::plan::DType::BF16 ? 989.0 : 67.0;
}

/// Writes this rank's --trace file (FILE on rank 0, FILE.rankR on others)
/// and, on rank 0, prints the timeline's summary; false after an error.
bool writeTrace(const Options &options, int rank, int64_t steps,
                const var::train::Timeline &timeline, const std::string &who) {
  int64_t last = std::min(options.traceLast, steps);
  if (last < options.traceFirst) {
    if (rank == 0)
      std::cerr << who << "--trace-steps " << options.traceFirst << ":"
                << options.traceLast << ": the run has only " << steps
                << " steps; nothing traced\n";
    return true;
  }
  std::string path = options.trace;
  if (rank > 0)
    path += ".rank" + std::to_string(rank);
  if (std::string error = timeline.write(path); !error.empty()) {
    std::cerr << who << "error: --trace: " << error << "\n";
    return false;
  }
  if (rank == 0)
    std::cout << "varrun: trace of steps " << options.traceFirst << "-" << last
              << " (rank 0) in " << path << ": "
              << timeline.report(last - options.traceFirst + 1) << std::endl;
  return true;
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
  executor->setStepGraphs(options.cudaGraphs, options.cudaGraphsWithNccl);
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
  // builtin:random trains on its first batch at every step, so that a
  // benchmark measures the step alone: no generation, no copy.
  const bool fixedBatch = !options.inputFile.empty() ||
                          options.data == var::data::kRandomSourceName;
  if (options.data == var::data::kRandomSourceName) {
    var::data::DataSource::Batch batch;
    error = data->trainBatch(0, 0, batch);
    if (!error.empty()) {
      std::cerr << who << "error: --data " << options.data << ": " << error
                << "\n";
      return 2;
    }
    std::copy(batch.clips, batch.clips + clips.size(), clips.begin());
    std::copy(batch.labels, batch.labels + micro, labels.begin());
  }
  // A fixed batch stays in the steps' page-locked staging.
  for (const char *step : {"train_step", "accumulate_step"})
    executor->setFixedArguments(step, fixedBatch);
  // A training batch: the fixed one, or this rank's part of the data.
  auto nextBatch = [&](int64_t step, int64_t m) {
    if (fixedBatch)
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
  std::vector<var::exec::HostTensor> args; // the step's arguments
  var::train::Profiler profiler;
  // On a GPU the profile comes from the timeline: replayed steps are timed
  // as they run (see Profiler).
  bool profileTimeline = executor->getBackend().getName() == "cuda";
  var::train::Timeline timeline(info.rank);
  double profileSeconds = 0;
  auto trainingStart = std::chrono::steady_clock::now();
  auto start = trainingStart;
  int64_t epoch = 0;
  for (int64_t step = firstStep; step < steps; ++step) {
    bool profiled = step + 1 >= options.profileFirst &&
                    step + 1 <= options.profileLast && info.rank == 0;
    bool traced =
        step + 1 >= options.traceFirst && step + 1 <= options.traceLast;
    executor->setInstructionTimer(profiled && !profileTimeline ? &profiler
                                                               : nullptr);
    var::exec::TimelineSink *sink = nullptr;
    if (traced)
      sink = &timeline;
    else if (profiled && profileTimeline)
      sink = &profiler;
    executor->setTimeline(sink);
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
      // The batch's tensors are built once (a clip batch is tens of MB);
      // a new batch is copied into them.
      if (args.empty()) {
        args = {var::exec::HostTensor::f32(shapes.input, clips),
                var::exec::HostTensor::i64({micro}, labels)};
      } else if (!fixedBatch) {
        std::memcpy(args[0].bytes.data(), clips.data(), args[0].bytes.size());
        std::memcpy(args[1].bytes.data(), labels.data(), args[1].bytes.size());
      }
      args.resize(2);
      if (last) {
        args.push_back(
            var::exec::HostTensor::scalarF32(static_cast<float>(lr)));
        args.push_back(var::exec::HostTensor::scalarI64(step + 1));
      }
      // One seed a step; dropout masks follow each sample's place in the
      // global batch (rank-major, then micro-step: the data's layout), so
      // they do not depend on the world size or the accumulation split.
      uint64_t seed = mixSeed(options.seed, static_cast<uint64_t>(step));
      int64_t firstSample = (info.rank * shapes.gradAccum + m) * micro;
      std::vector<var::exec::HostTensor> results;
      error = executor->run(last ? "train_step" : "accumulate_step", args,
                            results, seed, firstSample);
      if (!error.empty()) {
        std::cerr << who << "error: step " << step + 1 << ": " << error << "\n";
        return 1;
      }
      for (const std::string &note : executor->takeStepGraphNotes())
        say("varrun: step " + std::to_string(step + 1) +
            ": CUDA graphs: " + note);
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
  executor->setTimeline(nullptr);
  if (log)
    log->finish();
  if (int64_t replays = executor->getStepGraphReplays())
    say("varrun: CUDA graphs: " + std::to_string(replays) +
        " runs replayed a recorded step (rank 0)");
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
          profiler.report(
              options.peakTflops.value_or(defaultPeakTflops(
                  executor->getBackend(), plan->config.computeDType)),
              last - options.profileFirst + 1, profileSeconds));
  }

  if (std::optional<int64_t> used =
          executor->getBackend().getDeviceBytesInUse();
      used && info.rank == 0) {
    var::plan::Expected<var::plan::PlanMemoryReport> report =
        var::plan::computePlanMemoryReport(*plan);
    var::exec::Executor::DeviceBytes bytes = executor->getDeviceBytes();
    int64_t scratch = executor->getBackend().getKernelScratchBytes();
    auto mib = [](int64_t b) { return static_cast<double>(b) / 1048576; };
    char line[320];
    std::snprintf(line, sizeof(line),
                  "varrun: device memory (rank 0): %.1f MiB allocated "
                  "(model states %.1f, buffers %.1f, arena %.1f, arguments "
                  "%.1f, kernel workspaces %.1f, other %.1f); ",
                  mib(*used), mib(bytes.modelStates), mib(bytes.buffers),
                  mib(bytes.arena), mib(bytes.arguments), mib(scratch),
                  mib(*used - bytes.modelStates - bytes.buffers - bytes.arena -
                      bytes.arguments - scratch));
    say(line + (report ? "the plan's report: " +
                             var::plan::formatPlanMemoryReport(*report)
                       : "no plan report: " + report.error()));
  }

  if (!options.trace.empty())
    if (!writeTrace(options, info.rank, steps, timeline, who))
      return 1;

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
