// safetensors encoding, decoding and atomic file I/O. The header parser is
// written for the one JSON shape the format uses rather than for JSON in
// general: anything outside that grammar is an error with its byte offset.
#include "runtime/train/Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace var::train {
namespace {

struct DTypeInfo {
  const char *name;
  int64_t bytes;
};

// In the order of the reference implementation's Dtype enum (which is in
// increasing alignment); the writer sorts by descending position here.
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 1},    {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"F8_E8M0", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},     {"BF16", 2},
    {"I32", 4},     {"U32", 4}, {"F32", 4}, {"C64", 8},     {"F64", 8},
    {"I64", 8},     {"U64", 8},
};
constexpr int kNumDTypes = sizeof(kDTypes) / sizeof(kDTypes[0]);

/// Position in kDTypes, or -1.
int findDType(std::string_view name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (name == kDTypes[i].name)
      return i;
  return -1;
}

/// a * b, false on uint64 overflow.
bool mulChecked(uint64_t a, uint64_t b, uint64_t &out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return false;
  out = a * b;
  return true;
}

/// Length of the well-formed UTF-8 sequence at s[i], 0 if there is none
/// (overlong forms, surrogates and code points past U+10FFFF included).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80)
    return 1;
  size_t length;
  unsigned char lo = 0x80, hi = 0xbf; // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 == 0xe0)
      lo = 0xa0;
    if (b0 == 0xed)
      hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 == 0xf0)
      lo = 0x90;
    if (b0 == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (i + length > s.size())
    return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi)
    return 0;
  for (size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf)
      return 0;
  return length;
}

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t length = utf8SequenceLength(s, i);
    if (length == 0)
      return false;
    i += length;
  }
  return true;
}

/// A JSON string literal, escaped the way serde_json writes it (the
/// reference writer), so our files match its bytes.
void appendJsonString(std::string &out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

/// Checks `tensors`, orders them as the reference writer does, and builds
/// the 8-byte length plus padded header. `dataBytes` is the data section's
/// size.
std::string prepare(const std::vector<SafetensorsTensor> &tensors,
                    const std::map<std::string, std::string> &metadata,
                    std::string &prefix, std::vector<size_t> &order,
                    uint64_t &dataBytes) {
  std::vector<int> dtypeOf(tensors.size());
  std::set<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SafetensorsTensor &t = tensors[i];
    std::string where = "safetensors: tensor '" + t.name + "'";
    if (t.name == "__metadata__")
      return where + ": the name is reserved for the metadata";
    if (!isValidUtf8(t.name))
      return where + ": the name is not valid UTF-8";
    if (!names.insert(t.name).second)
      return where + ": duplicate name";
    dtypeOf[i] = findDType(t.dtype);
    if (dtypeOf[i] < 0)
      return where + ": unknown dtype '" + t.dtype + "'";
    uint64_t expected = static_cast<uint64_t>(kDTypes[dtypeOf[i]].bytes);
    for (int64_t dim : t.shape) {
      if (dim < 0)
        return where + ": negative dimension " + std::to_string(dim);
      if (!mulChecked(expected, static_cast<uint64_t>(dim), expected))
        return where + ": shape overflows";
    }
    if (expected != t.bytes.size())
      return where + ": shape and dtype need " + std::to_string(expected) +
             " bytes, the tensor has " + std::to_string(t.bytes.size());
  }
  for (const auto &[key, value] : metadata)
    if (!isValidUtf8(key) || !isValidUtf8(value))
      return "safetensors: metadata entry '" + key + "' is not valid UTF-8";

  order.resize(tensors.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (dtypeOf[a] != dtypeOf[b])
      return dtypeOf[a] > dtypeOf[b];
    return tensors[a].name < tensors[b].name;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[key, value] : metadata) {
      if (!first)
        header += ',';
      first = false;
      appendJsonString(header, key);
      header += ':';
      appendJsonString(header, value);
    }
    header += '}';
  }
  dataBytes = 0;
  for (size_t i : order) {
    const SafetensorsTensor &t = tensors[i];
    if (header.size() > 1)
      header += ',';
    appendJsonString(header, t.name);
    header += ":{\"dtype\":\"";
    header += t.dtype;
    header += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d)
        header += ',';
      header += std::to_string(t.shape[d]);
    }
    header += "],\"data_offsets\":[";
    header += std::to_string(dataBytes);
    header += ',';
    dataBytes += t.bytes.size();
    header += std::to_string(dataBytes);
    header += "]}";
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');

  prefix.clear();
  uint64_t length = header.size();
  for (int k = 0; k < 8; ++k)
    prefix += static_cast<char>((length >> (8 * k)) & 0xff);
  prefix += header;
  return "";
}

// --- Header parsing ----------------------------------------------------------

struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t begin = 0, end = 0;
};

/// A recursive-descent parser for
///   header   := '{' (entry (',' entry)*)? '}' ws*
///   entry    := string ':' (tensor | metadata)
///   tensor   := '{' "dtype": string, "shape": [uint,...],
///                  "data_offsets": [uint, uint] '}'   (any key order)
///   metadata := '{' (string ':' string (',' ...)*)? '}'
/// with JSON whitespace between tokens and JSON string escapes.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  std::string parse(std::vector<TensorEntry> &entries,
                    std::map<std::string, std::string> &metadata) {
    if (text.empty() || text[0] != '{')
      return fail("the header must start with '{'");
    ++pos;
    std::set<std::string> keys;
    skipWhitespace();
    if (peek() == '}') {
      ++pos;
    } else {
      while (true) {
        std::string key;
        if (!parseString(key) || !expect(':'))
          return error;
        if (!keys.insert(key).second)
          return fail("duplicate key '" + key + "'");
        if (key == "__metadata__") {
          if (!parseMetadata(metadata))
            return error;
        } else {
          TensorEntry entry;
          entry.name = key;
          if (!parseTensor(entry))
            return error;
          entries.push_back(std::move(entry));
        }
        skipWhitespace();
        if (peek() == ',') {
          ++pos;
          continue;
        }
        if (peek() == '}') {
          ++pos;
          break;
        }
        return fail("expected ',' or '}' after the entry for '" + key + "'");
      }
    }
    skipWhitespace();
    if (pos != text.size())
      return fail("unexpected bytes after the header's closing '}'");
    return "";
  }

private:
  std::string_view text;
  size_t pos = 0;
  std::string error;

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }

  std::string fail(const std::string &what) {
    error = "header byte " + std::to_string(pos) + ": " + what;
    return error;
  }

  void skipWhitespace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool expect(char c) {
    skipWhitespace();
    if (peek() != c) {
      fail(std::string("expected '") + c + "'");
      return false;
    }
    ++pos;
    return true;
  }

  bool parseHex4(uint32_t &value) {
    if (pos + 4 > text.size()) {
      fail("truncated \\u escape");
      return false;
    }
    value = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[pos++];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else {
        --pos;
        fail("bad hex digit in \\u escape");
        return false;
      }
      value = value * 16 + digit;
    }
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool parseString(std::string &out) {
    skipWhitespace();
    if (peek() != '"') {
      fail("expected a string");
      return false;
    }
    ++pos;
    while (true) {
      if (pos >= text.size()) {
        fail("unterminated string");
        return false;
      }
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20) {
        fail("control character in a string");
        return false;
      }
      if (c != '\\') {
        size_t length = utf8SequenceLength(text, pos);
        if (length == 0) {
          fail("invalid UTF-8");
          return false;
        }
        out.append(text.substr(pos, length));
        pos += length;
        continue;
      }
      ++pos;
      char escape = peek();
      ++pos;
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
          fail("lone trailing surrogate in \\u escape");
          return false;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low;
          if (text.substr(pos, 2) != "\\u") {
            fail("lone leading surrogate in \\u escape");
            return false;
          }
          pos += 2;
          if (!parseHex4(low))
            return false;
          if (low < 0xdc00 || low > 0xdfff) {
            fail("leading surrogate not followed by a trailing one");
            return false;
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        fail("invalid escape in a string");
        return false;
      }
    }
  }

  /// A JSON number that must be a non-negative integer fitting uint64.
  bool parseUInt(uint64_t &value, const char *what) {
    skipWhitespace();
    if (peek() == '-') {
      fail(std::string(what) + " is negative");
      return false;
    }
    if (peek() < '0' || peek() > '9') {
      fail(std::string("expected an integer for ") + what);
      return false;
    }
    if (peek() == '0' && pos + 1 < text.size() && text[pos + 1] >= '0' &&
        text[pos + 1] <= '9') {
      fail(std::string(what) + " has a leading zero");
      return false;
    }
    value = 0;
    while (peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        fail(std::string(what) + " overflows 64 bits");
        return false;
      }
      value = value * 10 + digit;
      ++pos;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') {
      fail(std::string(what) + " must be an integer");
      return false;
    }
    return true;
  }

  /// '[' uint (',' uint)* ']' or '[' ']'.
  bool parseUIntArray(std::vector<uint64_t> &values, const char *what) {
    if (!expect('['))
      return false;
    skipWhitespace();
    if (peek() == ']') {
      ++pos;
      return true;
    }
    while (true) {
      uint64_t value;
      if (!parseUInt(value, what))
        return false;
      values.push_back(value);
      skipWhitespace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == ']') {
        ++pos;
        return true;
      }
      fail(std::string("expected ',' or ']' in ") + what);
      return false;
    }
  }

  bool parseTensor(TensorEntry &entry) {
    if (!expect('{'))
      return false;
    bool haveDType = false, haveShape = false, haveOffsets = false;
    skipWhitespace();
    if (peek() != '}') {
      while (true) {
        std::string key;
        if (!parseString(key) || !expect(':'))
          return false;
        bool *seen = key == "dtype"          ? &haveDType
                     : key == "shape"        ? &haveShape
                     : key == "data_offsets" ? &haveOffsets
                                             : nullptr;
        if (!seen) {
          fail("unknown key '" + key + "' in tensor '" + entry.name + "'");
          return false;
        }
        if (*seen) {
          fail("duplicate key '" + key + "' in tensor '" + entry.name + "'");
          return false;
        }
        *seen = true;
        if (key == "dtype") {
          if (!parseString(entry.dtype))
            return false;
        } else if (key == "shape") {
          if (!parseUIntArray(entry.shape, "a shape dimension"))
            return false;
        } else {
          std::vector<uint64_t> offsets;
          if (!parseUIntArray(offsets, "a data offset"))
            return false;
          if (offsets.size() != 2) {
            fail("data_offsets of tensor '" + entry.name +
                 "' must be [begin, end]");
            return false;
          }
          entry.begin = offsets[0];
          entry.end = offsets[1];
        }
        skipWhitespace();
        if (peek() == ',') {
          ++pos;
          continue;
        }
        if (peek() == '}')
          break;
        fail("expected ',' or '}' in tensor '" + entry.name + "'");
        return false;
      }
    }
    if (!haveDType || !haveShape || !haveOffsets) {
      fail("tensor '" + entry.name + "' needs dtype, shape and data_offsets");
      return false;
    }
    ++pos;
    return true;
  }

  bool parseMetadata(std::map<std::string, std::string> &metadata) {
    if (!expect('{'))
      return false;
    skipWhitespace();
    if (peek() == '}') {
      ++pos;
      return true;
    }
    while (true) {
      std::string key, value;
      if (!parseString(key) || !expect(':'))
        return false;
      skipWhitespace();
      if (peek() != '"') {
        fail("metadata value of '" + key + "' must be a string");
        return false;
      }
      if (!parseString(value))
        return false;
      if (!metadata.emplace(std::move(key), std::move(value)).second) {
        fail("duplicate metadata key");
        return false;
      }
      skipWhitespace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == '}') {
        ++pos;
        return true;
      }
      fail("expected ',' or '}' in __metadata__");
      return false;
    }
  }
};

std::string errnoText(const std::string &doing) {
  return "safetensors: " + doing + ": " + std::strerror(errno);
}

/// write(2) until done, retrying on EINTR and short writes.
bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

int64_t getSafetensorsDTypeBytes(std::string_view dtype) {
  int index = findDType(dtype);
  return index < 0 ? 0 : kDTypes[index].bytes;
}

std::string
encodeSafetensors(const std::vector<SafetensorsTensor> &tensors,
                  const std::map<std::string, std::string> &metadata,
                  std::string &out) {
  std::vector<size_t> order;
  uint64_t dataBytes;
  if (std::string err = prepare(tensors, metadata, out, order, dataBytes);
      !err.empty())
    return err;
  out.reserve(out.size() + dataBytes);
  for (size_t i : order)
    out.append(tensors[i].bytes.begin(), tensors[i].bytes.end());
  return "";
}

std::string
writeSafetensors(const std::string &path,
                 const std::vector<SafetensorsTensor> &tensors,
                 const std::map<std::string, std::string> &metadata) {
  std::string prefix;
  std::vector<size_t> order;
  uint64_t dataBytes;
  if (std::string err = prepare(tensors, metadata, prefix, order, dataBytes);
      !err.empty())
    return err;

  // The temporary file sits beside the target so that rename is atomic; the
  // pid keeps concurrent writers (one per rank) apart.
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errnoText("creating " + temp);
  auto abandon = [&](const std::string &doing) {
    std::string err = errnoText(doing);
    ::close(fd);
    ::unlink(temp.c_str());
    return err;
  };
  if (!writeAll(fd, prefix.data(), prefix.size()))
    return abandon("writing the header of " + temp);
  for (size_t i : order)
    if (!writeAll(fd, tensors[i].bytes.data(), tensors[i].bytes.size()))
      return abandon("writing tensor '" + tensors[i].name + "' to " + temp);
  if (::fsync(fd) != 0)
    return abandon("flushing " + temp);
  if (::close(fd) != 0) {
    std::string err = errnoText("closing " + temp);
    ::unlink(temp.c_str());
    return err;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string err = errnoText("renaming " + temp + " to " + path);
    ::unlink(temp.c_str());
    return err;
  }
  // Make the rename itself durable. Some file systems cannot sync a
  // directory (EINVAL); the file is complete either way.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "."
                    : slash == 0               ? "/"
                                               : path.substr(0, slash);
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0)
    return errnoText("opening directory " + dir);
  if (::fsync(dirFd) != 0 && errno != EINVAL) {
    std::string err = errnoText("flushing directory " + dir);
    ::close(dirFd);
    return err;
  }
  ::close(dirFd);
  return "";
}

/// decodeSafetensors without the "safetensors: " prefix on its errors.
static std::string
decodeUnprefixed(std::string_view file, std::vector<SafetensorsTensor> &tensors,
                 std::map<std::string, std::string> &metadata) {
  tensors.clear();
  metadata.clear();
  if (file.size() < 8)
    return "the file is " + std::to_string(file.size()) +
           " bytes, too short for the 8-byte header length";
  uint64_t headerBytes = 0;
  for (int k = 7; k >= 0; --k)
    headerBytes = (headerBytes << 8) | static_cast<unsigned char>(file[k]);
  if (headerBytes > kSafetensorsMaxHeaderBytes)
    return "header length " + std::to_string(headerBytes) +
           " exceeds the limit of " +
           std::to_string(kSafetensorsMaxHeaderBytes) + " bytes";
  if (headerBytes > file.size() - 8)
    return "header length " + std::to_string(headerBytes) +
           " runs past the end of the " + std::to_string(file.size()) +
           "-byte file";

  std::vector<TensorEntry> entries;
  HeaderParser parser(file.substr(8, headerBytes));
  if (std::string err = parser.parse(entries, metadata); !err.empty())
    return "" + err;

  const uint64_t dataBytes = file.size() - 8 - headerBytes;
  for (const TensorEntry &e : entries) {
    std::string where = "tensor '" + e.name + "'";
    int dtype = findDType(e.dtype);
    if (dtype < 0)
      return where + ": unknown dtype '" + e.dtype + "'";
    if (e.end < e.begin)
      return where + ": data_offsets [" + std::to_string(e.begin) + ", " +
             std::to_string(e.end) + "] end before they begin";
    if (e.end > dataBytes)
      return where + ": data_offsets end at " + std::to_string(e.end) +
             ", past the " + std::to_string(dataBytes) + "-byte data section";
    uint64_t expected = static_cast<uint64_t>(kDTypes[dtype].bytes);
    for (uint64_t dim : e.shape)
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          !mulChecked(expected, dim, expected))
        return where + ": shape overflows";
    if (expected != e.end - e.begin)
      return where + ": shape and dtype need " + std::to_string(expected) +
             " bytes, data_offsets give " + std::to_string(e.end - e.begin);
  }

  // The ranges must tile [0, dataBytes): sorted by offset, each begins
  // where the previous one ended.
  std::sort(entries.begin(), entries.end(),
            [](const TensorEntry &a, const TensorEntry &b) {
              if (a.begin != b.begin)
                return a.begin < b.begin;
              if (a.end != b.end)
                return a.end < b.end;
              return a.name < b.name;
            });
  uint64_t covered = 0;
  const std::string *previous = nullptr;
  for (const TensorEntry &e : entries) {
    if (e.begin < covered)
      return "tensor '" + e.name + "' at [" + std::to_string(e.begin) + ", " +
             std::to_string(e.end) + ") overlaps tensor '" + *previous +
             "', which ends at " + std::to_string(covered);
    if (e.begin > covered)
      return "bytes [" + std::to_string(covered) + ", " +
             std::to_string(e.begin) +
             ") of the data section belong to no tensor";
    covered = e.end;
    previous = &e.name;
  }
  if (covered != dataBytes)
    return "the data section is " + std::to_string(dataBytes) +
           " bytes but the tensors cover only " + std::to_string(covered);

  const char *data = file.data() + 8 + headerBytes;
  tensors.reserve(entries.size());
  for (TensorEntry &e : entries) {
    SafetensorsTensor t;
    t.name = std::move(e.name);
    t.dtype = std::move(e.dtype);
    t.shape.assign(e.shape.begin(), e.shape.end());
    t.bytes.assign(data + e.begin, data + e.end);
    tensors.push_back(std::move(t));
  }
  return "";
}

std::string decodeSafetensors(std::string_view file,
                              std::vector<SafetensorsTensor> &tensors,
                              std::map<std::string, std::string> &metadata) {
  std::string err = decodeUnprefixed(file, tensors, metadata);
  return err.empty() ? err : "safetensors: " + err;
}

std::string readSafetensors(const std::string &path,
                            std::vector<SafetensorsTensor> &tensors,
                            std::map<std::string, std::string> &metadata) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errnoText("opening " + path);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    std::string err = errnoText("reading the size of " + path);
    ::close(fd);
    return err;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return "safetensors: " + path + " is not a regular file";
  }
  std::string file(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < file.size()) {
    ssize_t n = ::read(fd, file.data() + done, file.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string err = errnoText("reading " + path);
      ::close(fd);
      return err;
    }
    if (n == 0)
      break; // The file shrank under us; decode what is there.
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  file.resize(done);
  std::string err = decodeUnprefixed(file, tensors, metadata);
  return err.empty() ? err : "safetensors: " + path + ": " + err;
}

} // namespace var::train
