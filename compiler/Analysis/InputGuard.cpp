#include "compiler/Analysis/InputGuard.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>

namespace var {

std::optional<size_t> findTooDeepNesting(llvm::StringRef text) {
  llvm::SmallVector<char> closers; // what each open bracket waits for
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
    case '"': // A string literal ends at '"' or at the end of its line.
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      break;
    case '/':
      if (text.substr(i).starts_with("//"))
        i = std::min(text.find('\n', i), text.size());
      break;
    case '-': // '->' closes nothing.
      if (text.substr(i).starts_with("->"))
        ++i;
      break;
    case '(':
      closers.push_back(')');
      break;
    case '[':
      closers.push_back(']');
      break;
    case '{':
      closers.push_back('}');
      break;
    case '<':
      closers.push_back('>');
      break;
    case ')':
    case ']':
    case '}':
    case '>':
      if (!closers.empty() && closers.back() == text[i])
        closers.pop_back();
      break;
    default:
      break;
    }
    if (closers.size() > kMaxNesting)
      return i;
  }
  return std::nullopt;
}

} // namespace var
