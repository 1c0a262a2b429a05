#include "common/error.h"

#include <cstdio>
#include <cstdlib>

#include "common/json.h"

namespace c19ai {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kUnprocessable: return "unprocessable";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
  }
  return "internal";
}

Error Error::Field(std::string_view field, std::string message) {
  return Error::InvalidArgument(std::move(message)).WithField(field);
}

Error Error::WithField(std::string_view field) && {
  Json d = details.empty() ? Json::object() : Json::parse(details, nullptr, false);
  if (!d.is_object()) d = Json::object();
  d["field"] = field;
  details = d.dump();
  return std::move(*this);
}

Error Error::Context(std::string_view what) && {
  message = std::string(what) + ": " + message;
  return std::move(*this);
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  out += ": ";
  out += message;
  return out;
}

namespace internal {
void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "{\"level\":\"critical\",\"msg\":\"check failed\",\"condition\":\"%s\",\"at\":\"%s:%d\"}\n",
               condition, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace internal

}  // namespace c19ai
