#include "cache/cache.h"

#include "common/log.h"
#include "common/metrics.h"

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

Result<std::unique_ptr<Cache>> Open(std::string_view url, const MemoryOptions& memory, const RedisOptions& redis) {
  if (url == "memory://" || url == "memory" || url.empty()) return NewMemoryCache(memory);
  if (url.starts_with("redis://")) return OpenRedis(url, memory, redis);
  return Error::Field("cache.url", "cache URL must be memory:// or redis://..., got \"" +
                                       std::string(url.substr(0, 12)) + "...\"");
}

int RegisterMetrics(const Cache& cache) {
  const Cache* c = &cache;
  return metrics::Registry::Default().AddCollector([c](std::vector<metrics::Family>& out) {
    Stats st = c->GetStats();
    metrics::Family hits{"c19ai_cache_hits_total", "Cache hits per namespace", "counter", {}};
    metrics::Family misses{"c19ai_cache_misses_total", "Cache misses per namespace", "counter", {}};
    metrics::Family evictions{"c19ai_cache_evictions_total", "Entries evicted for the byte budget", "counter", {}};
    metrics::Family bytes{"c19ai_cache_bytes", "Bytes held per namespace (in-process layer)", "gauge", {}};
    metrics::Family entries{"c19ai_cache_entries", "Entries per namespace (in-process layer)", "gauge", {}};
    for (const auto& n : st.namespaces) {
      metrics::Labels l{{"namespace", n.name}, {"backend", st.backend}};
      hits.samples.push_back({"", l, static_cast<double>(n.hits)});
      misses.samples.push_back({"", l, static_cast<double>(n.misses)});
      evictions.samples.push_back({"", l, static_cast<double>(n.evictions)});
      bytes.samples.push_back({"", l, static_cast<double>(n.bytes)});
      entries.samples.push_back({"", l, static_cast<double>(n.entries)});
    }
    out.push_back(std::move(hits));
    out.push_back(std::move(misses));
    out.push_back(std::move(evictions));
    out.push_back(std::move(bytes));
    out.push_back(std::move(entries));
    out.push_back({"c19ai_cache_capacity_bytes", "Byte budget of the in-process cache", "gauge",
                   {{"", {}, static_cast<double>(st.capacity_bytes)}}});
  });
}

void Warmups::Add(std::string name, Hook hook) { hooks_.emplace_back(std::move(name), std::move(hook)); }

void Warmups::RunAll(Cache& cache) const {
  for (const auto& [name, hook] : hooks_) {
    int64_t start = SteadyNowMs();
    Status st = hook(cache);
    if (st.ok()) {
      log::Info("cache warm-up done", {{"hook", name}, {"ms", SteadyNowMs() - start}});
    } else {
      log::Warn("cache warm-up failed", {{"hook", name}, {"error", st.error().message}});
    }
  }
}

}  // namespace c19ai::cache
