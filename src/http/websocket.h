#pragma once
// Server-side WebSocket connections handed to routes that upgrade (Route::websocket). Transport only:
// the protocol spoken on top belongs to the module that owns the route.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace c19ai::http {

struct WebSocketOptions {
  size_t max_message_bytes = 64 << 10;  // larger incoming messages close the connection (1009)
  size_t max_queued_bytes = 1 << 20;    // a reader this far behind is disconnected (4008)
  int64_t idle_timeout_ms = 60'000;     // pings are sent after half of it; no answer closes
};

// Thread-safe: Send and Close may be called from any thread; handlers run on the connection's io
// thread and must not block. The connection stays alive while the server or a holder references it.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  struct Handlers {
    std::function<void(std::string_view text)> on_message;
    std::function<void(uint16_t code)> on_close;  // after the connection ended, whatever the reason
  };
  // Installs the handlers and starts reading. Call once.
  virtual void Start(Handlers handlers) = 0;
  // Queues a text message (shared, so a broadcast serialises once). False when the connection is
  // closing or its queue would exceed max_queued_bytes; the connection is then closed with 4008.
  virtual bool Send(std::shared_ptr<const std::string> text) = 0;
  virtual void Close(uint16_t code, std::string reason) = 0;
  virtual const std::string& id() const = 0;
  virtual const std::string& client_address() const = 0;
  virtual const std::string& subprotocol() const = 0;  // what the handshake answered ("" if none)
};

}  // namespace c19ai::http
