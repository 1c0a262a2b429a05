#pragma once
// The command line's HTTP client for commands that talk to a running server (predict, model
// deploy/undeploy/deployments). The server comes from --url or C19AI_URL (default
// http://127.0.0.1:8080); credentials from --token / C19AI_TOKEN (an access token) or C19AI_API_KEY.

#include <string>

#include "common/result.h"

namespace CLI {
class App;
}

namespace c19ai::app {

struct ClientFlags {
  std::string url, token;
  void Add(CLI::App* cmd);
};

struct ClientResponse {
  int status = 0;
  std::string body;
};

// One request; unavailable when the server cannot be reached. The caller turns statuses into errors.
Result<ClientResponse> Call(const ClientFlags& flags, const std::string& method, const std::string& path,
                            const std::string& body = {}, const std::string& content_type = "application/json");
// The error of a non-2xx answer: the body's error.message (or V2 "error"), with the status.
Error ResponseError(const ClientResponse& r);

}  // namespace c19ai::app
