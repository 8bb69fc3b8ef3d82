#pragma once

// Errors are values (STYLE.md): every fallible operation returns Result<T>. An Error carries a
// short kind that callers branch on and a message a person can act on.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace yardwatch {

enum class ErrorKind {
  kNotFound,
  kInvalidArgument,
  kPermissionDenied,
  kResourceExhausted,  // a full disk, a full queue
  kDataLoss,           // corruption, failed authentication of stored bytes
  kUnavailable,        // a camera or a device that is not there right now
  kAlreadyExists,
  kFailedPrecondition,
  kInternal,
};

std::string_view error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;

  [[nodiscard]] std::string to_string() const;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

// Translates an errno value into an Error whose message names the operation.
Error errno_error(int errno_value, std::string_view what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : storage_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(storage_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(storage_); }
  const T& value() const& { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const& { return std::get<Error>(storage_); }
  Error&& error() && { return std::get<Error>(std::move(storage_)); }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace yardwatch

#define YW_CONCAT_INNER(a, b) a##b
#define YW_CONCAT(a, b) YW_CONCAT_INNER(a, b)

// Passes an error up: `YW_TRY(do_something());`
#define YW_TRY(expr)                                                    \
  do {                                                                  \
    auto yw_try_result_ = (expr);                                       \
    if (!yw_try_result_.ok()) return std::move(yw_try_result_).error(); \
  } while (false)

// `YW_ASSIGN_OR_RETURN(auto value, compute());`
#define YW_ASSIGN_OR_RETURN(lhs, expr) \
  YW_ASSIGN_OR_RETURN_IMPL(YW_CONCAT(yw_result_, __LINE__), lhs, expr)
#define YW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).error();  \
  lhs = std::move(tmp).value()
