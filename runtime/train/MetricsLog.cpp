// JSON Lines records and the progress line.
#include "runtime/train/MetricsLog.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

namespace var::train {

std::string
formatJsonLine(const std::string &kind,
               const std::vector<std::pair<std::string, double>> &fields) {
  // Keys and kind are VAR's own identifiers (letters, digits, '_'), so
  // they go out unescaped.
  std::string line = "{\"kind\":\"" + kind + "\"";
  for (const auto &[key, value] : fields) {
    line += ",\"" + key + "\":";
    if (!std::isfinite(value)) {
      line += "null";
      continue;
    }
    char text[32];
    auto result = std::to_chars(text, text + sizeof text, value);
    line.append(text, result.ptr);
  }
  return line + "}";
}

std::string JsonLinesWriter::open(const std::string &path,
                                  std::unique_ptr<JsonLinesWriter> &out) {
  std::FILE *file = std::fopen(path.c_str(), "w");
  if (!file)
    return path + ": cannot create: " + std::strerror(errno);
  out.reset(new JsonLinesWriter(path, file));
  return "";
}

JsonLinesWriter::~JsonLinesWriter() { std::fclose(file); }

std::string JsonLinesWriter::write(
    const std::string &kind,
    const std::vector<std::pair<std::string, double>> &fields) {
  std::string line = formatJsonLine(kind, fields) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file) != line.size() ||
      std::fflush(file) != 0)
    return path + ": write failed: " + std::strerror(errno);
  return "";
}

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  auto total = static_cast<int64_t>(std::llround(seconds));
  char text[40];
  if (total < 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld",
                  static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  else
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld",
                  static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60),
                  static_cast<long long>(total % 60));
  return text;
}

void ProgressLine::update(int64_t step, const std::string &text,
                          double elapsed) {
  if (!terminal) {
    out << text << std::endl;
    return;
  }
  double eta = step > 0 ? elapsed / static_cast<double>(step) *
                              static_cast<double>(total - step)
                        : -1.0;
  std::string line = text + "  ETA " + formatDuration(eta);
  out << '\r' << line;
  if (line.size() < shown)
    out << std::string(shown - line.size(), ' ');
  out << std::flush;
  shown = line.size();
}

void ProgressLine::print(const std::string &line) {
  if (terminal && shown > 0) {
    out << '\r' << std::string(shown, ' ') << '\r';
    shown = 0;
  }
  out << line << std::endl;
}

void ProgressLine::finish() {
  if (terminal && shown > 0)
    out << std::endl;
  shown = 0;
}

} // namespace var::train
