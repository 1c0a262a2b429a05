#pragma once
// The cache contract: namespaced string keys and values with an optional TTL, a byte budget and
// statistics. Failures of a cache backend degrade to misses; no method returns an error.
// Implementations are thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace c19ai::cache {

struct NamespaceStats {
  std::string name;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t sets = 0;
  uint64_t evictions = 0;    // removed to honour the byte budget
  uint64_t expirations = 0;  // found expired
  int64_t entries = 0;
  int64_t bytes = 0;
  double hit_ratio() const { return hits + misses ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0; }
};

struct Stats {
  std::string backend;     // "memory", "memory+redis"
  int64_t capacity_bytes = 0;
  int64_t bytes = 0;
  int64_t entries = 0;
  std::vector<NamespaceStats> namespaces;  // by name
};

class Cache {
 public:
  virtual ~Cache() = default;
  virtual std::optional<std::string> Get(std::string_view ns, std::string_view key) = 0;
  // ttl_ms <= 0: no expiry (the entry lives until evicted or deleted).
  virtual void Set(std::string_view ns, std::string_view key, std::string_view value, int64_t ttl_ms = 0) = 0;
  virtual bool Delete(std::string_view ns, std::string_view key) = 0;
  virtual std::vector<std::optional<std::string>> GetMany(std::string_view ns, const std::vector<std::string>& keys);
  virtual void SetMany(std::string_view ns, const std::vector<std::pair<std::string, std::string>>& items,
                       int64_t ttl_ms = 0);
  // Returns the number of entries removed.
  virtual int64_t DeleteNamespace(std::string_view ns) = 0;
  virtual int64_t DeletePrefix(std::string_view ns, std::string_view key_prefix) = 0;
  virtual Stats GetStats() const = 0;
};

struct MemoryOptions {
  int64_t capacity_bytes = 256 << 20;
  int shards = 256;  // rounded up to a power of two
  const Clock* clock = &Clock::System();
};

// Sharded, lock-striped LRU with TTL and an exact byte budget (key + value + a fixed per-entry
// overhead of kEntryOverhead bytes).
std::unique_ptr<Cache> NewMemoryCache(const MemoryOptions& options);
constexpr int64_t kEntryOverhead = 96;

struct RedisOptions {
  int pool_size = 8;
  int timeout_ms = 200;      // per command; slower answers count as misses
  int64_t l1_ttl_ms = 5000;  // how long an L2 value may be served from memory (0: no L1)
};

// Opens the cache a URL names: memory:// (in-process), or redis://[:password@]host:port[/db] (Redis as
// L2 behind an in-process L1). invalid_argument for other schemes. An unreachable Redis is not an
// error: the cache serves misses until it answers.
Result<std::unique_ptr<Cache>> Open(std::string_view url, const MemoryOptions& memory,
                                    const RedisOptions& redis = {});
Result<std::unique_ptr<Cache>> OpenRedis(std::string_view url, const MemoryOptions& memory,
                                         const RedisOptions& redis);

// Exports the cache's statistics in /metrics (per namespace); returns the collector id.
int RegisterMetrics(const Cache& cache);

// Warm-up hooks run once at start (in the background) so that the first requests find what they need.
class Warmups {
 public:
  using Hook = std::function<Status(Cache&)>;
  void Add(std::string name, Hook hook);
  // Runs every hook; failures are logged, not fatal.
  void RunAll(Cache& cache) const;

 private:
  std::vector<std::pair<std::string, Hook>> hooks_;
};

}  // namespace c19ai::cache
