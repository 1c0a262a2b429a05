// Queue throughput end to end: one producer publishing batches of BATCH, CONSUMERS consumers
// consuming batches of BATCH and acknowledging them, until N messages went through. Prints messages
// per second (a message counts once, after its ack).
//   c19ai_bench_queue (sqlite:///tmp/q.db | postgresql://... | redis://...) [n=200000] [batch=100] [consumers=2]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "db/db.h"
#include "queue/queue.h"

using namespace c19ai;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [n] [batch] [consumers]\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  int n = argc > 2 ? std::atoi(argv[2]) : 200000;
  int batch = argc > 3 ? std::atoi(argv[3]) : 100;
  int consumers = argc > 4 ? std::atoi(argv[4]) : 2;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<queue::Queue> q;
  if (url.starts_with("redis://")) {
    auto r = queue::OpenRedisQueue(url);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
    q = std::move(r).value();
  } else {
    auto d = db::Open({.url = url, .pool_size = consumers + 2});
    if (!d.ok()) return std::fprintf(stderr, "%s\n", d.error().message.c_str()), 1;
    database = std::move(d).value();
    if (auto m = db::Migrate(*database, queue::Migrations()); !m.ok()) {
      return std::fprintf(stderr, "%s\n", m.error().message.c_str()), 1;
    }
    q = std::move(queue::OpenDbQueue(*database)).value();
  }
  std::string topic = "bench-" + std::to_string(std::time(nullptr));
  std::atomic<int> acked{0}, failures{0};
  auto start = std::chrono::steady_clock::now();
  std::thread producer([&] {
    std::vector<std::pair<std::string, queue::PublishOptions>> msgs(static_cast<size_t>(batch),
                                                                   {std::string(64, 'm'), {}});
    for (int sent = 0; sent < n; sent += batch) {
      if (!q->PublishBatch(topic, msgs).ok()) ++failures;
    }
  });
  std::vector<std::thread> workers;
  for (int c = 0; c < consumers; ++c) {
    workers.emplace_back([&, c] {
      while (acked.load() < n) {
        auto got = q->Consume(topic, {batch, 60'000, {}, "bench-" + std::to_string(c)});
        if (!got.ok()) {
          ++failures;
          continue;
        }
        if (got->empty()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        if (q->Ack(*got).ok()) acked += static_cast<int>(got->size());
        else ++failures;
      }
    });
  }
  producer.join();
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (void)q->Purge(topic);
  std::printf("%s: %d messages published, consumed and acked in %.2f s = %.0f msg/s (batch %d, %d consumers, %d "
              "failures)\n",
              q->backend().c_str(), n, secs, n / secs, batch, consumers, failures.load());
  return failures.load() == 0 ? 0 : 1;
}
