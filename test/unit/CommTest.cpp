// Communication between ranks: Gloo collectives between real processes on
// 127.0.0.1 (1 to 4 ranks), dead and hung peers that must turn into timely
// errors, and the local launcher. Rank detection is RendezvousTest.cpp.
#include "runtime/comm/GlooCommunicator.h"
#include "runtime/comm/Launcher.h"
#include "runtime/comm/Rendezvous.h"
#include "runtime/comm/TcpStore.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace var::comm;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

long long msSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

//===----------------------------------------------------------------------===//
// Ranks as forked processes
//===----------------------------------------------------------------------===//

/// A port nobody listens on right now.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr *>(&address), size) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

RankInfo localRank(int rank, int worldSize, int port) {
  RankInfo info;
  info.rank = rank;
  info.worldSize = worldSize;
  info.localRank = rank;
  info.masterAddr = "127.0.0.1";
  info.masterPort = port;
  info.source = "test";
  return info;
}

/// Runs `body(rank)` in one forked process per rank and returns what each
/// returned ("" for success, by convention). A process that has not
/// reported within `limit` is killed and reports "no report".
std::vector<std::string> runRanks(int count,
                                  const std::function<std::string(int)> &body,
                                  milliseconds limit = milliseconds(20000)) {
  std::vector<pid_t> pids;
  std::vector<int> pipes;
  for (int rank = 0; rank < count; ++rank) {
    int fds[2];
    if (pipe(fds) != 0)
      return {};
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(fds[0]);
      std::string report = body(rank);
      ssize_t written = ::write(fds[1], report.data(), report.size());
      _exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
    }
    ::close(fds[1]);
    pids.push_back(pid);
    pipes.push_back(fds[0]);
  }
  Clock::time_point deadline = Clock::now() + limit;
  std::vector<std::string> reports(count);
  for (int rank = 0; rank < count; ++rank) {
    std::string &report = reports[rank];
    for (;;) {
      pollfd p{pipes[rank], POLLIN, 0};
      long long left = std::max(0LL, -msSince(deadline));
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
        report = "no report";
        break;
      }
      char buffer[4096];
      ssize_t n = ::read(pipes[rank], buffer, sizeof(buffer));
      if (n <= 0)
        break;
      report.append(buffer, static_cast<size_t>(n));
    }
    ::close(pipes[rank]);
  }
  for (pid_t pid : pids) {
    ::kill(pid, SIGKILL); // Harmless for those that have exited.
    waitpid(pid, nullptr, 0);
  }
  return reports;
}

/// Collects the failed checks of one rank.
struct Checker {
  std::string failures;
  void expect(bool ok, const std::string &what) {
    if (!ok)
      failures += what + "\n";
  }
  void near(float actual, float expected, const std::string &what) {
    expect(std::fabs(actual - expected) <= 1e-5f * std::fabs(expected) + 1e-6f,
           what + ": " + std::to_string(actual) +
               " != " + std::to_string(expected));
  }
};

/// Every collective on data whose result each rank can compute alone.
std::string runCollectives(Communicator &comm) {
  const int rank = comm.getRank(), n = comm.getWorldSize();
  Checker check;
  auto ok = [&](const std::string &error, const char *what) {
    check.expect(error.empty(), std::string(what) + ": " + error);
  };

  // Sum and mean; 300007 floats take several of Gloo's 1 MiB segments.
  for (int64_t count : {int64_t(1), int64_t(1000), int64_t(300007)}) {
    std::vector<float> data(count), mean(count);
    for (int64_t i = 0; i < count; ++i)
      data[i] = mean[i] = static_cast<float>((rank + 1) * (i % 97 + 1));
    ok(comm.allReduce(data.data(), count, false), "allReduce sum");
    ok(comm.allReduce(mean.data(), count, true), "allReduce mean");
    for (int64_t i = 0; i < count; ++i) {
      float sum = static_cast<float>((i % 97 + 1) * n * (n + 1) / 2);
      check.near(data[i], sum, "allReduce sum[" + std::to_string(i) + "]");
      check.near(mean[i], sum / n, "allReduce mean[" + std::to_string(i) + "]");
    }
  }

  // Twice per size.
  for (int64_t shard : {int64_t(5), int64_t(1), int64_t(5), int64_t(4099)}) {
    for (bool mean : {false, true}) {
      std::vector<float> input(shard * n), output(shard, -1.0f);
      for (int64_t j = 0; j < shard * n; ++j)
        input[j] = static_cast<float>(rank * 1000 + j % 1000);
      ok(comm.reduceScatter(input.data(), output.data(), shard, mean),
         "reduceScatter");
      for (int64_t k = 0; k < shard; ++k) {
        int64_t j = rank * shard + k;
        float sum = static_cast<float>(1000 * n * (n - 1) / 2 + n * (j % 1000));
        check.near(output[k], mean ? sum / n : sum,
                   "reduceScatter shard " + std::to_string(shard) + "[" +
                       std::to_string(k) + "]");
      }
    }
  }

  // Back to back, new data each time, large enough that sends are still
  // in flight when a rank moves on: what a rank still sends must not be
  // overwritten (Gloo's halving-doubling reduce-scatter did, under load).
  for (int round = 0; round < 8; ++round) {
    const int64_t shard = 100003;
    std::vector<float> input(shard * n), output(shard);
    for (int64_t j = 0; j < shard * n; ++j)
      input[j] = static_cast<float>((rank + round) % 7 + j % 13);
    ok(comm.reduceScatter(input.data(), output.data(), shard, false),
       "reduceScatter");
    for (int64_t k = 0; k < shard; ++k) {
      int64_t j = rank * shard + k;
      float sum = 0;
      for (int q = 0; q < n; ++q)
        sum += static_cast<float>((q + round) % 7 + j % 13);
      check.near(output[k], sum,
                 "reduceScatter round " + std::to_string(round) + "[" +
                     std::to_string(k) + "]");
    }
  }

  for (bool inPlace : {false, true}) {
    const int64_t shard = 3;
    std::vector<float> input(shard), output(shard * n, -1.0f);
    float *slot = output.data() + rank * shard;
    for (int64_t k = 0; k < shard; ++k)
      (inPlace ? slot : input.data())[k] = static_cast<float>(rank * 100 + k);
    ok(comm.allGather(inPlace ? slot : input.data(), output.data(), shard),
       "allGather");
    for (int q = 0; q < n; ++q)
      for (int64_t k = 0; k < shard; ++k)
        check.near(output[q * shard + k], static_cast<float>(q * 100 + k),
                   "allGather[" + std::to_string(q * shard + k) + "]");
  }

  for (int root : {0, n - 1}) {
    char message[32] = {};
    if (rank == root)
      std::snprintf(message, sizeof(message), "hello from rank %d", root);
    ok(comm.broadcast(message, sizeof(message), root), "broadcast");
    check.expect(std::string(message) ==
                     "hello from rank " + std::to_string(root),
                 std::string("broadcast got '") + message + "'");
  }
  check.expect(!comm.broadcast(nullptr, 4, n).empty(),
               "broadcast from a root outside the world must fail");

  ok(comm.barrier(), "barrier");
  return check.failures;
}

class CollectivesTest : public ::testing::TestWithParam<int> {};

TEST_P(CollectivesTest, MatchAcrossRanks) {
  const int worldSize = GetParam();
  const int port = freePort();
  std::vector<std::string> reports = runRanks(worldSize, [&](int rank) {
    std::string error;
    auto comm = createGlooCommunicator(localRank(rank, worldSize, port),
                                       milliseconds(10000), error);
    if (!comm)
      return "create: " + error;
    if (comm->getRank() != rank || comm->getWorldSize() != worldSize)
      return std::string("wrong rank or world size");
    return runCollectives(*comm);
  });
  ASSERT_EQ(reports.size(), static_cast<size_t>(worldSize));
  for (int rank = 0; rank < worldSize; ++rank)
    EXPECT_EQ(reports[rank], "") << "rank " << rank;
}

// 1 to 4 ranks (3: a ring that is not a power of two).
INSTANTIATE_TEST_SUITE_P(Comm, CollectivesTest, ::testing::Values(1, 2, 3, 4));

/// Runs collective `op` on 1000 floats per rank; "<elapsed ms> <error>".
std::string timedCall(Communicator &comm, const std::string &op) {
  const int64_t count = 1000;
  std::vector<float> input(count * comm.getWorldSize(), 1.0f),
      output(count * comm.getWorldSize());
  Clock::time_point start = Clock::now();
  std::string error;
  if (op == "allReduce")
    error = comm.allReduce(input.data(), count, false);
  else if (op == "reduceScatter")
    error = comm.reduceScatter(input.data(), output.data(), count, false);
  else if (op == "allGather")
    error = comm.allGather(input.data(), output.data(), count);
  else if (op == "broadcast")
    error = comm.broadcast(input.data(), count * sizeof(float), 0);
  else
    error = comm.barrier();
  return std::to_string(msSince(start)) + " " + error;
}

struct TimedCall {
  long long elapsedMs = -1;
  std::string error;
};
TimedCall parseTimedCall(const std::string &report) {
  TimedCall call;
  std::istringstream in(report);
  in >> call.elapsedMs;
  in.get();
  std::getline(in, call.error);
  return call;
}

/// One rank leaves (dead: exits after connecting; hung: sleeps through
/// the collective); the others run the collective of the test parameter.
class FailingPeerTest : public ::testing::TestWithParam<const char *> {
protected:
  static constexpr int kWorldSize = 4, kCulprit = 2;

  /// The reports of the ranks other than the culprit.
  std::vector<TimedCall> runWithCulprit(bool dies, milliseconds timeout) {
    const int port = freePort();
    const std::string op = GetParam();
    std::vector<std::string> reports = runRanks(kWorldSize, [&](int rank) {
      std::string error;
      auto comm = createGlooCommunicator(localRank(rank, kWorldSize, port),
                                         timeout, error);
      if (!comm)
        return "create: " + error;
      if (rank == kCulprit && dies)
        _exit(0); // Without a word to the others.
      if (rank == kCulprit) {
        std::this_thread::sleep_for(timeout + milliseconds(500));
        return std::string("slept");
      }
      std::string report = timedCall(*comm, op);
      // A failed communicator stays failed.
      if (report.find(' ') + 1 < report.size() &&
          comm->barrier().find("the communicator failed earlier") ==
              std::string::npos)
        report += " [a second call did not fail]";
      return report;
    });
    std::vector<TimedCall> calls;
    for (int rank = 0; rank < kWorldSize; ++rank) {
      if (rank == kCulprit)
        continue;
      calls.push_back(parseTimedCall(reports[rank]));
      std::printf("%s: rank %d: %lld ms: %s\n", op.c_str(), rank,
                  calls.back().elapsedMs, calls.back().error.c_str());
      EXPECT_GE(calls.back().elapsedMs, 0) << reports[rank];
      // Every rank returns within the timeout, errors or not.
      EXPECT_LT(calls.back().elapsedMs, timeout.count() + 500) << reports[rank];
      EXPECT_EQ(calls.back().error.find("[a second call did not fail]"),
                std::string::npos);
    }
    return calls;
  }
};

/// The ranks in "...; rank(s) 1, 2 had exited by then (...)".
std::vector<int> exitedRanks(const std::string &error) {
  size_t begin = error.find("; rank(s) ");
  size_t end = error.find(" had exited by then (their connection to the "
                          "rendezvous store closed)");
  std::vector<int> ranks;
  if (begin == std::string::npos || end == std::string::npos)
    return ranks;
  std::istringstream list(error.substr(begin + 10, end - begin - 10));
  for (std::string item; std::getline(list, item, ',');)
    ranks.push_back(std::stoi(item));
  return ranks;
}

TEST_P(FailingPeerTest, DeadPeerIsAnErrorNamingIt) {
  std::vector<TimedCall> calls = runWithCulprit(true, milliseconds(3000));
  // Not every rank needs the dead one (a broadcast from rank 0 reaches rank
  // 3 through rank 1), but those that do fail, and say who died.
  int failed = 0;
  for (const TimedCall &call : calls) {
    if (call.error.empty())
      continue;
    ++failed;
    // Ranks that failed before this one may have exited too.
    std::vector<int> exited = exitedRanks(call.error);
    EXPECT_NE(std::find(exited.begin(), exited.end(), kCulprit), exited.end())
        << call.error;
  }
  EXPECT_GE(failed, 1);
  if (std::string(GetParam()) == "allReduce") {
    EXPECT_EQ(failed, kWorldSize - 1) << "the ring needs every rank";
  }
}

TEST_P(FailingPeerTest, HungPeerTimesOut) {
  const milliseconds timeout(1000);
  std::vector<TimedCall> calls = runWithCulprit(false, timeout);
  int failed = 0;
  for (const TimedCall &call : calls) {
    if (call.error.empty())
      continue;
    ++failed;
    EXPECT_NE(call.error.find(GetParam()), std::string::npos) << call.error;
    // Nobody gives up before the timeout (or a peer's, which closes its
    // connections).
    EXPECT_GE(call.elapsedMs, timeout.count() / 2) << call.error;
  }
  EXPECT_GE(failed, 1);
  if (std::string(GetParam()) == "allReduce") {
    EXPECT_EQ(failed, kWorldSize - 1);
  }
}

TEST(Comm, DeadRankZeroIsNamedAsTheStoreGoesWithIt) {
  const int worldSize = 3, port = freePort();
  std::vector<std::string> reports = runRanks(worldSize, [&](int rank) {
    std::string error;
    auto comm = createGlooCommunicator(localRank(rank, worldSize, port),
                                       milliseconds(3000), error);
    if (!comm)
      return "create: " + error;
    if (rank == 0)
      _exit(0);
    return timedCall(*comm, "allReduce");
  });
  for (int rank = 1; rank < worldSize; ++rank) {
    TimedCall call = parseTimedCall(reports[rank]);
    std::printf("rank %d: %lld ms: %s\n", rank, call.elapsedMs,
                call.error.c_str());
    EXPECT_LT(call.elapsedMs, 3000);
    EXPECT_NE(call.error.find("; rank 0, which serves the rendezvous store, "
                              "is unreachable"),
              std::string::npos)
        << call.error;
  }
}

INSTANTIATE_TEST_SUITE_P(Comm, FailingPeerTest,
                         ::testing::Values("allReduce", "reduceScatter",
                                           "allGather", "broadcast",
                                           "barrier"));

TEST(Comm, MissingRankFailsTheRendezvousNamingIt) {
  const int port = freePort();
  const milliseconds timeout(1000);
  // Ranks 0 and 1 of 3 start; rank 2 never does.
  std::vector<std::string> reports = runRanks(2, [&](int rank) {
    std::string error;
    Clock::time_point start = Clock::now();
    auto comm =
        createGlooCommunicator(localRank(rank, 3, port), timeout, error);
    return std::to_string(msSince(start)) + " " + (comm ? "created" : error);
  });
  for (int rank = 0; rank < 2; ++rank) {
    TimedCall call = parseTimedCall(reports[rank]);
    std::printf("rank %d: %lld ms: %s\n", rank, call.elapsedMs,
                call.error.c_str());
    EXPECT_LT(call.elapsedMs, timeout.count() + 1000);
    EXPECT_NE(call.error.find("rank(s) 2 of 3 did not join"), std::string::npos)
        << call.error;
  }
}

TEST(Comm, DisagreeingWorldSizesFailTheRendezvous) {
  const int port = freePort();
  std::vector<std::string> reports = runRanks(2, [&](int rank) {
    std::string error;
    auto comm = createGlooCommunicator(localRank(rank, 2 + rank, port),
                                       milliseconds(2000), error);
    return comm ? "created" : error;
  });
  for (const std::string &report : reports)
    EXPECT_NE(report.find("rank 1 was started with world size 3, rank 0 with "
                          "2"),
              std::string::npos)
        << report;
}

TEST(Comm, UnreachableMasterFailsWithinTheTimeout) {
  const int port = freePort();
  std::string error;
  Clock::time_point start = Clock::now();
  auto comm =
      createGlooCommunicator(localRank(1, 2, port), milliseconds(500), error);
  long long elapsed = msSince(start);
  EXPECT_EQ(comm, nullptr);
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 1500);
  EXPECT_EQ(error, "rank 1 of 2: cannot reach the rendezvous store (rank 0) "
                   "at 127.0.0.1:" +
                       std::to_string(port) +
                       " within 500 ms: connect: Connection refused");
}

TEST(TcpStore, SetGetWaitAndDisconnectKeys) {
  const int port = freePort();
  std::string error;
  auto server = TcpStore::connect("127.0.0.1", port, /*serve=*/true,
                                  milliseconds(2000), error);
  ASSERT_NE(server, nullptr) << error;
  // "localhost" may resolve to ::1 first, where nobody listens.
  auto client = TcpStore::connect("localhost", port, /*serve=*/false,
                                  milliseconds(2000), error);
  ASSERT_NE(client, nullptr) << error;
  EXPECT_EQ(client->getServerAddress(), "127.0.0.1");
  EXPECT_EQ(client->getLocalAddress(), "127.0.0.1");

  const std::string binary("x\0y", 3);
  EXPECT_EQ(client->set("a", binary), "");
  std::string value;
  EXPECT_EQ(server->get("a", value, milliseconds(100)), "");
  EXPECT_EQ(value, binary);

  // A get waits for a key that another client sets later.
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(100));
    server->set("late", "v");
  });
  EXPECT_EQ(client->get("late", value, milliseconds(2000)), "");
  EXPECT_EQ(value, "v");
  setter.join();

  std::vector<std::string> missing;
  Clock::time_point start = Clock::now();
  EXPECT_EQ(client->wait({"a", "b", "c"}, milliseconds(200), &missing),
            "timed out after 200 ms waiting for rendezvous keys 'b', 'c' at "
            "localhost:" +
                std::to_string(port));
  EXPECT_GE(msSince(start), 190);
  EXPECT_LT(msSince(start), 1000);
  EXPECT_EQ(missing, std::vector<std::string>({"b", "c"}));

  // The server sets a client's disconnect keys when it goes away.
  EXPECT_EQ(client->setOnDisconnect("gone", "client"), "");
  EXPECT_NE(server->wait({"gone"}, milliseconds(0)), "");
  client.reset();
  EXPECT_EQ(server->get("gone", value, milliseconds(1000)), "");
  EXPECT_EQ(value, "client");

  auto second = TcpStore::connect("127.0.0.1", port, /*serve=*/true,
                                  milliseconds(100), error);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(error.find("cannot listen on port " + std::to_string(port) +
                       ": Address already in use"),
            std::string::npos)
      << error;
}

TEST(Comm, InvalidRankIsRejected) {
  std::string error;
  EXPECT_EQ(
      createGlooCommunicator(localRank(2, 2, 1), milliseconds(100), error),
      nullptr);
  EXPECT_EQ(error, "invalid rank 2 of world size 2");
}

//===----------------------------------------------------------------------===//
// The launcher
//===----------------------------------------------------------------------===//

struct Launch {
  int code = -1;
  std::string stderrText;
  long long elapsedMs = 0;
};

/// Runs launchLocalRanks in a child process (it blocks signals and may be
/// sent SIGTERM) with stderr captured; `afterStart` runs in the test with
/// the launcher's pid.
Launch launch(int nproc, const std::vector<std::string> &argv,
              milliseconds grace,
              const std::function<void(pid_t)> &afterStart = nullptr) {
  char path[] = "/tmp/var-commtest-XXXXXX";
  int fd = mkstemp(path);
  Launch result;
  Clock::time_point start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, STDERR_FILENO);
    _exit(launchLocalRanks(nproc, argv, 0, grace));
  }
  if (afterStart)
    afterStart(pid);
  int status = 0;
  waitpid(pid, &status, 0);
  result.elapsedMs = msSince(start);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  result.stderrText = text.str();
  ::close(fd);
  ::unlink(path);
  return result;
}

/// A directory the ranks write their pids into.
struct PidDir {
  std::string path;
  PidDir() {
    char name[] = "/tmp/var-commtest-pids-XXXXXX";
    path = mkdtemp(name);
  }
  ~PidDir() { std::system(("rm -rf " + path).c_str()); }
  /// The pids written so far, by rank.
  std::vector<pid_t> pids(int nproc) const {
    std::vector<pid_t> result;
    for (int rank = 0; rank < nproc; ++rank) {
      std::ifstream in(path + "/" + std::to_string(rank));
      pid_t pid = 0;
      if (in >> pid)
        result.push_back(pid);
    }
    return result;
  }
};

void expectAllGone(const std::vector<pid_t> &pids) {
  for (pid_t pid : pids)
    EXPECT_TRUE(::kill(pid, 0) == -1 && errno == ESRCH)
        << "rank process " << pid << " survived";
}

TEST(Launcher, RanksThatSucceedGiveZero) {
  // `sh` is looked up in PATH; each rank checks its variables.
  Launch result = launch(3,
                         {"sh", "-c",
                          "test \"$VARRUN_WORLD_SIZE\" = 3 && "
                          "test \"$VARRUN_LOCAL_RANK\" = \"$VARRUN_RANK\" && "
                          "test \"$VARRUN_MASTER_ADDR\" = 127.0.0.1 && "
                          "test \"$VARRUN_MASTER_PORT\" -gt 0"},
                         milliseconds(1000));
  EXPECT_EQ(result.code, 0) << result.stderrText;
  EXPECT_EQ(result.stderrText, "");
}

TEST(Launcher, FailingRankStopsTheOthers) {
  PidDir dir;
  // Rank 1 fails once every rank has written its pid; the others sleep.
  std::string script = "echo $$ > " + dir.path +
                       "/$VARRUN_RANK; "
                       "if [ $VARRUN_RANK = 1 ]; then sleep 0.3; exit 3; fi; "
                       "exec sleep 30";
  Launch result = launch(3, {"/bin/sh", "-c", script}, milliseconds(5000));
  std::printf("launcher returned %d after %lld ms:\n%s", result.code,
              result.elapsedMs, result.stderrText.c_str());
  EXPECT_EQ(result.code, 3);
  EXPECT_NE(result.stderrText.find("varrun: rank 1 exited with code 3"),
            std::string::npos);
  // SIGTERM ended them, long before the 5 s grace or their 30 s sleep.
  EXPECT_LT(result.elapsedMs, 2000);
  std::vector<pid_t> pids = dir.pids(3);
  EXPECT_EQ(pids.size(), 3u);
  expectAllGone(pids);
}

TEST(Launcher, RanksIgnoringSigtermAreKilledAfterTheGrace) {
  PidDir dir;
  std::string script = "echo $$ > " + dir.path +
                       "/$VARRUN_RANK; "
                       "if [ $VARRUN_RANK = 0 ]; then sleep 0.3; kill -9 $$; "
                       "fi; trap '' TERM; exec sleep 30";
  Launch result = launch(3, {"/bin/sh", "-c", script}, milliseconds(500));
  std::printf("launcher returned %d after %lld ms:\n%s", result.code,
              result.elapsedMs, result.stderrText.c_str());
  EXPECT_EQ(result.code, 128 + SIGKILL);
  EXPECT_NE(result.stderrText.find("varrun: rank 0 was killed by signal 9"),
            std::string::npos);
  EXPECT_NE(
      result.stderrText.find(
          "killing 2 rank(s) still alive 500 ms after being asked to stop"),
      std::string::npos);
  EXPECT_GE(result.elapsedMs, 300 + 500);
  EXPECT_LT(result.elapsedMs, 3000);
  expectAllGone(dir.pids(3));
}

TEST(Launcher, ForwardsSigterm) {
  PidDir dir;
  std::string script = "echo $$ > " + dir.path + "/$VARRUN_RANK; exec sleep 30";
  Launch result =
      launch(2, {"/bin/sh", "-c", script}, milliseconds(5000), [&](pid_t pid) {
        for (int i = 0; i < 100 && dir.pids(2).size() < 2; ++i)
          std::this_thread::sleep_for(milliseconds(20));
        ::kill(pid, SIGTERM);
      });
  EXPECT_EQ(result.code, 128 + SIGTERM) << result.stderrText;
  EXPECT_LT(result.elapsedMs, 3000);
  expectAllGone(dir.pids(2));
}

TEST(Launcher, CommandThatCannotRun) {
  Launch result =
      launch(2, {"/nonexistent/varrun-test-binary"}, milliseconds(500));
  EXPECT_EQ(result.code, 127);
  EXPECT_NE(result.stderrText.find("varrun: cannot execute "
                                   "/nonexistent/varrun-test-binary: No such "
                                   "file or directory"),
            std::string::npos)
      << result.stderrText;
}

// The three pieces together: this binary, launched twice, detects its rank
// from the launcher's variables and runs every collective.
TEST(Launcher, LaunchedRanksRunCollectives) {
  Launch result =
      launch(2, {"/proc/self/exe", "--gtest_filter=LaunchedRank.Collectives"},
             milliseconds(1000));
  EXPECT_EQ(result.code, 0) << result.stderrText;
}

TEST(LaunchedRank, Collectives) {
  Environment env = readEnvironment();
  if (!env.count("VARRUN_RANK"))
    GTEST_SKIP() << "runs only under launchLocalRanks";
  RankInfo info;
  std::string error;
  ASSERT_TRUE(detectRankInfo(env, info, error)) << error;
  EXPECT_EQ(info.source, "varrun");
  auto comm = createGlooCommunicator(info, milliseconds(10000), error);
  ASSERT_NE(comm, nullptr) << error;
  EXPECT_EQ(runCollectives(*comm), "");
}

} // namespace
