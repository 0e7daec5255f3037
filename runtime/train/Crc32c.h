// CRC-32C (Castagnoli), the checksum of TFRecord framing, and the masked
// form TFRecord stores.
#ifndef VAR_RUNTIME_TRAIN_CRC32C_H
#define VAR_RUNTIME_TRAIN_CRC32C_H

#include <cstddef>
#include <cstdint>

namespace var::train {

/// CRC-32C of `size` bytes (reflected polynomial 0x82F63B78, initial and
/// final XOR 0xFFFFFFFF): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void *data, size_t size);

/// TFRecord's masking, which keeps a CRC of data that holds CRCs from
/// looking like one: rotate right by 15, add 0xA282EAD8.
inline uint32_t maskCrc32c(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

} // namespace var::train

#endif
