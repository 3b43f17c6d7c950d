// Errors at API boundaries are values: Status (ok or a message) and Result<T>.
#pragma once
#include <optional>
#include <string>
#include <utility>

namespace wisp {

// Which class of failure: lets front ends choose an exit code without parsing text.
enum class ErrorKind { kOk = 0, kInvalidArgument, kBadInput, kNotFound, kIo, kUnsupported, kNetwork, kCancelled };

class Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

inline Status BadInput(std::string m) { return Status(ErrorKind::kBadInput, std::move(m)); }
inline Status InvalidArgument(std::string m) { return Status(ErrorKind::kInvalidArgument, std::move(m)); }
inline Status IoError(std::string m) { return Status(ErrorKind::kIo, std::move(m)); }
inline Status NotFound(std::string m) { return Status(ErrorKind::kNotFound, std::move(m)); }
inline Status Unsupported(std::string m) { return Status(ErrorKind::kUnsupported, std::move(m)); }
inline Status NetworkError(std::string m) { return Status(ErrorKind::kNetwork, std::move(m)); }
// The caller asked to stop (TranscribeOptions::cancel); not a failure of the input.
inline Status Cancelled(std::string m) { return Status(ErrorKind::kCancelled, std::move(m)); }

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}         // NOLINT: implicit by design
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace wisp

#define WISP_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::wisp::Status _st = (expr);          \
    if (!_st.ok()) return _st;            \
  } while (0)
