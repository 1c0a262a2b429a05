// The queue on Redis Streams.
//
// Keys per topic T: c19ai:q:T:0|1|2 (a stream per priority, consumer group "c19ai"), c19ai:q:T:delayed
// (a sorted set of delayed and backed-off messages, score = due time, promoted into the streams by
// consumers), c19ai:q:T:dead (a stream of dead letters), c19ai:q:T:attempts (a hash of delivery counts
// by entry id) and c19ai:qi:T:<key> (idempotency keys, with the window as TTL).
//
// A lease is a random token per delivery (c19ai:q:T:tokens, by entry) with an expiry
// (c19ai:q:T:leases, a sorted set): a consumer takes over an expired lease with XCLAIM and a new
// token; Ack, Nack and ExtendLease check the token first, so a consumer whose lease ran out can no
// longer acknowledge. Header filters are applied by the consumer: non-matching messages are put back at
// the end of their stream without using an attempt.

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <set>

#include "common/ids.h"
#include "common/json.h"
#include "common/redis_url.h"
#include "queue/internal.h"
#include "queue/queue.h"

namespace c19ai::queue {

namespace {

constexpr const char* kGroup = "c19ai";

struct Reply {
  redisReply* r = nullptr;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r) freeReplyObject(r);
  }
  Reply(const Reply&) = delete;
  bool ok() const { return r && r->type != REDIS_REPLY_ERROR; }
  std::string error() const { return r ? std::string(r->str ? r->str : "", r->len) : "no reply"; }
};

std::string Str(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len) : "";
}

class RedisQueue final : public Queue {
 public:
  RedisQueue(RedisUrl url, QueueOptions o) : url_(std::move(url)), o_(o) {}
  ~RedisQueue() override {
    for (auto* c : idle_) redisFree(c);
  }

  std::string backend() const override { return "redis"; }

  // ---- connection handling

  class Conn {
   public:
    Conn(RedisQueue* q, redisContext* c) : q_(q), c_(c) {}
    ~Conn() { q_->Release(c_); }
    redisContext* get() const { return c_; }

   private:
    RedisQueue* q_;
    redisContext* c_;
  };

  Result<std::unique_ptr<Conn>> Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        redisContext* c = idle_.back();
        idle_.pop_back();
        return std::make_unique<Conn>(this, c);
      }
    }
    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
    if (!c || c->err) {
      std::string err = c ? c->errstr : "out of memory";
      if (c) redisFree(c);
      return Error::Unavailable("cannot reach the Redis queue at " + url_.host + ":" + std::to_string(url_.port) +
                                ": " + err);
    }
    redisSetTimeout(c, tv);
    if (!url_.password.empty()) Reply(redisCommand(c, "AUTH %b", url_.password.data(), url_.password.size()));
    if (url_.db) Reply(redisCommand(c, "SELECT %d", url_.db));
    return std::make_unique<Conn>(this, c);
  }
  void Release(redisContext* c) {
    if (c->err) {
      redisFree(c);
      return;
    }
    std::lock_guard lock(mu_);
    if (idle_.size() < 16) idle_.push_back(c);
    else redisFree(c);
  }

  // Runs one command; unavailable on connection errors, internal on Redis errors.
  Result<std::unique_ptr<Reply>> Run(Conn& c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto r = std::make_unique<Reply>(redisCommandArgv(c.get(), static_cast<int>(args.size()), argv.data(), lens.data()));
    if (!r->r) return Error::Unavailable(std::string("Redis queue: ") + c.get()->errstr);
    if (r->r->type == REDIS_REPLY_ERROR) return Error::Internal("Redis queue " + args[0] + ": " + r->error());
    return r;
  }

  // Sends every command, then reads every reply (one round trip for the batch).
  Result<std::vector<std::unique_ptr<Reply>>> Pipeline(Conn& c, const std::vector<std::vector<std::string>>& cmds) {
    for (const auto& args : cmds) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(c.get(), static_cast<int>(args.size()), argv.data(), lens.data());
    }
    std::vector<std::unique_ptr<Reply>> out;
    out.reserve(cmds.size());
    for (size_t i = 0; i < cmds.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c.get(), &raw) != REDIS_OK) return Error::Unavailable(std::string("Redis queue: ") + c.get()->errstr);
      out.push_back(std::make_unique<Reply>(raw));
      if (!out.back()->ok()) return Error::Internal("Redis queue " + cmds[i][0] + ": " + out.back()->error());
    }
    return out;
  }

  static std::string Stream(const std::string& topic, int p) { return "c19ai:q:" + topic + ":" + std::to_string(p); }
  static std::string Delayed(const std::string& topic) { return "c19ai:q:" + topic + ":delayed"; }
  static std::string Dead(const std::string& topic) { return "c19ai:q:" + topic + ":dead"; }
  static std::string Attempts(const std::string& topic) { return "c19ai:q:" + topic + ":attempts"; }
  static std::string Tokens(const std::string& topic) { return "c19ai:q:" + topic + ":tokens"; }
  static std::string Leases(const std::string& topic) { return "c19ai:q:" + topic + ":leases"; }

  Status EnsureGroups(Conn& c, const std::string& topic) {
    {
      std::lock_guard lock(mu_);
      if (groups_.contains(topic)) return OkStatus();
    }
    for (int p = 0; p < 3; ++p) {
      Reply r(redisCommand(c.get(), "XGROUP CREATE %s %s 0 MKSTREAM", Stream(topic, p).c_str(), kGroup));
      if (!r.r) return Error::Unavailable(std::string("Redis queue: ") + c.get()->errstr);
      if (!r.ok() && r.error().find("BUSYGROUP") == std::string::npos) return Error::Internal(r.error());
    }
    std::lock_guard lock(mu_);
    groups_.insert(topic);
    return OkStatus();
  }

  // The message as JSON (for the delayed set and the dead stream).
  static std::string Encode(const Message& m) {
    return DumpJson(Json{{"id", m.id},
                         {"body", m.body},
                         {"headers", m.headers},
                         {"priority", static_cast<int>(m.priority)},
                         {"attempts", m.attempts},
                         {"max", m.max_attempts},
                         {"enq", m.enqueued_ms},
                         {"err", m.last_error}});
  }
  static Message Decode(const std::string& text) {
    Message m;
    Json j = Json::parse(text, nullptr, false);
    if (!j.is_object()) return m;
    m.id = j.value("id", "");
    m.body = j.value("body", "");
    if (j.contains("headers") && j["headers"].is_object()) {
      for (auto& [k, v] : j["headers"].items()) {
        if (v.is_string()) m.headers[k] = v.get<std::string>();
      }
    }
    m.priority = static_cast<Priority>(std::clamp(j.value("priority", 1), 0, 2));
    m.attempts = j.value("attempts", 0);
    m.max_attempts = j.value("max", 5);
    m.enqueued_ms = j.value("enq", int64_t{0});
    m.last_error = j.value("err", "");
    return m;
  }

  Status Add(Conn& c, const std::string& topic, const Message& m) {
    return Run(c, {"XADD", Stream(topic, static_cast<int>(m.priority)), "*", "m", Encode(m)}).ok()
               ? OkStatus()
               : Error::Unavailable("Redis queue: XADD failed");
  }

  Result<std::string> PublishOne(Conn& c, const std::string& topic, const std::string& body, const PublishOptions& o) {
    int64_t now = o_.clock->NowMs();
    Message m;
    m.id = NewIdAt(now);
    m.topic = topic;
    m.body = body;
    m.headers = o.headers;
    m.priority = o.priority;
    m.max_attempts = std::max(1, o.max_attempts);
    m.enqueued_ms = now;
    if (!o.idempotency_key.empty()) {
      std::string key = "c19ai:qi:" + topic + ":" + o.idempotency_key;
      C19_ASSIGN_OR_RETURN(auto set, Run(c, {"SET", key, m.id, "NX", "PX", std::to_string(o_.idempotency_window_ms)}));
      if (set->r->type == REDIS_REPLY_NIL) {
        C19_ASSIGN_OR_RETURN(auto existing, Run(c, {"GET", key}));
        return Str(existing->r);
      }
    }
    if (o.delay_ms > 0) {
      C19_TRY(Run(c, {"ZADD", Delayed(topic), std::to_string(now + o.delay_ms), Encode(m)}));
    } else {
      C19_TRY(Add(c, topic, m));
    }
    return m.id;
  }

  Result<std::string> Publish(const std::string& topic, const std::string& body, const PublishOptions& o) override {
    C19_TRY(ValidateTopic(topic));
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_TRY(EnsureGroups(*c, topic));
    return PublishOne(*c, topic, body, o);
  }

  Result<std::vector<std::string>> PublishBatch(
      const std::string& topic, const std::vector<std::pair<std::string, PublishOptions>>& messages) override {
    C19_TRY(ValidateTopic(topic));
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_TRY(EnsureGroups(*c, topic));
    std::vector<std::string> ids;
    // Plain messages are pipelined; the rest go one by one.
    int64_t now = o_.clock->NowMs();
    std::vector<std::string> pending;
    for (const auto& [body, o] : messages) {
      if (!o.idempotency_key.empty() || o.delay_ms > 0) {
        C19_ASSIGN_OR_RETURN(std::string id, PublishOne(*c, topic, body, o));
        ids.push_back(id);
        continue;
      }
      Message m;
      m.id = NewIdAt(now);
      m.body = body;
      m.headers = o.headers;
      m.priority = o.priority;
      m.max_attempts = std::max(1, o.max_attempts);
      m.enqueued_ms = now;
      std::string stream = Stream(topic, static_cast<int>(m.priority)), enc = Encode(m);
      redisAppendCommand(c->get(), "XADD %b * m %b", stream.data(), stream.size(), enc.data(), enc.size());
      pending.push_back(m.id);
      ids.push_back(m.id);
    }
    for (size_t i = 0; i < pending.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c->get(), &raw) != REDIS_OK) return Error::Unavailable("Redis queue: pipelined XADD failed");
      Reply r(raw);
      if (!r.ok()) return Error::Internal("Redis queue XADD: " + r.error());
    }
    return ids;
  }

  // Moves due delayed messages into their streams (ZREM first: only one consumer promotes each).
  Status Promote(Conn& c, const std::string& topic, int64_t now) {
    C19_ASSIGN_OR_RETURN(auto due, Run(c, {"ZRANGEBYSCORE", Delayed(topic), "-inf", std::to_string(now), "LIMIT", "0",
                                           "100"}));
    for (size_t i = 0; i < due->r->elements; ++i) {
      std::string item = Str(due->r->element[i]);
      C19_ASSIGN_OR_RETURN(auto removed, Run(c, {"ZREM", Delayed(topic), item}));
      if (removed->r->integer != 1) continue;
      Message m = Decode(item);
      C19_TRY(Add(c, topic, m));
    }
    return OkStatus();
  }

  // Parses XREADGROUP/XCLAIM entries ([id, [field, value, ...]]).
  void Collect(redisReply* entries, int priority, std::vector<std::pair<std::string, Message>>& out) {
    if (!entries || entries->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < entries->elements; ++i) {
      redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY) continue;
      redisReply* fields = e->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (Str(fields->element[f]) == "m") {
          Message m = Decode(Str(fields->element[f + 1]));
          if (priority >= 0) m.priority = static_cast<Priority>(priority);
          out.emplace_back(Str(e->element[0]), std::move(m));
        }
      }
    }
  }

  Result<std::vector<Message>> Consume(const std::string& topic, const ConsumeOptions& o) override {
    C19_TRY(ValidateTopic(topic));
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_TRY(EnsureGroups(*c, topic));
    int64_t now = o_.clock->NowMs();
    C19_TRY(Promote(*c, topic, now));
    int want = std::clamp(o.max_messages, 1, 1000);
    std::string consumer = o.consumer.empty() ? "anonymous" : o.consumer;
    std::vector<Message> out;
    // Expired leases first (whatever their priority), then new entries by priority.
    std::vector<std::pair<std::pair<int, std::string>, Message>> got;
    C19_ASSIGN_OR_RETURN(auto expired, Run(*c, {"ZRANGEBYSCORE", Leases(topic), "-inf", std::to_string(now), "LIMIT",
                                                "0", std::to_string(want)}));
    for (size_t i = 0; i < expired->r->elements; ++i) {
      std::string member = Str(expired->r->element[i]);
      C19_ASSIGN_OR_RETURN(auto removed, Run(*c, {"ZREM", Leases(topic), member}));
      if (removed->r->integer != 1) continue;  // another consumer took it over
      auto bar = member.find('|');
      int p = std::atoi(member.substr(0, bar).c_str());
      std::string entry = member.substr(bar + 1);
      C19_ASSIGN_OR_RETURN(auto claimed, Run(*c, {"XCLAIM", Stream(topic, p), kGroup, consumer, "0", entry}));
      std::vector<std::pair<std::string, Message>> one;
      Collect(claimed->r, p, one);
      for (auto& [e, m] : one) got.push_back({{p, e}, std::move(m)});
    }
    for (int p = 0; p < 3 && static_cast<int>(got.size()) < want; ++p) {
      C19_ASSIGN_OR_RETURN(auto fresh, Run(*c, {"XREADGROUP", "GROUP", kGroup, consumer, "COUNT",
                                                std::to_string(want - static_cast<int>(got.size())), "STREAMS",
                                                Stream(topic, p), ">"}));
      if (fresh->r->type != REDIS_REPLY_ARRAY) continue;
      for (size_t s = 0; s < fresh->r->elements; ++s) {
        redisReply* pair = fresh->r->element[s];
        if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2) continue;
        std::vector<std::pair<std::string, Message>> some;
        Collect(pair->element[1], p, some);
        for (auto& [e, m] : some) got.push_back({{p, e}, std::move(m)});
      }
    }
    // Count the deliveries, then record the leases: two pipelined round trips for the batch.
    std::vector<std::vector<std::string>> incr;
    for (auto& [where, m] : got) incr.push_back({"HINCRBY", Attempts(topic), where.second, "1"});
    C19_ASSIGN_OR_RETURN(auto counts, Pipeline(*c, incr));
    std::vector<std::vector<std::string>> leases;
    std::vector<std::pair<std::pair<int, std::string>, Message>> delivered;
    for (size_t i = 0; i < got.size(); ++i) {
      auto& [where, m] = got[i];
      auto& [p, entry] = where;
      m.attempts += static_cast<int>(counts[i]->r->integer);
      m.topic = topic;
      if (m.attempts > m.max_attempts) {
        m.last_error = m.last_error.empty() ? "lease expired on the last attempt" : m.last_error;
        C19_TRY(ToDead(*c, m, entry, p));
        continue;
      }
      std::string token = NewRequestId();
      m.lease = std::to_string(p) + "|" + entry + "|" + token;
      m.lease_until_ms = now + o.lease_ms;
      leases.push_back({"HSET", Tokens(topic), entry, token});
      leases.push_back({"ZADD", Leases(topic), std::to_string(m.lease_until_ms), std::to_string(p) + "|" + entry});
      delivered.push_back(std::move(got[i]));
    }
    if (!leases.empty()) C19_TRY(Pipeline(*c, leases));
    for (auto& [where, m] : delivered) {
      auto& [p, entry] = where;
      bool match = true;
      for (const auto& [k, v] : o.header_filter) {
        auto it = m.headers.find(k);
        if (it == m.headers.end() || it->second != v) match = false;
      }
      if (!match) {
        C19_TRY(Requeue(*c, m, entry, p, /*count_attempt=*/false));
        continue;
      }
      out.push_back(std::move(m));
    }
    return out;
  }

  struct LeaseParts {
    int priority;
    std::string entry, token;
  };
  static std::optional<LeaseParts> ParseLease(const std::string& lease) {
    auto a = lease.find('|');
    auto b = lease.find('|', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) return std::nullopt;
    return LeaseParts{std::atoi(lease.substr(0, a).c_str()), lease.substr(a + 1, b - a - 1), lease.substr(b + 1)};
  }

  // True when this delivery's token is still the entry's current one.
  Result<bool> Holds(Conn& c, const std::string& topic, const LeaseParts& l) {
    C19_ASSIGN_OR_RETURN(auto token, Run(c, {"HGET", Tokens(topic), l.entry}));
    return Str(token->r) == l.token;
  }

  Status Drop(Conn& c, const std::string& topic, int priority, const std::string& entry) {
    C19_TRY(Run(c, {"XACK", Stream(topic, priority), kGroup, entry}));
    C19_TRY(Run(c, {"XDEL", Stream(topic, priority), entry}));
    C19_TRY(Run(c, {"HDEL", Attempts(topic), entry}));
    C19_TRY(Run(c, {"HDEL", Tokens(topic), entry}));
    C19_TRY(Run(c, {"ZREM", Leases(topic), std::to_string(priority) + "|" + entry}));
    return OkStatus();
  }

  Status ToDead(Conn& c, const Message& m, const std::string& entry, int priority) {
    C19_TRY(Run(c, {"XADD", Dead(m.topic), "*", "m", Encode(m)}));
    return Drop(c, m.topic, priority, entry);
  }

  // Puts a message back (at the end of its stream, or in the delayed set) under a new entry.
  Status Requeue(Conn& c, Message m, const std::string& entry, int priority, bool count_attempt,
                 int64_t delay_ms = 0) {
    if (!count_attempt) m.attempts -= 1;
    C19_TRY(Drop(c, m.topic, priority, entry));
    if (delay_ms > 0) {
      return Run(c, {"ZADD", Delayed(m.topic), std::to_string(o_.clock->NowMs() + delay_ms), Encode(m)}).ok()
                 ? OkStatus()
                 : Error::Unavailable("Redis queue: ZADD failed");
    }
    return Add(c, m.topic, m);
  }

  Status Ack(const std::vector<Message>& messages) override {
    if (messages.empty()) return OkStatus();
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    std::vector<LeaseParts> parts;
    std::vector<std::vector<std::string>> check;
    for (const auto& m : messages) {
      auto l = ParseLease(m.lease);
      if (!l) return Error::InvalidArgument("malformed lease");
      check.push_back({"HGET", Tokens(m.topic), l->entry});
      parts.push_back(*l);
    }
    C19_ASSIGN_OR_RETURN(auto tokens, Pipeline(*c, check));
    std::vector<std::vector<std::string>> drop;
    int lost = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      if (Str(tokens[i]->r) != parts[i].token) {
        ++lost;
        continue;
      }
      const std::string& topic = messages[i].topic;
      const auto& l = parts[i];
      drop.push_back({"XACK", Stream(topic, l.priority), kGroup, l.entry});
      drop.push_back({"XDEL", Stream(topic, l.priority), l.entry});
      drop.push_back({"HDEL", Attempts(topic), l.entry});
      drop.push_back({"HDEL", Tokens(topic), l.entry});
      drop.push_back({"ZREM", Leases(topic), std::to_string(l.priority) + "|" + l.entry});
    }
    if (!drop.empty()) C19_TRY(Pipeline(*c, drop));
    if (lost) {
      return Error::FailedPrecondition(std::to_string(lost) + " message(s) were not acknowledged: their lease expired "
                                       "and they were delivered again");
    }
    return OkStatus();
  }

  int64_t Backoff(int attempts) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    double base = static_cast<double>(o_.backoff_base_ms) * std::pow(2.0, std::max(0, attempts - 1));
    base = std::min(base, static_cast<double>(o_.backoff_max_ms));
    return static_cast<int64_t>(base * std::uniform_real_distribution<double>(0.75, 1.25)(rng));
  }

  Status Nack(const Message& m, const std::string& error, std::optional<int64_t> delay_ms) override {
    auto l = ParseLease(m.lease);
    if (!l) return Error::InvalidArgument("malformed lease");
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_ASSIGN_OR_RETURN(bool holds, Holds(*c, m.topic, *l));
    if (!holds) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
    Message copy = m;
    copy.last_error = error.substr(0, 4000);
    if (copy.attempts >= copy.max_attempts) return ToDead(*c, copy, l->entry, l->priority);
    return Requeue(*c, copy, l->entry, l->priority, true, delay_ms ? *delay_ms : Backoff(copy.attempts));
  }

  Status Release(const Message& m) override {
    auto l = ParseLease(m.lease);
    if (!l) return Error::InvalidArgument("malformed lease");
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_ASSIGN_OR_RETURN(bool holds, Holds(*c, m.topic, *l));
    if (!holds) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
    return Requeue(*c, m, l->entry, l->priority, false);
  }

  Status ExtendLease(Message& m, int64_t lease_ms) override {
    auto l = ParseLease(m.lease);
    if (!l) return Error::InvalidArgument("malformed lease");
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_ASSIGN_OR_RETURN(bool holds, Holds(*c, m.topic, *l));
    if (!holds) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
    m.lease_until_ms = o_.clock->NowMs() + lease_ms;
    C19_TRY(Run(*c, {"ZADD", Leases(m.topic), "XX", std::to_string(m.lease_until_ms),
                     std::to_string(l->priority) + "|" + l->entry}));
    return OkStatus();
  }

  Result<std::vector<std::string>> Topics(Conn& c) {
    std::set<std::string> topics;
    std::string cursor = "0";
    do {
      C19_ASSIGN_OR_RETURN(auto r, Run(c, {"SCAN", cursor, "MATCH", "c19ai:q:*", "COUNT", "1000"}));
      cursor = Str(r->r->element[0]);
      for (size_t i = 0; i < r->r->element[1]->elements; ++i) {
        std::string k = Str(r->r->element[1]->element[i]).substr(8);
        topics.insert(k.substr(0, k.rfind(':')));
      }
    } while (cursor != "0");
    return std::vector<std::string>(topics.begin(), topics.end());
  }

  Result<std::vector<TopicStats>> Stats() override {
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_ASSIGN_OR_RETURN(auto topics, Topics(*c));
    std::vector<TopicStats> out;
    int64_t now = o_.clock->NowMs();
    for (const auto& t : topics) {
      TopicStats s;
      s.topic = t;
      for (int p = 0; p < 3; ++p) {
        C19_ASSIGN_OR_RETURN(auto len, Run(*c, {"XLEN", Stream(t, p)}));
        auto pend = Run(*c, {"XPENDING", Stream(t, p), kGroup});
        int64_t pending = pend.ok() && (*pend)->r->type == REDIS_REPLY_ARRAY && (*pend)->r->elements > 0
                              ? (*pend)->r->element[0]->integer
                              : 0;
        s.in_flight += pending;
        s.ready += len->r->integer - pending;
        C19_ASSIGN_OR_RETURN(auto first, Run(*c, {"XRANGE", Stream(t, p), "-", "+", "COUNT", "1"}));
        std::vector<std::pair<std::string, Message>> head;
        Collect(first->r, p, head);
        if (!head.empty()) s.oldest_ready_age_ms = std::max(s.oldest_ready_age_ms, now - head[0].second.enqueued_ms);
      }
      C19_ASSIGN_OR_RETURN(auto delayed, Run(*c, {"ZCARD", Delayed(t)}));
      s.delayed = delayed->r->integer;
      C19_ASSIGN_OR_RETURN(auto dead, Run(*c, {"XLEN", Dead(t)}));
      s.dead = dead->r->integer;
      out.push_back(s);
    }
    return out;
  }

  Result<std::vector<std::pair<std::string, Message>>> DeadEntries(Conn& c, const std::string& topic) {
    C19_ASSIGN_OR_RETURN(auto r, Run(c, {"XRANGE", Dead(topic), "-", "+"}));
    std::vector<std::pair<std::string, Message>> out;
    Collect(r->r, -1, out);  // keep each message's own priority
    for (auto& [entry, m] : out) m.topic = topic;
    return out;
  }

  Result<std::vector<Message>> DeadLetters(const std::string& topic, int64_t limit, int64_t offset) override {
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_ASSIGN_OR_RETURN(auto all, DeadEntries(*c, topic));
    std::vector<Message> out;
    for (int64_t i = offset; i < static_cast<int64_t>(all.size()) && static_cast<int64_t>(out.size()) < limit; ++i) {
      out.push_back(all[static_cast<size_t>(i)].second);
    }
    return out;
  }

  Result<int64_t> Redrive(const std::string& topic, const std::vector<std::string>& ids) override {
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    C19_TRY(EnsureGroups(*c, topic));
    C19_ASSIGN_OR_RETURN(auto all, DeadEntries(*c, topic));
    int64_t n = 0;
    for (auto& [entry, m] : all) {
      if (!ids.empty() && std::find(ids.begin(), ids.end(), m.id) == ids.end()) continue;
      m.attempts = 0;
      C19_TRY(Add(*c, topic, m));
      C19_TRY(Run(*c, {"XDEL", Dead(topic), entry}));
      ++n;
    }
    return n;
  }

  Result<int64_t> Purge(const std::string& topic) override {
    C19_ASSIGN_OR_RETURN(auto c, Acquire());
    int64_t n = 0;
    for (const auto& k : {Stream(topic, 0), Stream(topic, 1), Stream(topic, 2), Dead(topic)}) {
      C19_ASSIGN_OR_RETURN(auto len, Run(*c, {"XLEN", k}));
      n += len->r->integer;
    }
    C19_ASSIGN_OR_RETURN(auto d, Run(*c, {"ZCARD", Delayed(topic)}));
    n += d->r->integer;
    C19_TRY(Run(*c, {"DEL", Stream(topic, 0), Stream(topic, 1), Stream(topic, 2), Dead(topic), Delayed(topic),
                     Attempts(topic), Tokens(topic), Leases(topic)}));
    std::lock_guard lock(mu_);
    groups_.erase(topic);
    return n;
  }

 private:
  RedisUrl url_;
  QueueOptions o_;
  std::mutex mu_;  // guards idle_, groups_
  std::vector<redisContext*> idle_;
  std::set<std::string> groups_;
};

}  // namespace

Result<std::unique_ptr<Queue>> OpenRedisQueue(std::string_view url, const QueueOptions& options) {
  C19_ASSIGN_OR_RETURN(RedisUrl u, ParseRedisUrl(url, "queue.url"));
  auto q = std::make_unique<RedisQueue>(u, options);
  C19_ASSIGN_OR_RETURN(auto c, q->Acquire());  // fail at start when Redis is unreachable
  return std::unique_ptr<Queue>(std::move(q));
}

}  // namespace c19ai::queue
