#pragma once
// Who is calling: the authenticated user (or API key) behind a request or a CLI command, as the
// service layer sees it. Filled in by the auth module; plain data, safe to copy between threads.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace c19ai {

struct Principal {
  std::string user_id;
  std::string username;
  std::vector<std::string> roles;
  std::vector<std::string> permissions;  // sorted
  std::string session_id;                // empty for API keys and internal callers
  std::string api_key_id;                // set when authenticated by X-API-Key
  bool internal = false;                 // the system itself (workers, CLI run by an operator)
  int64_t expires_at_ms = 0;             // when the credential stops being valid (0: no expiry)

  bool authenticated() const { return internal || !user_id.empty(); }
  bool Has(std::string_view permission) const {
    if (internal) return true;
    return std::binary_search(permissions.begin(), permissions.end(), permission,
                              [](std::string_view a, std::string_view b) { return a < b; });
  }
  static Principal System() {
    Principal p;
    p.username = "system";
    p.internal = true;
    return p;
  }
};

}  // namespace c19ai
