// Errors as values (LevelDB's Status, generalised): every fallible function in
// krayd returns Result<T>. An Error carries a coarse kind, which the API layer
// maps to an HTTP status in one place, and a stable snake_case code that
// clients may match on. Domain code never throws across module borders.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kray {

enum class ErrorKind {
  kInvalidInput,  // 400: malformed or out-of-range request data
  kUnauthorized,  // 401: bad/missing signature or operator token
  kNotFound,      // 404: unknown entity
  kConflict,      // 409: state conflict (nonce, balance, already sold, ...)
  kTooLarge,      // 413
  kRateLimited,   // 429
  kUnavailable,   // 503: feature not configured / not ready
  kInternal,      // 500: a bug or an I/O failure, never bad input
};

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string c, std::string m) : kind(k), code(std::move(c)), message(std::move(m)) {}

  ErrorKind kind = ErrorKind::kInternal;
  std::string code;     // stable, snake_case, e.g. "insufficient_balance"
  std::string message;  // human readable
  // Machine-readable facts about the error (the API renders them as the
  // body's "details" object), e.g. {"amount_out", "19743"} for a slippage
  // refusal, so a wallet need not parse the message. Values are strings.
  std::vector<std::pair<std::string, std::string>> details;

  Error&& With(std::string key, std::string value) && {
    details.emplace_back(std::move(key), std::move(value));
    return std::move(*this);
  }

  static Error Invalid(std::string code, std::string msg) {
    return {ErrorKind::kInvalidInput, std::move(code), std::move(msg)};
  }
  static Error Unauthorized(std::string code, std::string msg) {
    return {ErrorKind::kUnauthorized, std::move(code), std::move(msg)};
  }
  static Error NotFound(std::string code, std::string msg) {
    return {ErrorKind::kNotFound, std::move(code), std::move(msg)};
  }
  static Error Conflict(std::string code, std::string msg) {
    return {ErrorKind::kConflict, std::move(code), std::move(msg)};
  }
  static Error Unavailable(std::string code, std::string msg) {
    return {ErrorKind::kUnavailable, std::move(code), std::move(msg)};
  }
  static Error Internal(std::string msg) { return {ErrorKind::kInternal, "internal_error", std::move(msg)}; }
};

// HTTP status for an error kind; the single mapping used by the API layer.
int HttpStatusFor(ErrorKind kind);

// Result<T>: either a value or an Error. Cheap to move; not thread-safe.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // On a temporary, moves the value out (so `*f()` neither copies nor
  // dangles when bound to a local).
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() {
  return {};
}

}  // namespace kray

// Propagates an error from an expression returning Result<...>.
#define KRAY_TRY(expr)                                                      \
  do {                                                                      \
    auto kray_try_result_ = (expr);                                         \
    if (!kray_try_result_.ok()) return std::move(kray_try_result_).error(); \
  } while (0)
