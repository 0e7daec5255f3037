// TensorBoard event files: TFRecord framing of serialized Event protos.
// The writer makes events.out.tfevents.<time>.<host> with scalar
// summaries; the reader checks the framing and both CRCs of every record.
#ifndef VAR_RUNTIME_TRAIN_EVENTFILE_H
#define VAR_RUNTIME_TRAIN_EVENTFILE_H

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace var::train {

/// Appends TFRecord records to one TensorBoard event file.
class EventFileWriter {
public:
  /// Creates `directory` (and its parents) if needed, and in it a new
  /// event file whose first record holds file_version "brain.Event:2".
  static std::string open(const std::string &directory,
                          std::unique_ptr<EventFileWriter> &out);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter &) = delete;
  EventFileWriter &operator=(const EventFileWriter &) = delete;

  /// One Event at `step` with a simple_value per (tag, value), flushed so
  /// TensorBoard sees it while training runs.
  std::string
  addScalars(int64_t step,
             const std::vector<std::pair<std::string, double>> &scalars);
  const std::string &getPath() const { return path; }

private:
  EventFileWriter(std::string path, std::FILE *file)
      : path(std::move(path)), file(file) {}
  std::string writeRecord(const std::string &data);

  std::string path;
  std::FILE *file;
};

/// Reads every record of a TFRecord file, checking each length's and each
/// payload's masked CRC-32C. The error names the file, the record and its
/// byte offset.
std::string readTfRecords(const std::string &path,
                          std::vector<std::string> &records);

} // namespace var::train

#endif
