// The Beast/Asio server.
//
// Threading: one io_context per io thread, each with its own SO_REUSEPORT acceptor, so a connection
// lives on one thread for its whole life and needs no strand. Blocking handlers run on the shared
// ThreadPool and post their result back to the connection's io_context.
//
// Timeouts: instead of arming a timer per operation, each session records a deadline (an integer
// store) before each read/write, and a per-thread sweeper closes sessions whose deadline passed once
// a second. Slow clients lose their connection; the server is unaffected.

#include <utility>  // Boost 1.74's Asio misses it under g++ 12

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "common/thread_pool.h"
#include "http/http.h"
#include "http/internal.h"
#include "http/websocket.h"

namespace c19ai::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bws = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kStreamChunk = 4 << 20;

std::string_view SV(boost::string_view s) { return std::string_view(s.data(), s.size()); }

std::string_view Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// Headers every response carries. The API answers JSON only, so its CSP forbids everything.
constexpr std::string_view kSecurityHeaders =
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Frame-Options: DENY\r\n";
constexpr std::string_view kApiCsp = "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n";
constexpr std::string_view kConsoleCsp =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'\r\n";

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  }
  return true;
}

void AppendSanitized(std::string& out, std::string_view v) {
  for (char c : v) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

struct RouteStats {
  metrics::Counter* by_class[5];
  metrics::Histogram* latency;
};

struct Worker {
  asio::io_context ioc{1};
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> sweeper;
  std::vector<std::weak_ptr<class SessionBase>> sessions;  // only touched on this worker's thread
  std::thread thread;
  std::string date;  // "Date: ...\r\n", refreshed by the sweeper
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Sweep(int64_t now_ms, bool draining) = 0;
};

std::string HttpDate() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  return buf;
}

}  // namespace

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, const Router& router, ThreadPool& pool, Authenticator* auth)
      : options_(options), router_(router), pool_(pool), auth_(auth) {
    auto& reg = metrics::Registry::Default();
    auto add_stats = [&](const std::string& method, const std::string& path) {
      RouteStats s{};
      static const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
      for (int c = 0; c < 5; ++c) {
        s.by_class[c] = &reg.GetCounter("c19ai_http_requests_total", "HTTP requests by route and status class",
                                        {{"method", method}, {"route", path}, {"status", kClasses[c]}});
      }
      s.latency = &reg.GetHistogram("c19ai_http_request_duration_seconds",
                                    "Time from the end of the request head to the end of the response",
                                    {{"method", method}, {"route", path}});
      stats_.push_back(s);
    };
    for (const auto& r : router_.routes()) add_stats(std::string(MethodName(r->method)), r->path);
    unmatched_stats_ = stats_.size();
    add_stats("ANY", "unmatched");
    static_stats_ = stats_.size();
    add_stats("GET", "static");
    if (!options_.static_dir.empty()) {
      static_route_.method = Method::kGet;
      static_route_.path = "/{path...}";
      static_route_.permission = std::string(kPublic);
      static_route_.summary = "Web console files";
      static_route_.exec = Exec::kBlocking;
      static_route_.id = static_cast<int>(static_stats_);
      std::string root = options_.static_dir;
      static_route_.handler = [root](Request& req) { return ServeStaticFile(root, req); };
    }
    collector_ = reg.AddCollector([this](std::vector<metrics::Family>& out) {
      out.push_back({"c19ai_http_in_flight_requests", "Requests being handled", "gauge",
                     {{"", {}, static_cast<double>(in_flight_.load())}}});
      out.push_back({"c19ai_http_connections", "Open client connections", "gauge",
                     {{"", {}, static_cast<double>(connections_.load())}}});
      out.push_back({"c19ai_websocket_connections", "Open WebSocket connections", "gauge",
                     {{"", {}, static_cast<double>(websockets_.load())}}});
      out.push_back({"c19ai_http_worker_pool_queued", "Requests waiting for a worker thread", "gauge",
                     {{"", {}, static_cast<double>(pool_.queued())}}});
    });
  }

  ~ServerImpl() override {
    Stop();
    metrics::Registry::Default().RemoveCollector(collector_);
  }

  Status Init() {
    if (!options_.tls_cert_file.empty()) {
      ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      boost::system::error_code ec;
      ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                        ec);
      SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
      ssl_->use_certificate_chain_file(options_.tls_cert_file, ec);
      if (ec) {
        return Error::Field("server.tls_cert", "cannot load TLS certificate " + options_.tls_cert_file + ": " +
                                                   ec.message());
      }
      ssl_->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) return Error::Field("server.tls_key", "cannot load TLS private key: " + ec.message());
    }
    return OkStatus();
  }

  Status Start() override {
    int n = options_.io_threads > 0 ? options_.io_threads : static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Error::Field("server.host", "server.host \"" + options_.host + "\" is not an IP address");
    int port = options_.port;
    {
      // The listeners share the port with SO_REUSEPORT, which would also let a second server bind it
      // silently. A probe bound without that option fails if anything already listens there (and
      // a later server's probe fails against ours).
      asio::io_context probe_ctx;
      tcp::acceptor probe(probe_ctx);
      tcp::endpoint ep(address, static_cast<unsigned short>(port));
      probe.open(ep.protocol(), ec);
      if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) probe.bind(ep, ec);
      if (ec) {
        return Error::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port) + ": " +
                                  ec.message());
      }
      if (port == 0) port = probe.local_endpoint().port();
    }
    for (int i = 0; i < n; ++i) {
      auto w = std::make_unique<Worker>();
      w->acceptor = std::make_unique<tcp::acceptor>(w->ioc);
      tcp::endpoint ep(address, static_cast<unsigned short>(port));
      w->acceptor->open(ep.protocol(), ec);
      if (!ec) w->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(w->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
          ec = boost::system::error_code(errno, boost::system::system_category());
        }
      }
      if (!ec) w->acceptor->bind(ep, ec);
      if (!ec) w->acceptor->listen(4096, ec);
      if (ec) {
        return Error::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port) + ": " +
                                  ec.message());
      }
      if (port == 0) port = w->acceptor->local_endpoint().port();
      w->sweeper = std::make_unique<asio::steady_timer>(w->ioc);
      w->date = HttpDate();
      workers_.push_back(std::move(w));
    }
    port_ = port;
    for (auto& w : workers_) {
      Accept(*w);
      ScheduleSweep(*w);
      Worker* wp = w.get();
      w->thread = std::thread([wp] {
        pthread_setname_np(pthread_self(), "c19ai-io");
        for (;;) {
          try {
            wp->ioc.run();
            break;
          } catch (const std::exception& e) {
            log::Error("exception escaped an io handler", {{"what", e.what()}});
          }
        }
      });
    }
    running_ = true;
    return OkStatus();
  }

  int port() const override { return port_; }

  void Stop() override {
    {
      std::lock_guard lock(stop_mu_);
      if (stopped_ || !running_) {
        stopped_ = true;
        stop_cv_.notify_all();
        return;
      }
      if (stopping_) {
        return;
      }
      stopping_ = true;
    }
    draining_ = true;
    for (auto& w : workers_) {
      Worker* wp = w.get();
      asio::post(wp->ioc, [this, wp] {
        boost::system::error_code ec;
        wp->acceptor->close(ec);
        SweepNow(*wp);
      });
    }
    int64_t deadline = SteadyNowMs() + options_.shutdown_timeout_ms;
    while (in_flight_.load() > 0 && SteadyNowMs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (in_flight_.load() > 0) {
      log::Warn("shutdown deadline passed with requests in flight", {{"in_flight", in_flight_.load()}});
    }
    for (auto& w : workers_) w->ioc.stop();
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
    std::lock_guard lock(stop_mu_);
    stopped_ = true;
    stop_cv_.notify_all();
  }

  void Wait() override {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [&] { return stopped_; });
  }

  int64_t connections() const override { return connections_.load(); }
  int64_t in_flight() const override { return in_flight_.load(); }
  int64_t websockets() const override { return websockets_.load(); }

  // Used by sessions.
  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  ThreadPool& pool() { return pool_; }
  Authenticator* auth() { return auth_; }
  asio::ssl::context* ssl() { return ssl_.get(); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  const Route* static_route() const { return options_.static_dir.empty() ? nullptr : &static_route_; }
  RouteStats& stats_for(const Route* r) {
    if (!r) return stats_[unmatched_stats_];
    return stats_[static_cast<size_t>(r->id)];
  }
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> websockets_{0};

  bool CorsAllowed(std::string_view origin) const {
    if (origin.empty()) return false;
    for (const auto& o : options_.cors_origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

 private:
  void Accept(Worker& w);
  void ScheduleSweep(Worker& w) {
    w.sweeper->expires_after(std::chrono::seconds(1));
    w.sweeper->async_wait([this, &w](boost::system::error_code ec) {
      if (ec) return;
      w.date = HttpDate();
      SweepNow(w);
      ScheduleSweep(w);
    });
  }
  void SweepNow(Worker& w) {
    int64_t now = SteadyNowMs();
    bool draining = draining_.load();
    auto& v = w.sessions;
    for (size_t i = 0; i < v.size();) {
      if (auto s = v[i].lock()) {
        s->Sweep(now, draining);
        ++i;
      } else {
        v[i] = std::move(v.back());
        v.pop_back();
      }
    }
  }

  ServerOptions options_;
  const Router& router_;
  ThreadPool& pool_;
  Authenticator* auth_;
  std::unique_ptr<asio::ssl::context> ssl_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<RouteStats> stats_;
  size_t unmatched_stats_ = 0;
  size_t static_stats_ = 0;
  Route static_route_;
  int collector_ = 0;
  int port_ = 0;
  std::atomic<bool> draining_{false};
  std::mutex stop_mu_;  // guards running_, stopping_, stopped_
  std::condition_variable stop_cv_;
  bool running_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
};

namespace {

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, tcp::socket>;

// A WebSocket connection on one io thread. Beast allows one read and one write (or close) at a time:
// writes are queued and sent in order; a close waits for the write in flight.
template <class Stream>
class WsSession final : public WebSocket, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(ServerImpl& server, Worker& worker, Stream stream, std::string client, std::string id)
      : server_(server), worker_(worker), ws_(std::move(stream)), client_(std::move(client)), id_(std::move(id)) {}
  ~WsSession() override {
    if (open_) --server_.websockets_;
  }

  using OnOpen = std::function<void(std::shared_ptr<WsSession>)>;

  void Accept(bhttp::request<bhttp::empty_body> req, std::string subprotocol, OnOpen on_open) {
    req_ = std::move(req);
    subprotocol_ = std::move(subprotocol);
    const auto& o = server_.options();
    bws::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::milliseconds(o.ws_idle_timeout_ms);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(o.ws_max_message_bytes);
    max_queued_ = o.ws_max_queued_bytes;
    ws_.set_option(bws::stream_base::decorator([sp = subprotocol_](bws::response_type& res) {
      if (!sp.empty()) res.set(bhttp::field::sec_websocket_protocol, sp);
    }));
    ws_.async_accept(req_, [self = this->shared_from_this(), on_open](boost::system::error_code ec) {
      if (ec) return;
      self->open_ = true;
      ++self->server_.websockets_;
      try {
        on_open(self);
      } catch (const std::exception& e) {
        log::Error("websocket handler threw", {{"what", e.what()}});
        self->Close(1011, "internal error");
      }
    });
  }

  // The upgrade request, for the route's handler (views stay valid while the session lives).
  Request MakeRequest() {
    Request r;
    r.method = Method::kGet;
    r.method_name = "GET";
    r.target = SV(req_.target());
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view() : r.target.substr(q + 1);
    for (const auto& f : req_) r.headers.push_back({SV(f.name_string()), SV(f.value())});
    r.client_address = client_;
    r.request_id = id_;
    return r;
  }

  void Start(Handlers handlers) override {
    asio::post(worker_.ioc, [self = this->shared_from_this(), handlers = std::move(handlers)]() mutable {
      self->handlers_ = std::move(handlers);
      self->DoRead();
    });
  }

  bool Send(std::shared_ptr<const std::string> text) override {
    if (closing_.load(std::memory_order_relaxed)) return false;
    size_t queued = queued_bytes_.fetch_add(text->size(), std::memory_order_relaxed) + text->size();
    if (queued > max_queued_) {
      queued_bytes_.fetch_sub(text->size(), std::memory_order_relaxed);
      Close(4008, "too slow: the send queue is full");
      return false;
    }
    asio::post(worker_.ioc, [self = this->shared_from_this(), text = std::move(text)]() mutable {
      if (self->close_started_) {
        self->queued_bytes_.fetch_sub(text->size(), std::memory_order_relaxed);
        return;
      }
      self->queue_.push_back(std::move(text));
      if (!self->writing_) self->DoWrite();
    });
    return true;
  }

  void Close(uint16_t code, std::string reason) override {
    if (closing_.exchange(true)) return;
    asio::post(worker_.ioc, [self = this->shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->close_code_ = code;
      self->close_reason_ = std::move(reason);
      // A slow reader's backlog is dropped; the close frame goes out after the write in flight.
      for (auto& m : self->queue_) self->queued_bytes_.fetch_sub(m->size(), std::memory_order_relaxed);
      self->queue_.clear();
      if (!self->writing_) self->DoClose();
    });
  }

  const std::string& id() const override { return id_; }
  const std::string& client_address() const override { return client_; }
  const std::string& subprotocol() const override { return subprotocol_; }

 private:
  void DoRead() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) return self->Ended(ec);
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->handlers_.on_message && !self->closing_) {
        try {
          self->handlers_.on_message(text);
        } catch (const std::exception& e) {
          log::Error("websocket message handler threw", {{"what", e.what()}});
        }
      }
      self->DoRead();
    });
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()), [self = this->shared_from_this()](boost::system::error_code ec,
                                                                                      size_t) {
      if (!self->queue_.empty()) {
        self->queued_bytes_.fetch_sub(self->queue_.front()->size(), std::memory_order_relaxed);
        self->queue_.pop_front();
      }
      self->writing_ = false;
      if (ec) return;  // the read side notices and ends the session
      if (self->closing_) return self->DoClose();
      if (!self->queue_.empty()) self->DoWrite();
    });
  }

  void DoClose() {
    if (close_started_) return;
    close_started_ = true;
    bws::close_reason reason;
    reason.code = close_code_;
    reason.reason = close_reason_;
    ws_.async_close(reason,
                    [self = this->shared_from_this()](boost::system::error_code) {});
  }

  void Ended(boost::system::error_code ec) {
    uint16_t code = close_code_;
    if (!code) code = ws_.reason().code ? static_cast<uint16_t>(ws_.reason().code) : (ec ? 1006 : 1000);
    closing_ = true;
    if (handlers_.on_close) {
      try {
        handlers_.on_close(code);
      } catch (const std::exception& e) {
        log::Error("websocket close handler threw", {{"what", e.what()}});
      }
      handlers_ = {};  // breaks reference cycles through captured pointers
    }
  }

  ServerImpl& server_;
  Worker& worker_;
  bws::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> req_;
  std::string client_, id_, subprotocol_;
  Handlers handlers_;
  std::deque<std::shared_ptr<const std::string>> queue_;  // io thread only
  std::atomic<size_t> queued_bytes_{0};  // read by Send on any thread
  size_t max_queued_ = 1 << 20;
  std::atomic<bool> closing_{false};
  bool close_started_ = false;
  bool writing_ = false;
  bool open_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};


template <class Stream>
class Session final : public SessionBase {
 public:
  Session(ServerImpl& server, Worker& worker, tcp::socket socket, asio::ssl::context* ssl)
      : server_(server), worker_(worker), stream_(MakeStream(std::move(socket), ssl)) {
    ++server_.connections_;
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).remote_endpoint(ec);
    if (!ec) client_address_ = ep.address().to_string();
    buffer_.max_size(static_cast<size_t>(server_.options().max_header_bytes) + (1 << 20));
  }
  ~Session() override {
    if (in_flight_) --server_.in_flight_;
    --server_.connections_;
  }

  void Start() {
    if constexpr (kIsTls<Stream>) {
      SetDeadline(server_.options().header_timeout_ms);
      state_ = State::kHandshake;
      stream_.async_handshake(asio::ssl::stream_base::server, [self = Self()](boost::system::error_code ec) {
        self->deadline_ms_ = 0;
        if (ec) return self->CloseSocket();
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  void Sweep(int64_t now_ms, bool draining) override {
    if (deadline_ms_ != 0 && now_ms >= deadline_ms_) {
      timed_out_ = true;
      CloseSocket();
    } else if (draining && state_ == State::kReadHeader) {
      CloseSocket();
    }
  }

 private:
  enum class State { kHandshake, kReadHeader, kReadBody, kHandling, kWriting, kClosed };

  static Stream MakeStream(tcp::socket socket, asio::ssl::context* ssl) {
    if constexpr (kIsTls<Stream>) {
      return Stream(std::move(socket), *ssl);
    } else {
      (void)ssl;
      return socket;
    }
  }

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  void SetDeadline(int64_t ms) { deadline_ms_ = SteadyNowMs() + ms; }

  const bhttp::request_header<>& Head() const {
    if (body_parser_) return body_parser_->get();
    if (stream_parser_) return stream_parser_->get();
    return head_parser_->get();
  }

  void CloseSocket() {
    state_ = State::kClosed;
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).close(ec);
  }

  void ReadHeader() {
    state_ = State::kReadHeader;
    body_parser_.reset();
    stream_parser_.reset();
    head_parser_.emplace();
    head_parser_->header_limit(static_cast<uint32_t>(server_.options().max_header_bytes));
    // Beast's default request body limit (1 MB) would fail the head of larger uploads; each route's
    // own limit is checked after routing and enforced again while the body is read.
    head_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    SetDeadline(server_.options().header_timeout_ms);
    bhttp::async_read_header(stream_, buffer_, *head_parser_,
                             [self = Self()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void BindViews() {
    const auto& h = Head();
    req_.method_name = SV(h.method_string());
    req_.method = ParseMethod(req_.method_name);
    req_.target = SV(h.target());
    auto q = req_.target.find('?');
    req_.path = req_.target.substr(0, q);
    req_.query = q == std::string_view::npos ? std::string_view() : req_.target.substr(q + 1);
    req_.headers.clear();
    for (const auto& f : h) req_.headers.push_back({SV(f.name_string()), SV(f.value())});
  }

  void OnHeader(boost::system::error_code ec) {
    deadline_ms_ = 0;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == bhttp::error::partial_message || timed_out_) {
        return Shutdown();
      }
      in_flight_ = true;
      ++server_.in_flight_;
      req_.Clear();
      req_.request_id = NewRequestId();
      req_.start_us = SteadyNowUs();
      keep_alive_ = false;
      if (ec == bhttp::error::header_limit) {
        return Finish431();
      }
      return Complete(Error::InvalidArgument("malformed HTTP request: " + ec.message()));
    }
    in_flight_ = true;
    ++server_.in_flight_;
    state_ = State::kHandling;
    req_.Clear();
    req_.start_us = SteadyNowUs();
    req_.client_address = client_address_;
    req_.tls = kIsTls<Stream>;
    BindViews();
    std::string_view rid = req_.Header("X-Request-Id");
    req_.request_id = ValidRequestId(rid) ? std::string(rid) : NewRequestId();
    keep_alive_ = head_parser_->get().keep_alive();
    origin_ = std::string(req_.Header("Origin"));

    // CORS preflight: answered before routing and authentication (preflights carry no credentials).
    if (req_.method == Method::kOptions && !origin_.empty() && req_.HasHeader("Access-Control-Request-Method") &&
        server_.CorsAllowed(origin_)) {
      Response r = Response::Empty(204);
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             "Authorization, Content-Type, X-API-Key, X-Request-Id, Range, If-None-Match, "
                             "X-Expires-In");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return Complete(std::move(r));
    }

    auto match = server_.router().Find(req_.method, req_.path);
    const Route* route = match.route;
    if (!route) {
      if (!match.allowed.empty()) {
        std::string allow;
        for (Method m : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += MethodName(m);
        }
        Response r = ErrorResponse(Error{ErrorCode::kMethodNotAllowed,
                                         "method " + std::string(req_.method_name) + " is not allowed on " +
                                             std::string(req_.path) + "; allowed: " + allow,
                                         {}},
                                   req_.request_id);
        r.headers.emplace_back("Allow", allow);
        return Complete(std::move(r));
      }
      const Route* st = server_.static_route();
      bool api_path = req_.path.starts_with("/api/") || req_.path.starts_with("/v2/") || req_.path == "/v2" ||
                      req_.path == "/api";
      if (st && !api_path && (req_.method == Method::kGet || req_.method == Method::kHead)) {
        route = st;
      } else {
        return Complete(Error::NotFound("no route for " + std::string(req_.method_name) + " " +
                                        std::string(req_.path.substr(0, 200))));
      }
    }
    req_.route = route;
    for (auto& [name, raw] : match.params) {
      std::string decoded;
      if (!PercentDecode(raw, decoded)) {
        return Complete(Error::Field(name, "path parameter \"" + name + "\" has a malformed percent-escape"));
      }
      req_.params.emplace_back(name, std::move(decoded));
    }
    if (route->websocket && route->auth_in_protocol && bws::is_upgrade(head_parser_->get())) {
      return UpgradeWebSocket();  // the WebSocket protocol authenticates
    }
    body_limit_ = route->max_body > 0 ? route->max_body : server_.options().max_body_bytes;
    if (auto cl = head_parser_->content_length(); cl && *cl > static_cast<uint64_t>(body_limit_)) {
      return Complete(Error::PayloadTooLarge("request body of " + std::to_string(*cl) + " bytes exceeds the limit of " +
                                             std::to_string(body_limit_) + " bytes for this route"));
    }
    Authorize();
  }

  void Authorize() {
    const Route* route = req_.route;
    if (route->permission == kPublic) return AfterAuth();
    Authenticator* auth = server_.auth();
    if (!auth) return Complete(Error::Unauthenticated("authentication required"));
    Error err;
    switch (auth->TryAuthenticate(req_, req_.principal, err)) {
      case Authenticator::Outcome::kOk: return AfterAuth();
      case Authenticator::Outcome::kDenied: return Complete(std::move(err));
      case Authenticator::Outcome::kNeedsBlocking: break;
    }
    state_ = State::kHandling;
    bool queued = server_.pool().TrySubmit([self = Self(), auth] {
      Result<Principal> p = Result<Principal>(Error::Internal("authentication failed"));
      try {
        p = auth->Authenticate(self->req_);
      } catch (const std::exception& e) {
        log::Error("authenticator threw", {{"what", e.what()}});
      }
      asio::post(self->worker_.ioc, [self, p = std::move(p)]() mutable {
        if (!p.ok()) return self->Complete(std::move(p).error());
        self->req_.principal = std::move(p).value();
        self->AfterAuth();
      });
    });
    if (!queued) Complete(Overloaded());
  }

  static Error Overloaded() {
    return Error::Unavailable("server overloaded: the request queue is full, retry shortly");
  }

  void AfterAuth() {
    const Route* route = req_.route;
    if (route->permission != kPublic && route->permission != kAuthenticated &&
        !req_.principal.Has(route->permission)) {
      return Complete(Error::PermissionDenied("permission \"" + route->permission + "\" is required"));
    }
    if (route->websocket) {
      if (bws::is_upgrade(head_parser_->get())) return UpgradeWebSocket();
      Response r = ErrorResponse(Error::FailedPrecondition("this route needs a WebSocket upgrade"), req_.request_id);
      r.status = 426;
      r.headers.emplace_back("Upgrade", "websocket");
      return Complete(std::move(r));
    }
    if (head_parser_->is_done()) return Dispatch();
    bool expect_continue = EqualsIgnoreCase(Trim(req_.Header("Expect")), "100-continue");
    auto next = [self = Self()] { self->StartBody(); };
    if (expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      SetDeadline(server_.options().write_timeout_ms);
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = Self(), next](boost::system::error_code ec, size_t) {
                          self->deadline_ms_ = 0;
                          if (ec) return self->Abort();
                          next();
                        });
    } else {
      next();
    }
  }

  void UpgradeWebSocket() {
    const Route* route = req_.route;
    Result<std::string> sub = route->websocket_precheck ? route->websocket_precheck(req_) : Result<std::string>("");
    if (!sub.ok()) return Complete(std::move(sub).error());
    res_ = Response::Empty(101);
    Record();
    EndRequest();
    state_ = State::kClosed;  // this HTTP session ends; the socket moves on
    deadline_ms_ = 0;
    auto ws = std::make_shared<WsSession<Stream>>(server_, worker_, std::move(stream_), client_address_,
                                                  req_.request_id);
    ws->Accept(head_parser_->release(), std::move(sub).value(), [route](std::shared_ptr<WsSession<Stream>> s) {
      Request r = s->MakeRequest();
      route->websocket(s, r);
    });
  }

  void StartBody() {
    // Beast reads at most the buffer's spare capacity per recv (min 512 bytes): give large bodies room
    // for 64 KiB reads. EndRequest shrinks it again.
    auto cl = head_parser_->content_length();
    if (!cl || *cl > (16u << 10)) buffer_.reserve(256 << 10);
    if (req_.route->body == BodyMode::kBuffered) {
      body_parser_.emplace(std::move(*head_parser_));
      body_parser_->body_limit(static_cast<uint64_t>(body_limit_));
      BindViews();
      state_ = State::kReadBody;
      ReadBodySome();
    } else {
      stream_parser_.emplace(std::move(*head_parser_));
      stream_parser_->body_limit(static_cast<uint64_t>(body_limit_));
      BindViews();
      auto state = std::make_shared<ReadAhead>();
      stream_reader_ = std::make_unique<Reader>(this, stream_parser_->content_length(), state);
      req_.body_reader = stream_reader_.get();
      StartFill(state);  // start receiving while the handler gets going
      Dispatch();
    }
  }

  void ReadBodySome() {
    SetDeadline(server_.options().body_timeout_ms);
    bhttp::async_read_some(stream_, buffer_, *body_parser_, [self = Self()](boost::system::error_code ec, size_t) {
      self->deadline_ms_ = 0;
      if (ec) {
        self->keep_alive_ = false;
        if (ec == bhttp::error::body_limit) {
          return self->Complete(Error::PayloadTooLarge("request body exceeds the limit of " +
                                                       std::to_string(self->body_limit_) + " bytes for this route"));
        }
        if (self->timed_out_ || ec == asio::error::operation_aborted || ec == asio::error::eof ||
            ec == bhttp::error::partial_message || ec == asio::error::connection_reset) {
          return self->Abort();
        }
        return self->Complete(Error::InvalidArgument("malformed request body: " + ec.message()));
      }
      if (!self->body_parser_->is_done()) return self->ReadBodySome();
      self->req_.body = std::move(self->body_parser_->get().body());
      self->Dispatch();
    });
  }

  Result<Response> SafeCall(const Handler& h) {
    try {
      return h(req_);
    } catch (const std::exception& e) {
      log::Error("handler threw", {{"request_id", req_.request_id}, {"route", req_.route->path}, {"what", e.what()}});
    } catch (...) {
      log::Error("handler threw", {{"request_id", req_.request_id}, {"route", req_.route->path}});
    }
    return Error::Internal("internal error (request " + req_.request_id + ")");
  }

  void Dispatch() {
    state_ = State::kHandling;
    const Route* route = req_.route;
    switch (route->exec) {
      case Exec::kInline: return Complete(SafeCall(route->handler));
      case Exec::kBlocking: {
        bool queued = server_.pool().TrySubmit([self = Self()] {
          auto r = self->SafeCall(self->req_.route->handler);
          asio::post(self->worker_.ioc, [self, r = std::move(r)]() mutable { self->Complete(std::move(r)); });
        });
        if (!queued) Complete(Overloaded());
        return;
      }
      case Exec::kAsync: {
        auto once = std::make_shared<std::atomic<bool>>(false);
        Responder respond = [self = Self(), once](Result<Response> r) {
          if (once->exchange(true)) return;
          asio::post(self->worker_.ioc, [self, r = std::move(r)]() mutable { self->Complete(std::move(r)); });
        };
        try {
          route->async_handler(req_, respond);
        } catch (const std::exception& e) {
          log::Error("handler threw", {{"request_id", req_.request_id}, {"what", e.what()}});
          respond(Error::Internal("internal error (request " + req_.request_id + ")"));
        }
        return;
      }
    }
  }

  void Finish431() {
    Response r = ErrorResponse(Error::InvalidArgument("request head exceeds " +
                                                      std::to_string(server_.options().max_header_bytes) + " bytes"),
                               req_.request_id);
    r.status = 431;
    Complete(std::move(r));
  }

  void Complete(Result<Response> result) {
    state_ = State::kWriting;
    if (result.ok()) {
      res_ = std::move(result).value();
    } else {
      const Error& e = result.error();
      if (e.code == ErrorCode::kInternal) {
        log::Error("request failed", {{"request_id", req_.request_id}, {"message", e.message}});
      }
      res_ = ErrorResponse(e, req_.request_id);
    }
    WriteHead();
  }

  bool BodyFullyRead() const {
    if (body_parser_) return body_parser_->is_done();
    if (stream_parser_) return stream_parser_->is_done();
    return head_parser_ && head_parser_->is_done();
  }

  void WriteHead() {
    const bool head_only = req_.method == Method::kHead;
    const bool no_body = res_.status == 204 || res_.status == 304 || res_.status < 200;
    keep_alive_ = keep_alive_ && !res_.close && !server_.draining() && BodyFullyRead();
    chunked_ = false;
    out_.clear();
    out_ += "HTTP/1.1 ";
    out_ += std::to_string(res_.status);
    out_.push_back(' ');
    out_ += Reason(res_.status);
    out_ += "\r\n";
    out_ += worker_.date;
    if (!res_.content_type.empty() && !no_body) {
      out_ += "Content-Type: ";
      AppendSanitized(out_, res_.content_type);
      out_ += "\r\n";
    }
    if (!no_body) {
      if (res_.source) {
        if (res_.content_length >= 0) {
          out_ += "Content-Length: ";
          out_ += std::to_string(res_.content_length);
          out_ += "\r\n";
        } else {
          chunked_ = true;
          out_ += "Transfer-Encoding: chunked\r\n";
        }
      } else {
        out_ += "Content-Length: ";
        out_ += std::to_string(res_.body.size());
        out_ += "\r\n";
      }
    }
    if (!keep_alive_) out_ += "Connection: close\r\n";
    out_ += "X-Request-Id: ";
    out_ += req_.request_id;
    out_ += "\r\n";
    out_ += kSecurityHeaders;
    out_ += res_.is_static ? kConsoleCsp : kApiCsp;
    if constexpr (kIsTls<Stream>) out_ += "Strict-Transport-Security: max-age=31536000\r\n";
    if (!origin_.empty() && server_.CorsAllowed(origin_)) {
      out_ += "Access-Control-Allow-Origin: ";
      AppendSanitized(out_, origin_);
      out_ += "\r\nVary: Origin\r\nAccess-Control-Expose-Headers: X-Request-Id, ETag, Content-Range, Retry-After\r\n";
    }
    for (const auto& [k, v] : res_.headers) {
      AppendSanitized(out_, k);
      out_ += ": ";
      AppendSanitized(out_, v);
      out_ += "\r\n";
    }
    out_ += "\r\n";
    bytes_out_ = 0;
    const bool send_body = !head_only && !no_body && !res_.source;
    if (send_body && res_.body.size() <= 16384) {
      out_ += res_.body;
      Write(asio::buffer(out_), /*then_stream=*/false);
    } else if (send_body) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(res_.body)};
      Write(bufs, false);
    } else {
      Write(asio::buffer(out_), res_.source && !head_only && !no_body);
    }
  }

  template <class Buffers>
  void Write(const Buffers& buffers, bool then_stream) {
    SetDeadline(server_.options().write_timeout_ms);
    asio::async_write(stream_, buffers, [self = Self(), then_stream](boost::system::error_code ec, size_t n) {
      self->deadline_ms_ = 0;
      self->bytes_out_ += n;
      if (ec) return self->Abort();
      if (then_stream) return self->StreamNext();
      self->Finish();
    });
  }

  // Streamed responses use two buffers: while one is written to the socket, the worker pool fills the
  // other from the source, so disk (or S3) reads overlap network writes. Buffers are used strictly in
  // turn, so the bytes go out in order.
  struct Slot {
    std::vector<char> data;
    size_t size = 0;
    enum State { kFree, kReading, kReady, kWriting } state = kFree;
  };

  void StreamNext() {
    for (auto& slot : slots_) {
      if (slot.data.size() < kStreamChunk) slot.data.resize(kStreamChunk);
      slot.state = Slot::kFree;
    }
    next_read_ = next_write_ = 0;
    source_eof_ = reading_ = writing_ = false;
    StartRead();
  }

  // At most one read (the source is not thread-safe) and one write (one socket) at a time.
  void StartRead() {
    Slot& slot = slots_[next_read_];
    if (source_eof_ || reading_ || slot.state != Slot::kFree) return;
    reading_ = true;
    slot.state = Slot::kReading;
    int index = next_read_;
    next_read_ ^= 1;
    server_.pool().Submit([self = Self(), index] {
      Result<size_t> r = Result<size_t>(Error::Internal("body source failed"));
      try {
        Slot& s = self->slots_[index];
        r = self->res_.source->Read(s.data.data(), s.data.size());
      } catch (const std::exception& e) {
        log::Error("body source threw", {{"what", e.what()}});
      }
      asio::post(self->worker_.ioc, [self, index, r = std::move(r)]() mutable { self->OnRead(index, std::move(r)); });
    });
  }

  void OnRead(int index, Result<size_t> r) {
    if (state_ == State::kClosed) return;
    if (!r.ok()) {
      log::Error("streaming a response failed", {{"request_id", req_.request_id}, {"message", r.error().message}});
      return Abort();
    }
    reading_ = false;
    Slot& slot = slots_[index];
    slot.size = *r;
    slot.state = Slot::kReady;
    if (*r == 0) source_eof_ = true;
    else StartRead();  // the other buffer, if it is free
    TryWrite();
  }

  void TryWrite() {
    Slot& slot = slots_[next_write_];
    if (writing_ || slot.state != Slot::kReady) return;
    if (slot.size == 0) {  // end of the body
      slot.state = Slot::kFree;
      if (chunked_) {
        static constexpr std::string_view kLast = "0\r\n\r\n";
        SetDeadline(server_.options().write_timeout_ms);
        asio::async_write(stream_, asio::buffer(kLast.data(), kLast.size()),
                          [self = Self()](boost::system::error_code ec, size_t) {
                            self->deadline_ms_ = 0;
                            if (ec) return self->Abort();
                            self->Finish();
                          });
        return;
      }
      return Finish();
    }
    slot.state = Slot::kWriting;
    writing_ = true;
    int index = next_write_;
    next_write_ ^= 1;
    SetDeadline(server_.options().write_timeout_ms);
    auto done = [self = Self(), index](boost::system::error_code ec, size_t written) {
      self->deadline_ms_ = 0;
      self->bytes_out_ += written;
      if (ec) return self->Abort();
      self->writing_ = false;
      self->slots_[index].state = Slot::kFree;
      self->StartRead();
      self->TryWrite();
    };
    if (chunked_) {
      char hex[20];
      int len = std::snprintf(hex, sizeof(hex), "%zx\r\n", slot.size);
      chunk_prefix_.assign(hex, static_cast<size_t>(len));
      std::array<asio::const_buffer, 3> bufs{asio::buffer(chunk_prefix_), asio::buffer(slot.data.data(), slot.size),
                                             asio::buffer("\r\n", 2)};
      asio::async_write(stream_, bufs, done);
    } else {
      asio::async_write(stream_, asio::buffer(slot.data.data(), slot.size), done);
    }
  }

  void Record() {
    int64_t latency_us = SteadyNowUs() - req_.start_us;
    RouteStats& s = server_.stats_for(req_.route);
    int cls = std::clamp(res_.status / 100 - 1, 0, 4);
    s.by_class[cls]->Inc();
    s.latency->Observe(static_cast<double>(latency_us) / 1e6);
    if (server_.options().observer && req_.route) {
      try {
        server_.options().observer->OnResponse(req_, res_.status);
      } catch (const std::exception& e) {
        log::Error("request observer threw", {{"what", e.what()}});
      }
    }
    if (server_.options().access_log && log::Enabled(log::Level::kInfo)) {
      std::string& line = log_line_;
      line.clear();
      line += "{\"ts\":\"";
      line += FormatRfc3339(NowMs());
      line += "\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":";
      AppendJsonString(line, req_.request_id);
      line += ",\"method\":";
      AppendJsonString(line, req_.method_name);
      line += ",\"path\":";
      AppendJsonString(line, req_.path.substr(0, 512));
      if (req_.route) {
        line += ",\"route\":";
        AppendJsonString(line, req_.route->path);
      }
      line += ",\"status\":";
      line += std::to_string(res_.status);
      char buf[64];
      std::snprintf(buf, sizeof(buf), ",\"latency_ms\":%.3f", static_cast<double>(latency_us) / 1000.0);
      line += buf;
      line += ",\"bytes_out\":";
      line += std::to_string(bytes_out_);
      line += ",\"client\":";
      AppendJsonString(line, client_address_);
      if (!req_.principal.username.empty()) {
        line += ",\"user\":";
        AppendJsonString(line, req_.principal.username);
      }
      line += "}";
      log::WriteBatchedLine(line);
    }
  }

  void EndRequest() {
    if (in_flight_) {
      in_flight_ = false;
      --server_.in_flight_;
    }
    res_.source.reset();
    stream_reader_.reset();
    req_.body.clear();
    req_.body.shrink_to_fit();
    if (buffer_.capacity() > (64u << 10)) buffer_.shrink_to_fit();
  }

  void Finish() {
    Record();
    EndRequest();
    if (keep_alive_) return ReadHeader();
    Shutdown();
  }

  // The connection cannot continue (write failed, source failed, client vanished).
  void Abort() {
    if (req_.route || in_flight_) Record();
    EndRequest();
    CloseSocket();
  }

  void Shutdown() {
    EndRequest();
    state_ = State::kClosed;
    if constexpr (kIsTls<Stream>) {
      SetDeadline(2000);
      stream_.async_shutdown([self = Self()](boost::system::error_code) {
        self->deadline_ms_ = 0;
        self->CloseSocket();
      });
    } else {
      boost::system::error_code ec;
      stream_.shutdown(tcp::socket::shutdown_send, ec);
      stream_.close(ec);
    }
  }

  // Streamed request bodies are read ahead: the io thread keeps up to kAhead chunks of kChunkBytes
  // filled while the worker consumes earlier ones, so receiving overlaps hashing and disk writes.
  // Bounded: at most kAhead * kChunkBytes per upload.
  static constexpr size_t kAhead = 4;
  static constexpr size_t kChunkBytes = 1 << 20;

  struct ReadAhead {
    std::mutex mu;  // guards everything below
    std::condition_variable cv;
    std::deque<std::string> ready;  // filled chunks, in order
    size_t front_pos = 0;           // bytes of ready.front() already consumed
    bool filling = false;
    bool done = false;  // the parser finished the body
    std::optional<Error> error;
  };

  class Reader final : public BodyReader {
   public:
    Reader(Session* s, boost::optional<uint64_t> length, std::shared_ptr<ReadAhead> state)
        : session_(s), length_(length ? static_cast<int64_t>(*length) : -1), state_(std::move(state)) {}
    Result<size_t> Read(char* data, size_t size) override {
      std::unique_lock lock(state_->mu);
      if (state_->ready.empty() && !state_->done && !state_->error && !state_->filling) {
        lock.unlock();
        session_->ScheduleFill(state_);
        lock.lock();
      }
      state_->cv.wait(lock, [&] { return !state_->ready.empty() || state_->done || state_->error; });
      if (state_->ready.empty()) {
        if (state_->error) return *state_->error;
        return size_t{0};
      }
      std::string& chunk = state_->ready.front();
      size_t n = std::min(size, chunk.size() - state_->front_pos);
      std::memcpy(data, chunk.data() + state_->front_pos, n);
      state_->front_pos += n;
      if (state_->front_pos == chunk.size()) {
        state_->ready.pop_front();
        state_->front_pos = 0;
        bool refill = !state_->filling && !state_->done && !state_->error;
        lock.unlock();
        if (refill) session_->ScheduleFill(state_);
      }
      return n;
    }
    int64_t content_length() const override { return length_; }

   private:
    Session* session_;
    int64_t length_;
    std::shared_ptr<ReadAhead> state_;
  };

 public:
  void ScheduleFill(std::shared_ptr<ReadAhead> state) {
    asio::post(worker_.ioc, [self = Self(), state] { self->StartFill(state); });
  }

  // io thread: fills the next chunk unless one is being filled or enough are waiting.
  void StartFill(const std::shared_ptr<ReadAhead>& state) {
    {
      std::lock_guard lock(state->mu);
      if (state->filling || state->done || state->error || state->ready.size() >= kAhead) return;
      state->filling = true;
    }
    // Small bodies get small buffers: no 1 MiB allocation for a 1 KiB upload.
    size_t size = kChunkBytes;
    if (auto left = stream_parser_->content_length_remaining()) {
      size = static_cast<size_t>(std::clamp<uint64_t>(*left, 1, kChunkBytes));
    }
    auto chunk = std::make_shared<std::string>(size, '\0');
    Fill(state, chunk, 0);
  }

  void Fill(std::shared_ptr<ReadAhead> state, std::shared_ptr<std::string> chunk, size_t got) {
    auto& p = *stream_parser_;
    p.get().body().data = chunk->data() + got;
    p.get().body().size = chunk->size() - got;
    SetDeadline(server_.options().body_timeout_ms);
    bhttp::async_read_some(
        stream_, buffer_, p, [self = Self(), state, chunk, got](boost::system::error_code ec, size_t) mutable {
          self->deadline_ms_ = 0;
          auto& parser = *self->stream_parser_;
          size_t filled = (chunk->size() - got) - parser.get().body().size;
          got += filled;
          if (ec == bhttp::error::need_buffer) ec = {};
          std::optional<Error> err;
          if (ec) {
            self->keep_alive_ = false;
            if (ec == bhttp::error::body_limit) {
              err = Error::PayloadTooLarge("request body exceeds the limit of " + std::to_string(self->body_limit_) +
                                           " bytes");
            } else if (self->timed_out_) {
              err = Error::DeadlineExceeded("the client sent the body too slowly");
            } else if (ec == asio::error::eof || ec == bhttp::error::partial_message ||
                       ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
              err = Error::Unavailable("the client closed the connection during the upload");
            } else {
              err = Error::InvalidArgument("malformed request body: " + ec.message());
            }
          } else if (!parser.is_done() && got < chunk->size()) {
            return self->Fill(state, chunk, got);
          }
          bool more;
          {
            std::lock_guard lock(state->mu);
            state->filling = false;
            if (err) {
              state->error = std::move(err);
            } else {
              chunk->resize(got);
              if (got > 0) state->ready.push_back(std::move(*chunk));
              state->done = parser.is_done();
            }
            more = !state->done && !state->error && state->ready.size() < kAhead;
          }
          state->cv.notify_all();
          if (more) self->StartFill(state);
        });
  }

 private:
  ServerImpl& server_;
  Worker& worker_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> body_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  std::unique_ptr<Reader> stream_reader_;
  Request req_;
  Response res_;
  std::string out_;
  std::string log_line_;
  std::string origin_;
  std::string client_address_;
  Slot slots_[2];
  int next_read_ = 0, next_write_ = 0;
  bool source_eof_ = false, reading_ = false, writing_ = false;
  std::string chunk_prefix_;
  int64_t body_limit_ = 0;
  int64_t bytes_out_ = 0;
  // Written on the io thread, read by the sweeper on the same thread: no atomics needed.
  int64_t deadline_ms_ = 0;
  State state_ = State::kReadHeader;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool in_flight_ = false;
  bool timed_out_ = false;
};

}  // namespace

void ServerImpl::Accept(Worker& w) {
  w.acceptor->async_accept(w.ioc, [this, &w](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) return;
      log::Warn("accept failed", {{"error", ec.message()}});
      // Out of file descriptors and similar: back off briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(w.ioc, std::chrono::milliseconds(50));
      timer->async_wait([this, &w, timer](boost::system::error_code) { Accept(w); });
      return;
    }
    if (connections_.load(std::memory_order_relaxed) >= options_.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (ssl_) {
        auto s = std::make_shared<Session<asio::ssl::stream<tcp::socket>>>(*this, w, std::move(socket), ssl_.get());
        w.sessions.push_back(s);
        s->Start();
      } else {
        auto s = std::make_shared<Session<tcp::socket>>(*this, w, std::move(socket), nullptr);
        w.sessions.push_back(s);
        s->Start();
      }
    }
    Accept(w);
  });
}

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const Router& router, ThreadPool& pool,
                                               Authenticator* authenticator) {
  auto s = std::make_unique<ServerImpl>(options, router, pool, authenticator);
  C19_TRY(s->Init());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace c19ai::http
