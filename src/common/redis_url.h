#pragma once
// redis://[user:password@]host[:port][/db] parsing, shared by the Redis-backed modules (pure text:
// each module links hiredis itself).

#include <string>
#include <string_view>

#include "common/result.h"

namespace c19ai {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
};

// invalid_argument naming `config_key` for a malformed URL.
Result<RedisUrl> ParseRedisUrl(std::string_view url, std::string_view config_key);

}  // namespace c19ai
