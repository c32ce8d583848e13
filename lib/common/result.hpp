// Result<T>: an expected failure as a value carrying a human sentence (and, for SQL, the server's
// error number). Layers never throw across each other for expected failures; exceptions are left for
// programming errors and out-of-memory.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mhafb {

enum class ErrorKind {
  Failed,       // the operation ran and failed
  Timeout,      // a deadline passed
  Unreachable,  // could not connect at all
  Refused,      // the peer or a precondition said no
  Invalid,      // bad input (config, arguments, parse)
  NotFound,     // the thing does not exist
  Auth,         // authentication failed
  HostKey,      // SSH host key unknown or changed
  Cancelled,    // an operator or shutdown asked us to stop
  NotReady,     // the request does not fit the cluster's state yet (e.g. failback before validation)
  Busy,         // another operation holds the cluster's operation slot
};

const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::Failed;
  std::string message;  // one sentence an operator can act on
  int code = 0;         // e.g. the MariaDB error number; 0 when none

  static Error failed(std::string m, int code = 0) { return {ErrorKind::Failed, std::move(m), code}; }
  static Error timeout(std::string m) { return {ErrorKind::Timeout, std::move(m), 0}; }
  static Error unreachable(std::string m) { return {ErrorKind::Unreachable, std::move(m), 0}; }
  static Error refused(std::string m) { return {ErrorKind::Refused, std::move(m), 0}; }
  static Error invalid(std::string m) { return {ErrorKind::Invalid, std::move(m), 0}; }
  static Error not_found(std::string m) { return {ErrorKind::NotFound, std::move(m), 0}; }
  static Error cancelled(std::string m) { return {ErrorKind::Cancelled, std::move(m), 0}; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

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

}  // namespace mhafb
