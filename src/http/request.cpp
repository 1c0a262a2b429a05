#include "common/json.h"
#include "common/text.h"
#include "http/http.h"

namespace c19ai::http {

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view name) {
  if (name == "GET") return Method::kGet;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  if (name == "DELETE") return Method::kDelete;
  if (name == "HEAD") return Method::kHead;
  if (name == "PATCH") return Method::kPatch;
  if (name == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kAborted: return 409;
    case ErrorCode::kFailedPrecondition: return 412;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnprocessable: return 422;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
  }
  return 500;
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

bool Request::HasHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return true;
  }
  return false;
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string key;
    if (PercentDecode(k, key, true) && key == name) {
      std::string value;
      if (eq == std::string_view::npos) return value;
      if (!PercentDecode(part.substr(eq + 1), value, true)) return std::nullopt;
      return value;
    }
    if (amp == std::string_view::npos) break;
    q = q.substr(amp + 1);
  }
  return std::nullopt;
}

Result<std::optional<int64_t>> Request::QueryInt(std::string_view name, int64_t min, int64_t max) const {
  auto v = Query(name);
  if (!v) return std::optional<int64_t>();
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno || n < min || n > max) {
    return Error::Field(name, "query parameter \"" + std::string(name) + "\" must be an integer between " +
                                  std::to_string(min) + " and " + std::to_string(max) + ", got \"" +
                                  v->substr(0, 40) + "\"");
  }
  return std::optional<int64_t>(n);
}

void Request::Clear() {
  method = Method::kOther;
  method_name = {};
  target = path = query = {};
  headers.clear();
  body.clear();
  body_reader = nullptr;
  params.clear();
  request_id.clear();
  principal = Principal{};
  audit_resource.clear();
  audit_details.clear();
  route = nullptr;
  start_us = 0;
}

Response Response::Json(int status, std::string json) {
  Response r;
  r.status = status;
  r.body = std::move(json);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(text);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

Response ErrorResponse(const Error& error, std::string_view request_id) {
  std::string body;
  body.reserve(128 + error.message.size() + error.details.size());
  body += "{\"error\":{\"code\":";
  AppendJsonString(body, ErrorCodeName(error.code));
  body += ",\"message\":";
  AppendJsonString(body, error.message);
  body += ",\"details\":";
  body += error.details.empty() ? "{}" : error.details;
  body += ",\"request_id\":";
  AppendJsonString(body, request_id);
  body += "}}";
  Response r = Response::Json(StatusFor(error.code), std::move(body));
  if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kResourceExhausted) {
    bool has_retry = false;
    for (auto& [k, v] : r.headers) has_retry |= EqualsIgnoreCase(k, "Retry-After");
    if (!has_retry) r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

}  // namespace c19ai::http
