// Rank detection: one small reader per launcher convention, tried in the
// order of Rendezvous.h, plus Slurm's host list syntax.
#include "runtime/comm/Rendezvous.h"

#include <cctype>
#include <cstdint>

extern char **environ;

namespace var::comm {

namespace {

/// More hosts than any cluster has: a typo like "n[1-99999999]".
constexpr size_t kMaxHosts = 1 << 20;

const std::string *lookup(const Environment &env, const std::string &name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : &it->second;
}

/// Reads `name` as a decimal integer in [minValue, maxValue]; a missing
/// variable leaves `value` alone and is an error only when `required`.
bool readInt(const Environment &env, const std::string &name, bool required,
             int64_t minValue, int64_t maxValue, int &value,
             std::string &error) {
  const std::string *text = lookup(env, name);
  if (!text) {
    if (required)
      error = name + " is not set";
    return !required;
  }
  bool digits = !text->empty() && text->size() <= 10;
  for (char c : *text)
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits) {
    error = name + "='" + *text + "' is not a non-negative integer";
    return false;
  }
  int64_t parsed = std::stoll(*text);
  if (parsed < minValue || parsed > maxValue) {
    error = name + "=" + *text + " is out of range [" +
            std::to_string(minValue) + ", " + std::to_string(maxValue) + "]";
    return false;
  }
  value = static_cast<int>(parsed);
  return true;
}

/// The variables one convention reads.
struct Names {
  const char *source;
  std::string rank, worldSize, localRank;
  bool localRankRequired;
};

/// Rank, world size and local rank, checked against each other.
bool readRanks(const Environment &env, const Names &names, RankInfo &info,
               std::string &error) {
  constexpr int64_t kMax = INT32_MAX;
  info.localRank = 0;
  if (!readInt(env, names.worldSize, true, 1, kMax, info.worldSize, error) ||
      !readInt(env, names.rank, true, 0, kMax, info.rank, error) ||
      !readInt(env, names.localRank, names.localRankRequired, 0, kMax,
               info.localRank, error))
    return false;
  if (info.rank >= info.worldSize) {
    error = names.rank + "=" + std::to_string(info.rank) + " is not below " +
            names.worldSize + "=" + std::to_string(info.worldSize);
    return false;
  }
  if (info.localRank >= info.worldSize) {
    error = names.localRank + "=" + std::to_string(info.localRank) +
            " is not below " + names.worldSize + "=" +
            std::to_string(info.worldSize);
    return false;
  }
  info.source = names.source;
  return true;
}

/// MASTER_ADDR-style variables; `defaultAddr`/`defaultPort` < 0 mean that
/// more than one rank requires them.
bool readMaster(const Environment &env, const std::string &addrName,
                const std::string &portName, const std::string &defaultAddr,
                int defaultPort, RankInfo &info, std::string &error) {
  bool needed = info.worldSize > 1;
  if (const std::string *addr = lookup(env, addrName)) {
    if (addr->empty()) {
      error = addrName + " is empty";
      return false;
    }
    info.masterAddr = *addr;
  } else if (!defaultAddr.empty() || !needed) {
    info.masterAddr = defaultAddr.empty() ? "127.0.0.1" : defaultAddr;
  } else {
    error = addrName + " is not set (needed for " +
            std::to_string(info.worldSize) + " ranks)";
    return false;
  }
  info.masterPort = defaultPort > 0 ? defaultPort : 29500;
  if (needed && defaultPort < 0 && !lookup(env, portName)) {
    error = portName + " is not set (needed for " +
            std::to_string(info.worldSize) + " ranks)";
    return false;
  }
  return readInt(env, portName, false, 1, 65535, info.masterPort, error);
}

bool fromSlurm(const Environment &env, RankInfo &info, std::string &error) {
  if (!readRanks(
          env,
          {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", false},
          info, error))
    return false;
  // sbatch runs its script as task 0 of the whole job, without a step id:
  // a varrun started there directly would wait for ranks nobody starts.
  if (info.worldSize > 1 && !lookup(env, "SLURM_STEP_ID") &&
      !lookup(env, "SLURM_STEPID")) {
    error = "SLURM_PROCID is set but SLURM_STEP_ID is not: this is a Slurm "
            "batch script, not a job step; start the " +
            std::to_string(info.worldSize) +
            " ranks with `srun varrun ...` (or on this node with "
            "--nproc-per-node)";
    return false;
  }
  if (const std::string *addr = lookup(env, "MASTER_ADDR")) {
    if (addr->empty()) {
      error = "MASTER_ADDR is empty";
      return false;
    }
    info.masterAddr = *addr;
  } else {
    const char *listName = nullptr;
    for (const char *name :
         {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"})
      if (!listName && lookup(env, name))
        listName = name;
    if (!listName) {
      if (info.worldSize > 1) {
        error = "SLURM_PROCID is set but none of SLURM_STEP_NODELIST, "
                "SLURM_JOB_NODELIST, SLURM_NODELIST or MASTER_ADDR is";
        return false;
      }
      info.masterAddr = "127.0.0.1";
    } else {
      std::vector<std::string> hosts;
      std::string listError;
      if (!expandSlurmNodeList(*lookup(env, listName), hosts, listError)) {
        error = std::string(listName) + ": " + listError;
        return false;
      }
      info.masterAddr = hosts.front();
    }
  }
  int jobId = 0;
  if (!readInt(env, "SLURM_JOB_ID", false, 0, INT32_MAX, jobId, error))
    return false;
  info.masterPort = 10000 + jobId % 20000;
  return readInt(env, "MASTER_PORT", false, 1, 65535, info.masterPort, error);
}

/// Appends to `out` every expansion of `name` (which has no top-level
/// comma): prefix, one bracket group, then the rest expanded recursively.
bool expandName(const std::string &name, std::vector<std::string> &out,
                std::string &error) {
  size_t open = name.find('[');
  if (open == std::string::npos) {
    if (name.find(']') != std::string::npos) {
      error = "unmatched ']' in '" + name + "'";
      return false;
    }
    out.push_back(name);
    return true;
  }
  size_t close = name.find(']', open);
  if (close == std::string::npos || name.find('[', open + 1) < close) {
    error = "unmatched '[' in '" + name + "'";
    return false;
  }
  std::string prefix = name.substr(0, open);
  std::string ranges = name.substr(open + 1, close - open - 1);
  std::vector<std::string> rests;
  if (!expandName(name.substr(close + 1), rests, error))
    return false;

  size_t start = 0;
  for (;;) {
    size_t comma = ranges.find(',', start);
    std::string item = ranges.substr(start, comma - start);
    size_t dash = item.find('-');
    std::string low = item.substr(0, dash);
    std::string high = dash == std::string::npos ? low : item.substr(dash + 1);
    auto isNumber = [](const std::string &s) {
      if (s.empty() || s.size() > 9)
        return false;
      for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c)))
          return false;
      return true;
    };
    if (!isNumber(low) || !isNumber(high) || std::stol(high) < std::stol(low)) {
      error = "bad range '" + item + "' in '" + name + "'";
      return false;
    }
    for (long i = std::stol(low), end = std::stol(high); i <= end; ++i) {
      std::string number = std::to_string(i);
      if (number.size() < low.size())
        number.insert(0, low.size() - number.size(), '0');
      for (const std::string &rest : rests) {
        if (out.size() >= kMaxHosts) {
          error = "more than " + std::to_string(kMaxHosts) + " hosts";
          return false;
        }
        out.push_back(prefix + number + rest);
      }
    }
    if (comma == std::string::npos)
      return true;
    start = comma + 1;
  }
}

} // namespace

Environment readEnvironment() {
  Environment env;
  for (char **entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    size_t equals = text.find('=');
    if (equals != std::string::npos)
      env[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return env;
}

bool expandSlurmNodeList(const std::string &list,
                         std::vector<std::string> &hosts, std::string &error) {
  hosts.clear();
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size() && list[i] == '[')
      ++depth;
    else if (i < list.size() && list[i] == ']')
      --depth;
    if (i < list.size() && (list[i] != ',' || depth > 0))
      continue;
    std::string name = list.substr(start, i - start);
    if (name.empty()) {
      error = "empty host name in '" + list + "'";
      return false;
    }
    if (!expandName(name, hosts, error)) {
      error += " (in '" + list + "')";
      return false;
    }
    start = i + 1;
  }
  return true;
}

bool detectRankInfo(const Environment &env, RankInfo &info,
                    std::string &error) {
  RankInfo detected;
  bool ok = true;
  if (lookup(env, "VARRUN_RANK") || lookup(env, "VARRUN_WORLD_SIZE")) {
    ok = readRanks(env,
                   {"varrun", "VARRUN_RANK", "VARRUN_WORLD_SIZE",
                    "VARRUN_LOCAL_RANK", true},
                   detected, error) &&
         readMaster(env, "VARRUN_MASTER_ADDR", "VARRUN_MASTER_PORT", "", -1,
                    detected, error);
  } else if (lookup(env, "RANK") || lookup(env, "WORLD_SIZE")) {
    ok = readRanks(env, {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", false},
                   detected, error) &&
         readMaster(env, "MASTER_ADDR", "MASTER_PORT", "", -1, detected, error);
  } else if (lookup(env, "OMPI_COMM_WORLD_RANK") ||
             lookup(env, "OMPI_COMM_WORLD_SIZE")) {
    ok = readRanks(env,
                   {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                    "OMPI_COMM_WORLD_LOCAL_RANK", false},
                   detected, error) &&
         readMaster(env, "MASTER_ADDR", "MASTER_PORT", "127.0.0.1", 29500,
                    detected, error);
  } else if (lookup(env, "SLURM_PROCID")) {
    ok = fromSlurm(env, detected, error);
  }
  if (ok)
    info = detected;
  return ok;
}

} // namespace var::comm
