// Buses that fan events out to every replica.
//
// Publish assigns the event a global per-room sequence (Redis INCR, or an upsert in PostgreSQL) and
// broadcasts it (Redis PUBLISH, or NOTIFY); a listener thread on every replica, the publisher's
// included, delivers what it hears to the local subscribers. So every replica sees the same ids in
// the same order, and a client reconnecting to another replica can still ask for events "since" an
// id. When the broker is unreachable, events are delivered locally only (and counted), never lost
// silently on the publishing replica.

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "events/internal.h"

namespace c19ai::events {

namespace {

constexpr const char* kChannel = "c19ai:events";
constexpr const char* kPgChannel = "c19ai_events";

metrics::Counter& LocalOnly() {
  static metrics::Counter& c = metrics::Registry::Default().GetCounter(
      "c19ai_events_local_only_total", "Events delivered only on this replica because the fan-out broker failed");
  return c;
}

// Common shape: a local bus for delivery, a listener thread, and broker-specific publish/listen.
class FanOutBus : public EventBus {
 public:
  FanOutBus() : local_(NewLocalBus()) {}

  std::unique_ptr<Subscription> Subscribe(const SubscribeOptions& options) override {
    return local_->Subscribe(options);
  }
  BusStats Stats() const override { return local_->Stats(); }

  void Publish(Event event) override {
    if (event.data.empty()) event.data = "{}";
    if (event.ts_ms == 0) event.ts_ms = NowMs();
    if (!Broadcast(event)) {
      LocalOnly().Inc();
      local_->Publish(std::move(event));
    }
  }

 protected:
  // Assigns the global sequence and sends the event; false when the broker failed.
  virtual bool Broadcast(Event& event) = 0;
  void Heard(std::string_view payload) {
    Event e;
    if (DecodeEvent(payload, e)) local_->Deliver(std::move(e));
  }
  // Waits (up to 2 s) until the listener is subscribed, so that events published right after start
  // are heard here too.
  void AwaitListening() {
    std::unique_lock lock(ready_mu_);
    ready_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return listening_; });
  }
  void SetListening() {
    {
      std::lock_guard lock(ready_mu_);
      listening_ = true;
    }
    ready_cv_.notify_all();
  }

  std::unique_ptr<LocalBus> local_;
  std::atomic<bool> stop_{false};
  std::thread listener_;
  std::mutex ready_mu_;  // guards listening_
  std::condition_variable ready_cv_;
  bool listening_ = false;
};

class RedisBus final : public FanOutBus {
 public:
  RedisBus(std::string host, int port, int db, std::string password)
      : host_(std::move(host)), port_(port), db_(db), password_(std::move(password)) {
    listener_ = std::thread([this] { Listen(); });
    AwaitListening();
  }
  ~RedisBus() override {
    stop_ = true;
    if (listener_.joinable()) listener_.join();
    if (pub_) redisFree(pub_);
  }

 private:
  redisContext* Connect() {
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout(host_.c_str(), port_, tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, tv);
    if (!password_.empty()) freeReplyObject(redisCommand(c, "AUTH %b", password_.data(), password_.size()));
    if (db_) freeReplyObject(redisCommand(c, "SELECT %d", db_));
    return c;
  }

  bool Broadcast(Event& e) override {
    std::lock_guard lock(pub_mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!pub_) pub_ = Connect();
      if (!pub_) return false;
      std::string key = "c19ai:ev:seq:" + e.room;
      auto* seq = static_cast<redisReply*>(redisCommand(pub_, "INCR %b", key.data(), key.size()));
      if (seq && seq->type == REDIS_REPLY_INTEGER) {
        e.sequence = static_cast<uint64_t>(seq->integer);
        e.id = e.room + ":" + std::to_string(e.sequence);
        freeReplyObject(seq);
        std::string payload = EncodeEvent(e);
        auto* r = static_cast<redisReply*>(redisCommand(pub_, "PUBLISH %s %b", kChannel, payload.data(),
                                                        payload.size()));
        bool ok = r && r->type == REDIS_REPLY_INTEGER;
        if (r) freeReplyObject(r);
        if (ok) return true;
      } else if (seq) {
        freeReplyObject(seq);
      }
      redisFree(pub_);
      pub_ = nullptr;
    }
    return false;
  }

  void Listen() {
    pthread_setname_np(pthread_self(), "c19ai-events");
    bool warned = false;
    while (!stop_) {
      redisContext* c = Connect();
      if (!c) {
        if (!warned) log::Warn("event fan-out: Redis unreachable; retrying", {{"host", host_}, {"port", port_}});
        warned = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      auto* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE %s", kChannel));
      if (r) freeReplyObject(r);
      SetListening();
      if (warned) log::Info("event fan-out: Redis reachable again");
      warned = false;
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
          Heard(std::string_view(msg->element[2]->str, msg->element[2]->len));
        }
        freeReplyObject(msg);
      }
      redisFree(c);
    }
  }

  std::string host_;
  int port_;
  int db_;
  std::string password_;
  std::mutex pub_mu_;  // guards pub_
  redisContext* pub_ = nullptr;
};

class PostgresBus final : public FanOutBus {
 public:
  explicit PostgresBus(std::string url) : url_(std::move(url)) {
    listener_ = std::thread([this] { Listen(); });
    AwaitListening();
  }
  ~PostgresBus() override {
    stop_ = true;
    if (listener_.joinable()) listener_.join();
    if (pub_) PQfinish(pub_);
  }

 private:
  PGconn* Connect() {
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* vals[] = {url_.c_str(), "5", "c19ai-events", nullptr};
    PGconn* c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      return nullptr;
    }
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    return c;
  }

  static bool Ok(PGresult* r) {
    bool ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    return ok;
  }

  bool Broadcast(Event& e) override {
    std::lock_guard lock(pub_mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!pub_) {
        pub_ = Connect();
        if (!pub_) return false;
        PGresult* r = PQexec(pub_, "CREATE TABLE IF NOT EXISTS c19ai_event_sequences (room TEXT PRIMARY KEY, seq "
                                   "BIGINT NOT NULL)");
        PQclear(r);
      }
      const char* params[] = {e.room.c_str()};
      PGresult* r = PQexecParams(pub_,
                                 "INSERT INTO c19ai_event_sequences (room, seq) VALUES ($1, 1) ON CONFLICT (room) DO "
                                 "UPDATE SET seq = c19ai_event_sequences.seq + 1 RETURNING seq",
                                 1, nullptr, params, nullptr, nullptr, 0);
      if (Ok(r) && PQntuples(r) == 1) {
        e.sequence = std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
        e.id = e.room + ":" + std::to_string(e.sequence);
        PQclear(r);
        std::string payload = EncodeEvent(e);
        if (payload.size() > 7900) {  // NOTIFY carries at most 8000 bytes
          log::Warn("event too large for NOTIFY; delivered on this replica only",
                    {{"type", e.type}, {"bytes", payload.size()}});
          return false;
        }
        const char* nparams[] = {kPgChannel, payload.c_str()};
        PGresult* n = PQexecParams(pub_, "SELECT pg_notify($1, $2)", 2, nullptr, nparams, nullptr, nullptr, 0);
        bool ok = Ok(n);
        PQclear(n);
        if (ok) return true;
      } else {
        PQclear(r);
      }
      PQfinish(pub_);
      pub_ = nullptr;
    }
    return false;
  }

  void Listen() {
    pthread_setname_np(pthread_self(), "c19ai-events");
    bool warned = false;
    while (!stop_) {
      PGconn* c = Connect();
      if (!c) {
        if (!warned) log::Warn("event fan-out: PostgreSQL unreachable; retrying");
        warned = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      PGresult* r = PQexec(c, (std::string("LISTEN ") + kPgChannel).c_str());
      bool listening = Ok(r);
      PQclear(r);
      if (listening) SetListening();
      if (listening && warned) log::Info("event fan-out: PostgreSQL reachable again");
      warned = !listening;
      while (listening && !stop_) {
        pollfd p{PQsocket(c), POLLIN, 0};
        int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno != EINTR) break;
        if (ready > 0 && !PQconsumeInput(c)) break;
        while (PGnotify* n = PQnotifies(c)) {
          Heard(n->extra);
          PQfreemem(n);
        }
        if (PQstatus(c) != CONNECTION_OK) break;
      }
      PQfinish(c);
    }
  }

  std::string url_;
  std::mutex pub_mu_;  // guards pub_
  PGconn* pub_ = nullptr;
};

}  // namespace

std::unique_ptr<EventBus> NewRedisBus(std::string host, int port, int db, std::string password) {
  return std::make_unique<RedisBus>(std::move(host), port, db, std::move(password));
}

std::unique_ptr<EventBus> NewPostgresBus(std::string url) { return std::make_unique<PostgresBus>(std::move(url)); }

}  // namespace c19ai::events
