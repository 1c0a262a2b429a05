#pragma once
// The durable queue: topics of messages with priorities, delays, headers, leases, retries with
// exponential back-off, dead letters and idempotent publishing; and the worker runtime that training,
// batch inference and validation jobs run on.
//
// Delivery is at least once: a consumed message is leased to its consumer; acknowledging deletes it
// (it is never delivered again); a lease that expires (consumer killed, even with SIGKILL) makes it
// deliverable again. A message that fails max_attempts times goes to its topic's dead letters.
// Implementations are thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "db/db.h"

namespace c19ai::queue {

std::vector<db::MigrationFile> Migrations();

enum class Priority { kHigh = 0, kNormal = 1, kLow = 2 };
std::string_view PriorityName(Priority p);
std::optional<Priority> ParsePriority(std::string_view s);

struct PublishOptions {
  Priority priority = Priority::kNormal;
  int64_t delay_ms = 0;  // delivered no earlier than this
  std::map<std::string, std::string> headers;
  std::string idempotency_key;  // a second publish with the same key within the window is ignored
  int max_attempts = 5;
};

struct Message {
  std::string id;
  std::string topic;
  std::string body;
  std::map<std::string, std::string> headers;
  Priority priority = Priority::kNormal;
  int attempts = 0;  // deliveries so far, including this one
  int max_attempts = 5;
  int64_t enqueued_ms = 0;
  std::string lease;  // the token that proves this consumer holds the message
  int64_t lease_until_ms = 0;
  std::string last_error;
};

struct ConsumeOptions {
  int max_messages = 1;
  int64_t lease_ms = 30'000;
  std::map<std::string, std::string> header_filter;  // only messages whose headers match all of these
  std::string consumer;                              // a name for operators (host:pid:thread)
};

struct TopicStats {
  std::string topic;
  int64_t ready = 0;     // deliverable now
  int64_t delayed = 0;   // waiting for their delay or back-off
  int64_t in_flight = 0; // leased
  int64_t dead = 0;
  int64_t oldest_ready_age_ms = 0;
};

struct QueueOptions {
  const Clock* clock = &Clock::System();
  int64_t idempotency_window_ms = 24 * 3'600'000LL;
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 10 * 60'000;
};

class Queue {
 public:
  virtual ~Queue() = default;
  virtual std::string backend() const = 0;  // "db" | "redis"

  // Returns the message id (the first message's id for a duplicate idempotency key).
  virtual Result<std::string> Publish(const std::string& topic, const std::string& body,
                                      const PublishOptions& options = {}) = 0;
  virtual Result<std::vector<std::string>> PublishBatch(
      const std::string& topic, const std::vector<std::pair<std::string, PublishOptions>>& messages) = 0;
  // Leases up to max_messages deliverable messages, highest priority first, then oldest. Messages whose
  // attempts would exceed max_attempts go to the dead letters instead.
  virtual Result<std::vector<Message>> Consume(const std::string& topic, const ConsumeOptions& options) = 0;
  // Deletes the messages. failed_precondition (nothing changed for that message) when a lease was lost
  // to expiry and the message was delivered again.
  virtual Status Ack(const std::vector<Message>& messages) = 0;
  // Makes the message deliverable again after a back-off (exponential with jitter, or `delay_ms`), or
  // dead-letters it when it used its attempts.
  virtual Status Nack(const Message& message, const std::string& error, std::optional<int64_t> delay_ms = {}) = 0;
  // Returns a leased message without counting the attempt (graceful shutdown, filtered consumers).
  virtual Status Release(const Message& message) = 0;
  virtual Status ExtendLease(Message& message, int64_t lease_ms) = 0;

  virtual Result<std::vector<TopicStats>> Stats() = 0;
  virtual Result<std::vector<Message>> DeadLetters(const std::string& topic, int64_t limit, int64_t offset) = 0;
  // Moves dead letters (all, or the given ids) back to their topic with fresh attempts.
  virtual Result<int64_t> Redrive(const std::string& topic, const std::vector<std::string>& ids) = 0;
  // Deletes every message of the topic (tests, operators).
  virtual Result<int64_t> Purge(const std::string& topic) = 0;

  // Convenience for one message.
  Status Ack(const Message& m) { return Ack(std::vector<Message>{m}); }
};

Result<std::unique_ptr<Queue>> OpenDbQueue(db::Database& db, const QueueOptions& options = {});
// redis://host:port[/db]: Redis Streams with a consumer group per topic and priority.
Result<std::unique_ptr<Queue>> OpenRedisQueue(std::string_view url, const QueueOptions& options = {});
// db:// or redis://...
Result<std::unique_ptr<Queue>> Open(std::string_view url, db::Database& db, const QueueOptions& options = {});

// Exports per-topic statistics in /metrics; returns the collector id.
int RegisterMetrics(Queue& queue);

// ---------------------------------------------------------------- worker runtime

// What a handler reports back. OK acks; an error nacks (unless the message lost its lease).
using JobHandler = std::function<Status(Message& message, const std::function<bool()>& stopping)>;

struct HandlerOptions {
  std::string name;  // for logs and metrics
  int concurrency = 1;
  int64_t lease_ms = 60'000;
  int64_t heartbeat_ms = 15'000;  // lease extension interval for long jobs
  int64_t poll_ms = 200;          // idle polling interval
  std::map<std::string, std::string> header_filter;
};

// Runs handlers on their own threads: each polls its topic, runs the handler, acks or nacks, and keeps
// the lease alive while the handler works. Stop() lets running jobs finish within a deadline and
// returns messages it did not start.
class WorkerRuntime {
 public:
  explicit WorkerRuntime(Queue& queue, std::string consumer_prefix);
  ~WorkerRuntime();
  void Register(const std::string& topic, HandlerOptions options, JobHandler handler);
  void Start();
  // Signals stop; waits up to `deadline_ms` for running handlers (they see stopping() == true).
  void Stop(int64_t deadline_ms = 30'000);
  int64_t processed() const { return processed_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  struct Registration;
  void Loop(Registration& r, int slot);
  Queue& queue_;
  std::string consumer_prefix_;
  std::vector<std::unique_ptr<Registration>> registrations_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> processed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace c19ai::queue
