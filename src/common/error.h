#pragma once
// The one error type of the project: a code, a message for people, and optional structured details.
// Each code maps to exactly one HTTP status (http/http.h); the JSON body is
// {"error": {"code", "message", "details", "request_id"}}.

#include <string>
#include <string_view>

namespace c19ai {

enum class ErrorCode {
  kInvalidArgument,     // 400 - the request is malformed or a field has a bad value
  kUnauthenticated,     // 401
  kPermissionDenied,    // 403
  kNotFound,            // 404
  kMethodNotAllowed,    // 405
  kAlreadyExists,       // 409
  kAborted,             // 409 - a concurrent change won; retry may succeed
  kFailedPrecondition,  // 412 - the system is not in the state the operation needs
  kPayloadTooLarge,     // 413
  kUnprocessable,       // 422 - well-formed but semantically unusable (e.g. an artifact that does not load)
  kResourceExhausted,   // 429 - rate limits, full queues
  kInternal,            // 500
  kUnavailable,         // 503 - a dependency is down or the server is overloaded
  kDeadlineExceeded,    // 504
};

// "invalid_argument", "not_found", ... as used in JSON bodies.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // A JSON object as text (empty = no details), e.g. {"field":"epochs"}. Built with the helpers below or
  // with common/json.h.
  std::string details;

  static Error InvalidArgument(std::string message) { return {ErrorCode::kInvalidArgument, std::move(message), {}}; }
  static Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message), {}}; }
  static Error AlreadyExists(std::string message) { return {ErrorCode::kAlreadyExists, std::move(message), {}}; }
  static Error Unauthenticated(std::string message) { return {ErrorCode::kUnauthenticated, std::move(message), {}}; }
  static Error PermissionDenied(std::string message) { return {ErrorCode::kPermissionDenied, std::move(message), {}}; }
  static Error FailedPrecondition(std::string message) {
    return {ErrorCode::kFailedPrecondition, std::move(message), {}};
  }
  static Error Aborted(std::string message) { return {ErrorCode::kAborted, std::move(message), {}}; }
  static Error ResourceExhausted(std::string message) {
    return {ErrorCode::kResourceExhausted, std::move(message), {}};
  }
  static Error Unavailable(std::string message) { return {ErrorCode::kUnavailable, std::move(message), {}}; }
  static Error Internal(std::string message) { return {ErrorCode::kInternal, std::move(message), {}}; }
  static Error Unprocessable(std::string message) { return {ErrorCode::kUnprocessable, std::move(message), {}}; }
  static Error DeadlineExceeded(std::string message) {
    return {ErrorCode::kDeadlineExceeded, std::move(message), {}};
  }
  static Error PayloadTooLarge(std::string message) { return {ErrorCode::kPayloadTooLarge, std::move(message), {}}; }

  // An invalid_argument naming the offending field: details = {"field": field}.
  static Error Field(std::string_view field, std::string message);
  // Same code, with details {"field": field}.
  Error WithField(std::string_view field) &&;
  // Prefixes the message: "loading model: <message>".
  Error Context(std::string_view what) &&;

  std::string ToString() const;  // "not_found: model \"x\" does not exist"
};

}  // namespace c19ai
