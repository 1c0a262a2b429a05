#pragma once
// Result<T>: a value or an Error (g++ 12 has no std::expected in C++20). Status = Result<void>.

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/error.h"

namespace c19ai {

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit by design
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, Result> &&
                                                    !std::is_same_v<std::decay_t<U>, Error>>>
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { C19_CHECK(ok()); return std::get<0>(v_); }
  const T& value() const& { C19_CHECK(ok()); return std::get<0>(v_); }
  T&& value() && { C19_CHECK(ok()); return std::get<0>(std::move(v_)); }
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

  const Error& error() const& { C19_CHECK(!ok()); return std::get<1>(v_); }
  Error&& error() && { C19_CHECK(!ok()); return std::get<1>(std::move(v_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { C19_CHECK(!ok()); return *error_; }
  Error&& error() && { C19_CHECK(!ok()); return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status OkStatus() { return {}; }

}  // namespace c19ai

#define C19_CONCAT_INNER(a, b) a##b
#define C19_CONCAT(a, b) C19_CONCAT_INNER(a, b)

// Returns the error of a Status/Result expression from the enclosing function.
#define C19_TRY(expr)                                      \
  do {                                                     \
    auto&& c19_try_result = (expr);                        \
    if (!c19_try_result.ok()) {                            \
      return std::move(c19_try_result).error();            \
    }                                                      \
  } while (false)

// C19_ASSIGN_OR_RETURN(auto x, Compute()); declares/assigns x from a Result or returns its error.
#define C19_ASSIGN_OR_RETURN(lhs, expr) \
  C19_ASSIGN_OR_RETURN_IMPL(C19_CONCAT(c19_result_, __LINE__), lhs, expr)
#define C19_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).error();   \
  lhs = std::move(tmp).value()
