// Layout detection and the readers of split, CSV and list files.
#include "runtime/data/Dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <sys/stat.h>

namespace var::data {
namespace {

bool isDirectory(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string join(const std::string &dir, const std::string &name) {
  if (dir.empty() || name.empty() || name[0] == '/')
    return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string parentOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// Entries of `dir` without hidden ones, sorted by name.
std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *entry = readdir(d))
      if (entry->d_name[0] != '.')
        names.push_back(entry->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos)
    return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> splitWords(const std::string &line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

bool parseLabel(const std::string &text, int64_t &label) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < 0)
    return false;
  label = value;
  return true;
}

/// Reads `path`'s non-empty lines; false when it cannot be opened.
bool readLines(const std::string &path, std::vector<std::string> &lines) {
  std::ifstream in(path);
  if (!in)
    return false;
  for (std::string line; std::getline(in, line);)
    if (!trim(line).empty())
      lines.push_back(trim(line));
  return true;
}

/// The error for videos a split names that do not exist: how many, and the
/// first few.
std::string missingVideos(const std::string &what,
                          const std::vector<std::string> &missing) {
  std::string message = what + " names " + std::to_string(missing.size()) +
                        " video(s) that do not exist:";
  for (size_t i = 0; i < missing.size() && i < 5; ++i)
    message += "\n  " + missing[i];
  if (missing.size() > 5)
    message += "\n  ...";
  return message;
}

std::string readListFile(const std::string &list, const std::string &root,
                         std::vector<VideoEntry> &out, int64_t &maxLabel) {
  std::vector<std::string> lines;
  if (!readLines(list, lines))
    return list + ": cannot open the list file";
  std::string base = root.empty() ? parentOf(list) : root;
  std::vector<std::string> missing;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> words = splitWords(lines[i]);
    VideoEntry entry;
    if ((words.size() != 2 && words.size() != 3) ||
        !parseLabel(words.back(), entry.label))
      return list + ":" + std::to_string(i + 1) +
             ": expected `path label` (or `path frames label`), got '" +
             lines[i] + "'";
    entry.path = join(base, words[0]);
    if (!exists(entry.path))
      missing.push_back(entry.path);
    maxLabel = std::max(maxLabel, entry.label);
    out.push_back(entry);
  }
  if (!missing.empty())
    return missingVideos(list, missing);
  if (out.empty())
    return list + ": the list file names no videos";
  return "";
}

std::string loadListFiles(const DatasetOptions &options, Dataset &dataset) {
  int64_t maxLabel = -1;
  std::string error =
      readListFile(options.trainList, options.root, dataset.train, maxLabel);
  if (error.empty() && !options.valList.empty())
    error = readListFile(options.valList, options.root, dataset.eval, maxLabel);
  if (!error.empty())
    return error;
  for (int64_t c = 0; c <= maxLabel; ++c)
    dataset.classes.push_back(std::to_string(c));
  dataset.layout = "list files";
  return "";
}

/// Splits one CSV line (no quoted commas in Kinetics' files, but quotes
/// around fields are removed).
std::vector<std::string> splitCsv(const std::string &line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted) {
      fields.push_back(trim(field));
      field.clear();
    } else
      field += c;
  }
  fields.push_back(trim(field));
  return fields;
}

/// Every file under `dir` (depth-first), by name without extension.
void indexFiles(const std::string &dir, int depth,
                std::map<std::string, std::string> &byStem) {
  for (const std::string &name : listDir(dir)) {
    std::string path = join(dir, name);
    if (isDirectory(path)) {
      if (depth < 4)
        indexFiles(path, depth + 1, byStem);
      continue;
    }
    size_t dot = name.find_last_of('.');
    byStem.emplace(dot == std::string::npos ? name : name.substr(0, dot), path);
  }
}

/// Rows of a Kinetics-style CSV as (video path, class name).
std::string
readKineticsCsv(const std::string &csv,
                const std::map<std::string, std::string> &byStem,
                std::vector<std::pair<std::string, std::string>> &out) {
  std::vector<std::string> lines;
  if (!readLines(csv, lines))
    return csv + ": cannot open";
  if (lines.empty())
    return csv + ": empty";
  std::vector<std::string> header = splitCsv(lines[0]);
  auto column = [&](const char *name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  int labelCol = column("label"), idCol = column("youtube_id");
  int startCol = column("time_start"), endCol = column("time_end");
  if (labelCol < 0 || idCol < 0 || startCol < 0 || endCol < 0)
    return csv +
           ": the header must name label, youtube_id, time_start and "
           "time_end (got '" +
           lines[0] + "')";
  int need = std::max(std::max(labelCol, idCol), std::max(startCol, endCol));
  std::vector<std::string> missing;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = splitCsv(lines[i]);
    if (static_cast<int>(fields.size()) <= need)
      return csv + ":" + std::to_string(i + 1) + ": too few fields in '" +
             lines[i] + "'";
    char stem[512];
    std::snprintf(stem, sizeof stem, "%s_%06d_%06d", fields[idCol].c_str(),
                  std::atoi(fields[startCol].c_str()),
                  std::atoi(fields[endCol].c_str()));
    auto found = byStem.find(stem);
    if (found == byStem.end())
      found = byStem.find(fields[idCol]);
    if (found == byStem.end())
      missing.push_back(stem);
    else
      out.push_back({found->second, fields[labelCol]});
  }
  if (!missing.empty())
    return missingVideos(csv, missing);
  return "";
}

std::string loadKinetics(const std::string &root, const std::string &trainCsv,
                         Dataset &dataset) {
  std::map<std::string, std::string> byStem;
  indexFiles(root, 0, byStem);
  std::vector<std::pair<std::string, std::string>> train, eval;
  std::string error = readKineticsCsv(trainCsv, byStem, train);
  std::string evalCsv;
  for (const char *name : {"validate.csv", "val.csv", "test.csv"})
    if (evalCsv.empty() && exists(join(root, name)))
      evalCsv = join(root, name);
  if (error.empty() && !evalCsv.empty())
    error = readKineticsCsv(evalCsv, byStem, eval);
  if (!error.empty())
    return error;
  // Class ids: the training CSV's class names in sorted order.
  std::map<std::string, int64_t> classIds;
  for (const auto &row : train)
    classIds.emplace(row.second, 0);
  for (auto &entry : classIds) {
    entry.second = static_cast<int64_t>(dataset.classes.size());
    dataset.classes.push_back(entry.first);
  }
  for (const auto &row : train)
    dataset.train.push_back({row.first, classIds[row.second]});
  for (const auto &row : eval) {
    auto it = classIds.find(row.second);
    if (it == classIds.end())
      return evalCsv + ": class '" + row.second +
             "' is not in the training CSV";
    dataset.eval.push_back({row.first, it->second});
  }
  dataset.layout = "Kinetics-style CSV";
  return "";
}

std::string loadUcfSplits(const std::string &root, const std::string &splits,
                          Dataset &dataset) {
  std::vector<std::string> lines;
  std::string classInd = join(splits, "classInd.txt");
  readLines(classInd, lines);
  std::map<std::string, int64_t> classIds;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> words = splitWords(lines[i]);
    int64_t id = 0;
    if (words.size() != 2 || !parseLabel(words[0], id) || id < 1)
      return classInd + ":" + std::to_string(i + 1) +
             ": expected `index ClassName` (indices from 1), got '" + lines[i] +
             "'";
    if (static_cast<int64_t>(dataset.classes.size()) < id)
      dataset.classes.resize(id);
    dataset.classes[id - 1] = words[1];
    classIds[words[1]] = id - 1;
  }
  if (dataset.classes.empty())
    return classInd + ": no classes";
  for (size_t c = 0; c < dataset.classes.size(); ++c)
    if (dataset.classes[c].empty())
      return classInd + ": class index " + std::to_string(c + 1) +
             " is missing";

  std::string trainList = join(splits, "trainlist01.txt");
  std::string testList = join(splits, "testlist01.txt");
  // The folder the listed paths are relative to: the first candidate that
  // holds the first training video.
  std::vector<std::string> trainLines;
  if (!readLines(trainList, trainLines) || trainLines.empty())
    return trainList + ": missing or empty";
  std::string first = splitWords(trainLines[0])[0];
  std::string videoRoot;
  for (const std::string &candidate :
       {root, join(root, "UCF-101"), join(root, "videos"), parentOf(splits)})
    if (exists(join(candidate, first))) {
      videoRoot = candidate;
      break;
    }
  if (videoRoot.empty())
    return trainList + ": its first video " + first + " is not under " + root +
           ", " + root + "/UCF-101 or " + root + "/videos";

  auto readSplit = [&](const std::string &list, bool train,
                       std::vector<VideoEntry> &out) -> std::string {
    std::vector<std::string> splitLines;
    if (!readLines(list, splitLines))
      return list + ": cannot open";
    std::vector<std::string> missing;
    for (size_t i = 0; i < splitLines.size(); ++i) {
      std::vector<std::string> words = splitWords(splitLines[i]);
      std::string where = list + ":" + std::to_string(i + 1);
      if (words.empty() || words.size() > 2)
        return where + ": expected `Class/video [index]`, got '" +
               splitLines[i] + "'";
      VideoEntry entry{join(videoRoot, words[0]), 0};
      size_t slash = words[0].find('/');
      std::string className =
          slash == std::string::npos ? "" : words[0].substr(0, slash);
      auto it = classIds.find(className);
      if (words.size() == 2) {
        int64_t id = 0;
        if (!parseLabel(words[1], id) || id < 1 ||
            id > static_cast<int64_t>(dataset.classes.size()))
          return where + ": class index '" + words[1] + "' is not in " +
                 classInd;
        entry.label = id - 1;
      } else if (it != classIds.end()) {
        entry.label = it->second;
      } else {
        return where + ": class folder '" + className + "' is not in " +
               classInd;
      }
      if (!exists(entry.path))
        missing.push_back(entry.path);
      out.push_back(entry);
    }
    if (!missing.empty())
      return missingVideos(list, missing);
    if (train && out.empty())
      return list + ": names no videos";
    return "";
  };
  std::string error = readSplit(trainList, true, dataset.train);
  if (error.empty() && exists(testList))
    error = readSplit(testList, false, dataset.eval);
  dataset.layout = "UCF101/HMDB51 split 1 (" + classInd + ")";
  return error;
}

constexpr std::string_view kHmdbSplitSuffix = "_test_split1.txt";

/// HMDB51's split-1 file of one class: <class>_test_split1.txt.
bool isHmdbSplitFile(const std::string &name) {
  return name.size() > kHmdbSplitSuffix.size() &&
         name.compare(name.size() - kHmdbSplitSuffix.size(),
                      kHmdbSplitSuffix.size(), kHmdbSplitSuffix) == 0;
}

/// The folder holding HMDB51's own split files, or "".
std::string findHmdbSplits(const std::string &root) {
  for (const std::string &dir :
       {join(root, "testTrainMulti_7030_splits"), join(root, "splits"), root})
    if (isDirectory(dir))
      for (const std::string &name : listDir(dir))
        if (isHmdbSplitFile(name))
          return dir;
  return "";
}

/// HMDB51's own split files: SPLITS/<class>_test_split1.txt, one line
/// `video.avi N` per video of the class, N 1 for training, 2 for testing and
/// 0 for neither; videos under DIR/<class>/, DIR/hmdb51_org/<class>/ or
/// DIR/videos/<class>/. Classes in name order, as HMDB51 numbers them.
std::string loadHmdbSplits(const std::string &root, const std::string &splits,
                           Dataset &dataset) {
  std::vector<std::string> files;
  for (const std::string &name : listDir(splits))
    if (isHmdbSplitFile(name))
      files.push_back(name);
  std::sort(files.begin(), files.end());
  std::string videoRoot;
  for (const std::string &name : files) {
    std::string className =
        name.substr(0, name.size() - kHmdbSplitSuffix.size());
    std::string list = join(splits, name);
    std::vector<std::string> lines;
    if (!readLines(list, lines))
      return list + ": cannot open";
    int64_t label = static_cast<int64_t>(dataset.classes.size());
    dataset.classes.push_back(className);
    std::vector<std::string> missing;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::vector<std::string> words = splitWords(lines[i]);
      std::string where = list + ":" + std::to_string(i + 1);
      if (words.empty())
        continue;
      if (words.size() != 2 ||
          (words[1] != "0" && words[1] != "1" && words[1] != "2"))
        return where + ": expected `video N` with N 0, 1 or 2, got '" +
               lines[i] + "'";
      if (words[1] == "0")
        continue;
      if (videoRoot.empty()) {
        for (const std::string &candidate :
             {root, join(root, "hmdb51_org"), join(root, "videos")})
          if (exists(join(join(candidate, className), words[0]))) {
            videoRoot = candidate;
            break;
          }
        if (videoRoot.empty())
          return where + ": video " + className + "/" + words[0] +
                 " is not under " + root + ", " + root + "/hmdb51_org or " +
                 root + "/videos";
      }
      VideoEntry entry{join(join(videoRoot, className), words[0]), label};
      if (!exists(entry.path))
        missing.push_back(entry.path);
      (words[1] == "1" ? dataset.train : dataset.eval).push_back(entry);
    }
    if (!missing.empty())
      return missingVideos(list, missing);
  }
  dataset.layout = "HMDB51 split 1 (" + splits + ")";
  return "";
}

/// DIR/<class>/<video>; `holdOut`: every fifth video of a class to `eval`.
std::string readClassFolders(const std::string &dir,
                             std::vector<std::string> &classes,
                             std::vector<VideoEntry> &train,
                             std::vector<VideoEntry> *eval) {
  bool defineClasses = classes.empty();
  std::vector<std::string> names;
  for (const std::string &name : listDir(dir))
    if (isDirectory(join(dir, name)))
      names.push_back(name);
  if (defineClasses)
    classes = names;
  for (const std::string &name : names) {
    auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end())
      return join(dir, name) + ": class '" + name +
             "' is not among the training classes";
    int64_t label = it - classes.begin();
    std::vector<std::string> videos = listDir(join(dir, name));
    for (size_t i = 0; i < videos.size(); ++i) {
      VideoEntry entry{join(join(dir, name), videos[i]), label};
      (eval && i % 5 == 4 ? *eval : train).push_back(entry);
    }
  }
  if (classes.empty())
    return dir + ": no class folders (expected DIR/<class>/<video>)";
  return "";
}

} // namespace

std::string loadDataset(const DatasetOptions &options, Dataset &dataset) {
  dataset = Dataset();
  if (!options.trainList.empty()) {
    if (!options.root.empty() && !isDirectory(options.root))
      return "--data " + options.root + ": no such directory";
    return loadListFiles(options, dataset);
  }
  if (!options.valList.empty())
    return "--val-list needs --train-list";
  const std::string &root = options.root;
  if (!isDirectory(root))
    return root + ": no such dataset directory";
  std::string error;
  if (exists(join(root, "train.csv"))) {
    error = loadKinetics(root, join(root, "train.csv"), dataset);
  } else if (std::string splits =
                 exists(join(root, "classInd.txt")) ? root
                 : exists(join(root, "ucfTrainTestlist/classInd.txt"))
                     ? join(root, "ucfTrainTestlist")
                 : exists(join(root, "splits/classInd.txt"))
                     ? join(root, "splits")
                     : "";
             !splits.empty()) {
    error = loadUcfSplits(root, splits, dataset);
  } else if (std::string hmdb = findHmdbSplits(root); !hmdb.empty()) {
    error = loadHmdbSplits(root, hmdb, dataset);
  } else if (isDirectory(join(root, "train"))) {
    error = readClassFolders(join(root, "train"), dataset.classes,
                             dataset.train, nullptr);
    for (const char *name : {"val", "test"})
      if (error.empty() && isDirectory(join(root, name))) {
        error = readClassFolders(join(root, name), dataset.classes,
                                 dataset.eval, nullptr);
        break;
      }
    dataset.layout = "class folders (train/, val/)";
  } else {
    error =
        readClassFolders(root, dataset.classes, dataset.train, &dataset.eval);
    dataset.layout = "class folders (every fifth video held out)";
  }
  if (!error.empty())
    return error;
  if (dataset.classes.empty())
    return root + ": the dataset has no classes";
  if (dataset.train.empty())
    return root + ": the dataset has no training videos";
  return "";
}

} // namespace var::data
