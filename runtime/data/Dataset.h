// Video dataset layouts: which files are training and evaluation videos and
// what their labels are. Everything is checked before training starts: a
// missing path, no classes, or a split file naming missing videos is an
// error that names what is wrong.
#ifndef VAR_RUNTIME_DATA_DATASET_H
#define VAR_RUNTIME_DATA_DATASET_H

#include <cstdint>
#include <string>
#include <vector>

namespace var::data {

struct VideoEntry {
  std::string path; // a video file or a folder of JPEG frames
  int64_t label = 0;
};

struct Dataset {
  /// Class names by label (list files without names: "0", "1", ...).
  std::vector<std::string> classes;
  std::vector<VideoEntry> train, eval;
  /// How it was found, for the log ("UCF101 split 1 (classInd.txt)", ...).
  std::string layout;
};

struct DatasetOptions {
  std::string root;      // --data DIR
  std::string trainList; // --train-list: `path label` lines
  std::string valList;   // --val-list
};

/// Finds the layout and reads it. In order:
///  - list files (--train-list, --val-list): `path label` or MMAction2's
///    `path frames label` per line, paths relative to --data (else to the
///    list's folder), labels from 0;
///  - Kinetics-style CSV: DIR/train.csv and DIR/validate.csv (or val.csv,
///    test.csv) with `label,youtube_id,time_start,time_end,split`; each row's
///    video is the file under DIR named YOUTUBEID_START_END.* (start and end
///    as 6-digit seconds) or YOUTUBEID.*;
///  - UCF101/HMDB51 split files: classInd.txt, trainlist01.txt and
///    testlist01.txt in DIR, DIR/ucfTrainTestlist or DIR/splits, video paths
///    relative to DIR, DIR/UCF-101 or DIR/videos;
///  - HMDB51's own split files: <class>_test_split1.txt (`video N`, N 1
///    train, 2 test, 0 unused) in DIR/testTrainMulti_7030_splits,
///    DIR/splits or DIR, videos in DIR/<class>, DIR/hmdb51_org/<class> or
///    DIR/videos/<class>;
///  - class folders: DIR/train/<class>/<video> and DIR/val/<class>/<video>
///    (or test/), else DIR/<class>/<video> with every fifth video of a class
///    (in name order) held out for evaluation.
/// A video is a file or a folder of JPEG frames. Returns "" or the error.
std::string loadDataset(const DatasetOptions &options, Dataset &dataset);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_DATASET_H
