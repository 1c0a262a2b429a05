// The Redis cache backend under pipelined load: THREADS clients doing GetMany/SetMany of BATCH keys
// (one round trip per batch) for SECONDS. Prints operations per second (one key = one operation).
//   c19ai_bench_redis redis://127.0.0.1:6379 [threads=4] [batch=16] [seconds=5]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cache/cache.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s redis://host:port [threads] [batch] [seconds]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  int batch = argc > 3 ? std::atoi(argv[3]) : 16;
  int seconds = argc > 4 ? std::atoi(argv[4]) : 5;
  c19ai::cache::RedisOptions o;
  o.l1_ttl_ms = 0;  // Redis alone: the in-process layer would hide it
  o.pool_size = threads;
  o.timeout_ms = 2000;
  auto cache = c19ai::cache::Open(argv[1], {}, o);
  if (!cache.ok()) {
    std::fprintf(stderr, "%s\n", cache.error().message.c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < batch; ++i) items.emplace_back("key:" + std::to_string(i), std::string(3, 'x'));
  std::atomic<int64_t> sets{0}, gets{0}, hits{0};
  auto run = [&](bool write) {
    std::vector<std::thread> pool;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::vector<std::pair<std::string, std::string>> mine = items;
        std::vector<std::string> keys;
        for (auto& [k, v] : mine) {
          k += ":" + std::to_string(t);
          keys.push_back(k);
        }
        while (std::chrono::steady_clock::now() < deadline) {
          if (write) {
            (*cache)->SetMany("bench", mine, 600'000);
            sets += batch;
          } else {
            auto got = (*cache)->GetMany("bench", keys);
            gets += batch;
            for (auto& g : got) hits += g.has_value();
          }
        }
      });
    }
    for (auto& th : pool) th.join();
  };
  run(true);
  run(false);
  std::printf("SET %.0f ops/s\nGET %.0f ops/s (hits %.0f%%)\n", static_cast<double>(sets) / seconds,
              static_cast<double>(gets) / seconds, 100.0 * static_cast<double>(hits) / static_cast<double>(gets));
  return gets > 0 && hits == gets ? 0 : 1;
}
