// The command-line flags of the data pipeline, parsed into DataOptions, and
// their --help text, so that a tool adds them with two calls.
#ifndef VAR_RUNTIME_DATA_DATAFLAGS_H
#define VAR_RUNTIME_DATA_DATAFLAGS_H

#include "runtime/data/DataSource.h"

#include <string>

namespace var::data {

/// Lines for --help, one flag each, indented as varrun's.
extern const char *kDataFlagsUsage;

enum class FlagResult { NotMine, Parsed, Bad };

/// Parses `--name=value` if `name` is a data flag (`--no-flip` has no
/// value); on Bad, `error` says what is wrong with the value.
FlagResult parseDataFlag(const std::string &name, const std::string &value,
                         DataOptions &options, std::string &error);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_DATAFLAGS_H
