// Tensor element conversions, the dropout hash, and attribute access for
// CPU kernels.
#include "runtime/cpu/CpuOps.h"

#include <cmath>
#include <cstring>

namespace var::cpu {

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

float f16ToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  uint32_t out;
  if (exponent == 0x1f) {
    out = sign | 0x7f800000 | (mantissa << 13); // inf or NaN
  } else if (exponent != 0) {
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else {
    // Subnormal half: normalize.
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ff;
    out = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &out, sizeof value);
  return value;
}

uint16_t floatToF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  if (std::isnan(value))
    return sign | 0x7e00;
  float magnitude = std::fabs(value);
  if (magnitude >= 65520.0f) // rounds to infinity
    return sign | 0x7c00;
  if (magnitude < 6.103515625e-05f) {
    // Subnormal (or zero): steps of 2^-24, round half to even.
    float scaled = magnitude * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t m = bits & 0x7fffffff;
  // Rebias the exponent and round the 13 dropped mantissa bits to even.
  uint32_t lsb = (m >> 13) & 1;
  m += 0xfff + lsb;
  return sign | static_cast<uint16_t>((m >> 13) - (112 << 10));
}

float roundToDType(float value, plan::DType dtype) {
  switch (dtype) {
  case plan::DType::BF16:
    return bf16ToFloat(floatToBf16(value));
  case plan::DType::F16:
    return f16ToFloat(floatToF16(value));
  default:
    return value;
  }
}

std::vector<float> readFloats(const TensorView &tensor) {
  int64_t n = tensor.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (tensor.dtype) {
  case plan::DType::F32:
    std::memcpy(out.data(), tensor.data, static_cast<size_t>(n) * 4);
    break;
  case plan::DType::BF16: {
    auto *in = static_cast<const uint16_t *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = bf16ToFloat(in[i]);
    break;
  }
  case plan::DType::F16: {
    auto *in = static_cast<const uint16_t *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = f16ToFloat(in[i]);
    break;
  }
  case plan::DType::F64: {
    auto *in = static_cast<const double *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(in[i]);
    break;
  }
  default:
    for (int64_t i = 0; i < n; ++i)
      out[i] = 0.0f; // integer tensors are read with readInts
  }
  return out;
}

void writeFloats(const std::vector<float> &values, TensorView &tensor) {
  int64_t n = tensor.numel();
  switch (tensor.dtype) {
  case plan::DType::F32:
    std::memcpy(tensor.data, values.data(), static_cast<size_t>(n) * 4);
    break;
  case plan::DType::BF16: {
    auto *out = static_cast<uint16_t *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = floatToBf16(values[i]);
    break;
  }
  case plan::DType::F16: {
    auto *out = static_cast<uint16_t *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = floatToF16(values[i]);
    break;
  }
  case plan::DType::F64: {
    auto *out = static_cast<double *>(tensor.data);
    for (int64_t i = 0; i < n; ++i)
      out[i] = values[i];
    break;
  }
  default:
    break;
  }
}

std::vector<int64_t> readInts(const TensorView &tensor) {
  int64_t n = tensor.numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (tensor.dtype) {
    case plan::DType::I64:
      out[i] = static_cast<const int64_t *>(tensor.data)[i];
      break;
    case plan::DType::I32:
      out[i] = static_cast<const int32_t *>(tensor.data)[i];
      break;
    case plan::DType::I16:
      out[i] = static_cast<const int16_t *>(tensor.data)[i];
      break;
    case plan::DType::I8:
    case plan::DType::I1:
      out[i] = static_cast<const int8_t *>(tensor.data)[i];
      break;
    default:
      out[i] = 0;
    }
  }
  return out;
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash.
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool dropoutKeep(uint64_t seed, int64_t key, int64_t index, double p) {
  uint64_t h = mix(seed ^ mix(static_cast<uint64_t>(key) ^
                              mix(static_cast<uint64_t>(index))));
  // The top 24 bits as a uniform number in [0, 1).
  double u = static_cast<double>(h >> 40) / 16777216.0;
  return u >= p;
}

std::string globalIndexOffset(const OpCall &call, int64_t numel,
                              int64_t &offset) {
  offset = 0;
  int64_t firstSample = call.scalars ? call.scalars->firstSample : 0;
  if (call.batch <= 0 || firstSample == 0)
    return {};
  if (numel % call.batch != 0)
    return "a tensor of " + std::to_string(numel) +
           " elements does not split into the call's " +
           std::to_string(call.batch) + " samples";
  if (__builtin_mul_overflow(firstSample, numel / call.batch, &offset))
    return "the global element index overflows int64";
  return {};
}

int64_t elementsPerSample(const OpCall &call, int64_t numel) {
  if (call.batch <= 0)
    return 0;
  return numel % call.batch == 0 ? numel / call.batch : -1;
}

int64_t OpCall::getInt(std::string_view name, int64_t fallback) const {
  if (const int64_t *value = inst.getAttr<int64_t>(name))
    return *value;
  return fallback;
}

double OpCall::getFloat(std::string_view name, double fallback) const {
  if (const double *value = inst.getAttr<double>(name))
    return *value;
  return fallback;
}

bool OpCall::getBool(std::string_view name) const {
  const bool *value = inst.getAttr<bool>(name);
  return value && *value;
}

std::string_view OpCall::getString(std::string_view name) const {
  if (const std::string *value = inst.getAttr<std::string>(name))
    return *value;
  return {};
}

std::vector<int64_t> OpCall::getInts(std::string_view name,
                                     std::vector<int64_t> fallback) const {
  if (const auto *value = inst.getAttr<std::vector<int64_t>>(name))
    return *value;
  return fallback;
}

} // namespace var::cpu
