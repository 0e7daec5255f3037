// Helpers shared by the DeepSpeed reader and the flag checks, so that both
// word their errors the same way. Internal to compiler/Driver.
#ifndef VAR_COMPILER_DRIVER_OPTIONCHECKS_H
#define VAR_COMPILER_DRIVER_OPTIONCHECKS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace var::detail {

inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The shortest decimal form that reads back as `x` (0.1, not
/// 0.10000000000000001), with whole numbers below 1e15 written out (10, not
/// 1e+01).
std::string formatNumber(double x);

// Ranges shared by the DeepSpeed reader (messages name the key) and
// validate() (messages name the flag), so both say the same thing.

struct IntRange {
  int64_t min;
  std::optional<int64_t> max;

  bool contains(int64_t x) const { return x >= min && (!max || x <= *max); }
  std::string expectation() const {
    if (max)
      return "an integer from " + std::to_string(min) + " to " +
             std::to_string(*max);
    return "an integer >= " + std::to_string(min);
  }
};

constexpr IntRange kZeroStages{0, 3};
constexpr IntRange kPositive{1, std::nullopt};
constexpr IntRange kNonNegative{0, std::nullopt};

enum class RealRange { Positive, NonNegative, Fraction };

inline bool contains(RealRange range, double x) {
  if (!std::isfinite(x))
    return false;
  switch (range) {
  case RealRange::Positive:
    return x > 0;
  case RealRange::NonNegative:
    return x >= 0;
  case RealRange::Fraction:
    return x >= 0 && x < 1;
  }
  llvm_unreachable("unknown range");
}

inline llvm::StringRef expectation(RealRange range) {
  switch (range) {
  case RealRange::Positive:
    return "a number > 0";
  case RealRange::NonNegative:
    return "a number >= 0";
  case RealRange::Fraction:
    return "a number in [0, 1)";
  }
  llvm_unreachable("unknown range");
}

} // namespace var::detail

#endif
