// Redis as a shared L2 behind the in-process L1.
//
// RedisCache: a pool of hiredis connections; GetMany/SetMany are pipelined; every failure is counted,
// logged once per outage and answered as a miss; after a failure Redis is skipped for a second
// (circuit breaker) so a dead server costs nothing on the request path.
// TieredCache: L1 memory (entries live at most l1_ttl) in front of Redis. Writes and deletes publish an
// invalidation on a channel; every replica drops its L1 copy when it hears one (and clears L1 after
// losing the subscription, since it may have missed some).

#include <hiredis/hiredis.h>
#include <poll.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "cache/cache.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/redis_url.h"
#include "common/text.h"

namespace c19ai::cache {

namespace {

constexpr const char* kChannel = "c19ai:cache:invalidate";

using RedisTarget = RedisUrl;

redisContext* Connect(const RedisTarget& t, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisContext* c = redisConnectWithTimeout(t.host.c_str(), t.port, tv);
  if (!c || c->err) {
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  auto ok = [&](redisReply* r) {
    bool good = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return good;
  };
  if (!t.password.empty() &&
      !ok(static_cast<redisReply*>(redisCommand(c, "AUTH %b", t.password.data(), t.password.size())))) {
    redisFree(c);
    return nullptr;
  }
  if (t.db != 0 && !ok(static_cast<redisReply*>(redisCommand(c, "SELECT %d", t.db)))) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

// Escapes glob characters for MATCH.
std::string GlobEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

class RedisCache final : public Cache {
 public:
  RedisCache(RedisTarget t, int pool, int timeout_ms)
      : target_(std::move(t)),
        pool_max_(pool),
        timeout_ms_(timeout_ms),
        errors_(metrics::Registry::Default().GetCounter("c19ai_cache_backend_errors_total",
                                                        "Cache backend failures answered as misses",
                                                        {{"backend", "redis"}})) {}
  ~RedisCache() override {
    for (auto* c : idle_) redisFree(c);
  }

  static std::string Key(std::string_view ns, std::string_view key) {
    std::string k = "c19ai:";
    k.append(ns).push_back(':');
    k.append(key);
    return k;
  }

  std::optional<std::string> Get(std::string_view ns, std::string_view key) override {
    auto r = GetWithTtl(ns, key);
    if (!r) return std::nullopt;
    return std::move(r->first);
  }

  // The value and its remaining TTL in ms (-1: none).
  std::optional<std::pair<std::string, int64_t>> GetWithTtl(std::string_view ns, std::string_view key) {
    std::string k = Key(ns, key);
    std::optional<std::pair<std::string, int64_t>> out;
    bool ok = WithConnection([&](redisContext* c) {
      redisAppendCommand(c, "GET %b", k.data(), k.size());
      redisAppendCommand(c, "PTTL %b", k.data(), k.size());
      redisReply* v = nullptr;
      redisReply* ttl = nullptr;
      if (redisGetReply(c, reinterpret_cast<void**>(&v)) != REDIS_OK) return false;
      if (redisGetReply(c, reinterpret_cast<void**>(&ttl)) != REDIS_OK) {
        freeReplyObject(v);
        return false;
      }
      if (v->type == REDIS_REPLY_STRING) {
        out.emplace(std::string(v->str, v->len), ttl->type == REDIS_REPLY_INTEGER ? ttl->integer : -1);
      }
      bool good = v->type != REDIS_REPLY_ERROR;
      freeReplyObject(v);
      freeReplyObject(ttl);
      return good;
    });
    Count(ns, ok && out ? &NsCounters::hits : &NsCounters::misses);
    return out;
  }

  void Set(std::string_view ns, std::string_view key, std::string_view value, int64_t ttl_ms) override {
    std::string k = Key(ns, key);
    WithConnection([&](redisContext* c) {
      redisReply* r = ttl_ms > 0 ? static_cast<redisReply*>(redisCommand(c, "SET %b %b PX %lld", k.data(), k.size(),
                                                                         value.data(), value.size(),
                                                                         static_cast<long long>(ttl_ms)))
                                 : static_cast<redisReply*>(
                                       redisCommand(c, "SET %b %b", k.data(), k.size(), value.data(), value.size()));
      return Consume(r);
    });
    Count(ns, &NsCounters::sets);
  }

  bool Delete(std::string_view ns, std::string_view key) override {
    std::string k = Key(ns, key);
    bool deleted = false;
    WithConnection([&](redisContext* c) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "DEL %b", k.data(), k.size()));
      if (r && r->type == REDIS_REPLY_INTEGER) deleted = r->integer > 0;
      return Consume(r);
    });
    return deleted;
  }

  std::vector<std::optional<std::string>> GetMany(std::string_view ns, const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out(keys.size());
    if (keys.empty()) return out;
    bool ok = WithConnection([&](redisContext* c) {
      std::vector<std::string> full;
      full.reserve(keys.size() + 1);
      full.emplace_back("MGET");
      for (const auto& k : keys) full.push_back(Key(ns, k));
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& f : full) {
        argv.push_back(f.data());
        lens.push_back(f.size());
      }
      auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
      if (!r) return false;
      if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && i < keys.size(); ++i) {
          if (r->element[i]->type == REDIS_REPLY_STRING) out[i].emplace(r->element[i]->str, r->element[i]->len);
        }
      }
      bool good = r->type == REDIS_REPLY_ARRAY;
      freeReplyObject(r);
      return good;
    });
    uint64_t hits = 0;
    for (const auto& v : out) hits += v.has_value();
    CountMany(ns, ok ? hits : 0, keys.size() - (ok ? hits : 0));
    return out;
  }

  void SetMany(std::string_view ns, const std::vector<std::pair<std::string, std::string>>& items,
               int64_t ttl_ms) override {
    if (items.empty()) return;
    WithConnection([&](redisContext* c) {
      for (const auto& [key, value] : items) {
        std::string k = Key(ns, key);
        if (ttl_ms > 0) {
          redisAppendCommand(c, "SET %b %b PX %lld", k.data(), k.size(), value.data(), value.size(),
                             static_cast<long long>(ttl_ms));
        } else {
          redisAppendCommand(c, "SET %b %b", k.data(), k.size(), value.data(), value.size());
        }
      }
      bool good = true;
      for (size_t i = 0; i < items.size(); ++i) {
        redisReply* r = nullptr;
        if (redisGetReply(c, reinterpret_cast<void**>(&r)) != REDIS_OK) return false;
        good = good && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
      }
      return good;
    });
    for (size_t i = 0; i < items.size(); ++i) Count(ns, &NsCounters::sets);
  }

  int64_t DeleteNamespace(std::string_view ns) override { return DeletePrefix(ns, ""); }

  int64_t DeletePrefix(std::string_view ns, std::string_view prefix) override {
    std::string pattern = "c19ai:" + GlobEscape(ns) + ":" + GlobEscape(prefix) + "*";
    int64_t removed = 0;
    WithConnection([&](redisContext* c) {
      std::string cursor = "0";
      do {
        auto* r = static_cast<redisReply*>(
            redisCommand(c, "SCAN %s MATCH %b COUNT 1000", cursor.c_str(), pattern.data(), pattern.size()));
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return Consume(r) && false;
        cursor = std::string(r->element[0]->str, r->element[0]->len);
        redisReply* keys = r->element[1];
        if (keys->elements > 0) {
          std::vector<const char*> argv{"UNLINK"};
          std::vector<size_t> lens{6};
          for (size_t i = 0; i < keys->elements; ++i) {
            argv.push_back(keys->element[i]->str);
            lens.push_back(keys->element[i]->len);
          }
          auto* d = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
          if (d && d->type == REDIS_REPLY_INTEGER) removed += d->integer;
          if (!Consume(d)) {
            freeReplyObject(r);
            return false;
          }
        }
        freeReplyObject(r);
      } while (cursor != "0");
      return true;
    });
    return removed;
  }

  Stats GetStats() const override {
    Stats st;
    st.backend = "redis";
    std::lock_guard lock(stats_mu_);
    for (const auto& [name, c] : ns_) {
      NamespaceStats n;
      n.name = name;
      n.hits = c.hits;
      n.misses = c.misses;
      n.sets = c.sets;
      st.namespaces.push_back(n);
    }
    return st;
  }

  bool Healthy() {
    return WithConnection([&](redisContext* c) { return Consume(static_cast<redisReply*>(redisCommand(c, "PING"))); });
  }

  void Publish(const std::string& message) {
    WithConnection([&](redisContext* c) {
      return Consume(static_cast<redisReply*>(redisCommand(c, "PUBLISH %s %b", kChannel, message.data(),
                                                           message.size())));
    });
  }

  const RedisTarget& target() const { return target_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  struct NsCounters {
    uint64_t hits = 0, misses = 0, sets = 0;
  };

  static bool Consume(redisReply* r) {
    bool good = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return good;
  }

  void Count(std::string_view ns, uint64_t NsCounters::*field) {
    std::lock_guard lock(stats_mu_);
    auto it = ns_.find(ns);
    if (it == ns_.end()) it = ns_.emplace(std::string(ns), NsCounters{}).first;
    ++(it->second.*field);
  }
  void CountMany(std::string_view ns, uint64_t hits, uint64_t misses) {
    std::lock_guard lock(stats_mu_);
    auto it = ns_.find(ns);
    if (it == ns_.end()) it = ns_.emplace(std::string(ns), NsCounters{}).first;
    it->second.hits += hits;
    it->second.misses += misses;
  }

  // Runs fn on a pooled connection; false (and a miss for the caller) when Redis is unreachable or the
  // command failed. A broken connection is dropped.
  template <typename F>
  bool WithConnection(F&& fn) {
    int64_t now = SteadyNowMs();
    if (now < down_until_.load(std::memory_order_relaxed)) return false;
    redisContext* c = nullptr;
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
      }
    }
    if (!c) c = Connect(target_, timeout_ms_);
    if (!c) {
      Failed("cannot connect");
      return false;
    }
    bool ok = fn(c);
    if (c->err) {
      Failed(c->errstr);
      redisFree(c);
      return false;
    }
    {
      std::lock_guard lock(pool_mu_);
      if (static_cast<int>(idle_.size()) < pool_max_) {
        idle_.push_back(c);
        c = nullptr;
      }
    }
    if (c) redisFree(c);
    if (ok && warned_.exchange(false)) log::Info("redis cache reachable again");
    return ok;
  }

  void Failed(const char* why) {
    errors_.Inc();
    down_until_.store(SteadyNowMs() + 1000, std::memory_order_relaxed);
    if (!warned_.exchange(true)) {
      log::Warn("redis cache unavailable; serving misses", {{"error", why}, {"host", target_.host},
                                                            {"port", target_.port}});
    }
  }

  RedisTarget target_;
  int pool_max_;
  int timeout_ms_;
  metrics::Counter& errors_;
  std::mutex pool_mu_;  // guards idle_
  std::vector<redisContext*> idle_;
  std::atomic<int64_t> down_until_{0};  // circuit breaker: skip Redis until then
  std::atomic<bool> warned_{false};
  mutable std::mutex stats_mu_;  // guards ns_
  std::map<std::string, NsCounters, std::less<>> ns_;
};

class TieredCache final : public Cache {
 public:
  TieredCache(std::unique_ptr<Cache> l1, std::unique_ptr<RedisCache> l2, int64_t l1_ttl_ms)
      : l1_(std::move(l1)), l2_(std::move(l2)), l1_ttl_ms_(l1_ttl_ms), origin_(NewRequestId()) {
    subscriber_ = std::thread([this] { Subscribe(); });
  }
  ~TieredCache() override {
    stop_ = true;
    subscriber_.join();
  }

  std::optional<std::string> Get(std::string_view ns, std::string_view key) override {
    if (auto v = l1_->Get(ns, key)) return v;
    auto r = l2_->GetWithTtl(ns, key);
    if (!r) return std::nullopt;
    int64_t ttl = r->second > 0 ? std::min(r->second, l1_ttl_ms_) : l1_ttl_ms_;
    l1_->Set(ns, key, r->first, ttl);
    return std::move(r->first);
  }

  void Set(std::string_view ns, std::string_view key, std::string_view value, int64_t ttl_ms) override {
    l2_->Set(ns, key, value, ttl_ms);
    l1_->Set(ns, key, value, ttl_ms > 0 ? std::min(ttl_ms, l1_ttl_ms_) : l1_ttl_ms_);
    Invalidate(ns, key, false);
  }

  bool Delete(std::string_view ns, std::string_view key) override {
    bool a = l1_->Delete(ns, key);
    bool b = l2_->Delete(ns, key);
    Invalidate(ns, key, false);
    return a || b;
  }

  std::vector<std::optional<std::string>> GetMany(std::string_view ns, const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out = l1_->GetMany(ns, keys);
    std::vector<std::string> missing;
    std::vector<size_t> where;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!out[i]) {
        missing.push_back(keys[i]);
        where.push_back(i);
      }
    }
    if (missing.empty()) return out;
    auto fetched = l2_->GetMany(ns, missing);
    for (size_t j = 0; j < fetched.size(); ++j) {
      if (fetched[j]) {
        l1_->Set(ns, missing[j], *fetched[j], l1_ttl_ms_);
        out[where[j]] = std::move(fetched[j]);
      }
    }
    return out;
  }

  void SetMany(std::string_view ns, const std::vector<std::pair<std::string, std::string>>& items,
               int64_t ttl_ms) override {
    l2_->SetMany(ns, items, ttl_ms);
    for (const auto& [k, v] : items) {
      l1_->Set(ns, k, v, ttl_ms > 0 ? std::min(ttl_ms, l1_ttl_ms_) : l1_ttl_ms_);
      Invalidate(ns, k, false);
    }
  }

  int64_t DeleteNamespace(std::string_view ns) override { return DeletePrefix(ns, ""); }
  int64_t DeletePrefix(std::string_view ns, std::string_view prefix) override {
    l1_->DeletePrefix(ns, prefix);
    int64_t n = l2_->DeletePrefix(ns, prefix);
    Invalidate(ns, prefix, true);
    return n;
  }

  Stats GetStats() const override {
    Stats l1 = l1_->GetStats();
    Stats l2 = l2_->GetStats();
    Stats out = l1;
    out.backend = "memory+redis";
    // hits: L1 hits + L2 hits; misses: what neither layer had.
    std::map<std::string, NamespaceStats> merged;
    for (auto& n : l1.namespaces) {
      merged[n.name] = n;
      merged[n.name].misses = 0;
    }
    for (auto& n : l2.namespaces) {
      auto& m = merged[n.name];
      m.name = n.name;
      m.hits += n.hits;
      m.misses += n.misses;
      m.sets = n.sets;
    }
    out.namespaces.clear();
    for (auto& [name, n] : merged) out.namespaces.push_back(n);
    return out;
  }

 private:
  // "<origin>\n<0|1 prefix>\n<ns>\n<key>"
  void Invalidate(std::string_view ns, std::string_view key, bool prefix) {
    std::string msg = origin_ + "\n" + (prefix ? "1" : "0") + "\n" + std::string(ns) + "\n" + std::string(key);
    l2_->Publish(msg);
  }

  void Subscribe() {
    pthread_setname_np(pthread_self(), "c19ai-cache-inv");
    while (!stop_) {
      redisContext* c = Connect(l2_->target(), 1000);
      if (!c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      auto* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE %s", kChannel));
      if (r) freeReplyObject(r);
      // We may have missed invalidations while not subscribed: start from an empty L1.
      for (const auto& n : l1_->GetStats().namespaces) l1_->DeleteNamespace(n.name);
      // Poll the socket so that stop_ is noticed; hiredis contexts must not be reused after a timeout.
      while (!stop_) {
        void* reply = nullptr;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK) break;
        if (!reply) {
          pollfd p{c->fd, POLLIN, 0};
          int ready = ::poll(&p, 1, 200);
          if (ready < 0 && errno != EINTR) break;
          if (ready > 0 && redisBufferRead(c) != REDIS_OK) break;
          continue;
        }
        auto* msg = static_cast<redisReply*>(reply);
        if (msg->type == REDIS_REPLY_ARRAY && msg->elements == 3 && msg->element[2]->type == REDIS_REPLY_STRING) {
          auto parts = Split(std::string_view(msg->element[2]->str, msg->element[2]->len), '\n');
          if (parts.size() == 4 && parts[0] != origin_) {
            if (parts[1] == "1") l1_->DeletePrefix(parts[2], parts[3]);
            else l1_->Delete(parts[2], parts[3]);
          }
        }
        freeReplyObject(msg);
      }
      redisFree(c);
    }
  }

  std::unique_ptr<Cache> l1_;
  std::unique_ptr<RedisCache> l2_;
  int64_t l1_ttl_ms_;
  std::string origin_;
  std::atomic<bool> stop_{false};
  std::thread subscriber_;
};

}  // namespace

Result<std::unique_ptr<Cache>> OpenRedis(std::string_view url, const MemoryOptions& memory, const RedisOptions& redis) {
  C19_ASSIGN_OR_RETURN(RedisTarget t, ParseRedisUrl(url, "cache.url"));
  auto l2 = std::make_unique<RedisCache>(t, redis.pool_size, redis.timeout_ms);
  if (!l2->Healthy()) {
    log::Warn("redis cache is not reachable at start; serving from memory until it is",
              {{"host", t.host}, {"port", t.port}});
  }
  if (redis.l1_ttl_ms <= 0) return std::unique_ptr<Cache>(std::move(l2));
  return std::unique_ptr<Cache>(new TieredCache(NewMemoryCache(memory), std::move(l2), redis.l1_ttl_ms));
}

}  // namespace c19ai::cache
