// The mutations of VarcMutationTest: deterministic edits of a model's text
// (byte and line noise, hostile numbers, swapped identifiers and types,
// structural damage) that varc must survive with a located diagnostic.
#ifndef VAR_TEST_UNIT_VARCMUTATOR_H
#define VAR_TEST_UNIT_VARCMUTATOR_H

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace var::varctest {

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

inline uint32_t fnv1a(const std::string &s, uint32_t salt) {
  uint32_t h = 2166136261u ^ salt;
  for (unsigned char c : s)
    h = (h ^ c) * 16777619u;
  return h;
}

struct Token {
  size_t begin, size;
  char kind; // '%' value, '@' symbol, 'w' bare word, '#' number
};

inline bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '$';
}

/// Splits MLIR text into the tokens worth mutating: SSA names, symbols,
/// bare words (op names, keywords, types) and digit runs (which also finds
/// the sizes inside `tensor<32x3x3x3xf32>`).
inline std::vector<Token> tokenize(const std::string &s) {
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

inline std::vector<std::string> splitLines(const std::string &s) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

inline std::string joinLines(const std::vector<std::string> &lines) {
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

} // namespace var::varctest

#endif
