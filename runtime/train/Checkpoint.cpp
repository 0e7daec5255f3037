// Writing checkpoints atomically across ranks, finding the newest complete
// one, and reading one back into consolidated tensors.
#include "runtime/train/Checkpoint.h"
#include "runtime/train/CheckpointMeta.h"
#include "runtime/train/Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace var::train {

using checkpoint::crc32;
using checkpoint::crcText;
namespace fs = std::filesystem;

namespace {

std::string errnoText(const std::string &doing) {
  return doing + ": " + std::strerror(errno);
}

/// `dir`/`name`, without doubling a trailing slash of `dir`.
std::string child(const std::string &dir, const std::string &name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string shardName(int64_t rank) {
  return "rank-" + std::to_string(rank) + ".safetensors";
}

/// Writes `bytes` to a new file at `path` and flushes it to disk.
std::string writeDurably(const std::string &path, std::string_view bytes,
                         int64_t testDelayMs) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errnoText("creating " + path);
  constexpr int kPieces = 4;
  for (int piece = 0; piece < kPieces; ++piece) {
    if (testDelayMs > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(testDelayMs));
    size_t begin = bytes.size() * piece / kPieces;
    size_t end = bytes.size() * (piece + 1) / kPieces;
    while (begin < end) {
      ssize_t n = ::write(fd, bytes.data() + begin, end - begin);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        std::string error = errnoText("writing " + path);
        ::close(fd);
        return error;
      }
      begin += static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) {
    std::string error = errnoText("flushing " + path);
    ::close(fd);
    return error;
  }
  if (::close(fd) != 0)
    return errnoText("closing " + path);
  return "";
}

/// Makes a directory's entries (creations, renames) durable. Some file
/// systems cannot sync a directory (EINVAL); there is nothing more to do.
std::string syncDirectory(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errnoText("opening directory " + path);
  if (::fsync(fd) != 0 && errno != EINVAL) {
    std::string error = errnoText("flushing directory " + path);
    ::close(fd);
    return error;
  }
  ::close(fd);
  return "";
}

/// A checkpoint file; a missing one means the checkpoint is incomplete.
std::string readWholeFile(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    bool missing = errno == ENOENT;
    return errnoText(path) + (missing ? " (the checkpoint is incomplete)" : "");
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    std::string error = errnoText(path);
    ::close(fd);
    return error;
  }
  out.resize(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string error = n < 0 ? errnoText("reading " + path)
                                : path + ": shrank while being read";
      ::close(fd);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return "";
}

/// N for a directory named step-N (digits only), else -1.
int64_t stepOfName(const std::string &name) {
  static const std::string prefix = "step-";
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 18 ||
      name.compare(0, prefix.size(), prefix) != 0)
    return -1;
  int64_t step = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9')
      return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

/// The step-N directories in `dir`, newest first.
std::string listCheckpoints(const std::string &dir,
                            std::vector<std::pair<int64_t, std::string>> &out) {
  out.clear();
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec)
    return dir + ": " + ec.message();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec)
      return dir + ": " + ec.message();
    int64_t step = stepOfName(it->path().filename().string());
    if (step >= 0 && it->is_directory(ec))
      out.push_back({step, it->path().string()});
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  return "";
}

/// Removes a directory tree by first renaming it to a `deleting-` name, so
/// that a crash halfway never leaves something that looks like a checkpoint.
std::string removeCheckpoint(const std::string &dir, const std::string &name) {
  std::string trash = child(dir, "deleting-" + name);
  std::error_code ec;
  fs::remove_all(trash, ec);
  if (::rename(child(dir, name).c_str(), trash.c_str()) != 0)
    return errnoText("moving " + child(dir, name) + " aside");
  fs::remove_all(trash, ec);
  if (ec)
    return trash + ": " + ec.message();
  return "";
}

/// Leftovers of interrupted writes and deletions.
void removeLeftovers(const std::string &dir) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("tmp-step-", 0) == 0 || name.rfind("deleting-", 0) == 0)
      stale.push_back(it->path());
  }
  for (const fs::path &path : stale)
    fs::remove_all(path, ec);
}

/// Every rank gets `root`'s `message` (empty: success).
std::string shareMessage(comm::Communicator &comm, int root,
                         std::string &message) {
  int64_t size = static_cast<int64_t>(message.size());
  std::string error = comm.broadcast(&size, sizeof size, root);
  if (!error.empty())
    return error;
  message.resize(static_cast<size_t>(size));
  return size ? comm.broadcast(message.data(), size, root) : "";
}

/// This rank's shard file: its tensors and, in the file's metadata, each
/// tensor's "OFFSET CRC32" plus rank, world size and step.
std::string encodeShard(const exec::RankTrainingState &state, int64_t rank,
                        int64_t worldSize, int64_t step, std::string &out) {
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata = {
      {"rank", std::to_string(rank)},
      {"world_size", std::to_string(worldSize)},
      {"step", std::to_string(step)}};
  auto add = [&](const std::string &name, std::vector<int64_t> shape,
                 int64_t offset, const std::vector<float> &values) {
    SafetensorsTensor tensor{name, "F32", std::move(shape), {}};
    tensor.bytes.resize(values.size() * sizeof(float));
    std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
    metadata[name] = std::to_string(offset) + " " +
                     crcText(crc32(tensor.bytes.data(), tensor.bytes.size()));
    tensors.push_back(std::move(tensor));
  };
  auto size = [](const std::vector<float> &values) {
    return std::vector<int64_t>{static_cast<int64_t>(values.size())};
  };
  for (const exec::TensorSlice &slice : state.master)
    add("master/" + slice.name, size(slice.values), slice.offset, slice.values);
  for (const auto &[key, slices] : state.optimizer)
    for (const exec::TensorSlice &slice : slices)
      add(key + "/" + slice.name, size(slice.values), slice.offset,
          slice.values);
  for (const exec::NamedTensor &buffer : state.buffers)
    add("buffer/" + buffer.name, buffer.shape, 0, buffer.values);
  return encodeSafetensors(tensors, metadata, out);
}

std::string readMeta(const std::string &path, CheckpointMeta &meta) {
  std::string file = child(path, kCheckpointMetaFile), text;
  std::string error = readWholeFile(file, text);
  if (!error.empty())
    return error;
  error = checkpoint::parseMeta(text, meta);
  if (!error.empty())
    return file + ": " + error;
  for (size_t r = 0; r < meta.files.size(); ++r)
    if (meta.files[r].name != shardName(static_cast<int64_t>(r)))
      return file + ": shard " + std::to_string(r) + " is '" +
             meta.files[r].name + "', expected '" +
             shardName(static_cast<int64_t>(r)) + "'";
  return "";
}

/// Reads shard `r` of a checkpoint and checks its size and checksum against
/// the metadata.
std::string readShard(const std::string &path, const CheckpointMeta &meta,
                      size_t r, std::string &bytes, bool &checksumOk) {
  const CheckpointFile &expected = meta.files[r];
  std::string file = child(path, expected.name);
  std::string error = readWholeFile(file, bytes);
  if (!error.empty())
    return error;
  if (bytes.size() != expected.bytes)
    return file + ": " + std::to_string(bytes.size()) +
           " bytes, the metadata says " + std::to_string(expected.bytes) +
           " (truncated or replaced)";
  checksumOk = crc32(bytes.data(), bytes.size()) == expected.crc;
  return "";
}

} // namespace

std::vector<CheckpointTensor> describeTensors(const plan::Plan &plan) {
  std::vector<CheckpointTensor> tensors;
  for (const plan::PlanParam &param : plan.params)
    tensors.push_back({param.name, param.shape, param.buffer});
  return tensors;
}

std::string writeCheckpoint(const std::string &dir, CheckpointMeta meta,
                            const exec::RankTrainingState &state,
                            const CheckpointWriteOptions &options,
                            comm::Communicator &comm, std::string &path) {
  int rank = comm.getRank(), worldSize = comm.getWorldSize();
  meta.worldSize = worldSize;
  std::string name = "step-" + std::to_string(meta.step);
  std::string temp = child(dir, "tmp-" + name);
  path = child(dir, name);

  // Rank 0 makes a fresh temporary directory; everyone learns if it failed.
  std::string failure;
  if (rank == 0) {
    std::error_code ec;
    bool created = fs::create_directories(dir, ec);
    if (ec) {
      failure = dir + ": " + ec.message();
    } else if (created) {
      // The new directory's own entry must survive a crash too.
      fs::path normal = fs::path(dir).lexically_normal();
      if (normal.filename().empty()) // "a/b/"
        normal = normal.parent_path();
      std::string parent = normal.parent_path().string();
      failure = syncDirectory(parent.empty() ? "." : parent);
    }
    if (failure.empty())
      removeLeftovers(dir);
    if (failure.empty() && ::mkdir(temp.c_str(), 0755) != 0)
      failure = errnoText("creating " + temp);
  }
  std::string error = shareMessage(comm, 0, failure);
  if (!error.empty())
    return error;
  if (!failure.empty())
    return "rank 0: " + failure;

  // Each rank writes its shard; all learn every shard's size and checksum.
  std::string shard;
  failure = encodeShard(state, rank, worldSize, meta.step, shard);
  if (failure.empty())
    failure =
        writeDurably(temp + "/" + shardName(rank), shard, options.testDelayMs);
  meta.files.assign(static_cast<size_t>(worldSize), {});
  std::string firstFailure;
  for (int r = 0; r < worldSize; ++r) {
    CheckpointFile &file = meta.files[r];
    file.name = shardName(r);
    if (r == rank) {
      file.bytes = shard.size();
      file.crc = crc32(shard.data(), shard.size());
    }
    uint64_t record[2] = {file.bytes, file.crc};
    std::string message = r == rank ? failure : "";
    error = comm.broadcast(record, sizeof record, r);
    if (error.empty())
      error = shareMessage(comm, r, message);
    if (!error.empty())
      return error;
    file.bytes = record[0];
    file.crc = static_cast<uint32_t>(record[1]);
    if (!message.empty() && firstFailure.empty())
      firstFailure = "rank " + std::to_string(r) + ": " + message;
  }
  if (!firstFailure.empty())
    return firstFailure;

  // Rank 0 completes it: metadata last, then the rename makes it visible.
  if (rank == 0) {
    std::string text;
    failure = checkpoint::printMeta(meta, text);
    if (failure.empty())
      failure = writeDurably(temp + "/" + kCheckpointMetaFile, text,
                             options.testDelayMs);
    if (failure.empty())
      failure = syncDirectory(temp);
    if (failure.empty() && options.testDelayMs > 0)
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options.testDelayMs));
    std::error_code ec;
    if (failure.empty() && fs::exists(path, ec))
      failure = removeCheckpoint(dir, name);
    if (failure.empty() && ::rename(temp.c_str(), path.c_str()) != 0)
      failure = errnoText("renaming " + temp + " to " + path);
    if (failure.empty())
      failure = syncDirectory(dir);
    std::vector<std::pair<int64_t, std::string>> existing;
    if (failure.empty() && options.keep > 0)
      failure = listCheckpoints(dir, existing);
    int64_t kept = 0;
    for (const auto &[step, found] : existing) {
      if (!failure.empty() || step > meta.step || ++kept <= options.keep)
        continue;
      failure = removeCheckpoint(dir, fs::path(found).filename().string());
    }
  }
  error = shareMessage(comm, 0, failure);
  if (!error.empty())
    return error;
  return failure.empty() ? "" : "rank 0: " + failure;
}

std::string verifyCheckpoint(const std::string &path, CheckpointMeta &meta) {
  std::string error = readMeta(path, meta);
  if (!error.empty())
    return error;
  std::string bytes;
  for (size_t r = 0; r < meta.files.size(); ++r) {
    bool checksumOk = false;
    error = readShard(path, meta, r, bytes, checksumOk);
    if (!error.empty())
      return error;
    if (!checksumOk)
      return child(path, meta.files[r].name) +
             ": checksum mismatch (the file is corrupt)";
  }
  return "";
}

std::string findLatestCheckpoint(const std::string &dir, std::string &path,
                                 std::vector<std::string> &skipped) {
  path.clear();
  skipped.clear();
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return "";
  std::vector<std::pair<int64_t, std::string>> found;
  std::string error = listCheckpoints(dir, found);
  if (!error.empty())
    return error;
  for (const auto &[step, candidate] : found) {
    CheckpointMeta meta;
    error = verifyCheckpoint(candidate, meta);
    if (error.empty() && meta.step != step)
      error = candidate + "/" + kCheckpointMetaFile + ": records step " +
              std::to_string(meta.step);
    if (error.empty()) {
      path = candidate;
      return "";
    }
    skipped.push_back(error);
  }
  return "";
}

std::string resolveCheckpoint(const std::string &path, std::string &checkpoint,
                              std::vector<std::string> &skipped) {
  skipped.clear();
  checkpoint.clear();
  std::error_code ec;
  std::string name = fs::path(path).lexically_normal().filename().string();
  if (name.empty())
    name = fs::path(path).lexically_normal().parent_path().filename().string();
  if (stepOfName(name) >= 0 ||
      fs::exists(child(path, kCheckpointMetaFile), ec)) {
    checkpoint = path;
    return "";
  }
  std::string error = findLatestCheckpoint(path, checkpoint, skipped);
  if (error.empty() && checkpoint.empty())
    error = "no complete checkpoint in " + path;
  return error;
}

std::string readCheckpoint(const std::string &path, int64_t rank,
                           int64_t worldSize, CheckpointMeta &meta,
                           exec::TrainingState &state) {
  state = exec::TrainingState();
  std::string error = readMeta(path, meta);
  if (!error.empty())
    return error;
  int64_t bufferRank = meta.worldSize == worldSize ? rank : 0;

  // Where each tensor's values go: kind ("master", a state key, "buffer")
  // and name -> the consolidated tensor and the element ranges filled.
  struct Target {
    exec::NamedTensor *tensor;
    std::vector<std::pair<int64_t, int64_t>> filled;
  };
  std::map<std::string, std::map<std::string, Target>> targets;
  for (const CheckpointTensor &tensor : meta.tensors)
    (tensor.buffer ? state.buffers : state.master)
        .push_back({tensor.name, tensor.shape, {}});
  for (const std::string &key : meta.optimizerKeys) {
    state.optimizer.push_back({key, {}});
    for (const CheckpointTensor &tensor : meta.tensors)
      if (!tensor.buffer)
        state.optimizer.back().second.push_back(
            {tensor.name, tensor.shape, {}});
  }
  auto prepare = [&](const std::string &kind,
                     std::vector<exec::NamedTensor> &tensors) {
    for (exec::NamedTensor &tensor : tensors) {
      int64_t numel = 1;
      for (int64_t dim : tensor.shape)
        numel *= dim;
      tensor.values.assign(static_cast<size_t>(numel), 0.0f);
      targets[kind][tensor.name] = {&tensor, {}};
    }
  };
  prepare("master", state.master);
  prepare("buffer", state.buffers);
  for (auto &[key, tensors] : state.optimizer)
    prepare(key, tensors);

  std::string bytes;
  for (size_t r = 0; r < meta.files.size(); ++r) {
    std::string file = child(path, meta.files[r].name);
    bool checksumOk = false;
    error = readShard(path, meta, r, bytes, checksumOk);
    if (!error.empty())
      return error;
    std::vector<SafetensorsTensor> tensors;
    std::map<std::string, std::string> metadata;
    error = decodeSafetensors(bytes, tensors, metadata);
    if (!error.empty())
      return file + ": " + error;
    for (const auto &[key, expected] :
         {std::pair<std::string, int64_t>{"rank", r},
          {"world_size", meta.worldSize},
          {"step", meta.step}}) {
      auto it = metadata.find(key);
      if (it == metadata.end() || it->second != std::to_string(expected))
        return file + ": its metadata `" + key + "` is " +
               (it == metadata.end() ? "missing" : "'" + it->second + "'") +
               ", the checkpoint's is " + std::to_string(expected) +
               " (a shard of another checkpoint?)";
    }
    size_t described = 3;
    for (const SafetensorsTensor &tensor : tensors) {
      std::string where = file + ": tensor '" + tensor.name + "'";
      auto entry = metadata.find(tensor.name);
      size_t space =
          entry == metadata.end() ? std::string::npos : entry->second.find(' ');
      if (space == std::string::npos)
        return where + " has no \"OFFSET CRC32\" entry in the metadata";
      ++described;
      std::string offsetText = entry->second.substr(0, space);
      std::string crc = entry->second.substr(space + 1);
      if (crcText(crc32(tensor.bytes.data(), tensor.bytes.size())) != crc)
        return where + " fails its checksum (the file is corrupt)";
      size_t slash = tensor.name.find('/');
      std::string kind = tensor.name.substr(0, slash);
      std::string name =
          slash == std::string::npos ? "" : tensor.name.substr(slash + 1);
      auto kindTargets = targets.find(kind);
      if (kindTargets == targets.end())
        return where + ": '" + kind +
               "' is neither master, buffer nor an optimizer state key the "
               "checkpoint lists";
      auto target = kindTargets->second.find(name);
      if (target == kindTargets->second.end())
        return where + ": '" + name + "' is not a " +
               (kind == "buffer" ? "buffer" : "parameter") +
               " the checkpoint lists";
      if (tensor.dtype != "F32")
        return where + " is " + tensor.dtype + ", not F32";
      if (kind == "buffer" && static_cast<int64_t>(r) != bufferRank)
        continue;
      exec::NamedTensor &out = *target->second.tensor;
      int64_t count = static_cast<int64_t>(tensor.bytes.size() / 4);
      int64_t offset = -1;
      char *stop = nullptr;
      errno = 0;
      long long parsed = std::strtoll(offsetText.c_str(), &stop, 10);
      if (!offsetText.empty() && *stop == '\0' && errno == 0)
        offset = parsed;
      int64_t numel = static_cast<int64_t>(out.values.size());
      if (offset < 0 || offset > numel || count > numel - offset ||
          (kind == "buffer" && (offset != 0 || tensor.shape != out.shape)))
        return where + ": " + std::to_string(count) + " elements at offset " +
               offsetText + " do not fit the tensor's shape";
      std::memcpy(out.values.data() + offset, tensor.bytes.data(),
                  tensor.bytes.size());
      target->second.filled.push_back({offset, offset + count});
    }
    if (described != metadata.size())
      return file + ": its metadata has entries for tensors it lacks";
    if (!checksumOk)
      return file + ": checksum mismatch (the file is corrupt)";
  }

  // Every element of every tensor must have come from exactly one shard.
  for (auto &[kind, byName] : targets)
    for (auto &[name, target] : byName) {
      std::sort(target.filled.begin(), target.filled.end());
      int64_t next = 0;
      int64_t numel = static_cast<int64_t>(target.tensor->values.size());
      for (const auto &[begin, end] : target.filled) {
        if (begin != next)
          return path + ": " + kind + " '" + name + "': elements [" +
                 std::to_string(std::min(begin, next)) + ", " +
                 std::to_string(std::max(begin, next)) + ") are " +
                 (begin > next ? "in no shard" : "in two shards");
        next = end;
      }
      if (next != numel && !(kind == "buffer" && target.filled.empty()))
        return path + ": " + kind + " '" + name + "': elements [" +
               std::to_string(next) + ", " + std::to_string(numel) +
               ") are in no shard";
      if (kind == "buffer" && target.filled.empty())
        return child(path, meta.files[bufferRank].name) + ": buffer '" + name +
               "' is missing";
    }
  return "";
}

std::string exportCheckpoint(const std::string &path, const std::string &output,
                             std::string &exported,
                             std::vector<std::string> &skipped) {
  std::string checkpoint;
  std::string error = resolveCheckpoint(path, checkpoint, skipped);
  if (!error.empty())
    return error;
  CheckpointMeta meta;
  exec::TrainingState state;
  error = readCheckpoint(checkpoint, 0, 1, meta, state);
  if (!error.empty())
    return error;
  std::vector<SafetensorsTensor> tensors;
  for (const auto *list : {&state.master, &state.buffers})
    for (const exec::NamedTensor &tensor : *list) {
      SafetensorsTensor out{tensor.name, "F32", tensor.shape, {}};
      out.bytes.resize(tensor.values.size() * sizeof(float));
      std::memcpy(out.bytes.data(), tensor.values.data(), out.bytes.size());
      tensors.push_back(std::move(out));
    }
  exported = checkpoint + " (step " + std::to_string(meta.step) + ")";
  return writeSafetensors(output, tensors,
                          {{"format", "pt"}, {"producer", "varrun"}});
}

std::string resumeTraining(const std::string &dir, const CheckpointMeta &run,
                           exec::Executor &executor, comm::Communicator &comm,
                           std::vector<std::string> &notes, int64_t &step) {
  notes.clear();
  step = 0;
  std::string path, failure;
  if (comm.getRank() == 0) {
    std::vector<std::string> skipped;
    failure = findLatestCheckpoint(dir, path, skipped);
    for (const std::string &reason : skipped)
      notes.push_back("skipped " + reason);
  }
  std::string error = shareMessage(comm, 0, failure);
  if (error.empty())
    error = shareMessage(comm, 0, path);
  if (!error.empty())
    return error;
  if (!failure.empty())
    return "rank 0: " + failure;
  if (path.empty()) {
    notes.push_back("no complete checkpoint in " + dir +
                    "; starting from the beginning");
    return "";
  }

  CheckpointMeta saved;
  exec::TrainingState state;
  failure =
      readCheckpoint(path, comm.getRank(), comm.getWorldSize(), saved, state);
  if (failure.empty()) {
    std::string mismatch = checkResumable(saved, run);
    if (mismatch.empty())
      mismatch = executor.setTrainingState(state);
    if (!mismatch.empty())
      failure = path + ": " + mismatch;
  }
  // Agree: one rank's failure stops all of them.
  float failed = failure.empty() ? 0.0f : 1.0f;
  error = comm.allReduce(&failed, 1, /*mean=*/false);
  if (!error.empty())
    return error;
  if (!failure.empty())
    return failure;
  if (failed > 0)
    return "another rank could not load " + path;
  step = saved.step;
  notes.push_back("resuming from " + path + " (step " +
                  std::to_string(saved.step) + ", epoch " +
                  std::to_string(saved.epoch) + ", written by " +
                  std::to_string(saved.worldSize) + " rank(s) at ZeRO stage " +
                  std::to_string(saved.zeroStage) + ")");
  return "";
}

std::string checkResumable(const CheckpointMeta &saved,
                           const CheckpointMeta &run) {
  auto differs = [](const std::string &what, const std::string &then,
                    const std::string &now) {
    return "the checkpoint was written with " + what + " " + then +
           "; this run has " + now +
           ": training would not continue the same data order";
  };
  if (saved.seed != run.seed)
    return differs("--seed", std::to_string(saved.seed),
                   std::to_string(run.seed));
  if (saved.data != run.data)
    return differs("--data", saved.data, run.data);
  if (saved.trainSize != run.trainSize)
    return differs("a training set of", std::to_string(saved.trainSize),
                   std::to_string(run.trainSize));
  if (saved.globalBatch != run.globalBatch)
    return differs("global batch", std::to_string(saved.globalBatch),
                   std::to_string(run.globalBatch));
  return "";
}

} // namespace var::train
