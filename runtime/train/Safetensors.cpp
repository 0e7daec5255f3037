// safetensors encoding, decoding and atomic file I/O. The header parser is
// SafetensorsHeader.cpp.
#include "runtime/train/Safetensors.h"
#include "runtime/train/SafetensorsFormat.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace var::train {

using namespace format;

void format::appendJsonString(std::string &out, std::string_view s) {
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

namespace {

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
  if (std::string err =
          parseHeader(file.substr(8, headerBytes), entries, metadata);
      !err.empty())
    return err;

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
