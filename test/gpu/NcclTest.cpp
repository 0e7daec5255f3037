// NcclCommunicator on real GPUs: every collective in f32 and bf16, odd sizes
// included, against values each rank computes on the host; a world of one
// rank in this process, one rank per visible GPU through varrun's launcher
// (this binary re-run with --nccl-rank=CASE), and a peer that dies, which
// must turn into a timely error naming the collective. Without a GPU every
// case skips; the multi-rank cases skip with fewer than two GPUs.
#include "runtime/comm/GlooCommunicator.h"
#include "runtime/comm/Launcher.h"
#include "runtime/comm/Rendezvous.h"
#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/NcclCommunicator.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace var;
using comm::ElementType;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

long long msSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

/// Collects one rank's failed checks, the first few of each case in full.
struct Checker {
  std::string failures;
  int reported = 0;
  void expect(bool ok, const std::string &what) {
    if (!ok && ++reported <= 40)
      failures += what + "\n";
  }
};

/// Host values as the bytes of `type` and back.
std::vector<uint8_t> encode(const std::vector<float> &values,
                            ElementType type) {
  if (type == ElementType::F32) {
    std::vector<uint8_t> bytes(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }
  std::vector<uint8_t> bytes(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits = cpu::floatToBf16(values[i]);
    std::memcpy(bytes.data() + 2 * i, &bits, 2);
  }
  return bytes;
}
std::vector<float> decode(const std::vector<uint8_t> &bytes, ElementType type) {
  const size_t width = type == ElementType::F32 ? 4 : 2;
  std::vector<float> values(bytes.size() / width);
  for (size_t i = 0; i < values.size(); ++i) {
    if (type == ElementType::F32) {
      std::memcpy(&values[i], bytes.data() + 4 * i, 4);
    } else {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + 2 * i, 2);
      values[i] = cpu::bf16ToFloat(bits);
    }
  }
  return values;
}

/// Element i of rank r's input: small integers, so that every input is
/// exact in bf16; sums of many ranks may round, hence the tolerance.
float inputValue(int rank, int64_t i) {
  return static_cast<float>((rank + 1) * (i % 13 + 1));
}

bool agrees(float actual, float expected, ElementType type) {
  const float tolerance = type == ElementType::F32 ? 1e-6f : 1e-2f;
  return std::fabs(actual - expected) <= tolerance * (std::fabs(expected) + 1);
}

/// A rank's stream and the device buffers of its current case.
class Fixture {
public:
  Fixture(cuda::NcclCommunicator &comm, Checker &check)
      : comm(comm), check(check) {
    ok(cudaStreamCreate(&stream) == cudaSuccess, "cudaStreamCreate");
  }
  ~Fixture() {
    release();
    cudaStreamDestroy(stream);
  }

  /// Where a case's values go and its result comes from.
  struct Layout {
    int64_t inputCount = 0, outputCount = 0;
    int64_t outputSlot = -1; // >= 0: values go into the output from there
    bool resultInInput = false;
  };

  /// Fresh buffers per `layout` (the output filled with NaN-like bytes),
  /// `values` copied in, `collective(input, output)` enqueued, then the
  /// result read back after comm.synchronize(). Empty on failure.
  std::vector<float>
  run(const std::vector<float> &values, ElementType type, Layout layout,
      const std::string &what,
      const std::function<std::string(void *, void *)> &collective) {
    const size_t width = type == ElementType::F32 ? 4 : 2;
    const std::vector<uint8_t> bytes = encode(values, type);
    release();
    const size_t inputBytes = layout.inputCount * width,
                 outputBytes = layout.outputCount * width;
    if (!ok(cudaMalloc(&input, std::max<size_t>(inputBytes, 1)) ==
                    cudaSuccess &&
                cudaMalloc(&output, std::max<size_t>(outputBytes, 1)) ==
                    cudaSuccess &&
                cudaMemsetAsync(output, 0xff, outputBytes, stream) ==
                    cudaSuccess,
            what + ": device buffers"))
      return {};
    char *target = layout.outputSlot >= 0
                       ? static_cast<char *>(output) + layout.outputSlot * width
                       : static_cast<char *>(input);
    if (!ok(cudaMemcpyAsync(target, bytes.data(), bytes.size(),
                            cudaMemcpyHostToDevice, stream) == cudaSuccess,
            what + ": copy in"))
      return {};
    std::string error = collective(input, output);
    if (!ok(error.empty(), what + ": " + error))
      return {};
    std::vector<uint8_t> result(layout.resultInInput ? inputBytes
                                                     : outputBytes);
    if (!ok(cudaMemcpyAsync(
                result.data(), layout.resultInInput ? input : output,
                result.size(), cudaMemcpyDeviceToHost, stream) == cudaSuccess,
            what + ": copy back"))
      return {};
    error = comm.synchronize(stream);
    if (!ok(error.empty(), what + ": synchronize: " + error))
      return {};
    return decode(result, type);
  }

  /// Compares `actual` with `expected(i)` element by element.
  template <typename Expected>
  void compare(const std::vector<float> &actual, int64_t count,
               ElementType type, const std::string &what, Expected expected) {
    if (actual.size() != static_cast<size_t>(count))
      return; // run() reported why.
    int wrong = 0;
    for (int64_t i = 0; i < count; ++i) {
      float want = expected(i);
      if (!agrees(actual[i], want, type) && ++wrong <= 3)
        check.expect(false, what + ": [" + std::to_string(i) +
                                "] = " + std::to_string(actual[i]) +
                                ", expected " + std::to_string(want));
    }
    if (wrong > 3)
      check.expect(false, what + ": " + std::to_string(wrong) +
                              " elements wrong in all");
  }

  cuda::NcclCommunicator &comm;
  Checker &check;
  cudaStream_t stream = nullptr;

private:
  bool ok(bool condition, const std::string &what) {
    check.expect(condition, what);
    return condition;
  }
  void release() {
    cudaFree(input);
    cudaFree(output);
    input = output = nullptr;
  }
  void *input = nullptr, *output = nullptr;
};

std::string caseName(const char *op, ElementType type, int64_t count,
                     const char *variant = "") {
  return std::string(op) + variant +
         (type == ElementType::F32 ? " f32 " : " bf16 ") +
         std::to_string(count);
}

/// Every collective, both element types, odd sizes; "" when all agree.
std::string runCollectives(cuda::NcclCommunicator &comm) {
  Checker check;
  Fixture fixture(comm, check);
  const int rank = comm.getRank(), n = comm.getWorldSize();
  // The sum over ranks of inputValue(r, i).
  auto sumOver = [&](int64_t i) {
    return static_cast<float>((i % 13 + 1) * n * (n + 1) / 2);
  };
  for (ElementType type : {ElementType::F32, ElementType::BF16}) {
    // 262147 = 32 * 8192 + 3: NCCL's one-rank mean kernel left the last 3
    // unwritten (see NcclCommunicator.cpp).
    for (int64_t count :
         {int64_t(1), int64_t(7), int64_t(262147), int64_t(1000003)}) {
      for (bool mean : {false, true}) {
        std::string what =
            caseName("allReduce", type, count, mean ? " mean" : " sum");
        std::vector<float> values(count);
        for (int64_t i = 0; i < count; ++i)
          values[i] = inputValue(rank, i);
        std::vector<float> result = fixture.run(
            values, type, {count, 0, -1, true}, what, [&](void *input, void *) {
              return comm.allReduce(input, count, type, mean, fixture.stream);
            });
        fixture.compare(result, count, type, what, [&](int64_t i) {
          return mean ? sumOver(i) / n : sumOver(i);
        });
      }
    }
    for (int64_t shard :
         {int64_t(1), int64_t(5), int64_t(4099), int64_t(262147)}) {
      for (bool mean : {false, true}) {
        std::string what =
            caseName("reduceScatter", type, shard, mean ? " mean" : " sum");
        std::vector<float> values(shard * n);
        for (int64_t i = 0; i < shard * n; ++i)
          values[i] = inputValue(rank, i);
        std::vector<float> result =
            fixture.run(values, type, {shard * n, shard, -1, false}, what,
                        [&](void *input, void *output) {
                          return comm.reduceScatter(input, output, shard, type,
                                                    mean, fixture.stream);
                        });
        fixture.compare(result, shard, type, what, [&](int64_t k) {
          float sum = sumOver(rank * shard + k);
          return mean ? sum / n : sum;
        });
      }
      for (bool inPlace : {false, true}) {
        std::string what =
            caseName("allGather", type, shard, inPlace ? " in place" : "");
        std::vector<float> values(shard);
        for (int64_t k = 0; k < shard; ++k)
          values[k] = inputValue(rank, k) + static_cast<float>(k % 3);
        const size_t width = type == ElementType::F32 ? 4 : 2;
        std::vector<float> result = fixture.run(
            values, type,
            {shard, shard * n, inPlace ? rank * shard : -1, false}, what,
            [&](void *input, void *output) {
              const void *from =
                  inPlace ? static_cast<char *>(output) + rank * shard * width
                          : input;
              return comm.allGather(from, output, shard, type, fixture.stream);
            });
        fixture.compare(result, shard * n, type, what, [&](int64_t j) {
          int64_t k = j % shard;
          return inputValue(static_cast<int>(j / shard), k) +
                 static_cast<float>(k % 3);
        });
      }
    }
  }
  return check.failures;
}

//===----------------------------------------------------------------------===//
// Ranks: this binary run by launchLocalRanks with --nccl-rank=CASE
//===----------------------------------------------------------------------===//

constexpr const char *kRankFlag = "--nccl-rank=";

/// One rank of a launched job; the exit code is the verdict and stderr
/// says what failed.
int runRank(const std::string &which) {
  comm::RankInfo info;
  std::string error;
  if (!comm::detectRankInfo(comm::readEnvironment(), info, error)) {
    std::fprintf(stderr, "rank: %s\n", error.c_str());
    return 1;
  }
  const bool deadPeer = which == "dead-peer";
  // Long enough for NCCL's initialization, short for a test.
  const milliseconds timeout(deadPeer ? 10000 : 60000);
  auto bootstrap = comm::createGlooCommunicator(info, timeout, error);
  if (!bootstrap) {
    std::fprintf(stderr, "rank %d: %s\n", info.rank, error.c_str());
    return 1;
  }
  const int device = info.localRank % cuda::countDevices();
  auto nccl = cuda::createNcclCommunicator(*bootstrap, device, error, timeout);
  if (!nccl) {
    std::fprintf(stderr, "rank %d: %s\n", info.rank, error.c_str());
    return 1;
  }
  std::string failures;
  if (which == "collectives") {
    failures = runCollectives(*nccl);
  } else if (deadPeer) {
    // Rank 1 leaves without a word; rank 0's next collective must fail
    // within the timeout and say which collective it was.
    // The barrier first: rank 0 must have finished its initialization.
    if (std::string e = bootstrap->barrier(); !e.empty()) {
      std::fprintf(stderr, "rank %d: barrier: %s\n", info.rank, e.c_str());
      return 1;
    }
    if (info.rank == 1)
      _exit(0);
    Checker check;
    const int64_t count = 1 << 20;
    void *data = nullptr;
    cudaStream_t stream = nullptr;
    check.expect(cudaMalloc(&data, count * 4) == cudaSuccess &&
                     cudaStreamCreate(&stream) == cudaSuccess,
                 "device buffer");
    Clock::time_point start = Clock::now();
    error = nccl->allReduce(data, count, ElementType::F32, false, stream);
    if (error.empty())
      error = nccl->synchronize(stream);
    long long elapsed = msSince(start);
    std::fprintf(stderr, "rank 0: after %lld ms: %s\n", elapsed, error.c_str());
    check.expect(
        error.find("allReduce of 1048576 f32 elements (rank 0 of 2)") !=
            std::string::npos,
        "the error names the collective: " + error);
    check.expect(elapsed < timeout.count() + 1000,
                 "gave up after " + std::to_string(elapsed) + " ms");
    error = nccl->allGather(data, data, 1, ElementType::F32, stream);
    check.expect(error.find("failed earlier") != std::string::npos,
                 "a failed communicator stays failed: " + error);
    failures = check.failures;
  } else {
    failures = "unknown case " + which;
  }
  nccl.reset();
  if (!failures.empty())
    std::fprintf(stderr, "rank %d failed:\n%s", info.rank, failures.c_str());
  return failures.empty() ? 0 : 1;
}

struct Launch {
  int code = -1;
  std::string stderrText;
  long long elapsedMs = 0;
};

/// Runs this binary as `nproc` ranks of `which` through varrun's launcher,
/// in a child process (the launcher blocks signals), with stderr captured;
/// the launcher gets SIGTERM (and passes it on) after `limit`.
Launch launchRanks(int nproc, const std::string &which, milliseconds limit) {
  char path[] = "/tmp/var-nccltest-XXXXXX";
  int fd = mkstemp(path);
  Launch result;
  Clock::time_point start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, STDERR_FILENO);
    _exit(comm::launchLocalRanks(nproc, {"/proc/self/exe", kRankFlag + which},
                                 0, milliseconds(2000)));
  }
  int status = 0;
  bool stopped = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (!stopped && msSince(start) > limit.count()) {
      ::kill(pid, SIGTERM);
      stopped = true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
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

//===----------------------------------------------------------------------===//
// The cases ctest runs
//===----------------------------------------------------------------------===//

TEST(Nccl, WorldOfOneRank) {
  if (cuda::countDevices() == 0)
    GTEST_SKIP() << "no GPU to run NCCL on";
  std::string error;
  auto bootstrap =
      comm::createGlooCommunicator(comm::RankInfo(), milliseconds(5000), error);
  ASSERT_NE(bootstrap, nullptr) << error;
  auto nccl = cuda::createNcclCommunicator(*bootstrap, 0, error);
  ASSERT_NE(nccl, nullptr) << error;
  EXPECT_EQ(nccl->getRank(), 0);
  EXPECT_EQ(nccl->getWorldSize(), 1);
  EXPECT_EQ(runCollectives(*nccl), "");
  EXPECT_STREQ(std::getenv("NCCL_NVLS_ENABLE"), "0");
  EXPECT_NE(nccl->allReduce(nullptr, -1, ElementType::F32, false, nullptr)
                .find("allReduce of -1 f32 elements (rank 0 of 1): negative"),
            std::string::npos);
}

// Needs no GPU: the check comes before any CUDA or NCCL call. The GPU
// machine's run leaves it out all the same (NVLink multicast must never be
// asked for there, even by a test that expects a refusal).
TEST(Nccl, RefusesNvlinkMulticast) {
  std::string saved =
      std::getenv("NCCL_NVLS_ENABLE") ? std::getenv("NCCL_NVLS_ENABLE") : "";
  setenv("NCCL_NVLS_ENABLE", "1", 1);
  std::string error;
  auto bootstrap =
      comm::createGlooCommunicator(comm::RankInfo(), milliseconds(5000), error);
  ASSERT_NE(bootstrap, nullptr) << error;
  EXPECT_EQ(cuda::createNcclCommunicator(*bootstrap, 0, error), nullptr);
  EXPECT_NE(error.find("NVLink multicast must stay off"), std::string::npos)
      << error;
  if (saved.empty())
    unsetenv("NCCL_NVLS_ENABLE");
  else
    setenv("NCCL_NVLS_ENABLE", saved.c_str(), 1);
}

// Needs no GPU either: no device has index 99.
TEST(Nccl, MissingDeviceIsAnErrorNamingIt) {
  std::string error;
  auto bootstrap =
      comm::createGlooCommunicator(comm::RankInfo(), milliseconds(5000), error);
  ASSERT_NE(bootstrap, nullptr) << error;
  EXPECT_EQ(cuda::createNcclCommunicator(*bootstrap, 99, error), nullptr);
  EXPECT_NE(error.find("rank 0 of 1: cudaSetDevice(99) failed: "),
            std::string::npos)
      << error;
}

TEST(Nccl, OneRankPerGpu) {
  const int gpus = cuda::countDevices();
  if (gpus < 2)
    GTEST_SKIP() << gpus << " GPU(s) visible; this case needs two or more";
  Launch result = launchRanks(gpus, "collectives", milliseconds(45000));
  std::printf("%d ranks: launcher returned %d after %lld ms\n%s", gpus,
              result.code, result.elapsedMs, result.stderrText.c_str());
  EXPECT_EQ(result.code, 0) << result.stderrText;
}

TEST(Nccl, DeadPeerTimesOutNamingTheCollective) {
  const int gpus = cuda::countDevices();
  if (gpus < 2)
    GTEST_SKIP() << gpus << " GPU(s) visible; this case needs two or more";
  Launch result = launchRanks(2, "dead-peer", milliseconds(30000));
  std::printf("launcher returned %d after %lld ms\n%s", result.code,
              result.elapsedMs, result.stderrText.c_str());
  EXPECT_EQ(result.code, 0) << result.stderrText;
  EXPECT_LT(result.elapsedMs, 25000);
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], kRankFlag, std::strlen(kRankFlag)) == 0)
      return runRank(argv[i] + std::strlen(kRankFlag));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
