// End-to-end robustness test of varc: hundreds of deterministic mutations of
// the models in models/ (and of a seed that uses every var op) must each give
// either success or a located diagnostic, never a crash, hang or other exit.
//
// Every mutant is written to a temporary directory and run as
// `varc MUTANT --summary [--batch=N]`, or through the training pipeline. On
// failure the message names the mutant's file and the command that reproduces
// it, and the directory is kept.
#include "test/unit/VarcMutator.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace {

using namespace var::varctest;
namespace fs = std::filesystem;

#ifndef VARC_PATH
#error "VARC_PATH must name the varc binary"
#endif
#ifndef MODELS_DIR
#error "MODELS_DIR must name the models directory"
#endif
#ifndef SEEDS_DIR
#error "SEEDS_DIR must name the directory of extra seed models"
#endif

/// A varc killed after this long counts as hung.
constexpr auto kTimeout = std::chrono::seconds(30);
/// Mutants generated for the whole corpus (split across seed files).
constexpr size_t kTotalMutants = 600;
constexpr size_t kMinMutantsPerFile = 40;

std::string readFile(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const fs::path &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

//===----------------------------------------------------------------------===//
// Running varc
//===----------------------------------------------------------------------===//

struct Outcome {
  bool started = false;
  bool timedOut = false;
  int status = 0; // from waitpid
  std::string err;
};

/// A varc process writing its stdout and stderr to files.
struct Job {
  std::vector<std::string> args; // without argv[0]
  fs::path outPath, errPath;
  pid_t pid = -1;
  std::chrono::steady_clock::time_point start;
  Outcome outcome;
};

bool spawn(Job &job) {
  std::vector<std::string> argv = {VARC_PATH};
  argv.insert(argv.end(), job.args.begin(), job.args.end());
  std::vector<char *> cargv;
  for (std::string &a : argv)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, job.outPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, job.errPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawn(&job.pid, argv[0].c_str(), &actions, nullptr,
                       cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  job.start = std::chrono::steady_clock::now();
  job.outcome.started = rc == 0;
  if (rc != 0)
    job.outcome.err = std::string("posix_spawn failed: ") + strerror(rc);
  return rc == 0;
}

/// Runs every job, at most `parallel` at a time, each with a timeout.
void runAll(std::vector<Job> &jobs, size_t parallel) {
  size_t next = 0;
  std::vector<Job *> running;
  while (next < jobs.size() || !running.empty()) {
    while (running.size() < parallel && next < jobs.size()) {
      Job &job = jobs[next++];
      if (spawn(job))
        running.push_back(&job);
    }
    bool progressed = false;
    for (auto it = running.begin(); it != running.end();) {
      Job &job = **it;
      int status = 0;
      pid_t done = waitpid(job.pid, &status, WNOHANG);
      if (done == 0 &&
          std::chrono::steady_clock::now() - job.start > kTimeout) {
        kill(job.pid, SIGKILL);
        done = waitpid(job.pid, &status, 0);
        job.outcome.timedOut = true;
      }
      if (done == job.pid) {
        job.outcome.status = status;
        job.outcome.err = readFile(job.errPath);
        it = running.erase(it);
        progressed = true;
      } else {
        ++it;
      }
    }
    if (!progressed && !running.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// True if some line of `err` starts with `path:LINE:COL: error: ` or
/// `path: error: `.
bool hasLocatedError(const std::string &err, const std::string &path) {
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, path.size(), path) != 0)
      continue;
    std::string rest = line.substr(path.size());
    if (rest.rfind(": error: ", 0) == 0)
      return true;
    size_t i = 0;
    for (int field = 0; field < 2; ++field) {
      if (i >= rest.size() || rest[i] != ':')
        break;
      size_t digits = ++i;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9')
        ++i;
      if (i == digits)
        break;
      if (field == 1 && rest.compare(i, 9, ": error: ") == 0)
        return true;
    }
  }
  return false;
}

/// Empty if the outcome is acceptable, else what is wrong with it.
std::string checkOutcome(const Outcome &o, const std::string &path) {
  if (!o.started)
    return o.err;
  if (o.timedOut)
    return "varc did not finish within " + std::to_string(kTimeout.count()) +
           " s (killed)";
  if (WIFSIGNALED(o.status))
    return std::string("varc was killed by signal ") +
           std::to_string(WTERMSIG(o.status)) + " (" +
           strsignal(WTERMSIG(o.status)) + ")";
  if (!WIFEXITED(o.status))
    return "varc stopped abnormally, wait status " + std::to_string(o.status);
  int code = WEXITSTATUS(o.status);
  for (const char *crashMarker :
       {"LLVM ERROR", "Stack dump:", "varc crashed", "PLEASE submit"})
    if (o.err.find(crashMarker) != std::string::npos)
      return std::string("stderr reports a crash ('") + crashMarker + "')";
  if (code == 0) {
    if (o.err.find("error:") != std::string::npos)
      return "exit code 0 but stderr has an error";
    return "";
  }
  if (code != 1)
    return "exit code " + std::to_string(code) + " (expected 0 or 1)";
  if (!hasLocatedError(o.err, path))
    return "exit code 1 without a '" + path + ":LINE:COL: error:' or '" + path +
           ": error:' diagnostic";
  return "";
}

std::string excerpt(const std::string &text, size_t limit = 1500) {
  if (text.size() <= limit)
    return text;
  return text.substr(0, limit) + "\n[... " +
         std::to_string(text.size() - limit) + " more bytes]";
}

//===----------------------------------------------------------------------===//
// Fixture
//===----------------------------------------------------------------------===//

std::vector<fs::path> seedFiles() {
  std::vector<fs::path> files;
  for (const char *dir : {MODELS_DIR, SEEDS_DIR})
    for (const fs::directory_entry &e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".mlir")
        files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

class VarcMutationTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "varc-mutation-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << strerror(errno);
    dir = pattern;
  }

  void TearDown() override {
    // VARC_MUTATION_KEEP=1 keeps the inputs (and varc's output) even on
    // success, to look at what the mutants exercise.
    if (HasFailure() || std::getenv("VARC_MUTATION_KEEP")) {
      std::cerr << "varc mutation test: inputs kept in " << dir.string()
                << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  /// Runs varc on every input and checks each outcome. `names` are file
  /// names in `dir` (written already, or deliberately missing).
  void runAndCheck(const std::vector<Mutant> &mutants,
                   const std::vector<std::string> &names) {
    std::vector<Job> jobs(mutants.size());
    for (size_t i = 0; i < mutants.size(); ++i) {
      std::string path = (dir / names[i]).string();
      jobs[i].args = {path};
      if (mutants[i].summary)
        jobs[i].args.push_back("--summary");
      jobs[i].args.insert(jobs[i].args.end(), mutants[i].extraArgs.begin(),
                          mutants[i].extraArgs.end());
      jobs[i].outPath = dir / (names[i] + ".stdout");
      jobs[i].errPath = dir / (names[i] + ".stderr");
    }
    size_t parallel =
        std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
    runAll(jobs, parallel);

    size_t failures = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const std::string &path = jobs[i].args[0];
      std::string problem = checkOutcome(jobs[i].outcome, path);
      if (problem.empty())
        continue;
      if (++failures > 20)
        continue; // the first 20 are enough to read
      std::string command = VARC_PATH;
      for (const std::string &a : jobs[i].args)
        command += " " + a;
      ADD_FAILURE() << problem << "\n  input: " << path
                    << "\n  mutation: " << mutants[i].description
                    << "\n  reproduce: " << command << "\n  stderr:\n"
                    << excerpt(jobs[i].outcome.err);
    }
    EXPECT_EQ(failures, 0u) << "of " << jobs.size() << " inputs";
  }

  fs::path dir;
};

TEST_F(VarcMutationTest, SeedsAreValidModels) {
  // Without this the mutants below would prove nothing.
  std::vector<fs::path> files = seedFiles();
  ASSERT_FALSE(files.empty());
  for (const fs::path &file : files) {
    Job job;
    job.args = {file.string(), "--summary"};
    job.outPath = dir / (file.filename().string() + ".stdout");
    job.errPath = dir / (file.filename().string() + ".stderr");
    std::vector<Job> jobs = {job};
    runAll(jobs, 1);
    const Outcome &o = jobs[0].outcome;
    ASSERT_TRUE(o.started) << o.err;
    EXPECT_TRUE(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0)
        << file << " is not a valid model:\n"
        << excerpt(o.err);
  }
}

TEST_F(VarcMutationTest, MutatedModels) {
  std::vector<fs::path> files = seedFiles();
  ASSERT_FALSE(files.empty());
  std::vector<std::string> corpus;
  for (const fs::path &f : files)
    corpus.push_back(readFile(f));
  // VARC_MUTANTS=N asks for about N mutants in all instead, for a longer
  // local fuzzing run; mutant k of a seed depends only on the seed's file
  // name and k, so the default ones are among them.
  size_t total = kTotalMutants;
  if (const char *n = std::getenv("VARC_MUTANTS"))
    total = std::strtoul(n, nullptr, 10);
  size_t perFile = std::max(kMinMutantsPerFile, total / files.size());

  std::vector<Mutant> mutants;
  std::vector<std::string> names;
  for (size_t f = 0; f < files.size(); ++f) {
    std::string stem = files[f].stem().string();
    for (size_t k = 0; k < perFile; ++k) {
      // One generator per mutant: mutant k of a seed file does not change
      // when other seeds are added (except a splice, which picks among them).
      Random rng(fnv1a(files[f].filename().string(), static_cast<uint32_t>(k)));
      Mutator mutator(corpus, rng);
      Mutant m;
      m.text = corpus[f];
      int kind = static_cast<int>(k % Mutator::kNumKinds);
      mutator.apply(kind, m.text, m.description);
      m.description = files[f].filename().string() + " mutant " +
                      std::to_string(k) + ": " + m.description;
      // Most run with the default batch; some with batches that stress the
      // batch specialization (odd, and large enough to overflow FLOPs).
      switch (k % 7) {
      case 3:
        m.extraArgs = {"--batch=3"};
        break;
      case 5:
        m.extraArgs = {"--batch=4611686018427387904"};
        break;
      // Mutants that still verify go through the whole training pipeline:
      // autodiff, ZeRO partitioning, scheduling and memory planning must
      // turn every valid model into a plan or a diagnostic, never a crash.
      case 1:
        m.summary = false;
        m.extraArgs = {"--zero-stage=3", "--micro-batch=2", "--grad-accum=2",
                       "--grad-clip=1",  "--world-size=2",  "--report=json"};
        break;
      case 6:
        m.summary = false;
        m.extraArgs = {"--zero-stage=1", "--precision=fp32", "--optimizer=sgd",
                       "--emit=mlir"};
        break;
      default:
        break;
      }
      std::string name = stem + "-" + std::to_string(k) + ".mlir";
      writeFile(dir / name, m.text);
      mutants.push_back(std::move(m));
      names.push_back(name);
    }
  }
  ASSERT_GE(mutants.size(), std::min<size_t>(total, 300));
  runAndCheck(mutants, names);
}

TEST_F(VarcMutationTest, EmptyFile) {
  writeFile(dir / "empty.mlir", "");
  runAndCheck({Mutant{"", "empty file", {}}}, {"empty.mlir"});
}

TEST_F(VarcMutationTest, RandomBinaryGarbage) {
  Random rng(0x5eed);
  std::string garbage;
  for (int i = 0; i < 4096; ++i)
    garbage += static_cast<char>(rng.below(256));
  writeFile(dir / "garbage.mlir", garbage);
  runAndCheck({Mutant{garbage, "4 KiB of random bytes", {}}}, {"garbage.mlir"});
}

TEST_F(VarcMutationTest, DeepNesting) {
  // 20000 nested arrays overflowed the stack in MLIR's recursive parser.
  std::string text = "module attributes {v.a = " + std::string(20000, '[');
  writeFile(dir / "deep.mlir", text);
  runAndCheck({Mutant{text, "20000 nested '['", {}}}, {"deep.mlir"});
}

TEST_F(VarcMutationTest, MissingFile) {
  runAndCheck({Mutant{"", "missing file", {}}}, {"does-not-exist.mlir"});
}

} // namespace
