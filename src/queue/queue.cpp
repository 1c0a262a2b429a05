#include "queue/queue.h"

#include <unistd.h>

#include <condition_variable>

#include "common/log.h"
#include "common/metrics.h"
#include "queue/internal.h"

namespace c19ai::queue {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kHigh: return "high";
    case Priority::kNormal: return "normal";
    case Priority::kLow: return "low";
  }
  return "normal";
}

std::optional<Priority> ParsePriority(std::string_view s) {
  if (s == "high") return Priority::kHigh;
  if (s == "normal") return Priority::kNormal;
  if (s == "low") return Priority::kLow;
  return std::nullopt;
}

Status ValidateTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 128) return Error::Field("topic", "topic must be 1-128 characters");
  for (char c : topic) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Error::Field("topic", "topic may contain letters, digits, '.', '_' and '-' only");
    }
  }
  return OkStatus();
}

Result<std::unique_ptr<Queue>> Open(std::string_view url, db::Database& db, const QueueOptions& options) {
  if (url.empty() || url == "db://" || url == "db") return OpenDbQueue(db, options);
  if (url.starts_with("redis://")) return OpenRedisQueue(url, options);
  return Error::Field("queue.url", "queue URL must be db:// or redis://..., got \"" + std::string(url.substr(0, 12)) +
                                       "...\"");
}

int RegisterMetrics(Queue& queue) {
  Queue* q = &queue;
  return metrics::Registry::Default().AddCollector([q](std::vector<metrics::Family>& out) {
    auto stats = q->Stats();
    if (!stats.ok()) return;
    metrics::Family ready{"c19ai_queue_ready", "Messages deliverable now", "gauge", {}};
    metrics::Family delayed{"c19ai_queue_delayed", "Messages waiting for a delay or back-off", "gauge", {}};
    metrics::Family in_flight{"c19ai_queue_in_flight", "Messages leased to consumers", "gauge", {}};
    metrics::Family dead{"c19ai_queue_dead_letters", "Messages that used all their attempts", "gauge", {}};
    metrics::Family age{"c19ai_queue_oldest_ready_age_seconds", "Age of the oldest deliverable message", "gauge", {}};
    for (const auto& t : *stats) {
      metrics::Labels l{{"topic", t.topic}, {"backend", q->backend()}};
      ready.samples.push_back({"", l, static_cast<double>(t.ready)});
      delayed.samples.push_back({"", l, static_cast<double>(t.delayed)});
      in_flight.samples.push_back({"", l, static_cast<double>(t.in_flight)});
      dead.samples.push_back({"", l, static_cast<double>(t.dead)});
      age.samples.push_back({"", l, static_cast<double>(t.oldest_ready_age_ms) / 1000.0});
    }
    for (auto* f : {&ready, &delayed, &in_flight, &dead, &age}) out.push_back(std::move(*f));
  });
}

// ---------------------------------------------------------------- worker runtime

struct WorkerRuntime::Registration {
  std::string topic;
  HandlerOptions options;
  JobHandler handler;
  metrics::Counter* done = nullptr;
  metrics::Counter* failures = nullptr;
  metrics::Histogram* duration = nullptr;
};

WorkerRuntime::WorkerRuntime(Queue& queue, std::string consumer_prefix)
    : queue_(queue), consumer_prefix_(std::move(consumer_prefix)) {}

WorkerRuntime::~WorkerRuntime() { Stop(); }

void WorkerRuntime::Register(const std::string& topic, HandlerOptions options, JobHandler handler) {
  auto r = std::make_unique<Registration>();
  r->topic = topic;
  r->options = std::move(options);
  if (r->options.name.empty()) r->options.name = topic;
  r->handler = std::move(handler);
  auto& reg = metrics::Registry::Default();
  r->done = &reg.GetCounter("c19ai_worker_jobs_total", "Jobs handled by workers", {{"handler", r->options.name},
                                                                                 {"outcome", "success"}});
  r->failures = &reg.GetCounter("c19ai_worker_jobs_total", "Jobs handled by workers",
                                {{"handler", r->options.name}, {"outcome", "failure"}});
  r->duration = &reg.GetHistogram("c19ai_worker_job_duration_seconds", "Time handlers spent per job",
                                  {{"handler", r->options.name}});
  registrations_.push_back(std::move(r));
}

void WorkerRuntime::Start() {
  stopping_ = false;
  for (auto& r : registrations_) {
    for (int slot = 0; slot < std::max(1, r->options.concurrency); ++slot) {
      threads_.emplace_back([this, reg = r.get(), slot] { Loop(*reg, slot); });
    }
  }
}

void WorkerRuntime::Stop(int64_t deadline_ms) {
  if (stopping_.exchange(true) && threads_.empty()) return;
  (void)deadline_ms;  // handlers watch stopping(); the loop exits as soon as they return
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerRuntime::Loop(Registration& r, int slot) {
  std::string consumer = consumer_prefix_ + ":" + std::to_string(::getpid()) + ":" + r.options.name + ":" +
                         std::to_string(slot);
  auto stopping = [this] { return stopping_.load(); };
  while (!stopping_) {
    auto batch = queue_.Consume(r.topic, {1, r.options.lease_ms, r.options.header_filter, consumer});
    if (!batch.ok()) {
      log::Warn("worker could not consume", {{"topic", r.topic}, {"error", batch.error().message}});
      for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(r.options.poll_ms));
      continue;
    }
    if (batch->empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(r.options.poll_ms));
      continue;
    }
    for (Message& m : *batch) {
      // Heartbeat: keep the lease alive while the handler runs.
      std::mutex mu;
      std::condition_variable cv;
      bool finished = false;
      std::thread heartbeat([&] {
        std::unique_lock lock(mu);
        while (!cv.wait_for(lock, std::chrono::milliseconds(r.options.heartbeat_ms), [&] { return finished; })) {
          Message copy = m;
          lock.unlock();
          Status st = queue_.ExtendLease(copy, r.options.lease_ms);
          if (!st.ok()) log::Warn("lease extension failed", {{"message", m.id}, {"error", st.error().message}});
          lock.lock();
        }
      });
      int64_t start = SteadyNowUs();
      Status result = Error::Internal("handler threw");
      try {
        result = r.handler(m, stopping);
      } catch (const std::exception& e) {
        result = Error::Internal(std::string("handler threw: ") + e.what());
      }
      {
        std::lock_guard lock(mu);
        finished = true;
      }
      cv.notify_all();
      heartbeat.join();
      r.duration->Observe(static_cast<double>(SteadyNowUs() - start) / 1e6);
      if (result.ok()) {
        r.done->Inc();
        ++processed_;
        if (Status st = queue_.Ack(m); !st.ok()) {
          log::Warn("ack failed", {{"message", m.id}, {"error", st.error().message}});
        }
      } else if (stopping_ && result.error().code == ErrorCode::kAborted) {
        // Interrupted by shutdown: hand it back without using an attempt.
        (void)queue_.Release(m);
      } else {
        r.failures->Inc();
        ++failed_;
        log::Warn("job failed", {{"topic", r.topic}, {"message", m.id}, {"attempt", m.attempts},
                                 {"error", result.error().message}});
        if (Status st = queue_.Nack(m, result.error().message); !st.ok()) {
          log::Warn("nack failed", {{"message", m.id}, {"error", st.error().message}});
        }
      }
    }
  }
}

}  // namespace c19ai::queue
