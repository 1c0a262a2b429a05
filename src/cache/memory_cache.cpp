// In-process cache: 2^k shards, each a mutex-guarded hash set of entries plus an intrusive LRU list.
// Keys are stored as "<namespace>\0<key>" and looked up heterogeneously, so Get allocates only for
// the returned value. The byte budget is split evenly between shards and enforced on every Set by
// evicting from the LRU tail; expired entries are dropped when found and when they reach the tail.

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "cache/cache.h"

namespace c19ai::cache {

namespace {

inline uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

uint64_t HashBytes(uint64_t h, std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = Mix(h, v);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return Mix(h, tail ^ (static_cast<uint64_t>(n) << 56));
}

inline uint64_t HashKey(std::string_view ns, std::string_view key) {
  uint64_t h = HashBytes(0x51ed270b27902ULL, ns);
  h = HashBytes(h, key);
  return h ^ (h >> 32);
}

struct Entry {
  std::string full_key;  // ns + '\0' + key
  std::string value;
  size_t ns_len = 0;
  uint64_t hash = 0;
  int64_t expires_ms = 0;  // 0: never
  int64_t charge = 0;
  Entry* prev = nullptr;
  Entry* next = nullptr;
  std::string_view ns() const { return std::string_view(full_key).substr(0, ns_len); }
  std::string_view key() const { return std::string_view(full_key).substr(ns_len + 1); }
};

struct KeyView {
  std::string_view ns, key;
  uint64_t hash;
};

struct Hash {
  using is_transparent = void;
  size_t operator()(const KeyView& k) const { return k.hash; }
  size_t operator()(const Entry* e) const { return e->hash; }
};
struct Eq {
  using is_transparent = void;
  bool operator()(const Entry* a, const Entry* b) const { return a->full_key == b->full_key; }
  bool operator()(const KeyView& k, const Entry* e) const { return e->ns() == k.ns && e->key() == k.key; }
  bool operator()(const Entry* e, const KeyView& k) const { return e->ns() == k.ns && e->key() == k.key; }
};

struct NsCounters {
  uint64_t hits = 0, misses = 0, sets = 0, evictions = 0, expirations = 0;
  int64_t entries = 0, bytes = 0;
};

struct alignas(64) Shard {
  std::mutex mu;  // guards everything below
  std::unordered_set<Entry*, Hash, Eq> index;
  Entry head;  // sentinel: head.next is the most recently used, head.prev the least
  int64_t bytes = 0;
  std::map<std::string, NsCounters, std::less<>> ns;
  // The namespace looked up last, to skip the map on runs of the same namespace.
  NsCounters* last_ns = nullptr;
  std::string last_ns_name;

  Shard() { head.prev = head.next = &head; }
  ~Shard() {
    for (Entry* e : index) delete e;
  }

  NsCounters& Counters(std::string_view name) {
    if (last_ns && last_ns_name == name) return *last_ns;
    auto it = ns.find(name);
    if (it == ns.end()) it = ns.emplace(std::string(name), NsCounters{}).first;
    last_ns = &it->second;
    last_ns_name = name;
    return it->second;
  }
  void Unlink(Entry* e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void PushFront(Entry* e) {
    e->next = head.next;
    e->prev = &head;
    head.next->prev = e;
    head.next = e;
  }
  void Remove(Entry* e, NsCounters& c) {
    Unlink(e);
    index.erase(e);
    bytes -= e->charge;
    c.bytes -= e->charge;
    c.entries -= 1;
    delete e;
  }
};

class MemoryCache final : public Cache {
 public:
  explicit MemoryCache(const MemoryOptions& o) : clock_(o.clock) {
    int n = 1;
    while (n < std::max(1, o.shards)) n <<= 1;
    shards_ = std::make_unique<Shard[]>(static_cast<size_t>(n));
    mask_ = static_cast<uint64_t>(n - 1);
    capacity_ = o.capacity_bytes;
    shard_capacity_ = std::max<int64_t>(o.capacity_bytes / n, 1);
  }

  std::optional<std::string> Get(std::string_view ns, std::string_view key) override {
    KeyView k{ns, key, HashKey(ns, key)};
    Shard& s = shards_[k.hash & mask_];
    std::lock_guard lock(s.mu);
    NsCounters& c = s.Counters(ns);
    auto it = s.index.find(k);
    if (it == s.index.end()) {
      ++c.misses;
      return std::nullopt;
    }
    Entry* e = *it;
    if (e->expires_ms && e->expires_ms <= clock_->NowMs()) {
      ++c.misses;
      ++c.expirations;
      s.Remove(e, c);
      return std::nullopt;
    }
    ++c.hits;
    if (s.head.next != e) {
      s.Unlink(e);
      s.PushFront(e);
    }
    return e->value;
  }

  void Set(std::string_view ns, std::string_view key, std::string_view value, int64_t ttl_ms) override {
    KeyView k{ns, key, HashKey(ns, key)};
    int64_t charge = static_cast<int64_t>(ns.size() + 1 + key.size() + value.size()) + kEntryOverhead;
    Shard& s = shards_[k.hash & mask_];
    int64_t expires = ttl_ms > 0 ? clock_->NowMs() + ttl_ms : 0;
    std::lock_guard lock(s.mu);
    NsCounters& c = s.Counters(ns);
    ++c.sets;
    auto it = s.index.find(k);
    if (it != s.index.end()) {
      Entry* e = *it;
      s.Remove(e, c);
    }
    if (charge > shard_capacity_) return;  // larger than the whole shard: never cached
    auto* e = new Entry;
    e->full_key.reserve(ns.size() + 1 + key.size());
    e->full_key.append(ns).push_back('\0');
    e->full_key.append(key);
    e->ns_len = ns.size();
    e->hash = k.hash;
    e->value.assign(value);
    e->expires_ms = expires;
    e->charge = charge;
    s.index.insert(e);
    s.PushFront(e);
    s.bytes += charge;
    c.bytes += charge;
    c.entries += 1;
    int64_t now = 0;
    while (s.bytes > shard_capacity_ && s.head.prev != &s.head) {
      Entry* victim = s.head.prev;
      NsCounters& vc = s.Counters(victim->ns());
      if (victim->expires_ms) {
        if (!now) now = clock_->NowMs();
        if (victim->expires_ms <= now) ++vc.expirations;
        else ++vc.evictions;
      } else {
        ++vc.evictions;
      }
      s.Remove(victim, vc);
    }
  }

  bool Delete(std::string_view ns, std::string_view key) override {
    KeyView k{ns, key, HashKey(ns, key)};
    Shard& s = shards_[k.hash & mask_];
    std::lock_guard lock(s.mu);
    auto it = s.index.find(k);
    if (it == s.index.end()) return false;
    s.Remove(*it, s.Counters(ns));
    return true;
  }

  int64_t DeleteNamespace(std::string_view ns) override { return DeletePrefix(ns, ""); }

  int64_t DeletePrefix(std::string_view ns, std::string_view prefix) override {
    int64_t removed = 0;
    for (uint64_t i = 0; i <= mask_; ++i) {
      Shard& s = shards_[i];
      std::lock_guard lock(s.mu);
      if (!s.ns.contains(ns)) continue;
      NsCounters& c = s.Counters(ns);
      for (Entry* e = s.head.next; e != &s.head;) {
        Entry* next = e->next;
        if (e->ns() == ns && e->key().starts_with(prefix)) {
          s.Remove(e, c);
          ++removed;
        }
        e = next;
      }
    }
    return removed;
  }

  Stats GetStats() const override {
    Stats st;
    st.backend = "memory";
    st.capacity_bytes = capacity_;
    std::map<std::string, NamespaceStats> merged;
    for (uint64_t i = 0; i <= mask_; ++i) {
      Shard& s = shards_[i];
      std::lock_guard lock(s.mu);
      st.bytes += s.bytes;
      st.entries += static_cast<int64_t>(s.index.size());
      for (const auto& [name, c] : s.ns) {
        auto& m = merged[name];
        m.name = name;
        m.hits += c.hits;
        m.misses += c.misses;
        m.sets += c.sets;
        m.evictions += c.evictions;
        m.expirations += c.expirations;
        m.entries += c.entries;
        m.bytes += c.bytes;
      }
    }
    for (auto& [name, m] : merged) st.namespaces.push_back(std::move(m));
    return st;
  }

 private:
  const Clock* clock_;
  std::unique_ptr<Shard[]> shards_;
  uint64_t mask_ = 0;
  int64_t capacity_ = 0;
  int64_t shard_capacity_ = 0;
};

}  // namespace

std::unique_ptr<Cache> NewMemoryCache(const MemoryOptions& options) { return std::make_unique<MemoryCache>(options); }

}  // namespace c19ai::cache
