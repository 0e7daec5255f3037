// Cheap checks on model text before MLIR's parser sees it: the parser
// recurses once per nesting level and would overflow the stack on a hostile
// file long before it could report anything.
#ifndef VAR_COMPILER_ANALYSIS_INPUTGUARD_H
#define VAR_COMPILER_ANALYSIS_INPUTGUARD_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>

namespace var {

/// No model nests (), [], {} or <> anywhere near this deep.
constexpr size_t kMaxNesting = 256;

/// The offset of the first bracket nested deeper than kMaxNesting, outside
/// string literals and comments, if any.
std::optional<size_t> findTooDeepNesting(llvm::StringRef text);

} // namespace var

#endif // VAR_COMPILER_ANALYSIS_INPUTGUARD_H
