// Counter-based randomness for the data pipeline: SplitMix64 over hashes of
// (seed, stream, index), never a std distribution, so that every machine,
// library and thread schedule draws the same numbers.
#ifndef VAR_RUNTIME_DATA_RANDOM_H
#define VAR_RUNTIME_DATA_RANDOM_H

#include <cstdint>

namespace var::data {

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t hashKey(uint64_t a, uint64_t b, uint64_t c) {
  return mix64(mix64(mix64(a) ^ b) ^ c);
}

/// SplitMix64: a 64-bit counter run through mix64.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = state;
    state += 0x9e3779b97f4a7c15ULL;
    return mix64(z);
  }
  /// Uniform in [lo, hi]; the modulo bias is below 2^-32 for our ranges.
  int64_t range(int64_t lo, int64_t hi) {
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(next() % span);
  }
  /// Uniform in [0, 1), 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state;
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_RANDOM_H
