// TFRecord framing: u64 length (little-endian), masked CRC-32C of those 8
// bytes, the payload, masked CRC-32C of the payload.
#include "runtime/train/EventFile.h"

#include "runtime/train/Crc32c.h"
#include "runtime/train/TensorBoardEvent.pb.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace var::train {

namespace {

double wallTime() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void putLittleEndian(uint64_t value, int bytes, std::string &out) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t getLittleEndian(const uint8_t *bytes, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i)
    value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return value;
}

/// mkdir -p.
std::string makeDirectories(const std::string &directory) {
  for (size_t slash = 1; slash <= directory.size(); ++slash) {
    if (slash != directory.size() && directory[slash] != '/')
      continue;
    std::string prefix = directory.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      return prefix + ": cannot create the directory: " + std::strerror(errno);
  }
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return directory + ": not a directory";
  return "";
}

} // namespace

std::string EventFileWriter::open(const std::string &directory,
                                  std::unique_ptr<EventFileWriter> &out) {
  std::string error = makeDirectories(directory);
  if (!error.empty())
    return error;
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  double now = wallTime();
  // TensorBoard's own writers add a PID-like suffix; the PID keeps two
  // varrun jobs started in the same second apart.
  std::string path = directory + "/events.out.tfevents." +
                     std::to_string(static_cast<int64_t>(now)) + "." + host +
                     "." + std::to_string(::getpid());
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return path + ": cannot create: " + std::strerror(errno);
  out.reset(new EventFileWriter(path, file));
  tensorboard::Event event;
  event.set_wall_time(now);
  event.set_file_version("brain.Event:2");
  return out->writeRecord(event.SerializeAsString());
}

EventFileWriter::~EventFileWriter() { std::fclose(file); }

std::string EventFileWriter::writeRecord(const std::string &data) {
  std::string record;
  putLittleEndian(data.size(), 8, record);
  putLittleEndian(maskCrc32c(crc32c(record.data(), 8)), 4, record);
  record += data;
  putLittleEndian(maskCrc32c(crc32c(data.data(), data.size())), 4, record);
  if (std::fwrite(record.data(), 1, record.size(), file) != record.size() ||
      std::fflush(file) != 0)
    return path + ": write failed: " + std::strerror(errno);
  return "";
}

std::string EventFileWriter::addScalars(
    int64_t step, const std::vector<std::pair<std::string, double>> &scalars) {
  tensorboard::Event event;
  event.set_wall_time(wallTime());
  event.set_step(step);
  tensorboard::Summary *summary = event.mutable_summary();
  for (const auto &[tag, value] : scalars) {
    tensorboard::Summary::Value *entry = summary->add_value();
    entry->set_tag(tag);
    entry->set_simple_value(static_cast<float>(value));
  }
  return writeRecord(event.SerializeAsString());
}

std::string readTfRecords(const std::string &path,
                          std::vector<std::string> &records) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return path + ": cannot open: " + std::strerror(errno);
  std::string bytes;
  char buffer[65536];
  for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
    bytes.append(buffer, got);
  std::fclose(file);

  const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
  size_t offset = 0;
  while (offset < bytes.size()) {
    std::string where = path + ": record " + std::to_string(records.size()) +
                        " at byte " + std::to_string(offset) + ": ";
    if (bytes.size() - offset < 12)
      return where + "truncated header";
    uint64_t length = getLittleEndian(data + offset, 8);
    if (getLittleEndian(data + offset + 8, 4) !=
        maskCrc32c(crc32c(data + offset, 8)))
      return where + "length CRC mismatch";
    if (length > bytes.size() - offset - 12 ||
        bytes.size() - offset - 12 - length < 4)
      return where + "truncated payload (" + std::to_string(length) +
             " bytes announced)";
    const uint8_t *payload = data + offset + 12;
    if (getLittleEndian(payload + length, 4) !=
        maskCrc32c(crc32c(payload, length)))
      return where + "payload CRC mismatch";
    records.emplace_back(reinterpret_cast<const char *>(payload), length);
    offset += 12 + length + 4;
  }
  return "";
}

} // namespace var::train
