// The checkpoint metadata file (checkpoint.txt) and the CRC-32 both it and
// the shards use. Internal to runtime/train.
#ifndef VAR_RUNTIME_TRAIN_CHECKPOINTMETA_H
#define VAR_RUNTIME_TRAIN_CHECKPOINTMETA_H

#include "runtime/train/Checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace var::train::checkpoint {

/// CRC-32 (IEEE 802.3, zlib's crc32) of `size` bytes, continuing from `crc`.
uint32_t crc32(const void *data, size_t size, uint32_t crc = 0);

/// Eight lowercase hex digits.
std::string crcText(uint32_t crc);

/// The metadata as text, one `key value` per line, ending in `end`:
///   var-checkpoint 1
///   step 10
///   ...
///   optimizer exp_avg exp_avg_sq
///   tensor conv1.weight param 6 3 3 3
///   tensor bn1.running_mean buffer 6
///   file rank-0.safetensors 2104 9a8b7c6d
///   end
/// Fails when a name or the data source cannot be written on one line.
std::string printMeta(const CheckpointMeta &meta, std::string &out);

/// Parses printMeta's text strictly: every key once and in range, known
/// keys only, `end` last. Errors name the line.
std::string parseMeta(std::string_view text, CheckpointMeta &meta);

} // namespace var::train::checkpoint

#endif
