// The executor: walks a plan function's instruction list on one rank. Model
// state (parameters, buckets, masters, optimizer state, gradient buffers)
// lives here across steps, in the backend's memory (or page-locked host
// memory where the plan offloads it); var ops run on a backend's kernels,
// dist ops on its primitives and the communicators. One code path for every
// backend.
//
// On a device backend work is asynchronous: run() synchronizes once, before
// it reads the results out, so a failing kernel is reported for the
// function. Environment: VAR_SYNC_EACH_OP=1 synchronizes after every
// instruction instead (as a set InstructionTimer does), so that the error
// names the instruction that failed.
//
// What changes from run to run reaches the device through fixed staging:
// the step scalars (seed, first sample, each update's LR, step and bias
// corrections; cpu::StepScalars), the arguments and the results, each in
// page-locked host memory copied in stream order. So a function's device
// work can be recorded once and replayed (step graphs, StepGraphs.cpp).
#ifndef VAR_RUNTIME_EXEC_EXECUTOR_H
#define VAR_RUNTIME_EXEC_EXECUTOR_H

#include "runtime/comm/Communicator.h"
#include "runtime/comm/DeviceCommunicator.h"
#include "runtime/cpu/CpuOps.h"
#include "runtime/exec/Backend.h"
#include "runtime/exec/InstructionTimer.h"
#include "runtime/plan/PlanFile.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace var::exec {

/// A tensor the caller passes in or gets back: row-major bytes.
struct HostTensor {
  plan::DType dtype = plan::DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numel() const;
  static HostTensor f32(std::vector<int64_t> shape,
                        const std::vector<float> &values);
  static HostTensor i64(std::vector<int64_t> shape,
                        const std::vector<int64_t> &values);
  static HostTensor scalarF32(float value);
  static HostTensor scalarI64(int64_t value);
  std::vector<float> floats() const;
};

/// A parameter's consolidated FP32 value, under its PyTorch name.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// Elements [offset, offset + values.size()) of a parameter's flattened FP32
/// values: the part of it one rank's shard holds.
struct TensorSlice {
  std::string name;
  int64_t offset = 0;
  std::vector<float> values;
};

/// What one rank holds of the training state, keyed by parameter name.
/// Across the ranks of a job the master and optimizer slices tile every
/// trainable parameter exactly once, whatever the ZeRO stage.
struct RankTrainingState {
  /// Slices of the FP32 masters.
  std::vector<TensorSlice> master;
  /// Per optimizer state key ("exp_avg", "exp_avg_sq", "momentum_buffer"),
  /// slices laid out like `master`.
  std::vector<std::pair<std::string, std::vector<TensorSlice>>> optimizer;
  /// This rank's buffers, whole: BatchNorm running statistics are updated
  /// from each rank's own batches, so they differ between ranks.
  std::vector<NamedTensor> buffers;
};

/// The whole training state by parameter name, consolidated.
struct TrainingState {
  std::vector<NamedTensor> master;
  std::vector<std::pair<std::string, std::vector<NamedTensor>>> optimizer;
  std::vector<NamedTensor> buffers;
};

/// How importWeights treats a file that does not match the model exactly.
struct ImportOptions {
  /// Parameters whose names start with one of these (e.g. "fc.",
  /// "classifier.") keep their fresh initialization when the file lacks
  /// them or has another shape: fine-tuning with a new class count. File
  /// tensors under these prefixes that the model lacks are skipped.
  std::vector<std::string> resetPrefixes;
};

class Executor {
public:
  /// `plan` must be resolved for comm.getWorldSize(). Initializes every
  /// parameter from `seed` (the same values on every rank and at every ZeRO
  /// stage) and shards what this rank owns. Var ops run on `backend`
  /// (null: the CPU backend), model state lives in its memory.
  static plan::Expected<Executor>
  create(const plan::Plan &plan, comm::Communicator &comm, uint64_t seed,
         std::unique_ptr<Backend> backend = nullptr);
  Executor(Executor &&) = default;
  Executor &operator=(Executor &&) = default;
  /// Drops the recorded step graphs before the communicator: a graph that
  /// recorded NCCL collectives holds its communicator, whose destruction
  /// waits until no such graph is left.
  ~Executor();

  /// Runs function `name` with `args` (one per function argument, in
  /// order); `results` gets its results. `microSeed` feeds dropout, and
  /// `firstSample` says where this run's samples (the input argument's
  /// first dimension) sit in the step's global batch: dropout masks follow
  /// global positions, so a step's masks are the same however its batch is
  /// split over ranks and micro-steps (see cpu::OpCall).
  /// Empty on success, else the error, naming the instruction.
  std::string run(std::string_view name, const std::vector<HostTensor> &args,
                  std::vector<HostTensor> &results, uint64_t microSeed,
                  int64_t firstSample = 0);

  /// Every parameter and buffer as FP32, gathered from all ranks' shards
  /// (a collective: every rank must call it).
  std::string exportWeights(std::vector<NamedTensor> &out);

  /// Sets every parameter and buffer from `weights` by PyTorch name: FP32
  /// masters, compute copies (rounded to the compute type) and buffers.
  /// Collective-free: every rank passes the same tensors and keeps its own
  /// shard. Optimizer state and gradients restart from zero. Fails, naming
  /// each problem, on a missing or extra tensor or a shape mismatch, unless
  /// `options` lets a parameter keep its initialization; BatchNorm's
  /// `num_batches_tracked` counters are skipped (no op reads them). `notes`
  /// gets one line per tensor skipped or kept fresh.
  std::string importWeights(const std::vector<NamedTensor> &weights,
                            const ImportOptions &options,
                            std::vector<std::string> &notes);

  /// This rank's part of the training state between steps: its slices of
  /// masters and optimizer state (at stage 0, where every rank holds all of
  /// them, the slice its shard would be) and its buffers. The compute
  /// copies are not included: they are the masters rounded to the compute
  /// type. Collective-free.
  RankTrainingState getTrainingState();

  /// Restores the training state saved by getTrainingState on any world
  /// size and ZeRO stage: every rank passes the same consolidated masters
  /// and optimizer state and keeps its own part; compute copies are the
  /// masters rounded; gradients restart from zero. Fails, naming each
  /// tensor, on a missing or extra tensor, a shape mismatch, or optimizer
  /// state of another optimizer. Collective-free.
  std::string setTrainingState(const TrainingState &state);

  /// Optimizer state keys of the plan's buckets ("exp_avg", ...), in order.
  std::vector<std::string> getOptimizerStateKeys() const;

  /// While on, each optimizer update keeps a copy of the reduced gradient
  /// it applies (averaged over ranks and micro-steps, before clipping), for
  /// numerical checks against a reference implementation.
  void setCaptureGradients(bool on);
  /// The gradients the last update of each bucket captured, consolidated
  /// from every rank's shard, one per trainable parameter (a collective at
  /// stages 1-3: every rank must call it).
  std::string gatherCapturedGradients(std::vector<NamedTensor> &out);

  /// The global L2 norm of the gradients (before clipping) that the last
  /// dist.clip_coefficient computed; none when the plan does not clip.
  std::optional<double> getLastGradNorm() const;
  /// The backend memory (not pinned host memory) this executor allocated,
  /// by use (what else it holds, step scalars and the gradient norm, is a
  /// few hundred bytes).
  struct DeviceBytes {
    int64_t modelStates = 0; // buckets: parameters, master, state, sums
    int64_t buffers = 0;     // parameters outside buckets
    int64_t arena = 0;       // the steps' values
    int64_t arguments = 0;   // the runs' arguments
  };
  DeviceBytes getDeviceBytes() const;
  /// The global L2 norm of the gradients the last update of every bucket
  /// received (averaged over ranks and micro-steps, before clipping), whether
  /// or not the plan clips. A collective at stages 1-3, where each rank
  /// holds a shard: every rank must call it.
  std::string reduceGradNorm(double &norm);
  /// Step graphs: while on (the default) and the backend records work,
  /// each function whose plan allows it is recorded on its second run and
  /// replayed from its third (StepGraphs.cpp says what disallows it); off:
  /// every run is eager. Either way the results are the same, bit for bit.
  /// `withCollectives`: also record a step of several ranks whose
  /// collectives run through the device communicator (NCCL), the
  /// collectives becoming graph nodes; otherwise such steps run eagerly.
  void setStepGraphs(bool on, bool withCollectives = false);
  /// The caller's promise that, in runs of function `name`, an argument
  /// whose storage (bytes' data) is the previous run's still holds the
  /// same bytes (varrun's fixed batch): a device backend then leaves it in
  /// the function's page-locked staging instead of copying it again (tens
  /// of MB a step on the host while the device waits). Only arguments of
  /// at least kFixedArgumentBytes; off for every function by default.
  void setFixedArguments(std::string_view name, bool fixed);
  static constexpr size_t kFixedArgumentBytes = size_t{1} << 14;
  /// One line per function whose step graph was decided since the last call
  /// ("'train_step' is recorded as a graph of N nodes and replayed from its
  /// next run", "'train_step' runs eagerly: why"), for the run log; each
  /// once.
  std::vector<std::string> takeStepGraphNotes();
  /// How many runs so far replayed a recorded graph (tests, the log).
  int64_t getStepGraphReplays() const { return graphReplays; }

  /// Brackets every instruction run() executes while set; nullptr: off.
  void setInstructionTimer(InstructionTimer *timer) { this->timer = timer; }
  /// Gets every run's instruction timeline while set; nullptr: off.
  void setTimeline(TimelineSink *sink) { timeline = sink; }

  const plan::Plan &getPlan() const { return plan; }
  Backend &getBackend() { return *backend; }

private:
  /// A run of elements in the backend's memory or in (page-locked) host
  /// memory; the dist ops pick the primitives of the memory they touch.
  struct Place {
    void *data = nullptr;
    plan::DType dtype = plan::DType::F32;
    bool host = false;
    /// The place `elements` further on.
    Place at(int64_t elements) const;
  };
  /// A bucket's storage, allocated once at create: in the backend's memory,
  /// or in host memory where the plan offloads it.
  struct Bucket {
    int64_t numel = 0, padded = 0, shard = 0;
    plan::DType dtype = plan::DType::F32;
    /// A master separate from the compute copy: the compute type is
    /// narrower than f32, or the two live in different memories.
    bool hasMaster = false;
    /// Compute copy: the padded bucket (stages 0-2) or this rank's shard.
    DeviceBuffer params;
    /// f32 master, the padded bucket at stage 0, else this rank's shard.
    DeviceBuffer master;
    std::vector<DeviceBuffer> state; // one per state key, like master
    /// Persistent gradients for accumulation: padded bucket (stages 0-1) or
    /// shard (stages 2-3), f32, in the backend's memory.
    DeviceBuffer grads;
    /// With setCaptureGradients: the gradient the last update applied, as
    /// many elements as the master region, beside the master.
    DeviceBuffer captured;
    /// kSquarePartials f64 partial sums of squares of the gradient region
    /// the last update received, beside the master.
    DeviceBuffer squares;
  };

  Executor(const plan::Plan &plan, comm::Communicator &comm);
  std::string initialize(uint64_t seed);
  std::string allocateBucket(size_t index);
  /// Stores a padded f32 bucket's values as this rank's compute copy and
  /// master (the rank's slice of them, when sharded).
  std::string setBucketValues(Bucket &bucket, const std::vector<float> &full);
  /// Zero optimizer state and gradients.
  std::string resetOptimizer(Bucket &bucket);
  /// Consolidates per-bucket f32 regions shaped like the master (padded at
  /// stage 0, this rank's shard otherwise) into full padded buckets.
  std::string gatherBuckets(const std::vector<Place> &regions,
                            std::vector<std::vector<float>> &full);
  /// A value that is a view of another: `id` lies `bytes` into `source`.
  struct UnpackView {
    uint32_t id = 0, source = 0;
    int64_t bytes = 0;
  };
  /// Where a function's values live: the executor's one device arena (the
  /// planned arena first, then the values the planner left out, each at its
  /// offset), or, for values the plan keeps on the host (what dist.to_host
  /// and the "host" stream's ops produce), the host arena. Functions run
  /// one at a time, so they share the arenas, sized at the first run for
  /// the largest need of any function.
  struct FunctionLayout {
    std::vector<int64_t> offsets; // per value, in its arena
    std::vector<bool> onHost;     // per value
    int64_t bytes = 0, hostBytes = 0;
    /// Per instruction, the stream it runs on (for dist.record_event and
    /// dist.wait_event, the stream they name).
    std::vector<PlanStream> streams;
    /// Event ids recorded on the host stream: complete once recorded, when
    /// host work is synchronous (not on the host lane).
    std::vector<int64_t> hostEvents;
    /// The plan offloads the optimizer, and the host stream's work can run
    /// on the backend's host lane (see hostLaneWork): the host optimizer as
    /// host calls in stream order, the host<->device copies enqueued, the
    /// host never waiting in the step.
    bool hostLane = false;
    /// Per instruction, its optimizer update's slot in the step scalars, or
    /// -1; per slot, whether its LR and step are arguments of the function
    /// (written before the run) rather than values computed in it.
    std::vector<int64_t> updateSlot;
    std::vector<bool> updateFromArguments;
    /// The step scalars: written by the host (page-locked), copied to the
    /// backend's memory at the start of each run; kept for the executor's
    /// life, since a recorded step refers to them.
    DeviceBuffer hostScalars, scalars;
    int64_t scalarBytes = 0;
    /// On a device backend: page-locked staging of the arguments and the
    /// device-resident results, at these offsets (256-byte aligned).
    DeviceBuffer argumentStaging, resultStaging;
    std::vector<int64_t> argumentOffsets, resultOffsets;
    /// var.get_param results read in place from their bucket (no copy, no
    /// arena room): value id and address (see aliasParameters).
    std::vector<std::pair<uint32_t, void *>> paramAliases;
    /// dist.unpack results read in place from the gathered bucket they
    /// come from (see viewUnpacked).
    std::vector<UnpackView> unpackViews;
    /// Per instruction: an update that writes its bucket's bf16 compute
    /// copy itself, or a cast or store it does the work of (fuseStores).
    std::vector<bool> storesItself, skipped;
    /// Per instruction: the value an offloaded update rounds its result
    /// into, doing a skipped host cast's work (fuseStores); -1 elsewhere.
    std::vector<int64_t> roundsInto;
  };
  /// A function's step graph: undecided, replayed, or eager for good.
  struct StepGraph {
    /// Runs so far; the first is always eager (cuDNN's searches, workspace
    /// growth), the second is recorded.
    int64_t runs = 0;
    /// Why this function runs eagerly for good; empty while it may not.
    std::string eager;
    int64_t graph = -1;
    /// The same step recorded with the timeline's time marks as graph
    /// nodes, replayed by traced runs; `timedFailed`: its recording failed
    /// (traced runs then run eagerly).
    int64_t timedGraph = -1;
    bool timedFailed = false;
    size_t nodes = 0;
    /// The arenas the graph was recorded on: a replay needs the same.
    void *arena = nullptr, *hostArena = nullptr;
    /// What the recorded host calls of `graph` and `timedGraph` read.
    std::vector<std::unique_ptr<OptimizerStep>> hostCalls, timedHostCalls;
    /// whyEager was asked; the recording was noted in the log.
    bool checked = false, noted = false;
  };
  /// ReplayTimed: a traced run of a replayed step replays the step's timed
  /// recording (replayTimed), so that the timeline shows the replayed
  /// step, not an eager one.
  enum class RunMode { Eager, Record, Replay, ReplayTimed };
  /// Reads the run's time marks (Backend::readTimes) and hands them to the
  /// timeline.
  std::string recordTimeline(const plan::PlanFunction &function,
                             const FunctionLayout &layout);
  /// A failed allocation's `error` with the plan's own memory report for
  /// this rank (plan::computePlanMemoryReport) beside it; empty stays empty.
  std::string withPlanReport(const std::string &error) const;
  std::string prepareMemory(const plan::PlanFunction &function,
                            const std::string &name,
                            const FunctionLayout *&layout);
  /// The step scalars' slots and the staging of a new layout.
  std::string prepareStaging(const plan::PlanFunction &function,
                             const std::string &name, FunctionLayout &layout);
  /// Writes this run's step scalars into the layout's host block.
  std::string writeStepScalars(const plan::PlanFunction &function,
                               const FunctionLayout &layout, uint64_t seed,
                               int64_t firstSample);
  /// Enqueues one run: arenas zeroed, scalars and arguments copied in, the
  /// instructions, results copied out to their staging; no synchronize
  /// unless `syncEach` (after each instruction; the result copies wait).
  std::string enqueueRun(const plan::PlanFunction &function,
                         const FunctionLayout &layout,
                         std::vector<cpu::TensorView> &views, bool syncEach);
  /// Why `function` may never be recorded (StepGraphs.cpp); empty: it may.
  std::string whyEager(const plan::PlanFunction &function,
                       const FunctionLayout &layout) const;
  /// How this run goes, from the function's graph state; `transient`: why
  /// this run alone must not replay the step's graph (a timer, a timeline,
  /// synchronizing each op); `timedOnly`: only a timeline, which a timed
  /// recording can serve.
  RunMode chooseRunMode(const plan::PlanFunction &function,
                        const FunctionLayout &layout, StepGraph &graph,
                        bool transient, bool timedOnly);
  /// Replays the step's timed recording, recording it first; `replayed`
  /// false: it could not (nothing ran; run eagerly).
  /// Records one run of `function` (nothing runs) into graph `id` of
  /// `nodes` nodes; why not, or empty.
  std::string capture(const plan::PlanFunction &function,
                      const FunctionLayout &layout,
                      std::vector<cpu::TensorView> &views, int64_t &id,
                      size_t &nodes);
  /// Drops `graph`'s recordings (both).
  void dropGraphs(StepGraph &graph);
  std::string replayTimed(const plan::PlanFunction &function,
                          const FunctionLayout &layout,
                          std::vector<cpu::TensorView> &views, StepGraph &graph,
                          bool &replayed);
  /// Records the run and launches the recording; on a failure to record,
  /// the function turns eager for good (nothing ran) and `recorded` is
  /// false. An error only for a failed launch.
  std::string recordRun(const plan::PlanFunction &function,
                        const FunctionLayout &layout,
                        std::vector<cpu::TensorView> &views, StepGraph &graph,
                        bool &recorded);
  void noteEager(const std::string &name, StepGraph &graph, std::string why);
  void dropStepGraphs();
  std::string execute(const plan::PlanFunction &function,
                      const FunctionLayout &layout, size_t index,
                      std::vector<cpu::TensorView> &views);
  /// Var ops on host tensors: those the backend has no kernel for and those
  /// on host memory; device operands and results go through host copies.
  std::string executeOnHost(const FunctionLayout &layout,
                            const plan::Instruction &inst,
                            std::vector<cpu::TensorView> &views);
  /// Parameter loads and stores and the dist ops, on the primitives of the
  /// memory their tensors live in.
  std::string executeDist(const plan::PlanFunction &function,
                          const FunctionLayout &layout, size_t index,
                          std::vector<cpu::TensorView> &views);
  std::string executeCollective(const plan::PlanFunction &function,
                                const plan::Instruction &inst,
                                const std::vector<Place> &operands,
                                const std::vector<Place> &results,
                                int64_t count);
  std::string executeUpdate(const FunctionLayout &layout, size_t index,
                            const plan::Instruction &inst, Bucket &bucket,
                            const std::vector<Place> &operands,
                            const std::vector<Place> &results, int64_t count,
                            uint16_t *rounded);
  /// A scalar operand's value on the host: from the run's arguments when it
  /// is one (no synchronization), else copied from its memory.
  std::string readScalar(const plan::Instruction &inst, size_t operand,
                         const Place &place, double &value);

  // Moving elements between places (same or different memories).
  std::string copy(const Place &dst, const Place &src, int64_t count);
  std::string zero(const Place &place, int64_t count);
  std::string download(const Place &src, int64_t count,
                       std::vector<float> &values);
  std::string upload(const float *values, int64_t count, const Place &dst);

  /// The f32 master region: the master, or for an f32 bucket without one
  /// the compute copy itself.
  Place masterData(Bucket &bucket);
  Place paramsData(Bucket &bucket);
  /// Fills layout.paramAliases with the get_param results of `function`
  /// that can be read in place from their bucket's compute copy, or from
  /// their buffer (running statistics, read before the step updates them),
  /// then with the updates writeBuffersInPlace finds.
  void aliasParameters(const plan::PlanFunction &function,
                       FunctionLayout &layout);
  /// A var.get_param result read in place from buffer `param`.
  struct BufferRead {
    uint32_t value;
    size_t param;
  };
  /// Adds to layout.paramAliases the var.update_buffer operands that the
  /// instruction producing them can write into the buffer itself (batch
  /// norm's new running statistics): no copy, no arena room. `inPlace`:
  /// aliasParameters' buffer reads.
  void writeBuffersInPlace(const plan::PlanFunction &function,
                           FunctionLayout &layout,
                           const std::vector<BufferRead> &inPlace);
  /// Where a dist.unpack's parameter starts in its bucket, in elements; -1
  /// when the instruction names no parameter of a bucket.
  int64_t unpackOffset(const plan::Instruction &inst) const;
  /// Fills layout.unpackViews with the dist.unpack results that can be read
  /// where their all-gather wrote them: no copy, no room of their own.
  void viewUnpacked(const plan::PlanFunction &function,
                    FunctionLayout &layout) const;
  /// At stage 0, folds `%w = update; %c = var.cast %w to bf16;
  /// dist.store_params %c` into the update where nothing else reads %w or
  /// %c: it rounds into the bucket's compute copy itself. At stages 1-3, an
  /// offloaded update whose result only a host cast reads rounds into the
  /// cast's result (roundsInto) and the cast is skipped.
  void fuseStores(const plan::PlanFunction &function, FunctionLayout &layout);
  /// Empty when every host-stream instruction of `function` can be a host
  /// call on the host lane (an offloaded optimizer update whose LR and step
  /// are arguments; event records and waits; what fuseStores skipped), the
  /// host<->device copies convert nothing and no other instruction touches
  /// host memory; else the first that cannot.
  std::string hostLaneWork(const plan::PlanFunction &function,
                           const FunctionLayout &layout) const;
  /// Per value the planner left out of the arena, whose room it takes: its
  /// own (its id), none (-1: a parameter read in place, or a result nothing
  /// writes or reads since fuseStores), or its operand's (the id of an
  /// all-reduce's operand that nothing else reads: reduced in place).
  std::vector<int64_t> leftOutStorage(const plan::PlanFunction &function,
                                      const FunctionLayout &layout) const;
  /// Where rank's shard of `bucket` starts in its master region: 0, except
  /// at stage 0 where the region is the whole padded bucket.
  int64_t shardStartInMaster(const Bucket &bucket) const;
  int64_t masterCount(const Bucket &bucket) const;

  plan::Plan plan;
  comm::Communicator *comm;
  /// Before everything held through it, so that it is destroyed last.
  std::unique_ptr<Backend> backend;
  int64_t rank = 0, worldSize = 1, stage = 0;
  uint64_t initSeed = 0;
  bool captureGradients = false;
  /// The running function's host work is on the host lane (its layout's
  /// hostLane, unless gradients are captured); what its host calls read,
  /// kept until the run's synchronize or taken by the step graph recorded.
  bool runOnLane = false;
  std::vector<std::unique_ptr<OptimizerStep>> hostCalls;
  /// Where the plan keeps state on the host (offload), on a device backend.
  bool paramsOnHost = false, optimizerOnHost = false;
  /// VAR_SYNC_EACH_OP=1: synchronize after every instruction.
  bool syncEachOp = false;
  /// VAR_POISON_ARENA=1: fill the arenas with 0xFF bytes before each run.
  bool poisonArena = false;
  InstructionTimer *timer = nullptr;
  TimelineSink *timeline = nullptr;
  /// The running call's batch (cpu::OpCall::batch).
  int64_t runBatch = 0;
  std::vector<Bucket> buckets;
  /// Storage of parameters outside buckets (buffers), by param index.
  std::vector<DeviceBuffer> buffers;
  /// For a bucketed param: (bucket, offset), else (-1, 0).
  std::vector<std::pair<int64_t, int64_t>> location;
  /// Collectives on device memory; null: staged through host memory.
  std::unique_ptr<comm::DeviceCommunicator> deviceComm;
  DeviceBuffer arena, hostArena;
  std::map<std::string, FunctionLayout, std::less<>> layouts;
  bool stepGraphsOn = true;
  std::set<std::string, std::less<>> fixedArguments;
  /// Per function, each argument's storage last copied into its staging.
  std::map<std::string, std::vector<const uint8_t *>, std::less<>>
      stagedArguments;
  /// On a device backend: the arguments of a run in device memory, at
  /// their staging offsets (sized for every function's), copied from the
  /// staging before the run only where they changed; the runs' views of
  /// arguments point here, not into the arena, so a fixed batch crosses
  /// PCIe once. `argumentsHolder` names the function whose arguments it
  /// holds, `argumentsCurrent` which of them are current.
  DeviceBuffer argumentArea;
  std::string argumentsHolder;
  std::vector<bool> argumentsCurrent;
  bool stepGraphsWithCollectives = false;
  std::map<std::string, StepGraph, std::less<>> stepGraphs;
  std::vector<std::string> stepGraphNotes;
  int64_t graphReplays = 0;
  /// The running call's step scalars: in the backend's memory and on the
  /// host (what kernels on the host read).
  const cpu::StepScalars *runScalars = nullptr, *runHostScalars = nullptr;
  /// The norm the last dist.clip_coefficient computed, in the memory it ran
  /// in (f64); read only when asked.
  DeviceBuffer gradNorm;
  bool hasGradNorm = false;
  /// During run(): per value id, its argument's bytes on the host, or null.
  std::vector<const void *> argumentBytes;
};

} // namespace var::exec

#endif
