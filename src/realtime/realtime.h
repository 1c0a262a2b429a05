#pragma once
// The real-time layer: a WebSocket hub at /api/v1/ws speaking the JSON protocol of API.md. Clients
// authenticate (first message {"op":"auth"} within 5 s, or the subprotocol "bearer.<token>"), join the
// rooms they may read, receive the events published on the bus (on every replica, when the bus fans
// out), can ask for the events they missed since an id, see who is present in a room, and renew
// their token on the open socket. Close codes: 4001 unauthenticated/expired, 4003 forbidden, 4008 too
// slow, 4009 too many connections. Thread-safe.

#include <cstdint>
#include <memory>

#include "common/result.h"

namespace c19ai {
class ThreadPool;
}
namespace c19ai::events {
class EventBus;
}
namespace c19ai::auth {
class AuthService;
}
namespace c19ai::http {
class Router;
}

namespace c19ai::realtime {

struct HubOptions {
  int64_t auth_timeout_ms = 5000;
  int max_connections_per_user = 64;
  size_t history_per_room = 256;  // events kept per room for "since"
  size_t history_rooms = 10'000;  // rooms with history (least recently used dropped)
  int max_forbidden = 3;          // refused subscriptions before the socket is closed with 4003
};

class Hub {
 public:
  // `pool` runs token verification (it may reach the database).
  static std::unique_ptr<Hub> Create(events::EventBus& bus, auth::AuthService& auth, ThreadPool& pool,
                                     HubOptions options = {});
  virtual ~Hub() = default;
  // GET /api/v1/ws and POST /api/v1/realtime/broadcast.
  virtual Status RegisterRoutes(http::Router& router) = 0;
  // Closes every socket (1001) and stops the hub's threads.
  virtual void Stop() = 0;
  virtual int64_t connections() const = 0;
};

}  // namespace c19ai::realtime
