#include "app/client.h"

#include <curl/curl.h>

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "common/json.h"

namespace c19ai::app {

namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void ClientFlags::Add(CLI::App* cmd) {
  cmd->add_option("--url", url, "server address (or C19AI_URL; default http://127.0.0.1:8080)");
  cmd->add_option("--token", token, "access token (or C19AI_TOKEN; C19AI_API_KEY for an API key)");
}

Result<ClientResponse> Call(const ClientFlags& flags, const std::string& method, const std::string& path,
                            const std::string& body, const std::string& content_type) {
  std::string base = !flags.url.empty() ? flags.url : !Env("C19AI_URL").empty() ? Env("C19AI_URL") : "http://127.0.0.1:8080";
  while (!base.empty() && base.back() == '/') base.pop_back();
  CURL* curl = curl_easy_init();
  if (!curl) return Error::Internal("curl_easy_init failed");
  curl_slist* headers = nullptr;
  std::string token = !flags.token.empty() ? flags.token : Env("C19AI_TOKEN");
  std::string api_key = Env("C19AI_API_KEY");
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  else if (!api_key.empty()) headers = curl_slist_append(headers, ("X-API-Key: " + api_key).c_str());
  if (!body.empty()) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  ClientResponse out;
  std::string url = base + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Error::Unavailable("cannot reach " + base + ": " + curl_easy_strerror(rc));
  out.status = static_cast<int>(status);
  return out;
}

Error ResponseError(const ClientResponse& r) {
  Json j = Json::parse(r.body, nullptr, false);
  std::string message = r.body.substr(0, 300);
  if (j.is_object() && j.contains("error")) {
    const Json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
    else if (e.is_string()) message = e.get<std::string>();
  }
  ErrorCode code = r.status == 401   ? ErrorCode::kUnauthenticated
                   : r.status == 403 ? ErrorCode::kPermissionDenied
                   : r.status == 404 ? ErrorCode::kNotFound
                   : r.status == 400 ? ErrorCode::kInvalidArgument
                                     : ErrorCode::kUnavailable;
  return Error{code, "HTTP " + std::to_string(r.status) + ": " + message, {}};
}

}  // namespace c19ai::app
