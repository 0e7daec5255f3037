// Reading and writing safetensors files (huggingface/safetensors): the
// checkpoint format other tools load. The reader treats the file as
// untrusted and checks every length, offset and size before using it.
#ifndef VAR_RUNTIME_TRAIN_SAFETENSORS_H
#define VAR_RUNTIME_TRAIN_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace var::train {

/// One named tensor: little-endian, row-major bytes.
struct SafetensorsTensor {
  std::string name;
  /// "F32", "BF16", "I64", ... as the format spells them.
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// The reader refuses larger headers, as the reference implementation does.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

/// Bytes per element of a dtype the format names, 0 for any other string.
/// The sub-byte types (F4, F6_*) are not supported.
int64_t getSafetensorsDTypeBytes(std::string_view dtype);

/// The whole file in memory. Layout: the header's length N as 8
/// little-endian bytes; N bytes of compact JSON,
///   {"__metadata__":{"k":"v",...},"name":{"dtype":"F32","shape":[2,3],
///    "data_offsets":[begin,end]},...}
/// padded with spaces to a multiple of 8 (so that every tensor's data is
/// aligned to its element size); then the data. As in the reference
/// implementation, tensors are ordered by dtype, widest first, then by name,
/// and the header lists them in that order; "__metadata__" is left out when
/// `metadata` is empty. Returns an error, or "" when `out` holds the file.
std::string
encodeSafetensors(const std::vector<SafetensorsTensor> &tensors,
                  const std::map<std::string, std::string> &metadata,
                  std::string &out);

/// Writes encodeSafetensors' bytes to `path` through a temporary file in
/// the same directory, flushed to disk and renamed over `path`, so a crash
/// leaves either the old file or the new one. Returns an error, or "".
std::string
writeSafetensors(const std::string &path,
                 const std::vector<SafetensorsTensor> &tensors,
                 const std::map<std::string, std::string> &metadata);

/// Parses and validates a whole file held in memory: header length within
/// bounds and the file, a strict JSON header of exactly this grammar (no
/// unknown or duplicate keys, integers only where integers go, valid UTF-8),
/// known dtypes, shapes whose byte size equals their offset range, and
/// offset ranges that tile the data section exactly, without gap or overlap
/// (as the reference reader requires). `tensors` comes back in file order.
/// Returns an error, or "" on success; on error the outputs are unspecified.
std::string decodeSafetensors(std::string_view file,
                              std::vector<SafetensorsTensor> &tensors,
                              std::map<std::string, std::string> &metadata);

/// decodeSafetensors on the contents of `path`; errors name the file.
std::string readSafetensors(const std::string &path,
                            std::vector<SafetensorsTensor> &tensors,
                            std::map<std::string, std::string> &metadata);

} // namespace var::train

#endif // VAR_RUNTIME_TRAIN_SAFETENSORS_H
