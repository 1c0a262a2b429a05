#pragma once
// The HTTP transport: a router of declared routes and a Beast/Asio server. No domain knowledge.
//
// Every route is registered once with its method, path pattern, required permission (or kPublic),
// OpenAPI summary, execution mode and body limit. Execution modes:
//   kInline   - the handler runs on the io thread; it must not block (health, metrics, cached reads).
//   kBlocking - the handler runs on the bounded worker pool; a full pool answers 503.
//   kAsync    - the handler runs on the io thread and answers later, from any thread, through the
//               Responder it is given (inference batching).
// Handlers return Result<Response>; an Error becomes the JSON error body with its HTTP status, and
// an exception escaping a handler becomes a 500 with the request id - nothing escapes to Asio.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/principal.h"
#include "common/result.h"

namespace c19ai {
class ThreadPool;
}

namespace c19ai::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
inline constexpr int kMethodCount = 8;
std::string_view MethodName(Method m);
Method ParseMethod(std::string_view name);

// The one HTTP status of each error code.
int StatusFor(ErrorCode code);

inline constexpr std::string_view kPublic = "public";
// Any authenticated caller, whatever their permissions (their own profile, sessions, keys).
inline constexpr std::string_view kAuthenticated = "authenticated";

// Pulls a streamed request body (BodyMode::kStream) on a worker thread. Read blocks until data
// arrives; 0 means the body is complete. Errors: invalid_argument (malformed framing),
// payload_too_large, deadline_exceeded (client too slow), unavailable (connection lost).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual Result<size_t> Read(char* data, size_t size) = 0;
  virtual int64_t content_length() const = 0;  // -1 when chunked
};

// Produces a streamed response body, pulled on a worker thread. 0 means the end. An error after the
// head was sent aborts the connection (the client sees a truncated body, never wrong bytes).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<size_t> Read(char* data, size_t size) = 0;
};

// Streams an owned pull source (any type with `Result<size_t> Read(char*, size_t)`, e.g. a stored
// object's ByteSource) as a response body.
template <typename Source>
class PullBody final : public BodySource {
 public:
  explicit PullBody(std::unique_ptr<Source> source) : source_(std::move(source)) {}
  Result<size_t> Read(char* data, size_t size) override { return source_->Read(data, size); }

 private:
  std::unique_ptr<Source> source_;
};

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

struct Route;

struct Request {
  Method method = Method::kOther;
  std::string_view method_name;
  std::string_view target;  // as received
  std::string_view path;    // raw (percent-encoded), without the query
  std::string_view query;   // raw, without '?'
  std::vector<HeaderField> headers;  // views valid until the response is sent
  std::string body;             // BodyMode::kBuffered
  BodyReader* body_reader = nullptr;  // BodyMode::kStream
  std::vector<std::pair<std::string, std::string>> params;  // percent-decoded path parameters
  std::string request_id;
  std::string client_address;
  Principal principal;      // filled for non-public routes
  // What the audit trail records for state-changing requests; handlers may refine them.
  std::string audit_resource;  // default: the decoded path
  std::string audit_details;   // a JSON object as text, merged into the entry
  const Route* route = nullptr;
  int64_t start_us = 0;
  bool tls = false;

  std::string_view Header(std::string_view name) const;  // case-insensitive; "" when absent
  bool HasHeader(std::string_view name) const;
  std::string_view Param(std::string_view name) const;   // "" when absent
  // The percent-decoded value of a query parameter ('+' is a space); nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  // The query parameter as an integer within [min, max]; invalid_argument naming it otherwise.
  Result<std::optional<int64_t>> QueryInt(std::string_view name, int64_t min, int64_t max) const;
  void Clear();
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::shared_ptr<BodySource> source;  // streamed body (then `body` is ignored)
  int64_t content_length = -1;         // with `source`: the exact length, or -1 for chunked encoding
  bool close = false;                  // close the connection after this response
  bool is_static = false;              // console files: the console's Content-Security-Policy

  static Response Json(int status, std::string json);
  static Response Text(int status, std::string text, std::string content_type = "text/plain; charset=utf-8");
  static Response Empty(int status = 204);
  Response& With(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// {"error": {"code", "message", "details", "request_id"}} with the code's status.
Response ErrorResponse(const Error& error, std::string_view request_id);

enum class Exec { kInline, kBlocking, kAsync };
enum class BodyMode { kBuffered, kStream };

using Handler = std::function<Result<Response>(Request&)>;
// Call exactly once, from any thread.
using Responder = std::function<void(Result<Response>)>;
using AsyncHandler = std::function<void(Request&, Responder)>;

// A WebSocket connection handed over by the server after a successful upgrade (see websocket.h).
class WebSocket;
struct WebSocketOptions;
// Runs on the io thread with the upgrade request; returns the subprotocol to answer ("" for none) or
// an error (sent as an HTTP error instead of upgrading).
using WebSocketPrecheck = std::function<Result<std::string>(Request&)>;
using WebSocketHandler = std::function<void(std::shared_ptr<WebSocket>, Request&)>;

struct Route {
  Method method = Method::kGet;
  // Segments: literals, {name}, {name}:action, and a final {name...} (the rest of the path) or
  // {name...}:action. Literal segments may carry an action ("dead-letters:redrive").
  std::string path;
  std::string permission;  // e.g. "models:read", or kPublic. Required.
  std::string summary;     // the OpenAPI summary
  std::string tag;         // OpenAPI tag (the owning module)
  std::string audit;       // audit action name ("user.create"); default "<METHOD> <path>"
  // A POST that changes nothing (predictions, searches): not audited, except when denied.
  bool read_only = false;
  Exec exec = Exec::kBlocking;
  BodyMode body = BodyMode::kBuffered;
  int64_t max_body = 0;    // 0: the server default
  Handler handler;
  AsyncHandler async_handler;
  WebSocketHandler websocket;  // set for GET routes that upgrade
  WebSocketPrecheck websocket_precheck;
  // The WebSocket protocol authenticates (first message or subprotocol): upgrade requests skip HTTP
  // authentication; plain requests to the route are still authenticated (then answered 426).
  bool auth_in_protocol = false;
  int id = -1;             // assigned by the router
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // invalid_argument for a malformed pattern, a missing permission or handler, or a duplicate
  // method+path. The composition root treats any error as fatal at start-up (deny by default).
  Status Add(Route route);

  struct Match {
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;  // raw (still percent-encoded)
    std::vector<Method> allowed;  // when the path matched but the method did not (405)
  };
  Match Find(Method method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

// Authenticates requests to non-public routes. Implemented by the auth module.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  enum class Outcome { kOk, kDenied, kNeedsBlocking };
  // Called on an io thread; must not block. kOk fills `principal`; kDenied fills `error`
  // (unauthenticated or resource_exhausted); kNeedsBlocking defers to Authenticate on a worker.
  virtual Outcome TryAuthenticate(const Request& request, Principal& principal, Error& error) = 0;
  virtual Result<Principal> Authenticate(const Request& request) = 0;
};

// Sees every completed request on its io thread (the audit trail). Must not block.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnResponse(const Request& request, int status) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 0;  // 0: one per core
  int max_connections = 20000;
  int64_t max_header_bytes = 16 << 10;
  int64_t max_body_bytes = 16 << 20;
  int64_t header_timeout_ms = 30'000;
  int64_t body_timeout_ms = 60'000;
  int64_t write_timeout_ms = 60'000;
  int64_t shutdown_timeout_ms = 15'000;
  std::string tls_cert_file;  // PEM; TLS on when both are set
  std::string tls_key_file;
  std::vector<std::string> cors_origins;  // "*" allows any origin
  std::string static_dir;                 // web console files; empty disables
  bool access_log = true;
  RequestObserver* observer = nullptr;  // not owned; outlives the server
  size_t ws_max_message_bytes = 64 << 10;
  size_t ws_max_queued_bytes = 1 << 20;
  int64_t ws_idle_timeout_ms = 60'000;
};

class Server {
 public:
  // `router`, `pool` and `authenticator` (may be null: every non-public route then answers 401) must
  // outlive the server. invalid_argument for bad TLS material.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options, const Router& router,
                                                ThreadPool& pool, Authenticator* authenticator);
  virtual ~Server() = default;
  // Binds and starts the io threads; unavailable when the address cannot be bound.
  virtual Status Start() = 0;
  // The bound port (after Start).
  virtual int port() const = 0;
  // Graceful: stop accepting, close idle connections, let in-flight requests finish within the
  // shutdown timeout, then stop the io threads. Idempotent; callable from any thread.
  virtual void Stop() = 0;
  // Blocks until Stop() completed.
  virtual void Wait() = 0;
  virtual int64_t connections() const = 0;
  virtual int64_t in_flight() const = 0;
  virtual int64_t websockets() const = 0;
};

}  // namespace c19ai::http
