// The WebSocket hub. One mutex guards the connection, room and history tables; message handling runs
// on the sockets' io threads and never blocks (token checks go to the worker pool). A dispatcher
// thread takes every event from the bus, keeps a short history per room and sends each event,
// serialised once, to the room's members. A timer thread closes sockets that did not authenticate in
// time or whose token expired.

#include <condition_variable>
#include <list>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "auth/auth.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "common/thread_pool.h"
#include "events/events.h"
#include "http/http.h"
#include "http/websocket.h"
#include "realtime/realtime.h"

namespace c19ai::realtime {

namespace {

constexpr uint16_t kUnauthenticated = 4001;
constexpr uint16_t kForbidden = 4003;
constexpr uint16_t kTooMany = 4009;

struct Conn {
  std::shared_ptr<http::WebSocket> ws;
  std::optional<Principal> principal;
  int64_t auth_deadline_ms = 0;
  std::set<std::string> rooms;
  int forbidden = 0;
  bool closed = false;
};

struct HistoryEntry {
  uint64_t sequence;
  std::shared_ptr<const std::string> text;
};

struct RoomHistory {
  std::deque<HistoryEntry> events;
  std::list<std::string>::iterator lru;
};

std::shared_ptr<const std::string> Serialize(const events::Event& e) {
  std::string out = "{\"id\":";
  AppendJsonString(out, e.id);
  out += ",\"type\":";
  AppendJsonString(out, e.type);
  out += ",\"room\":";
  AppendJsonString(out, e.room);
  out += ",\"data\":";
  out += e.data.empty() ? "{}" : e.data;
  out += ",\"ts\":";
  AppendJsonString(out, FormatRfc3339(e.ts_ms));
  out += "}";
  return std::make_shared<const std::string>(std::move(out));
}

std::shared_ptr<const std::string> Message(const Json& j) { return std::make_shared<const std::string>(DumpJson(j)); }

class HubImpl final : public Hub {
 public:
  HubImpl(events::EventBus& bus, auth::AuthService& auth, ThreadPool& pool, HubOptions o)
      : bus_(bus), auth_(auth), pool_(pool), o_(o), sub_(bus.Subscribe({.capacity = 65536})) {
    auto& reg = metrics::Registry::Default();
    sent_ = &reg.GetCounter("c19ai_websocket_messages_sent_total", "Event messages queued to WebSocket clients");
    slow_ = &reg.GetCounter("c19ai_websocket_slow_disconnects_total", "Clients disconnected for reading too slowly");
    auth_failures_ = &reg.GetCounter("c19ai_websocket_auth_failures_total", "WebSocket authentications refused");
    collector_ = reg.AddCollector([this](std::vector<metrics::Family>& out) {
      std::lock_guard lock(mu_);
      int64_t authed = 0;
      for (auto& [id, c] : conns_) authed += c->principal.has_value();
      out.push_back({"c19ai_realtime_connections", "Hub connections by state", "gauge",
                     {{"", {{"state", "authenticated"}}, static_cast<double>(authed)},
                      {"", {{"state", "pending"}}, static_cast<double>(conns_.size() - authed)}}});
      out.push_back({"c19ai_realtime_rooms", "Rooms with at least one member", "gauge",
                     {{"", {}, static_cast<double>(members_.size())}}});
    });
    dispatcher_ = std::thread([this] { Dispatch(); });
    timer_ = std::thread([this] { Timer(); });
  }

  ~HubImpl() override {
    Stop();
    metrics::Registry::Default().RemoveCollector(collector_);
  }

  int64_t connections() const override {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(conns_.size());
  }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    sub_->Close();
    timer_cv_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    if (timer_.joinable()) timer_.join();
    std::vector<std::shared_ptr<http::WebSocket>> sockets;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, c] : conns_) sockets.push_back(c->ws);
    }
    for (auto& ws : sockets) ws->Close(1001, "server shutting down");
  }

  Status RegisterRoutes(http::Router& router) override {
    http::Route ws;
    ws.method = http::Method::kGet;
    ws.path = "/api/v1/ws";
    ws.permission = std::string(http::kAuthenticated);
    ws.auth_in_protocol = true;
    ws.summary = "WebSocket: live events by room (authenticate with {\"op\":\"auth\"} or the bearer subprotocol)";
    ws.tag = "realtime";
    ws.exec = http::Exec::kInline;
    ws.websocket_precheck = [](http::Request& req) -> Result<std::string> {
      std::string_view offered = req.Header("Sec-WebSocket-Protocol");
      for (const auto& p : Split(offered, ',')) {
        if (Trim(p) == "c19ai.v1") return std::string("c19ai.v1");
      }
      if (offered.find("bearer.") != std::string_view::npos) {
        return Error::InvalidArgument("offer the subprotocol c19ai.v1 together with bearer.<token>");
      }
      return std::string();
    };
    ws.websocket = [this](std::shared_ptr<http::WebSocket> socket, http::Request& req) {
      Open(std::move(socket), std::string(req.Header("Sec-WebSocket-Protocol")));
    };
    C19_TRY(router.Add(std::move(ws)));

    http::Route broadcast;
    broadcast.method = http::Method::kPost;
    broadcast.path = "/api/v1/realtime/broadcast";
    broadcast.permission = "system:admin";
    broadcast.summary = "Publish an event to a room (default: an announcement to \"system\")";
    broadcast.tag = "realtime";
    broadcast.audit = "realtime.broadcast";
    broadcast.exec = http::Exec::kInline;
    broadcast.max_body = 64 << 10;
    broadcast.handler = [this](http::Request& req) -> Result<http::Response> {
      C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
      FieldReader f(body);
      std::string room = f.OptString("room").value_or(std::string(events::kRoomSystem));
      std::string type = f.OptString("type").value_or("system.announcement");
      const Json* data = f.OptObject("data");
      C19_TRY(f.Finish());
      if (!ValidRoom(room)) return Error::Field("room", "unknown room \"" + room.substr(0, 64) + "\"");
      if (type.empty() || type.size() > 128) return Error::Field("type", "type must be 1-128 characters");
      req.audit_resource = "room:" + room;
      bus_.Publish({.type = type, .room = room, .data = data ? DumpJson(*data) : "{}"});
      return http::Response::Json(202, DumpJson(Json{{"room", room}, {"type", type}}));
    };
    return router.Add(std::move(broadcast));
  }

 private:
  static bool ValidRoom(std::string_view room) {
    if (room == events::kRoomModels || room == events::kRoomDeployments || room == events::kRoomDatasets ||
        room == events::kRoomSystem) {
      return true;
    }
    for (std::string_view prefix : {"training.", "user."}) {
      if (room.starts_with(prefix) && room.size() > prefix.size() && room.size() <= 128) {
        for (char c : room.substr(prefix.size())) {
          if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
        }
        return true;
      }
    }
    return false;
  }

  // The permission a room needs; "" when only its owner (user rooms) may join.
  static bool MayJoin(const Principal& p, std::string_view room) {
    if (room.starts_with("training.")) return p.Has("training:read");
    if (room == events::kRoomModels || room == events::kRoomDeployments) return p.Has("models:read");
    if (room == events::kRoomDatasets) return p.Has("datasets:read");
    if (room == events::kRoomSystem) return true;
    if (room.starts_with("user.")) return room.substr(5) == p.user_id || p.Has("users:admin");
    return false;
  }

  void Send(Conn& c, std::shared_ptr<const std::string> text) {
    if (c.closed) return;
    if (!c.ws->Send(std::move(text))) {
      slow_->Inc();
      c.closed = true;
    }
  }
  void Reply(const std::string& id, const Json& j) {
    std::lock_guard lock(mu_);
    auto it = conns_.find(id);
    if (it != conns_.end()) Send(*it->second, Message(j));
  }

  void Open(std::shared_ptr<http::WebSocket> ws, std::string offered) {
    auto conn = std::make_shared<Conn>();
    conn->ws = ws;
    conn->auth_deadline_ms = SteadyNowMs() + o_.auth_timeout_ms;
    std::string id = ws->id();
    {
      std::lock_guard lock(mu_);
      conns_[id] = conn;
    }
    ws->Start({.on_message = [this, id](std::string_view text) { OnMessage(id, text); },
               .on_close = [this, id](uint16_t) { Remove(id); }});
    // Bearer token in the subprotocol list: authenticate at once.
    for (const auto& p : Split(offered, ',')) {
      std::string_view t = Trim(p);
      if (t.starts_with("bearer.")) Authenticate(id, std::string(t.substr(7)), /*renewal=*/false);
    }
  }

  void Remove(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    for (const auto& room : it->second->rooms) {
      auto m = members_.find(room);
      if (m != members_.end()) {
        m->second.erase(id);
        if (m->second.empty()) members_.erase(m);
      }
    }
    if (it->second->principal) {
      auto u = by_user_.find(it->second->principal->user_id);
      if (u != by_user_.end()) {
        u->second.erase(id);
        if (u->second.empty()) by_user_.erase(u);
      }
    }
    conns_.erase(it);
  }

  void Close(const std::string& id, uint16_t code, const std::string& reason) {
    std::shared_ptr<http::WebSocket> ws;
    {
      std::lock_guard lock(mu_);
      auto it = conns_.find(id);
      if (it == conns_.end()) return;
      it->second->closed = true;
      ws = it->second->ws;
    }
    ws->Close(code, reason);
  }

  // Verifies a token on the pool, then attaches the principal (or closes the socket with 4001).
  void Authenticate(const std::string& id, std::string token, bool renewal) {
    bool queued = pool_.TrySubmit([this, id, token = std::move(token), renewal] {
      auto p = auth_.VerifyAccessToken(token);
      if (!p.ok()) {
        auth_failures_->Inc();
        Reply(id, {{"type", "error"}, {"op", "auth"}, {"code", ErrorCodeName(p.error().code)},
                   {"message", p.error().message}});
        Close(id, kUnauthenticated, "authentication failed");
        return;
      }
      std::unique_lock lock(mu_);
      auto it = conns_.find(id);
      if (it == conns_.end()) return;
      Conn& c = *it->second;
      if (c.principal && c.principal->user_id != p->user_id) {
        lock.unlock();
        Reply(id, {{"type", "error"}, {"op", "auth"}, {"code", "permission_denied"},
                   {"message", "a socket cannot change user; open a new one"}});
        return;
      }
      if (!c.principal) {
        auto& mine = by_user_[p->user_id];
        if (static_cast<int>(mine.size()) >= o_.max_connections_per_user) {
          lock.unlock();
          Close(id, kTooMany, "too many connections for this user");
          return;
        }
        mine.insert(id);
      }
      c.principal = *p;
      Send(c, Message({{"type", "ack"}, {"op", "auth"}, {"renewed", renewal}, {"user_id", p->user_id},
                       {"username", p->username},
                       {"expires_at", p->expires_at_ms ? Json(FormatRfc3339(p->expires_at_ms)) : Json(nullptr)}}));
    });
    if (!queued) Close(id, 1013, "server overloaded");
  }

  void OnMessage(const std::string& id, std::string_view text) {
    auto parsed = ParseJsonObject(text, "message");
    if (!parsed.ok()) {
      Reply(id, {{"type", "error"}, {"code", "invalid_argument"}, {"message", parsed.error().message}});
      return;
    }
    const Json& j = *parsed;
    std::string op = j.value("op", "");
    if (op == "ping") {
      Reply(id, {{"type", "pong"}, {"ts", FormatRfc3339(NowMs())}});
      return;
    }
    if (op == "auth") {
      if (!j.contains("token") || !j["token"].is_string()) {
        Reply(id, {{"type", "error"}, {"op", "auth"}, {"code", "invalid_argument"},
                   {"message", "field \"token\" is required"}});
        return;
      }
      bool renewal;
      {
        std::lock_guard lock(mu_);
        auto it = conns_.find(id);
        if (it == conns_.end()) return;
        renewal = it->second->principal.has_value();
      }
      Authenticate(id, j["token"].get<std::string>(), renewal);
      return;
    }
    std::string room = j.contains("room") && j["room"].is_string() ? j["room"].get<std::string>() : "";
    std::lock_guard lock(mu_);
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    auto error = [&](const char* code, const std::string& message) {
      Send(c, Message({{"type", "error"}, {"op", op}, {"room", room}, {"code", code}, {"message", message}}));
    };
    if (!c.principal) return error("unauthenticated", "authenticate first with {\"op\":\"auth\",\"token\":...}");
    if (op != "subscribe" && op != "unsubscribe" && op != "presence") {
      return error("invalid_argument", "unknown op \"" + op.substr(0, 32) + "\"");
    }
    if (!ValidRoom(room)) return error("invalid_argument", "unknown room \"" + room.substr(0, 64) + "\"");
    if (op == "unsubscribe") {
      c.rooms.erase(room);
      auto m = members_.find(room);
      if (m != members_.end()) {
        m->second.erase(id);
        if (m->second.empty()) members_.erase(m);
      }
      return Send(c, Message({{"type", "ack"}, {"op", op}, {"room", room}}));
    }
    if (!MayJoin(*c.principal, room)) {
      error("permission_denied", "you may not read room \"" + room + "\"");
      if (++c.forbidden >= o_.max_forbidden) {
        c.closed = true;
        c.ws->Close(kForbidden, "forbidden");
      }
      return;
    }
    if (op == "presence") {
      Json users = Json::array();
      std::map<std::string, std::pair<std::string, int>> seen;
      auto m = members_.find(room);
      if (m != members_.end()) {
        for (const auto& member : m->second) {
          auto cit = conns_.find(member);
          if (cit == conns_.end() || !cit->second->principal) continue;
          auto& entry = seen[cit->second->principal->user_id];
          entry.first = cit->second->principal->username;
          ++entry.second;
        }
      }
      for (auto& [uid, v] : seen) users.push_back({{"user_id", uid}, {"username", v.first}, {"connections", v.second}});
      return Send(c, Message({{"type", "presence"}, {"room", room}, {"users", users}}));
    }
    // subscribe
    c.rooms.insert(room);
    members_[room].insert(id);
    Send(c, Message({{"type", "ack"}, {"op", op}, {"room", room}}));
    if (j.contains("since") && j["since"].is_string()) Replay(c, room, j["since"].get<std::string>());
  }

  // Sends the room's events after `since` ("<room>:<sequence>"), or {"type":"resync"} when they are
  // no longer (or never were) in the history. Caller holds mu_.
  void Replay(Conn& c, const std::string& room, const std::string& since) {
    uint64_t after = 0;
    bool parsed = since.size() > room.size() + 1 && since.starts_with(room + ":");
    if (parsed) {
      char* end = nullptr;
      after = std::strtoull(since.c_str() + room.size() + 1, &end, 10);
      parsed = *end == '\0';
    }
    auto h = history_.find(room);
    const std::deque<HistoryEntry>* events = h == history_.end() ? nullptr : &h->second.events;
    uint64_t latest = events && !events->empty() ? events->back().sequence : 0;
    uint64_t oldest = events && !events->empty() ? events->front().sequence : 0;
    bool covered = parsed && (after == latest || (events && !events->empty() && after + 1 >= oldest && after <= latest));
    if (!covered) {
      Send(c, Message({{"type", "resync"}, {"room", room}, {"since", since}}));
      return;
    }
    if (!events) return;
    for (const auto& e : *events) {
      if (e.sequence > after) Send(c, e.text);
    }
  }

  void Dispatch() {
    pthread_setname_np(pthread_self(), "c19ai-hub");
    while (!stopping_) {
      auto e = sub_->Next(std::chrono::milliseconds(200));
      if (!e) continue;
      auto text = Serialize(*e);
      std::vector<std::string> deactivated;
      {
        std::lock_guard lock(mu_);
        Remember(*e, text);
        auto m = members_.find(e->room);
        if (m != members_.end()) {
          for (const auto& id : m->second) {
            auto c = conns_.find(id);
            if (c == conns_.end()) continue;
            Send(*c->second, text);
            sent_->Inc();
          }
        }
        if (e->type == events::kUserDeactivated && e->room.starts_with("user.")) {
          auto u = by_user_.find(e->room.substr(5));
          if (u != by_user_.end()) deactivated.assign(u->second.begin(), u->second.end());
        }
      }
      for (const auto& id : deactivated) Close(id, kUnauthenticated, "the user was deactivated");
    }
  }

  // Keeps the event in its room's history (bounded per room, and rooms by least recent use).
  void Remember(const events::Event& e, std::shared_ptr<const std::string> text) {
    auto it = history_.find(e.room);
    if (it == history_.end()) {
      if (history_.size() >= o_.history_rooms && !lru_.empty()) {
        history_.erase(lru_.back());
        lru_.pop_back();
      }
      lru_.push_front(e.room);
      it = history_.emplace(e.room, RoomHistory{{}, lru_.begin()}).first;
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    auto& events = it->second.events;
    if (!events.empty() && e.sequence <= events.back().sequence) events.clear();  // the sequence restarted
    events.push_back({e.sequence, std::move(text)});
    while (events.size() > o_.history_per_room) events.pop_front();
  }

  void Timer() {
    pthread_setname_np(pthread_self(), "c19ai-hub-timer");
    std::unique_lock lock(timer_mu_);
    while (!stopping_) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(250));
      int64_t now_steady = SteadyNowMs(), now = NowMs();
      std::vector<std::pair<std::string, const char*>> to_close;
      {
        std::lock_guard g(mu_);
        for (auto& [id, c] : conns_) {
          if (c->closed) continue;
          if (!c->principal && now_steady > c->auth_deadline_ms) {
            to_close.emplace_back(id, "authentication timeout");
          } else if (c->principal && c->principal->expires_at_ms && now >= c->principal->expires_at_ms) {
            to_close.emplace_back(id, "token expired");
          }
        }
      }
      for (auto& [id, why] : to_close) Close(id, kUnauthenticated, why);
    }
  }

  events::EventBus& bus_;
  auth::AuthService& auth_;
  ThreadPool& pool_;
  const HubOptions o_;
  std::unique_ptr<events::Subscription> sub_;
  mutable std::mutex mu_;  // guards conns_, members_, by_user_, history_, lru_
  std::unordered_map<std::string, std::shared_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::set<std::string>> members_;  // room -> connection ids
  std::unordered_map<std::string, std::set<std::string>> by_user_;  // user -> connection ids
  std::unordered_map<std::string, RoomHistory> history_;
  std::list<std::string> lru_;
  metrics::Counter* sent_ = nullptr;
  metrics::Counter* slow_ = nullptr;
  metrics::Counter* auth_failures_ = nullptr;
  int collector_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::thread dispatcher_, timer_;
};

}  // namespace

std::unique_ptr<Hub> Hub::Create(events::EventBus& bus, auth::AuthService& auth, ThreadPool& pool, HubOptions options) {
  return std::make_unique<HubImpl>(bus, auth, pool, options);
}

}  // namespace c19ai::realtime
