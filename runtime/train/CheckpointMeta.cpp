// checkpoint.txt: printing and strict parsing; the CRC-32 of the shards.
#include "runtime/train/CheckpointMeta.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace var::train::checkpoint {

namespace {

std::array<uint32_t, 256> makeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

/// A name is written as one token: no whitespace, not empty.
bool isToken(std::string_view text) {
  if (text.empty())
    return false;
  for (char c : text)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      return false;
  return true;
}

std::vector<std::string_view> splitWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    size_t end = line.find(' ', i);
    if (end == std::string_view::npos)
      end = line.size();
    words.push_back(line.substr(i, end - i));
    i = end + 1;
  }
  return words;
}

bool parseU64(std::string_view text, uint64_t &out) {
  if (text.empty() || text.size() > 20 || text[0] < '0' || text[0] > '9')
    return false;
  std::string copy(text);
  char *end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if (*end != '\0' || errno != 0)
    return false;
  out = value;
  return true;
}

bool parseI64(std::string_view text, int64_t low, int64_t high, int64_t &out) {
  uint64_t value = 0;
  if (!parseU64(text, value) || value > static_cast<uint64_t>(high) ||
      static_cast<int64_t>(value) < low)
    return false;
  out = static_cast<int64_t>(value);
  return true;
}

} // namespace

uint32_t crc32(const void *data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = makeCrcTable();
  const auto *bytes = static_cast<const uint8_t *>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string crcText(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  return text;
}

std::string printMeta(const CheckpointMeta &meta, std::string &out) {
  if (meta.data.empty() || meta.data.find('\n') != std::string::npos)
    return "the data source '" + meta.data + "' cannot be recorded";
  char lr[40];
  std::snprintf(lr, sizeof lr, "%.17g", meta.lr);
  out = "var-checkpoint 1\n";
  auto number = [&](const char *key, auto value) {
    out += std::string(key) + " " + std::to_string(value) + "\n";
  };
  number("step", meta.step);
  number("epoch", meta.epoch);
  number("epoch_step", meta.epochStep);
  number("seed", meta.seed);
  out += "data " + meta.data + "\n";
  number("train_size", meta.trainSize);
  number("global_batch", meta.globalBatch);
  number("micro_batch", meta.microBatch);
  number("grad_accum", meta.gradAccum);
  number("world_size", meta.worldSize);
  number("zero_stage", meta.zeroStage);
  out += std::string("lr ") + lr + "\n";
  out += "optimizer";
  for (const std::string &key : meta.optimizerKeys) {
    if (!isToken(key))
      return "optimizer state key '" + key + "' cannot be recorded";
    out += " " + key;
  }
  out += "\n";
  for (const CheckpointTensor &tensor : meta.tensors) {
    if (!isToken(tensor.name))
      return "tensor name '" + tensor.name + "' cannot be recorded";
    out += "tensor " + tensor.name + (tensor.buffer ? " buffer" : " param");
    for (int64_t dim : tensor.shape)
      out += " " + std::to_string(dim);
    out += "\n";
  }
  for (const CheckpointFile &file : meta.files)
    out += "file " + file.name + " " + std::to_string(file.bytes) + " " +
           crcText(file.crc) + "\n";
  out += "end\n";
  return "";
}

std::string parseMeta(std::string_view text, CheckpointMeta &meta) {
  meta = CheckpointMeta();
  std::set<std::string> seen, names, files;
  bool ended = false;
  size_t lineNumber = 0;
  int64_t stage = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos)
      return "line " + std::to_string(lineNumber + 1) +
             ": the file ends without a newline (truncated?)";
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    ++lineNumber;
    std::string where = "line " + std::to_string(lineNumber) + ": ";
    if (ended)
      return where + "text after `end`";
    std::vector<std::string_view> words = splitWords(line);
    if (words.empty() || words[0].empty())
      return where + "empty line";
    std::string key(words[0]);
    if (lineNumber == 1) {
      if (line != "var-checkpoint 1")
        return where + "not a VAR checkpoint (expected `var-checkpoint 1`)";
      continue;
    }
    bool repeated = key == "tensor" || key == "file";
    if (!repeated && !seen.insert(key).second)
      return where + "`" + key + "` appears twice";
    auto integer = [&](int64_t low, int64_t high, int64_t &out) {
      if (words.size() != 2 || !parseI64(words[1], low, high, out))
        return where + "`" + key + "` needs an integer from " +
               std::to_string(low) + " to " + std::to_string(high);
      return std::string();
    };
    const int64_t kMax = int64_t(1) << 62;
    std::string error;
    if (key == "end") {
      if (words.size() != 1)
        return where + "`end` takes nothing";
      ended = true;
    } else if (key == "step") {
      error = integer(0, kMax, meta.step);
    } else if (key == "epoch") {
      error = integer(0, kMax, meta.epoch);
    } else if (key == "epoch_step") {
      error = integer(0, kMax, meta.epochStep);
    } else if (key == "seed") {
      if (words.size() != 2 || !parseU64(words[1], meta.seed))
        return where + "`seed` needs a non-negative integer";
    } else if (key == "data") {
      if (line.size() <= 5)
        return where + "`data` needs the data source";
      meta.data = std::string(line.substr(5));
    } else if (key == "train_size") {
      error = integer(1, kMax, meta.trainSize);
    } else if (key == "global_batch") {
      error = integer(1, kMax, meta.globalBatch);
    } else if (key == "micro_batch") {
      error = integer(1, kMax, meta.microBatch);
    } else if (key == "grad_accum") {
      error = integer(1, kMax, meta.gradAccum);
    } else if (key == "world_size") {
      error = integer(1, 1 << 20, meta.worldSize);
    } else if (key == "zero_stage") {
      error = integer(0, 3, stage);
      meta.zeroStage = stage;
    } else if (key == "lr") {
      std::string value = words.size() == 2 ? std::string(words[1]) : "";
      char *stop = nullptr;
      meta.lr = std::strtod(value.c_str(), &stop);
      if (value.empty() || *stop != '\0' || !std::isfinite(meta.lr) ||
          meta.lr < 0)
        return where + "`lr` needs a non-negative number";
    } else if (key == "optimizer") {
      for (size_t i = 1; i < words.size(); ++i) {
        if (!isToken(words[i]))
          return where + "empty optimizer state key";
        meta.optimizerKeys.emplace_back(words[i]);
      }
    } else if (key == "tensor") {
      if (words.size() < 3 || !isToken(words[1]) ||
          (words[2] != "param" && words[2] != "buffer"))
        return where + "`tensor` needs NAME param|buffer DIMS...";
      CheckpointTensor tensor{std::string(words[1]), {}, words[2] == "buffer"};
      if (!names.insert(tensor.name).second)
        return where + "tensor '" + tensor.name + "' appears twice";
      int64_t numel = 1;
      for (size_t i = 3; i < words.size(); ++i) {
        int64_t dim = 0;
        if (!parseI64(words[i], 0, kMax, dim) ||
            __builtin_mul_overflow(numel, dim, &numel) || numel > kMax)
          return where + "tensor '" + tensor.name + "' has a bad dimension";
        tensor.shape.push_back(dim);
      }
      meta.tensors.push_back(std::move(tensor));
    } else if (key == "file") {
      uint64_t bytes = 0, crc = 0;
      std::string crcWord = words.size() == 4 ? std::string(words[3]) : "";
      char *stop = nullptr;
      if (crcWord.size() == 8)
        crc = std::strtoull(crcWord.c_str(), &stop, 16);
      if (words.size() != 4 || !isToken(words[1]) ||
          words[1].find('/') != std::string_view::npos || words[1] == "." ||
          words[1] == ".." || !parseU64(words[2], bytes) ||
          crcWord.size() != 8 || *stop != '\0')
        return where + "`file` needs NAME BYTES CRC32 (8 hex digits)";
      if (!files.insert(std::string(words[1])).second)
        return where + "file '" + std::string(words[1]) + "' appears twice";
      meta.files.push_back(
          {std::string(words[1]), bytes, static_cast<uint32_t>(crc)});
    } else {
      return where + "unknown key `" + key + "`";
    }
    if (!error.empty())
      return error;
  }
  if (lineNumber == 0)
    return "the file is empty";
  if (!ended)
    return "the file ends before `end` (truncated?)";
  for (const char *key :
       {"step", "epoch", "epoch_step", "seed", "data", "train_size",
        "global_batch", "micro_batch", "grad_accum", "world_size", "zero_stage",
        "lr", "optimizer"})
    if (!seen.count(key))
      return std::string("`") + key + "` is missing";
  if (static_cast<int64_t>(meta.files.size()) != meta.worldSize)
    return "lists " + std::to_string(meta.files.size()) +
           " shard file(s) for world size " + std::to_string(meta.worldSize);
  return "";
}

} // namespace var::train::checkpoint
