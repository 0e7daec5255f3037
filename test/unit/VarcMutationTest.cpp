// End-to-end robustness test of varc: hundreds of deterministic mutations of
// the models in models/ (and of a seed that uses every var op) must each give
// either success or a located diagnostic, never a crash, hang or other exit.
//
// Every mutant is written to a temporary directory and run as
// `varc MUTANT --summary [--batch=N]`, or through the training pipeline. On
// failure the message names the mutant's file and the command that reproduces
// it, and the directory is kept.
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
// Mutations
//===----------------------------------------------------------------------===//

/// Deterministic on every platform: only mt19937's raw output is used (the
/// standard distributions differ between standard libraries).
class Random {
public:
  explicit Random(uint32_t seed) : engine(seed) {}
  /// Uniform-ish in [0, n); n > 0.
  size_t below(size_t n) { return static_cast<size_t>(engine() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T> const T &pick(const std::vector<T> &v) {
    return v[below(v.size())];
  }

private:
  std::mt19937 engine;
};

uint32_t fnv1a(const std::string &s, uint32_t salt) {
  uint32_t h = 2166136261u ^ salt;
  for (unsigned char c : s)
    h = (h ^ c) * 16777619u;
  return h;
}

struct Token {
  size_t begin, size;
  char kind; // '%' value, '@' symbol, 'w' bare word, '#' number
};

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '$';
}

/// Splits MLIR text into the tokens worth mutating: SSA names, symbols,
/// bare words (op names, keywords, types) and digit runs (which also finds
/// the sizes inside `tensor<32x3x3x3xf32>`).
std::vector<Token> tokenize(const std::string &s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n')
        ++i;
      continue;
    }
    if ((c == '%' || c == '@') && i + 1 < s.size() && isWordChar(s[i + 1])) {
      size_t b = i++;
      while (i < s.size() && isWordChar(s[i]))
        ++i;
      tokens.push_back({b, i - b, c});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t b = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
        ++i;
      tokens.push_back({b, i - b, '#'});
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i;
      while (i < s.size() && isWordChar(s[i]))
        ++i;
      tokens.push_back({b, i - b, 'w'});
      continue;
    }
    ++i;
  }
  return tokens;
}

std::vector<std::string> splitLines(const std::string &s) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

std::string joinLines(const std::vector<std::string> &lines) {
  std::string out;
  for (const std::string &l : lines)
    out += l + "\n";
  return out;
}

const std::vector<std::string> kHostileNumbers = {
    "0",
    "-1",
    "1",
    "2",
    "3",
    "-7",
    "65536",
    "2147483648",
    "4294967296",
    "4611686018427387904",  // 2^62
    "9223372036854775807",  // 2^63 - 1
    "9223372036854775808",  // 2^63
    "-9223372036854775808", // -2^63
    "18446744073709551616", // 2^64
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999",
    "1.0e308",
    "1.0e-320",
    "-0.0",
    "0x7FFFFFFFFFFFFFFF",
    "0xFFFFFFFFFFFFFFFF",
    "1e999999",
};

const std::vector<std::string> kTypeWords = {
    "f32",
    "f16",
    "bf16",
    "f64",
    "i1",
    "i8",
    "i64",
    "si64",
    "ui8",
    "index",
    "i0",
    "f8E4M3FN",
    "none",
    "f80",
    "tf32",
    "complex<f32>",
    "vector<4xf32>",
    "tensor<*xf32>",
    "memref<4xf32>",
    "tensor<?x?xf32>",
    "tuple<f32>",
    "!llvm.ptr",
    "i4294967295",
};

const std::string kStructural = "<>()[]{}:,%@?x-.=\"#!^\n ";

struct Mutant {
  std::string text;
  std::string description;
  std::vector<std::string> extraArgs;
  /// --summary, or else compile a training plan (extraArgs say how).
  bool summary = true;
};

class Mutator {
public:
  Mutator(const std::vector<std::string> &corpus, Random &rng)
      : corpus(corpus), rng(rng) {}

  /// The mutation schedule: mutant k applies kind k % kNumKinds. Byte and
  /// line noise mostly stops the parser; the number, identifier and type
  /// replacements keep the file parseable and reach type inference, the
  /// verifiers and the summary, so they get more slots.
  static constexpr int kNumKinds = 21;

  /// Applies mutation `kind` to `s`; appends what it did to `what`.
  void apply(int kind, std::string &s, std::string &what) {
    switch (kind) {
    case 0:
      return flipBytes(s, what);
    case 1:
      return insertBytes(s, what);
    case 2:
      return deleteBytes(s, what);
    case 3:
      return lineEdit(s, what, /*op=*/0);
    case 4:
      return lineEdit(s, what, /*op=*/1);
    case 5:
      return lineEdit(s, what, /*op=*/2);
    case 6:
      return truncate(s, what);
    case 7:
      return splice(s, what);
    case 8:
      return duplicateRange(s, what);
    case 9:
    case 10:
    case 11:
      return replaceNumber(s, what, NumberMode::One);
    case 12:
    case 13:
      return replaceNumber(s, what, NumberMode::Every);
    case 14:
    case 15:
      return replaceNumber(s, what, NumberMode::Attribute);
    case 16:
      return replaceIdentifier(s, what);
    case 17:
      return replaceType(s, what);
    case 18:
      return bracketBomb(s, what);
    case 19: {
      // Several value-level changes at once.
      int n = 2 + static_cast<int>(rng.below(3));
      for (int i = 0; i < n; ++i)
        apply(9 + static_cast<int>(rng.below(9)), s, what);
      return;
    }
    default: {
      // Several of anything, stacked.
      int n = 2 + static_cast<int>(rng.below(3));
      for (int i = 0; i < n; ++i)
        apply(static_cast<int>(rng.below(kNumKinds - 1)), s, what);
      return;
    }
    }
  }

private:
  void note(std::string &what, const std::string &msg) {
    if (!what.empty())
      what += "; ";
    what += msg;
  }

  void flipBytes(std::string &s, std::string &what) {
    if (s.empty())
      return;
    size_t n = 1 + rng.below(4);
    for (size_t k = 0; k < n; ++k) {
      size_t at = rng.below(s.size());
      if (rng.chance(50))
        s[at] = static_cast<char>(s[at] ^ (1u << rng.below(8)));
      else
        s[at] = static_cast<char>(rng.below(256));
      note(what, "flip byte " + std::to_string(at));
    }
  }

  void insertBytes(std::string &s, std::string &what) {
    size_t at = rng.below(s.size() + 1);
    size_t n = 1 + rng.below(8);
    std::string bytes;
    for (size_t k = 0; k < n; ++k)
      bytes += rng.chance(70) ? kStructural[rng.below(kStructural.size())]
                              : static_cast<char>(rng.below(256));
    s.insert(at, bytes);
    note(what,
         "insert " + std::to_string(n) + " bytes at " + std::to_string(at));
  }

  void deleteBytes(std::string &s, std::string &what) {
    if (s.empty())
      return;
    size_t at = rng.below(s.size());
    size_t n = std::min(s.size() - at, 1 + rng.below(16));
    s.erase(at, n);
    note(what,
         "delete " + std::to_string(n) + " bytes at " + std::to_string(at));
  }

  /// op 0: delete a line, 1: duplicate a line, 2: swap two lines.
  void lineEdit(std::string &s, std::string &what, int op) {
    std::vector<std::string> lines = splitLines(s);
    if (lines.empty())
      return;
    size_t a = rng.below(lines.size());
    if (op == 0) {
      lines.erase(lines.begin() + a);
      note(what, "delete line " + std::to_string(a + 1));
    } else if (op == 1) {
      size_t to = rng.below(lines.size() + 1);
      std::string copy = lines[a];
      lines.insert(lines.begin() + to, copy);
      note(what, "copy line " + std::to_string(a + 1) + " before line " +
                     std::to_string(to + 1));
    } else {
      size_t b = rng.below(lines.size());
      std::swap(lines[a], lines[b]);
      note(what, "swap lines " + std::to_string(a + 1) + " and " +
                     std::to_string(b + 1));
    }
    s = joinLines(lines);
  }

  enum class NumberMode {
    One,      // one occurrence
    Every,    // every occurrence of one value (a channel count, consistently)
    Attribute // one number outside a type: stride, kernel, frames, p, ...
  };

  /// True if the number at `pos` is inside a `tensor<...>` on its line.
  static bool inType(const std::string &s, size_t pos) {
    size_t lineStart = s.rfind('\n', pos);
    lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
    size_t open = s.rfind("tensor<", pos);
    if (open == std::string::npos || open < lineStart)
      return false;
    size_t close = s.find('>', open);
    return close == std::string::npos || close > pos;
  }

  void replaceNumber(std::string &s, std::string &what, NumberMode mode) {
    std::vector<Token> numbers;
    for (const Token &t : tokenize(s))
      if (t.kind == '#' &&
          (mode != NumberMode::Attribute || !inType(s, t.begin)))
        numbers.push_back(t);
    if (numbers.empty())
      return insertBytes(s, what);
    const Token &t = rng.pick(numbers);
    std::string old = s.substr(t.begin, t.size);
    const std::string &value = rng.pick(kHostileNumbers);
    if (mode == NumberMode::Every) {
      for (auto it = numbers.rbegin(); it != numbers.rend(); ++it)
        if (s.compare(it->begin, it->size, old) == 0)
          s.replace(it->begin, it->size, value);
      note(what, "replace every number " + old + " by " + value);
    } else {
      s.replace(t.begin, t.size, value);
      note(what, "replace number " + old + " at " + std::to_string(t.begin) +
                     " by " + value);
    }
  }

  void replaceIdentifier(std::string &s, std::string &what) {
    std::vector<Token> tokens;
    for (const Token &t : tokenize(s))
      if (t.kind != '#')
        tokens.push_back(t);
    if (tokens.size() < 2)
      return deleteBytes(s, what);
    const Token &t = rng.pick(tokens);
    // Usually an identifier of the same kind (%x by %y, @a by @b, an op name
    // by another word), sometimes any.
    std::vector<Token> candidates;
    for (const Token &u : tokens)
      if (u.kind == t.kind || rng.chance(10))
        candidates.push_back(u);
    const Token &u = rng.pick(candidates);
    std::string old = s.substr(t.begin, t.size);
    std::string value = s.substr(u.begin, u.size);
    s.replace(t.begin, t.size, value);
    note(what, "replace '" + old + "' at " + std::to_string(t.begin) + " by '" +
                   value + "'");
  }

  void truncate(std::string &s, std::string &what) {
    size_t at = rng.below(s.size() + 1);
    s.resize(at);
    note(what, "truncate at " + std::to_string(at));
  }

  void splice(std::string &s, std::string &what) {
    const std::string &other = rng.pick(corpus);
    size_t a = rng.below(s.size() + 1);
    size_t b = rng.below(other.size() + 1);
    s = s.substr(0, a) + other.substr(b);
    note(what, "splice at " + std::to_string(a) + " with another seed from " +
                   std::to_string(b));
  }

  void replaceType(std::string &s, std::string &what) {
    std::vector<size_t> at;
    for (size_t p = s.find("f32"); p != std::string::npos;
         p = s.find("f32", p + 1))
      at.push_back(p);
    if (at.empty())
      return flipBytes(s, what);
    size_t p = rng.pick(at);
    const std::string &type = rng.pick(kTypeWords);
    s.replace(p, 3, type);
    note(what, "replace f32 at " + std::to_string(p) + " by " + type);
  }

  /// Deep nesting where the parser descends into it (MLIR's parser recurses
  /// once per level): nested element types after a `tensor<`, nested
  /// modules, or a module attribute of nested arrays, dictionaries, function
  /// types or call-site locations. Counts straddle varc's nesting limit.
  void bracketBomb(std::string &s, std::string &what) {
    struct Bomb {
      const char *anchor, *prefix, *repeat;
    };
    static const std::vector<Bomb> bombs = {
        {"tensor<", "", "tensor<"},
        {"module {", "", "module {"},
        {"module ", "attributes {v.a = ", "["},
        {"module ", "attributes {v.a = ", "{a = "},
        {"module ", "attributes {v.a = ", "("},
        {"module ", "attributes {v.a = ", "tensor<"},
        {"module ", "attributes {v.a = loc(", "callsite("},
    };
    const Bomb &bomb = rng.pick(bombs);
    std::vector<size_t> anchors;
    for (size_t p = s.find(bomb.anchor); p != std::string::npos;
         p = s.find(bomb.anchor, p + 1))
      anchors.push_back(p + std::strlen(bomb.anchor));
    size_t at = anchors.empty() ? rng.below(s.size() + 1) : rng.pick(anchors);
    size_t count =
        rng.chance(50) ? 100 + rng.below(200) : 300 + rng.below(30000);
    std::string text = bomb.prefix;
    for (size_t i = 0; i < count; ++i)
      text += bomb.repeat;
    s.insert(at, text);
    note(what, "insert '" + std::string(bomb.prefix) + "' and " +
                   std::to_string(count) + " x '" + bomb.repeat + "' at " +
                   std::to_string(at));
  }

  void duplicateRange(std::string &s, std::string &what) {
    if (s.empty())
      return;
    size_t at = rng.below(s.size());
    size_t n = std::min(s.size() - at, 1 + rng.below(64));
    size_t to = rng.below(s.size() + 1);
    s.insert(to, s.substr(at, n));
    note(what, "copy " + std::to_string(n) + " bytes from " +
                   std::to_string(at) + " to " + std::to_string(to));
  }

  const std::vector<std::string> &corpus;
  Random &rng;
};

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
