#include "common/redis_url.h"

#include <cstdlib>

namespace c19ai {

Result<RedisUrl> ParseRedisUrl(std::string_view url, std::string_view config_key) {
  if (!url.starts_with("redis://")) return Error::Field(config_key, "a Redis URL starts with redis://");
  std::string_view rest = url.substr(8);
  RedisUrl t;
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    auto colon = cred.find(':');
    t.password = std::string(colon == std::string_view::npos ? cred : cred.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    t.db = std::atoi(std::string(rest.substr(slash + 1)).c_str());
  }
  auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos) {
    t.host = std::string(hostport.substr(0, colon));
    t.port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
  } else if (!hostport.empty()) {
    t.host = std::string(hostport);
  }
  if (t.port <= 0 || t.port > 65535) return Error::Field(config_key, "the Redis URL has an invalid port");
  return t;
}

}  // namespace c19ai
