// The in-process cache: Get at a 90 % hit mix on 1 and 2 threads (target >= 5 million get/s on 2
// threads) and the latency distribution of single gets (target p99 < 1 us).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "cache/cache.h"

namespace {

using c19ai::cache::Cache;

// Two working sets: 10,000 keys (about 1.5 MB: a hot set that stays in the CPU caches) and
// 1,000,000 keys (about 150 MB: every lookup goes to DRAM). Values are 64 bytes.
Cache& Shared(int keys) {
  static std::map<int, std::unique_ptr<Cache>> caches;
  auto& c = caches[keys];
  if (!c) {
    c19ai::cache::MemoryOptions o;
    o.capacity_bytes = int64_t{1} << 30;
    c = c19ai::cache::NewMemoryCache(o);
    std::string value(64, 'v');
    for (int i = 0; i < keys; ++i) c->Set("bench", "key:" + std::to_string(i), value);
  }
  return *c;
}

// Keys 0..keys-1 exist; one in ten lookups asks for one that does not.
std::vector<std::string> Workload(unsigned seed, int nkeys) {
  std::mt19937 rng(seed);
  std::vector<std::string> keys;
  keys.reserve(1 << 16);
  for (int i = 0; i < (1 << 16); ++i) {
    int k = static_cast<int>(rng() % static_cast<unsigned>(nkeys));
    keys.push_back(rng() % 10 == 0 ? "miss:" + std::to_string(k) : "key:" + std::to_string(k));
  }
  return keys;
}

void BM_MemoryGet90(benchmark::State& state) {
  int nkeys = static_cast<int>(state.range(0));
  Cache& c = Shared(nkeys);
  auto keys = Workload(static_cast<unsigned>(state.thread_index() + 1), nkeys);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    auto v = c.Get("bench", keys[i++ & 0xffff]);
    hits += v.has_value();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_MemoryGet90)->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();

void BM_MemorySet(benchmark::State& state) {
  int nkeys = static_cast<int>(state.range(0));
  Cache& c = Shared(nkeys);
  auto keys = Workload(static_cast<unsigned>(state.thread_index() + 7), nkeys);
  std::string value(64, 'w');
  size_t i = 0;
  for (auto _ : state) c.Set("bench", keys[i++ & 0xffff], value);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemorySet)->Arg(10'000)->Threads(2)->UseRealTime();

// Latency of single gets on two threads: each op timed with steady_clock (its own cost, ~20 ns, is
// included, so the figures are upper bounds).
void BM_MemoryGetLatency(benchmark::State& state) {
  int nkeys = static_cast<int>(state.range(0));
  Cache& c = Shared(nkeys);
  auto keys = Workload(static_cast<unsigned>(state.thread_index() + 13), nkeys);
  std::vector<int64_t> ns;
  ns.reserve(1 << 22);
  size_t i = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto v = c.Get("bench", keys[i++ & 0xffff]);
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(v);
    if (ns.size() < ns.capacity()) ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double q) { return ns.empty() ? 0.0 : static_cast<double>(ns[static_cast<size_t>(q * (ns.size() - 1))]); };
  state.counters["p50_ns"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_ns"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  state.counters["p999_ns"] = benchmark::Counter(pct(0.999), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_MemoryGetLatency)->Arg(10'000)->Arg(1'000'000)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
