// The training log's outputs besides TensorBoard: a JSON Lines metrics file
// (one object per log line) and the terminal progress line.
#ifndef VAR_RUNTIME_TRAIN_METRICSLOG_H
#define VAR_RUNTIME_TRAIN_METRICSLOG_H

#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace var::train {

/// A JSON object of one string field, "kind", and numbers in order, in
/// their shortest round-trip form. Non-finite numbers become null (JSON has
/// no NaN). Keys and kind must need no escaping.
std::string
formatJsonLine(const std::string &kind,
               const std::vector<std::pair<std::string, double>> &fields);

/// Appends formatJsonLine() lines to a file, flushed after each.
class JsonLinesWriter {
public:
  /// Creates (truncates) `path`.
  static std::string open(const std::string &path,
                          std::unique_ptr<JsonLinesWriter> &out);
  ~JsonLinesWriter();
  JsonLinesWriter(const JsonLinesWriter &) = delete;
  JsonLinesWriter &operator=(const JsonLinesWriter &) = delete;

  std::string write(const std::string &kind,
                    const std::vector<std::pair<std::string, double>> &fields);

private:
  JsonLinesWriter(std::string path, std::FILE *file)
      : path(std::move(path)), file(file) {}
  std::string path;
  std::FILE *file;
};

/// "m:ss" below an hour, "h:mm:ss" above; "?" for a negative or
/// non-finite duration.
std::string formatDuration(double seconds);

/// Status lines of a run of `total` steps. On a terminal, one line
/// rewritten in place (carriage return) that ends with the ETA; elsewhere
/// (a log file, a pipe) each update is a plain line.
class ProgressLine {
public:
  ProgressLine(std::ostream &out, bool terminal, int64_t total)
      : out(out), terminal(terminal), total(total) {}
  /// `text` describes step `step` of total; `elapsed` is the time since
  /// the first step began, which with `step` gives the ETA.
  void update(int64_t step, const std::string &text, double elapsed);
  /// A line that must stay (evaluation results, messages): on a terminal
  /// it replaces the progress line, which the next update redraws.
  void print(const std::string &line);
  /// Ends the progress line on a terminal.
  void finish();

private:
  std::ostream &out;
  bool terminal;
  int64_t total;
  size_t shown = 0; // characters of the progress line on the terminal
};

} // namespace var::train

#endif
