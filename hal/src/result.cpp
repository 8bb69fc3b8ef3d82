#include "yardwatch/hal/result.h"

#include <cstring>

namespace yardwatch {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return "not found";
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kPermissionDenied:
      return "permission denied";
    case ErrorKind::kResourceExhausted:
      return "resource exhausted";
    case ErrorKind::kDataLoss:
      return "data loss";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kAlreadyExists:
      return "already exists";
    case ErrorKind::kFailedPrecondition:
      return "failed precondition";
    case ErrorKind::kInternal:
      return "internal error";
  }
  return "internal error";
}

std::string Error::to_string() const { return std::string(error_kind_name(kind)) + ": " + message; }

Error errno_error(int errno_value, std::string_view what) {
  ErrorKind kind = ErrorKind::kInternal;
  switch (errno_value) {
    case ENOENT:
      kind = ErrorKind::kNotFound;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      kind = ErrorKind::kPermissionDenied;
      break;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      kind = ErrorKind::kResourceExhausted;
      break;
    case EEXIST:
      kind = ErrorKind::kAlreadyExists;
      break;
    case EINVAL:
      kind = ErrorKind::kInvalidArgument;
      break;
    case EIO:
      kind = ErrorKind::kDataLoss;
      break;
    default:
      break;
  }
  return Error{kind, std::string(what) + ": " + std::strerror(errno_value)};
}

}  // namespace yardwatch
