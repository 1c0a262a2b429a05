// In-process cache: 2^k shards, each a mutex-guarded open-addressing hash table of entries.
//
// Speed comes from touching little memory per Get: a table slot holds the full hash and a pointer,
// an entry holds its key and value inline in one allocation, and a hit only sets a "referenced" bit
// (CLOCK, a second-chance approximation of LRU) instead of relinking list neighbours. Eviction walks
// the list from its tail, giving referenced entries a second chance.
//
// The byte budget is split evenly between shards and enforced exactly on every Set: an entry is
// charged its key, value and kEntryOverhead bytes.

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>

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
  h = HashBytes(h ^ 0xff, key);
  h ^= h >> 32;
  return h | 1;  // never 0: 0 marks an empty slot
}

// One allocation: the header, then ns, key and value bytes.
struct Entry {
  uint64_t hash;
  int64_t expires_ms;  // 0: never
  int64_t charge;
  uint32_t ns_len, key_len, value_len;
  bool referenced;
  Entry* prev;
  Entry* next;

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view ns() const { return {data(), ns_len}; }
  std::string_view key() const { return {data() + ns_len, key_len}; }
  std::string_view value() const { return {data() + ns_len + key_len, value_len}; }

  static Entry* Make(uint64_t hash, std::string_view ns, std::string_view key, std::string_view value) {
    void* mem = ::operator new(sizeof(Entry) + ns.size() + key.size() + value.size());
    auto* e = new (mem) Entry{hash, 0, 0, static_cast<uint32_t>(ns.size()), static_cast<uint32_t>(key.size()),
                              static_cast<uint32_t>(value.size()), false, nullptr, nullptr};
    std::memcpy(e->data(), ns.data(), ns.size());
    std::memcpy(e->data() + ns.size(), key.data(), key.size());
    std::memcpy(e->data() + ns.size() + key.size(), value.data(), value.size());
    return e;
  }
  static void Free(Entry* e) { ::operator delete(e); }
};

struct NsCounters {
  uint64_t hits = 0, misses = 0, sets = 0, evictions = 0, expirations = 0;
  int64_t entries = 0, bytes = 0;
};

Entry* const kTomb = reinterpret_cast<Entry*>(uintptr_t{1});

struct Slot {
  uint64_t hash = 0;
  Entry* e = nullptr;  // nullptr: empty; kTomb: deleted
};

// Critical sections here are ~100 ns, far shorter than parking a thread in the kernel: spin briefly,
// then yield. (A std::mutex sleeps on contention, which put p99 at microseconds.)
class SpinLock {
 public:
  void lock() {
    for (int spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (spins < 64) __builtin_ia32_pause();
        else std::this_thread::yield();
        ++spins;
      }
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

struct alignas(64) Shard {
  SpinLock mu;  // guards everything below
  std::unique_ptr<Slot[]> slots;
  size_t capacity = 0;  // power of two
  size_t used = 0;      // live + tombstones
  size_t live = 0;
  Entry head{};  // list sentinel: head.next is the newest, head.prev the oldest
  int64_t bytes = 0;
  std::map<std::string, NsCounters, std::less<>> ns;
  NsCounters* last_ns = nullptr;  // the namespace looked up last
  std::string last_ns_name;

  Shard() {
    head.prev = head.next = &head;
    Rehash(64);
  }
  ~Shard() {
    for (Entry* e = head.next; e != &head;) {
      Entry* next = e->next;
      Entry::Free(e);
      e = next;
    }
  }

  NsCounters& Counters(std::string_view name) {
    if (last_ns && last_ns_name == name) return *last_ns;
    auto it = ns.find(name);
    if (it == ns.end()) it = ns.emplace(std::string(name), NsCounters{}).first;
    last_ns = &it->second;
    last_ns_name = name;
    return it->second;
  }

  void Rehash(size_t cap) {
    std::unique_ptr<Slot[]> old = std::move(slots);
    size_t old_cap = capacity;
    slots.reset(new Slot[cap]);
    capacity = cap;
    used = live;
    for (size_t i = 0; i < old_cap; ++i) {
      Entry* e = old[i].e;
      if (!e || e == kTomb) continue;
      size_t j = old[i].hash & (cap - 1);
      while (slots[j].e) j = (j + 1) & (cap - 1);
      slots[j] = old[i];
    }
  }

  // The slot holding (ns, key), or nullptr.
  Slot* Find(uint64_t hash, std::string_view ns_name, std::string_view key) {
    size_t mask = capacity - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (!s.e) return nullptr;
      if (s.hash == hash && s.e != kTomb && s.e->ns() == ns_name && s.e->key() == key) return &s;
    }
  }

  void Insert(Entry* e) {
    if ((used + 1) * 10 >= capacity * 7) Rehash(live * 2 >= capacity / 2 ? capacity * 2 : capacity);
    size_t mask = capacity - 1;
    size_t i = e->hash & mask;
    while (slots[i].e && slots[i].e != kTomb) i = (i + 1) & mask;
    if (!slots[i].e) ++used;
    slots[i] = {e->hash, e};
    ++live;
    // Newest at the head.
    e->next = head.next;
    e->prev = &head;
    head.next->prev = e;
    head.next = e;
  }

  // Removes the entry in `slot` and frees it.
  void Erase(Slot* slot, NsCounters& c) {
    Entry* e = slot->e;
    slot->e = kTomb;
    --live;
    e->prev->next = e->next;
    e->next->prev = e->prev;
    bytes -= e->charge;
    c.bytes -= e->charge;
    c.entries -= 1;
    Entry::Free(e);
  }

  void EraseEntry(Entry* e, NsCounters& c) { Erase(Find(e->hash, e->ns(), e->key()), c); }
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

  Shard& ShardOf(uint64_t hash) { return shards_[(hash >> 40) & mask_]; }

  std::optional<std::string> Get(std::string_view ns, std::string_view key) override {
    uint64_t h = HashKey(ns, key);
    Shard& s = ShardOf(h);
    std::lock_guard lock(s.mu);
    NsCounters& c = s.Counters(ns);
    Slot* slot = s.Find(h, ns, key);
    if (!slot) {
      ++c.misses;
      return std::nullopt;
    }
    Entry* e = slot->e;
    if (e->expires_ms && e->expires_ms <= clock_->NowMs()) {
      ++c.misses;
      ++c.expirations;
      s.Erase(slot, c);
      return std::nullopt;
    }
    ++c.hits;
    if (!e->referenced) e->referenced = true;  // keep the line clean when it is already set
    return std::string(e->value());
  }

  void Set(std::string_view ns, std::string_view key, std::string_view value, int64_t ttl_ms) override {
    uint64_t h = HashKey(ns, key);
    int64_t charge = static_cast<int64_t>(ns.size() + key.size() + value.size()) + kEntryOverhead;
    int64_t expires = ttl_ms > 0 ? clock_->NowMs() + ttl_ms : 0;
    Entry* fresh = charge > shard_capacity_ ? nullptr : Entry::Make(h, ns, key, value);  // outside the lock
    Shard& s = ShardOf(h);
    std::lock_guard lock(s.mu);
    NsCounters& c = s.Counters(ns);
    ++c.sets;
    if (Slot* old = s.Find(h, ns, key)) s.Erase(old, c);
    if (!fresh) return;  // larger than the whole shard: never cached
    fresh->expires_ms = expires;
    fresh->charge = charge;
    s.Insert(fresh);
    s.bytes += charge;
    c.bytes += charge;
    c.entries += 1;
    Evict(s, fresh);
  }

  // CLOCK: from the oldest end, referenced entries get a second chance (moved to the head, bit
  // cleared); the first unreferenced one goes. Expired entries go first regardless.
  void Evict(Shard& s, Entry* keep) {
    int64_t now = 0;
    while (s.bytes > shard_capacity_ && s.head.prev != &s.head) {
      Entry* victim = s.head.prev;
      if (victim != keep && victim->referenced && !(victim->expires_ms && victim->expires_ms <= Now(now))) {
        victim->referenced = false;
        victim->prev->next = &s.head;
        s.head.prev = victim->prev;
        victim->next = s.head.next;
        victim->prev = &s.head;
        s.head.next->prev = victim;
        s.head.next = victim;
        continue;
      }
      if (victim == keep && s.live == 1) break;
      NsCounters& vc = s.Counters(victim->ns());
      if (victim->expires_ms && victim->expires_ms <= Now(now)) ++vc.expirations;
      else ++vc.evictions;
      s.EraseEntry(victim, vc);
    }
  }

  int64_t Now(int64_t& cached) {
    if (!cached) cached = clock_->NowMs();
    return cached;
  }

  bool Delete(std::string_view ns, std::string_view key) override {
    uint64_t h = HashKey(ns, key);
    Shard& s = ShardOf(h);
    std::lock_guard lock(s.mu);
    Slot* slot = s.Find(h, ns, key);
    if (!slot) return false;
    s.Erase(slot, s.Counters(ns));
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
          s.EraseEntry(e, c);
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
      st.entries += static_cast<int64_t>(s.live);
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
