// Pieces of the safetensors format shared by the writer and the header
// parser (and JSON string escapes, for the timeline's trace file too).
// Internal to runtime/train.
#ifndef VAR_RUNTIME_TRAIN_SAFETENSORSFORMAT_H
#define VAR_RUNTIME_TRAIN_SAFETENSORSFORMAT_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace var::train::format {

struct DTypeInfo {
  const char *name;
  int64_t bytes;
};

// In the order of the reference implementation's Dtype enum (which is in
// increasing alignment); the writer sorts by descending position here.
inline constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 1},    {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"F8_E8M0", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},     {"BF16", 2},
    {"I32", 4},     {"U32", 4}, {"F32", 4}, {"C64", 8},     {"F64", 8},
    {"I64", 8},     {"U64", 8},
};
inline constexpr int kNumDTypes = sizeof(kDTypes) / sizeof(kDTypes[0]);

/// Position in kDTypes, or -1.
int findDType(std::string_view name);

/// Appends `s` as a JSON string literal, escaped the way serde_json writes
/// it (safetensors' reference writer), so that our files match its bytes.
void appendJsonString(std::string &out, std::string_view s);

/// a * b, false on uint64 overflow.
bool mulChecked(uint64_t a, uint64_t b, uint64_t &out);

/// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
/// points past U+10FFFF).
bool isValidUtf8(std::string_view s);

/// One tensor's header entry, as written in the file.
struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t begin = 0, end = 0;
};

/// Parses a header (the JSON between the length and the data) into its
/// tensor entries, in file order, and its metadata; empty on success, else
/// the error with its byte offset.
std::string parseHeader(std::string_view text,
                        std::vector<TensorEntry> &entries,
                        std::map<std::string, std::string> &metadata);

} // namespace var::train::format

#endif
