#pragma once
// C19_CHECK: for bugs, not errors. Logs the failed condition and aborts.

namespace c19ai::internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace c19ai::internal

#define C19_CHECK(cond)                                               \
  do {                                                                \
    if (!(cond)) [[unlikely]] {                                       \
      ::c19ai::internal::CheckFailed(#cond, __FILE__, __LINE__);      \
    }                                                                 \
  } while (false)
