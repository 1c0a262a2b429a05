#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/json.h"
#include "common/redis_url.h"
#include "events/events.h"
#include "events/internal.h"

namespace c19ai::events {

namespace {

class InProcessBus;

class Sub final : public Subscription {
 public:
  Sub(InProcessBus* bus, SubscribeOptions options) : bus_(bus), options_(std::move(options)) {}
  ~Sub() override;

  std::optional<Event> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
    if (closed_ || queue_.empty()) return std::nullopt;
    Event e = std::move(queue_.front());
    queue_.pop_front();
    return e;
  }
  uint64_t dropped() const override {
    std::lock_guard lock(mu_);
    return dropped_;
  }
  void Close() override {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  bool Matches(const Event& e) const {
    if (options_.rooms.empty() && options_.room_prefixes.empty()) return true;
    for (const auto& r : options_.rooms) {
      if (r == e.room) return true;
    }
    for (const auto& p : options_.room_prefixes) {
      if (e.room.starts_with(p)) return true;
    }
    return false;
  }
  // Returns true when an old event had to be dropped.
  bool Deliver(const Event& e) {
    bool dropped = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      if (queue_.size() >= options_.capacity) {
        queue_.pop_front();
        ++dropped_;
        dropped = true;
      }
      queue_.push_back(e);
    }
    cv_.notify_one();
    return dropped;
  }

 private:
  InProcessBus* bus_;
  const SubscribeOptions options_;
  mutable std::mutex mu_;  // guards queue_, dropped_, closed_
  std::condition_variable cv_;
  std::deque<Event> queue_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class InProcessBus final : public LocalBus {
 public:
  InProcessBus()
      : dropped_metric_(metrics::Registry::Default().GetCounter(
            "c19ai_events_dropped_total", "Live events dropped because a subscriber was too slow")),
        published_metric_(metrics::Registry::Default().GetCounter("c19ai_events_published_total",
                                                                  "Events published on this replica's bus")) {}

  void Publish(Event event) override {
    {
      std::lock_guard lock(mu_);
      uint64_t seq = ++sequences_[event.room];
      event.sequence = seq;
      event.id = event.room + ":" + std::to_string(seq);
    }
    Deliver(std::move(event));
  }

  void Deliver(Event event) override {
    std::lock_guard lock(mu_);
    if (event.ts_ms == 0) event.ts_ms = NowMs();
    if (event.data.empty()) event.data = "{}";
    ++stats_.published;
    published_metric_.Inc();
    for (Sub* s : subs_) {
      if (!s->Matches(event)) continue;
      ++stats_.delivered;
      if (s->Deliver(event)) {
        ++stats_.dropped;
        dropped_metric_.Inc();
      }
    }
  }

  std::unique_ptr<Subscription> Subscribe(const SubscribeOptions& options) override {
    auto sub = std::make_unique<Sub>(this, options);
    std::lock_guard lock(mu_);
    subs_.push_back(sub.get());
    return sub;
  }

  BusStats Stats() const override {
    std::lock_guard lock(mu_);
    BusStats s = stats_;
    s.subscribers = static_cast<int64_t>(subs_.size());
    return s;
  }

  void Remove(Sub* sub) {
    std::lock_guard lock(mu_);
    std::erase(subs_, sub);
  }

 private:
  mutable std::mutex mu_;  // guards subs_, sequences_, stats_; held while delivering (bounded work)
  std::vector<Sub*> subs_;
  std::map<std::string, uint64_t> sequences_;
  BusStats stats_;
  metrics::Counter& dropped_metric_;
  metrics::Counter& published_metric_;
};

Sub::~Sub() {
  Close();
  bus_->Remove(this);
}

}  // namespace

std::unique_ptr<EventBus> NewInProcessBus() { return std::make_unique<InProcessBus>(); }
std::unique_ptr<LocalBus> NewLocalBus() { return std::make_unique<InProcessBus>(); }

std::string EncodeEvent(const Event& e) {
  return DumpJson(Json{{"id", e.id}, {"type", e.type}, {"room", e.room}, {"seq", e.sequence}, {"ts", e.ts_ms},
                       {"data", e.data}});
}

bool DecodeEvent(std::string_view text, Event& e) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  e.id = j.value("id", "");
  e.type = j.value("type", "");
  e.room = j.value("room", "");
  e.sequence = j.value("seq", uint64_t{0});
  e.ts_ms = j.value("ts", int64_t{0});
  e.data = j.value("data", "{}");
  return !e.room.empty() && !e.type.empty();
}

Result<std::unique_ptr<EventBus>> Open(std::string_view url) {
  if (url == "memory://" || url.empty() || url == "memory") return NewInProcessBus();
  if (url.starts_with("redis://")) {
    C19_ASSIGN_OR_RETURN(RedisUrl u, ParseRedisUrl(url, "events.url"));
    return NewRedisBus(u.host, u.port, u.db, u.password);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return NewPostgresBus(std::string(url));
  return Error::Field("events.url", "events URL must be memory://, redis://... or postgresql://..., got \"" +
                                        std::string(url.substr(0, 12)) + "...\"");
}

}  // namespace c19ai::events
