// The safetensors header parser, written for the one JSON shape the format
// uses rather than for JSON in general: anything outside that grammar is an
// error with its byte offset. Also the format's shared small pieces.
#include "runtime/train/SafetensorsFormat.h"

#include <limits>
#include <set>

namespace var::train::format {

namespace {

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

} // namespace

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

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t length = utf8SequenceLength(s, i);
    if (length == 0)
      return false;
    i += length;
  }
  return true;
}

std::string parseHeader(std::string_view text,
                        std::vector<TensorEntry> &entries,
                        std::map<std::string, std::string> &metadata) {
  return HeaderParser(text).parse(entries, metadata);
}

} // namespace var::train::format
