#include "cache/cache.h"

namespace c19ai::cache {

std::vector<std::optional<std::string>> Cache::GetMany(std::string_view ns, const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(Get(ns, k));
  return out;
}

void Cache::SetMany(std::string_view ns, const std::vector<std::pair<std::string, std::string>>& items,
                    int64_t ttl_ms) {
  for (const auto& [k, v] : items) Set(ns, k, v, ttl_ms);
}

Result<std::unique_ptr<Cache>> Open(std::string_view url, const MemoryOptions& memory) {
  if (url == "memory://" || url == "memory" || url.empty()) return NewMemoryCache(memory);
  return Error::Field("cache.url", "cache URL must be memory://, got \"" + std::string(url.substr(0, 12)) + "...\"");
}

}  // namespace c19ai::cache
