// Communicator over Gloo (Debian's libgloo 0.5, git 2022-05-18): ring
// allreduce (also under reduce-scatter), ring allgather, tree broadcast and
// barrier from its option-based API. Gloo reports failures as
// exceptions that name peers by socket address; they end here as messages,
// with the ranks that died according to the rendezvous store.
#include "runtime/comm/GlooCommunicator.h"

#include "runtime/comm/TcpStore.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/hash_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <vector>

namespace var::comm {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Gloo's rendezvous over our store; Gloo expects failures as exceptions.
class StoreForGloo final : public gloo::rendezvous::Store {
public:
  StoreForGloo(TcpStore &store, milliseconds timeout)
      : store(store), timeout(timeout) {}

  void set(const std::string &key, const std::vector<char> &data) override {
    check(store.set(kPrefix + key, std::string(data.begin(), data.end())));
  }
  std::vector<char> get(const std::string &key) override {
    std::string value;
    check(store.get(kPrefix + key, value, timeout));
    return std::vector<char>(value.begin(), value.end());
  }
  void wait(const std::vector<std::string> &keys) override {
    wait(keys, timeout);
  }
  void wait(const std::vector<std::string> &keys,
            const milliseconds &waitTimeout) override {
    std::vector<std::string> prefixed;
    for (const std::string &key : keys)
      prefixed.push_back(kPrefix + key);
    check(store.wait(prefixed, waitTimeout));
  }

private:
  static void check(const std::string &error) {
    if (!error.empty())
      throw gloo::IoException(error);
  }
  static constexpr const char *kPrefix = "gloo/";
  TcpStore &store;
  milliseconds timeout;
};

bool isLoopback(const std::string &address) {
  return address.rfind("127.", 0) == 0 || address == "::1" ||
         address.rfind("::ffff:127.", 0) == 0;
}

/// Each rank sets "varrun/join/<rank>" to "<world size> <master address>".
constexpr const char *kJoinPrefix = "varrun/join/";
std::string joinKey(int rank) { return kJoinPrefix + std::to_string(rank); }

/// Set by the store when rank <rank>'s connection to it ends, and
/// "varrun/gone" when any rank's does.
constexpr const char *kGoneKey = "varrun/gone";
std::string goneKey(int rank) {
  return std::string(kGoneKey) + "/" + std::to_string(rank);
}

std::string listRanks(const std::vector<int> &ranks) {
  std::string text;
  for (size_t i = 0; i < ranks.size(); ++i)
    text += (i ? ", " : "") + std::to_string(ranks[i]);
  return text;
}

/// The ranks whose join key is still missing.
std::vector<int> missingRanks(TcpStore &store, int worldSize,
                              milliseconds waitTimeout, std::string &error) {
  std::vector<std::string> keys, missing;
  for (int r = 0; r < worldSize; ++r)
    keys.push_back(joinKey(r));
  std::string err = store.wait(keys, waitTimeout, &missing);
  std::vector<int> ranks;
  for (const std::string &key : missing)
    ranks.push_back(std::atoi(key.c_str() + std::strlen(kJoinPrefix)));
  if (!err.empty() && missing.empty())
    error = err; // The store failed, not the wait.
  return ranks;
}

/// Every rank checks in; rank 0 checks that they agree on the world size
/// and publishes the address other hosts reach the master by. Returns the
/// host Gloo binds on this rank.
std::string meetOtherRanks(TcpStore &store, const RankInfo &info,
                           milliseconds timeout, std::string &error) {
  Clock::time_point deadline = Clock::now() + timeout;
  auto left = [&] {
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(
                                         deadline - Clock::now()));
  };
  std::string where = "rendezvous at " + store.getEndpoint() + ": ";
  error = store.set(joinKey(info.rank), std::to_string(info.worldSize) + " " +
                                            store.getServerAddress());
  if (!error.empty())
    return "";

  std::string master;
  if (info.rank == 0) {
    std::string storeError;
    std::vector<int> missing =
        missingRanks(store, info.worldSize, left(), storeError);
    std::string verdict;
    if (!storeError.empty())
      verdict = storeError;
    else if (!missing.empty())
      verdict = where + "rank(s) " + listRanks(missing) + " of " +
                std::to_string(info.worldSize) + " did not join";
    // The first view of the master from another host; else our own.
    std::string reachedAt = store.getLocalAddress();
    for (int r = 1; r < info.worldSize && verdict.empty(); ++r) {
      std::string value;
      if (std::string err = store.get(joinKey(r), value, left());
          !err.empty()) {
        verdict = err;
        break;
      }
      size_t space = value.find(' ');
      std::string size = value.substr(0, space);
      std::string address =
          space == std::string::npos ? "" : value.substr(space + 1);
      if (size != std::to_string(info.worldSize))
        verdict = where + "rank " + std::to_string(r) +
                  " was started with world size " + size + ", rank 0 with " +
                  std::to_string(info.worldSize);
      else if (isLoopback(reachedAt) && !address.empty() &&
               !isLoopback(address))
        reachedAt = address;
    }
    master = verdict.empty() ? "ok " + reachedAt : "error " + verdict;
    if (std::string err = store.set("varrun/master", master); !err.empty()) {
      error = err;
      return "";
    }
    if (!verdict.empty()) {
      // Serve until the ranks that joined have read why they must stop.
      std::vector<std::string> acks;
      for (int r = 1; r < info.worldSize; ++r)
        if (std::find(missing.begin(), missing.end(), r) == missing.end())
          acks.push_back("varrun/ack/" + std::to_string(r));
      store.wait(acks, std::min(milliseconds(1000), timeout));
      error = verdict;
      return "";
    }
  } else if (std::string err = store.get(
                 "varrun/master", master,
                 // Rank 0 gives its verdict when its own wait ends: allow
                 // for it to have started a little later than this rank.
                 left() + std::min(milliseconds(1000), timeout));
             !err.empty()) {
    std::string storeError;
    std::vector<int> missing =
        missingRanks(store, info.worldSize, milliseconds(0), storeError);
    if (!missing.empty())
      error = where + "rank(s) " + listRanks(missing) + " of " +
              std::to_string(info.worldSize) + " did not join";
    else
      error = where + "rank 0 did not finish the rendezvous: " + err;
    return "";
  }
  if (info.rank != 0)
    store.set("varrun/ack/" + std::to_string(info.rank), "");
  if (master.rfind("error ", 0) == 0) {
    error = master.substr(6);
    return "";
  }
  // A rank that reaches the master over loopback shares its host.
  std::string masterAddress = master.substr(3);
  if (isLoopback(store.getLocalAddress()) && !isLoopback(masterAddress))
    return masterAddress;
  return store.getLocalAddress();
}

class GlooCommunicator final : public Communicator {
public:
  GlooCommunicator(const RankInfo &info, milliseconds timeout,
                   std::unique_ptr<TcpStore> store,
                   std::shared_ptr<gloo::rendezvous::Context> context)
      : rank(info.rank), worldSize(info.worldSize), timeout(timeout),
        store(std::move(store)), context(std::move(context)) {}

  ~GlooCommunicator() override {
    // Rank 0's store goes with it: after a failure, serve a little longer,
    // until the others have gone too, so that they can still learn from it
    // which rank died first.
    if (rank == 0 && store && !failure.empty()) {
      std::vector<std::string> keys;
      for (int r = 1; r < worldSize; ++r)
        keys.push_back(goneKey(r));
      store->wait(keys, std::min(timeout, milliseconds(2000)));
    }
  }

  int getRank() const override { return rank; }
  int getWorldSize() const override { return worldSize; }
  milliseconds getTimeout() const override { return timeout; }

  std::string allReduce(float *data, int64_t count, bool mean) override {
    uint32_t tag = nextTag++;
    if (count < 0)
      return "allReduce: negative count " + std::to_string(count);
    std::string err =
        run("allReduce of " + std::to_string(count) + " floats", [&] {
          if (count == 0)
            return;
          gloo::AllreduceOptions opts(context);
          opts.setOutput(data, static_cast<size_t>(count));
          opts.setReduceFunction(sumFloats());
          opts.setTag(tag);
          opts.setTimeout(timeout);
          gloo::allreduce(opts);
        });
    if (err.empty() && mean)
      scale(data, count);
    return err;
  }

  /// An allreduce of the whole input, of which this rank keeps its shard:
  /// twice a reduce-scatter's traffic, but the sums are the allreduce's
  /// (stage 0's), in an order that does not depend on timing. Gloo's
  /// halving-doubling reduce-scatter, used before, moves a rank's reduced
  /// shard over the half it is still sending (rank 1 of 2 overwrites its
  /// first half while the TCP send of it may be in flight): under CPU load
  /// 3 of 10 ZeRO-1/2 runs and 1 of 4 ZeRO-3 runs of R(2+1)D on 2 ranks
  /// ended in other weights.
  std::string reduceScatter(const float *input, float *output,
                            int64_t shardCount, bool mean) override {
    uint32_t tag = nextTag++;
    if (shardCount < 0)
      return "reduceScatter: negative shard count " +
             std::to_string(shardCount);
    std::string err = run(
        "reduceScatter of " + std::to_string(shardCount) + " floats per rank",
        [&] {
          if (shardCount == 0)
            return;
          int64_t count = shardCount * worldSize;
          scratch.assign(input, input + count);
          gloo::AllreduceOptions opts(context);
          opts.setOutput(scratch.data(), static_cast<size_t>(count));
          opts.setReduceFunction(sumFloats());
          opts.setTag(tag);
          opts.setTimeout(timeout);
          gloo::allreduce(opts);
          std::copy(scratch.begin() + rank * shardCount,
                    scratch.begin() + (rank + 1) * shardCount, output);
        });
    if (err.empty() && mean)
      scale(output, shardCount);
    return err;
  }

  std::string allGather(const float *input, float *output,
                        int64_t shardCount) override {
    uint32_t tag = nextTag++;
    if (shardCount < 0)
      return "allGather: negative shard count " + std::to_string(shardCount);
    return run(
        "allGather of " + std::to_string(shardCount) + " floats per rank", [&] {
          if (shardCount == 0)
            return;
          gloo::AllgatherOptions opts(context);
          // Gloo gathers in place when the input is this rank's slot.
          if (input != output + rank * shardCount)
            opts.setInput(const_cast<float *>(input),
                          static_cast<size_t>(shardCount));
          opts.setOutput(output, static_cast<size_t>(shardCount * worldSize));
          opts.setTag(tag);
          opts.setTimeout(timeout);
          gloo::allgather(opts);
        });
  }

  std::string broadcast(void *data, int64_t bytes, int root) override {
    uint32_t tag = nextTag++;
    if (bytes < 0)
      return "broadcast: negative size " + std::to_string(bytes);
    if (root < 0 || root >= worldSize)
      return "broadcast: root " + std::to_string(root) +
             " is not a rank of a world of " + std::to_string(worldSize);
    return run("broadcast of " + std::to_string(bytes) + " bytes from rank " +
                   std::to_string(root),
               [&] {
                 if (bytes == 0)
                   return;
                 gloo::BroadcastOptions opts(context);
                 opts.setOutput(static_cast<uint8_t *>(data),
                                static_cast<size_t>(bytes));
                 opts.setRoot(root);
                 opts.setTag(tag);
                 opts.setTimeout(timeout);
                 gloo::broadcast(opts);
               });
  }

  std::string barrier() override {
    uint32_t tag = nextTag++;
    return run("barrier", [&] {
      gloo::BarrierOptions opts(context);
      opts.setTag(tag);
      opts.setTimeout(timeout);
      gloo::barrier(opts);
    });
  }

private:
  static gloo::AllreduceOptions::Func sumFloats() {
    return static_cast<void (*)(void *, const void *, const void *, size_t)>(
        &gloo::sum<float>);
  }

  void scale(float *data, int64_t count) const {
    float inverse = 1.0f / static_cast<float>(worldSize);
    for (int64_t i = 0; i < count; ++i)
      data[i] *= inverse;
  }

  /// Runs a Gloo call; any failure becomes a message and closes every
  /// connection, so the peers waiting on this rank fail now rather than at
  /// their timeout.
  template <typename Fn> std::string run(const std::string &what, Fn &&fn) {
    if (!failure.empty())
      return "rank " + std::to_string(rank) + ": " + what +
             ": the communicator failed earlier: " + failure;
    std::string cause;
    try {
      fn();
      return "";
    } catch (const std::exception &e) { // gloo::Exception, EnforceNotMet, ...
      cause = e.what();
    } catch (...) {
      cause = "unknown exception";
    }
    failure =
        "rank " + std::to_string(rank) + ": " + what + " failed: " + cause;
    if (cause.find("imed out") != std::string::npos ||
        cause.find("timeout") != std::string::npos)
      failure += " (no progress within " + std::to_string(timeout.count()) +
                 " ms: a peer is hung, dead, or in another collective)";
    try {
      context->closeConnections();
    } catch (...) {
      // Already failing; the message above is what matters.
    }
    failure += findDeadRanks();
    return failure;
  }

  /// Gloo names peers by socket address only. A rank's connection to rank
  /// 0's store ends with its process, and the store then marks it gone
  /// (see createGlooCommunicator): ask which ranks are.
  std::string findDeadRanks() {
    if (!store)
      return "";
    // The store may hear of a death a moment after this rank did.
    std::vector<std::string> missing;
    std::string err = store->wait({kGoneKey}, milliseconds(100), &missing);
    if (!err.empty() && missing.empty())
      return "; rank 0, which serves the rendezvous store, is unreachable (" +
             err + ")";
    std::vector<std::string> keys;
    for (int r = 0; r < worldSize; ++r)
      keys.push_back(goneKey(r));
    err = store->wait(keys, milliseconds(0), &missing);
    if (!err.empty() && missing.empty())
      return "; rank 0, which serves the rendezvous store, is unreachable (" +
             err + ")";
    std::vector<int> dead;
    for (int r = 0; r < worldSize; ++r)
      if (std::find(missing.begin(), missing.end(), goneKey(r)) ==
          missing.end())
        dead.push_back(r);
    if (dead.empty())
      return "";
    return "; rank(s) " + listRanks(dead) +
           " had exited by then (their connection to the rendezvous store "
           "closed)";
  }

  int rank;
  int worldSize;
  milliseconds timeout;
  // Destroyed in reverse: the algorithms' buffers before the connections
  // they are registered with, the connections before the store.
  std::unique_ptr<TcpStore> store;
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::vector<float> scratch; // reduce-scatter's allreduce buffer
  uint32_t nextTag = 0;
  std::string failure;
};

} // namespace

std::unique_ptr<Communicator>
createGlooCommunicator(const RankInfo &info, milliseconds timeout,
                       std::string &error,
                       const std::string &networkInterface) {
  if (info.worldSize < 1 || info.rank < 0 || info.rank >= info.worldSize) {
    error = "invalid rank " + std::to_string(info.rank) + " of world size " +
            std::to_string(info.worldSize);
    return nullptr;
  }
  if (timeout.count() <= 0) {
    error = "the communicator timeout must be positive";
    return nullptr;
  }
  struct sigaction pipeAction = {};
  if (sigaction(SIGPIPE, nullptr, &pipeAction) == 0 &&
      pipeAction.sa_handler == SIG_DFL)
    std::signal(SIGPIPE, SIG_IGN);

  std::string where = "rank " + std::to_string(info.rank) + " of " +
                      std::to_string(info.worldSize) + ": ";
  std::unique_ptr<TcpStore> store;
  std::string host = "127.0.0.1";
  if (info.worldSize > 1) {
    if (info.masterPort < 1 || info.masterPort > 65535) {
      error =
          where + "invalid rendezvous port " + std::to_string(info.masterPort);
      return nullptr;
    }
    store = TcpStore::connect(info.masterAddr, info.masterPort, info.rank == 0,
                              timeout, error);
    if (!store) {
      error = where + error;
      return nullptr;
    }
    // How the others learn that this rank died (GlooCommunicator::run).
    error = store->setOnDisconnect(goneKey(info.rank), "");
    if (error.empty())
      error = store->setOnDisconnect(kGoneKey, std::to_string(info.rank));
    if (error.empty())
      host = meetOtherRanks(*store, info, timeout, error);
    if (!error.empty()) {
      error = where + error;
      return nullptr;
    }
  }

  try {
    gloo::transport::tcp::attr attr;
    if (!networkInterface.empty())
      attr.iface = networkInterface;
    else
      attr.hostname = host;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context =
        std::make_shared<gloo::rendezvous::Context>(info.rank, info.worldSize);
    context->setTimeout(timeout);
    if (store) {
      StoreForGloo glooStore(*store, timeout);
      context->connectFullMesh(glooStore, device);
    } else {
      gloo::rendezvous::HashStore localStore;
      context->connectFullMesh(localStore, device);
    }
    auto communicator = std::make_unique<GlooCommunicator>(
        info, timeout, std::move(store), std::move(context));
    // Rank 0's store must outlive every rank's reads from it.
    if (std::string err = communicator->barrier(); !err.empty()) {
      error = where + "after connecting: " + err;
      return nullptr;
    }
    return communicator;
  } catch (const std::exception &e) {
    error = where + "connecting the ranks (Gloo on " +
            (networkInterface.empty() ? host : networkInterface) +
            ") failed: " + e.what();
  } catch (...) {
    error = where + "connecting the ranks failed: unknown exception";
  }
  return nullptr;
}

} // namespace var::comm
