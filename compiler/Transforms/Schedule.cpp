// --var-schedule: assigns every op of a step to a stream and inserts the
// events that order cross-stream dependencies, so that the runtime can run
// collectives and copies concurrently with compute.
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_SCHEDULE
#include "compiler/Transforms/Passes.h.inc"

namespace {

class Scheduler {
public:
  explicit Scheduler(func::FuncOp func) : func(func) {}

  void run();

private:
  StringRef streamOf(Operation *op);
  StringRef assign(Operation *op);
  SmallVector<Operation *> dependencies(Operation *op);
  void wait(Operation *consumer, Operation *producer);
  /// The event recorded right after `producer` on its stream, made once.
  int64_t recordAfter(Operation *producer);

  func::FuncOp func;
  llvm::DenseMap<Operation *, StringRef> streams;
  llvm::DenseMap<Operation *, int64_t> positions;
  /// The event each producer recorded, if any.
  llvm::DenseMap<Operation *, int64_t> events;
  /// (consumer stream, producer stream) -> position of the latest producer
  /// whose event the consumer stream has waited for.
  llvm::StringMap<int64_t> waited;
  /// Ops that read each bucket's parameters.
  llvm::StringMap<SmallVector<Operation *>> bucketReaders;
  int64_t nextEvent = 0;
};

StringRef Scheduler::streamOf(Operation *op) {
  auto it = streams.find(op);
  return it == streams.end() ? StringRef("compute") : it->second;
}

/// The stream `op` runs on; its producers are assigned already.
StringRef Scheduler::assign(Operation *op) {
  auto producerStream = [&](Value value) -> StringRef {
    Operation *def = value.getDefiningOp();
    return def ? streamOf(def) : StringRef("compute");
  };
  if (llvm::isa<dist::AllReduceOp, dist::ReduceScatterOp, dist::AllGatherOp>(
          op))
    return "comm";
  if (llvm::isa<dist::ToHostOp, dist::ToDeviceOp>(op))
    return "copy";
  if (auto adamw = llvm::dyn_cast<dist::AdamWUpdateOp>(op))
    return adamw.getOnHost() ? "host" : "compute";
  if (auto sgd = llvm::dyn_cast<dist::SGDUpdateOp>(op))
    return sgd.getOnHost() ? "host" : "compute";
  if (auto cast = llvm::dyn_cast<CastOp>(op)) {
    Operation *def = cast.getInput().getDefiningOp();
    if (def && (streamOf(def) == "host" || llvm::isa<dist::ToHostOp>(def)))
      return "host";
    return "compute";
  }
  if (auto store = llvm::dyn_cast<dist::StoreParamsOp>(op))
    return producerStream(store.getValue());
  if (auto release = llvm::dyn_cast<dist::ReleaseOp>(op)) {
    // Where the buffer is used last, so that freeing it blocks no stream.
    Operation *last = release.getValue().getDefiningOp();
    for (Operation *user : release.getValue().getUsers())
      if (user != op && (!last || last->isBeforeInBlock(user)))
        last = user;
    return last ? streamOf(last) : StringRef("compute");
  }
  if (auto load = llvm::dyn_cast<dist::LoadParamsOp>(op)) {
    // On the stream of what consumes it: the gather or the copy.
    for (Operation *user : load->getUsers()) {
      if (llvm::isa<dist::AllGatherOp>(user))
        return "comm";
      if (llvm::isa<dist::ToDeviceOp>(user))
        return "copy";
    }
    return "compute";
  }
  return "compute";
}

/// The ops `op` must wait for: its producers, plus the readers of what a
/// release frees or a store overwrites.
SmallVector<Operation *> Scheduler::dependencies(Operation *op) {
  llvm::SetVector<Operation *> deps;
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp())
      deps.insert(def);
  if (auto release = llvm::dyn_cast<dist::ReleaseOp>(op))
    for (Operation *user : release.getValue().getUsers())
      if (user != op)
        deps.insert(user);
  if (auto store = llvm::dyn_cast<dist::StoreParamsOp>(op))
    for (Operation *reader : bucketReaders.lookup(store.getBucket()))
      if (positions.lookup(reader) < positions.lookup(op))
        deps.insert(reader);
  // Latest first: waiting for it covers earlier events of the same stream.
  SmallVector<Operation *> sorted = deps.takeVector();
  llvm::stable_sort(sorted, [&](Operation *a, Operation *b) {
    return positions.lookup(a) > positions.lookup(b);
  });
  return sorted;
}

void Scheduler::wait(Operation *consumer, Operation *producer) {
  StringRef from = streamOf(producer), to = streamOf(consumer);
  if (from == to)
    return;
  std::string key = (to + "<-" + from).str();
  int64_t position = positions.lookup(producer);
  auto [it, inserted] = waited.try_emplace(key, position);
  if (!inserted && it->second >= position)
    return; // a later event of that stream was waited for already
  it->second = position;

  OpBuilder builder(consumer->getContext());
  builder.setInsertionPoint(consumer);
  builder.create<dist::WaitEventOp>(consumer->getLoc(), recordAfter(producer),
                                    to);
}

int64_t Scheduler::recordAfter(Operation *producer) {
  auto [event, fresh] = events.try_emplace(producer, nextEvent);
  if (fresh) {
    ++nextEvent;
    OpBuilder builder(producer->getContext());
    builder.setInsertionPointAfter(producer);
    builder.create<dist::RecordEventOp>(producer->getLoc(), event->second,
                                        streamOf(producer));
  }
  return event->second;
}

void Scheduler::run() {
  if (func.isExternal())
    return;
  Block &body = func.getBody().front();
  SmallVector<Operation *> ops;
  for (Operation &op : body)
    ops.push_back(&op);
  llvm::StringMap<SmallVector<StringRef>> bucketParams;
  if (auto module = func->getParentOfType<ModuleOp>())
    for (auto bucket : module.getOps<dist::BucketOp>())
      for (Attribute param : bucket.getParams())
        bucketParams[llvm::cast<FlatSymbolRefAttr>(param).getValue()].push_back(
            bucket.getSymName());
  for (auto [index, op] : llvm::enumerate(ops)) {
    positions[op] = static_cast<int64_t>(index);
    StringRef stream = assign(op);
    streams[op] = stream;
    op->setAttr(dist::kStreamAttr, StringAttr::get(op->getContext(), stream));
  }
  // Who reads each bucket's parameters: users of its reads and views.
  for (Operation *op : ops) {
    StringRef bucket;
    if (auto read = llvm::dyn_cast<GetParamOp>(op)) {
      auto it = bucketParams.find(read.getName());
      if (it == bucketParams.end())
        continue;
      bucket = it->second.front();
    } else if (auto unpack = llvm::dyn_cast<dist::UnpackOp>(op)) {
      bucket = unpack.getBucket();
    } else if (auto load = llvm::dyn_cast<dist::LoadParamsOp>(op)) {
      bucket = load.getBucket();
    } else {
      continue;
    }
    SmallVector<Operation *> &readers = bucketReaders[bucket];
    readers.push_back(op);
    for (Operation *user : op->getUsers())
      readers.push_back(user);
  }
  for (Operation *op : ops) {
    for (Operation *dep : dependencies(op))
      wait(op, dep);
    // A freed buffer's memory is reused by whatever the runtime places
    // there next, on any stream: it waits for this event first.
    if (llvm::isa<dist::ReleaseOp>(op))
      recordAfter(op);
  }
}

struct SchedulePass : impl::ScheduleBase<SchedulePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      Scheduler(func).run();
  }
};

} // namespace

} // namespace var
