// The server over real sockets: keep-alive, bad input, limits, timeouts, streaming, auth hooks,
// CORS, static files, graceful shutdown and TLS.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/json.h"
#include "common/thread_pool.h"
#include "http/http.h"
#include "support/http_client.h"
#include "support/test_env.h"

namespace c19ai::http {
namespace {

using testing::RawConnection;

// "Bearer good" has x:read; "Bearer weak" has nothing; "Bearer slow" needs the blocking path.
class TestAuth final : public Authenticator {
 public:
  Outcome TryAuthenticate(const Request& req, Principal& p, Error& err) override {
    std::string_view h = req.Header("Authorization");
    if (h == "Bearer slow") return Outcome::kNeedsBlocking;
    if (h == "Bearer good" || h == "Bearer weak") {
      p.user_id = "u1";
      p.username = "tester";
      if (h == "Bearer good") p.permissions = {"x:read"};
      return Outcome::kOk;
    }
    err = Error::Unauthenticated("missing or invalid credentials");
    return Outcome::kDenied;
  }
  Result<Principal> Authenticate(const Request&) override {
    Principal p;
    p.user_id = "u2";
    p.permissions = {"x:read"};
    return p;
  }
};

class ChunkSource final : public BodySource {
 public:
  explicit ChunkSource(size_t total) : left_(total) {}
  Result<size_t> Read(char* data, size_t size) override {
    size_t n = std::min(size, left_);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>('a' + (pos_++ % 26));
    left_ -= n;
    return n;
  }

 private:
  size_t left_;
  size_t pos_ = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }

  void Start(ServerOptions o = {}, size_t pool_threads = 4, size_t pool_queue = 64) {
    pool_ = std::make_unique<ThreadPool>("test", pool_threads, pool_queue);
    router_ = std::make_unique<Router>();
    AddRoutes();
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.access_log = false;
    if (o.max_body_bytes == (16 << 20)) o.max_body_bytes = 4096;
    auto s = Server::Create(o, *router_, *pool_, &auth_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s).value();
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  void Stop() {
    if (server_) server_->Stop();
    if (pool_) pool_->Shutdown();
    server_.reset();
  }

  void Add(Method m, std::string path, Exec exec, Handler h, std::string perm = std::string(kPublic),
           BodyMode body = BodyMode::kBuffered, int64_t max_body = 0) {
    Route r;
    r.method = m;
    r.path = std::move(path);
    r.permission = std::move(perm);
    r.summary = "test";
    r.exec = exec;
    r.body = body;
    r.max_body = max_body;
    r.handler = std::move(h);
    ASSERT_TRUE(router_->Add(std::move(r)).ok());
  }

  void AddRoutes() {
    Add(Method::kGet, "/ping", Exec::kInline, [](Request&) -> Result<Response> { return Response::Text(200, "pong"); });
    Add(Method::kPost, "/echo", Exec::kBlocking,
        [](Request& r) -> Result<Response> { return Response::Text(200, r.body); });
    Add(Method::kPost, "/json", Exec::kBlocking, [](Request& r) -> Result<Response> {
      C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(r.body));
      return Response::Json(200, j.dump());
    });
    Add(Method::kGet, "/boom", Exec::kBlocking,
        [](Request&) -> Result<Response> { throw std::runtime_error("kaboom"); });
    Add(Method::kGet, "/slow", Exec::kBlocking, [](Request&) -> Result<Response> {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      return Response::Text(200, "done");
    });
    Add(Method::kGet, "/items/{id}/versions/{v}", Exec::kInline, [](Request& r) -> Result<Response> {
      return Response::Text(200, std::string(r.Param("id")) + "|" + std::string(r.Param("v")) + "|" +
                                     r.Query("q").value_or("-"));
    });
    Add(Method::kGet, "/private", Exec::kInline,
        [](Request& r) -> Result<Response> { return Response::Text(200, r.principal.user_id); }, "x:read");
    Add(
        Method::kPut, "/upload/{key...}", Exec::kBlocking,
        [](Request& r) -> Result<Response> {
          std::vector<char> buf(100000);
          uint64_t total = 0, sum = 0;
          while (true) {
            C19_ASSIGN_OR_RETURN(size_t n, r.body_reader->Read(buf.data(), buf.size()));
            if (n == 0) break;
            for (size_t i = 0; i < n; ++i) sum = sum * 31 + static_cast<unsigned char>(buf[i]);
            total += n;
          }
          return Response::Text(200, std::string(r.Param("key")) + " " + std::to_string(total) + " " +
                                         std::to_string(sum));
        },
        std::string(kPublic), BodyMode::kStream, int64_t{1} << 30);
    Add(Method::kGet, "/download/{n}", Exec::kBlocking, [](Request& r) -> Result<Response> {
      Response res;
      res.content_type = "application/octet-stream";
      size_t n = std::stoul(std::string(r.Param("n")));
      res.source = std::make_shared<ChunkSource>(n);
      if (r.Query("len")) res.content_length = static_cast<int64_t>(n);
      return res;
    });
    Route async;
    async.method = Method::kGet;
    async.path = "/async";
    async.permission = std::string(kPublic);
    async.summary = "test";
    async.exec = Exec::kAsync;
    async.async_handler = [](Request&, Responder respond) {
      std::thread([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        respond(Response::Text(200, "later"));
      }).detach();
    };
    ASSERT_TRUE(router_->Add(std::move(async)).ok());
  }

  int Get(const std::string& path, const std::string& headers = "") {
    auto r = testing::Request(port_, "GET", path, "", headers);
    return r ? r->status : -1;
  }

  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Router> router_;
  TestAuth auth_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

TEST_F(ServerTest, KeepAliveAndPipelining) {
  RawConnection c(port_);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "pong");
    EXPECT_EQ(r->header("connection"), "");
  }
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  EXPECT_EQ(c.Read()->body, "pong");
  EXPECT_EQ(c.Read()->body, "abc");
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto last = c.Read();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(2000));
}

TEST_F(ServerTest, UnknownRouteIsJson404AndWrongMethodIs405WithAllow) {
  auto r = testing::Request(port_, "GET", "/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["request_id"], r->header("x-request-id"));
  auto m = testing::Request(port_, "DELETE", "/ping");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 405);
  EXPECT_EQ(m->header("allow"), "GET, HEAD");
  EXPECT_EQ(Json::parse(m->body)["error"]["code"], "method_not_allowed");
}

TEST_F(ServerTest, PathParametersArePercentDecoded) {
  auto r = testing::Request(port_, "GET", "/items/a%2Fb%20c/versions/7?q=x+y%21");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "a/b c|7|x y!");
  EXPECT_EQ(testing::Request(port_, "GET", "/items/%zz/versions/1")->status, 400);
}

TEST_F(ServerTest, MalformedRequestGets400AndTheConnectionCloses) {
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("GARBAGE\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json::parse(r->body)["error"]["code"], "invalid_argument");
  EXPECT_TRUE(c.WaitClosed(2000));
  EXPECT_EQ(Get("/ping"), 200);  // the server is unaffected
}

TEST_F(ServerTest, OversizedHeadGets431) {
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.WaitClosed(2000));
}

TEST_F(ServerTest, OversizedBodyGets413BeforeReadingIt) {
  auto r = testing::Request(port_, "POST", "/echo", std::string(5000, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json::parse(r->body)["error"]["code"], "payload_too_large");
  // Chunked bodies are counted as they arrive.
  RawConnection c(port_);
  std::string chunk(3000, 'y');
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nbb8\r\n" + chunk +
                     "\r\nbb8\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto chunked = c.Read();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);
}

TEST_F(ServerTest, InvalidJsonNamesTheParsePosition) {
  auto r = testing::Request(port_, "POST", "/json", "{\"a\": tru}", "Content-Type: application/json\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["error"]["code"], "invalid_argument");
  EXPECT_EQ(j["error"]["details"]["position"], 10);
}

TEST_F(ServerTest, ExpectContinue) {
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  // Too large: refused at once, no 100.
  RawConnection d(port_);
  ASSERT_TRUE(d.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\nExpect: 100-continue\r\n\r\n"));
  auto refused = d.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
}

TEST_F(ServerTest, SlowClientIsDisconnectedAndOthersAreServed) {
  Stop();
  ServerOptions o;
  o.header_timeout_ms = 500;
  Start(o);
  RawConnection slow(port_);
  ASSERT_TRUE(slow.Send("GET /ping HTTP/1.1\r\nHo"));
  EXPECT_EQ(Get("/ping"), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow.WaitClosed(5000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(Get("/ping"), 200);
}

TEST_F(ServerTest, HandlerExceptionIs500WithRequestId) {
  auto r = testing::Request(port_, "GET", "/boom", "", "X-Request-Id: trace-42\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("x-request-id"), "trace-42");
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["error"]["request_id"], "trace-42");
  EXPECT_EQ(j["error"]["message"].get<std::string>().find("kaboom"), std::string::npos);  // no internals
}

TEST_F(ServerTest, InvalidRequestIdIsReplaced) {
  auto r = testing::Request(port_, "GET", "/ping", "", "X-Request-Id: bad id with spaces\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->header("x-request-id").starts_with("r-"));
}

TEST_F(ServerTest, FullWorkerQueueAnswers503) {
  Stop();
  Start({}, /*pool_threads=*/1, /*pool_queue=*/1);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 6; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return Get("/slow"); }));
  }
  int ok = 0, unavailable = 0;
  for (auto& f : results) {
    int s = f.get();
    if (s == 200) ++ok;
    if (s == 503) ++unavailable;
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(unavailable, 1);
  EXPECT_EQ(ok + unavailable, 6);
}

TEST_F(ServerTest, StreamsRequestBodiesWithLengthOrChunked) {
  std::string body(5'000'000, '\0');
  uint64_t sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 7);
    sum = sum * 31 + static_cast<unsigned char>(body[i]);
  }
  auto r = testing::Request(port_, "PUT", "/upload/a/b.bin", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "a/b.bin 5000000 " + std::to_string(sum));

  RawConnection c(port_);
  std::string req = "PUT /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t off = 0; off < body.size(); off += 1'000'000) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%x\r\n", 1'000'000);
    req += hex + body.substr(off, 1'000'000) + "\r\n";
  }
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.Send(req));
  auto chunked = c.Read(10000);
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "c 5000000 " + std::to_string(sum));
}

TEST_F(ServerTest, StreamsResponseBodies) {
  auto chunked = testing::Request(port_, "GET", "/download/3000000");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->header("transfer-encoding"), "chunked");
  ASSERT_EQ(chunked->body.size(), 3'000'000u);
  EXPECT_EQ(chunked->body[2'999'999], static_cast<char>('a' + 2'999'999 % 26));
  auto sized = testing::Request(port_, "GET", "/download/100?len=1");
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->header("content-length"), "100");
  EXPECT_EQ(sized->body.size(), 100u);
}

TEST_F(ServerTest, AsyncHandlersAnswerFromAnotherThread) {
  auto r = testing::Request(port_, "GET", "/async");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "later");
}

TEST_F(ServerTest, AuthenticationAndPermissions) {
  auto anon = testing::Request(port_, "GET", "/private");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(Json::parse(anon->body)["error"]["code"], "unauthenticated");
  EXPECT_EQ(Get("/private", "Authorization: Bearer weak\r\n"), 403);
  auto good = testing::Request(port_, "GET", "/private", "", "Authorization: Bearer good\r\n");
  EXPECT_EQ(good->body, "u1");
  auto slow = testing::Request(port_, "GET", "/private", "", "Authorization: Bearer slow\r\n");
  EXPECT_EQ(slow->body, "u2");
}

TEST_F(ServerTest, SecurityHeadersOnEveryResponse) {
  for (const char* path : {"/ping", "/nowhere"}) {
    auto r = testing::Request(port_, "GET", path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r->header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r->header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
  }
}

TEST_F(ServerTest, HeadHasHeadersButNoBody) {
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read(2000, /*head_only=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "4");
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.Read()->body, "pong");  // nothing stray was sent after the HEAD response
}

TEST_F(ServerTest, CorsForConfiguredOrigins) {
  Stop();
  ServerOptions o;
  o.cors_origins = {"http://console.test"};
  Start(o);
  auto pre = testing::Request(port_, "OPTIONS", "/private", "",
                              "Origin: http://console.test\r\nAccess-Control-Request-Method: GET\r\n");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->header("access-control-allow-origin"), "http://console.test");
  EXPECT_NE(pre->header("access-control-allow-headers").find("Authorization"), std::string::npos);
  auto r = testing::Request(port_, "GET", "/ping", "", "Origin: http://console.test\r\n");
  EXPECT_EQ(r->header("access-control-allow-origin"), "http://console.test");
  auto other = testing::Request(port_, "GET", "/ping", "", "Origin: http://evil.test\r\n");
  EXPECT_EQ(other->header("access-control-allow-origin"), "");
}

TEST_F(ServerTest, ServesConsoleFilesSafely) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/assets");
  std::ofstream(dir.path() + "/index.html") << "<!doctype html><title>c19</title>";
  std::ofstream(dir.path() + "/assets/app-1234.js") << "console.log(1)";
  std::ofstream(std::filesystem::path(dir.path()).parent_path() / "secret.txt") << "nope";
  Stop();
  ServerOptions o;
  o.static_dir = dir.path();
  Start(o);
  auto index = testing::Request(port_, "GET", "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->header("cache-control"), "no-cache");
  EXPECT_NE(index->header("content-security-policy").find("script-src 'self'"), std::string::npos);
  auto js = testing::Request(port_, "GET", "/assets/app-1234.js");
  EXPECT_EQ(js->header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js->header("cache-control").find("immutable"), std::string::npos);
  EXPECT_EQ(testing::Request(port_, "GET", "/models/iris")->body, index->body);  // client-side route
  EXPECT_EQ(Get("/assets/missing.js"), 404);
  EXPECT_EQ(Get("/../secret.txt"), 404);
  EXPECT_EQ(Get("/%2e%2e/secret.txt"), 404);
  auto api = testing::Request(port_, "GET", "/api/v1/nothing");
  EXPECT_EQ(api->status, 404);
  EXPECT_EQ(Json::parse(api->body)["error"]["code"], "not_found");
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  auto slow = std::async(std::launch::async, [&] { return testing::Request(port_, "GET", "/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto idle = std::make_unique<RawConnection>(port_);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server_->Stop();
  auto r = slow.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->header("connection"), "close");
  RawConnection late(port_);
  EXPECT_FALSE(late.ok() && late.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n") && late.Read(500));
}

// TLS: a self-signed certificate made with the openssl command at test time.
TEST_F(ServerTest, ServesTlsTwelveOrNewer) {
  testing::TempDir dir;
  std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " + key +
                    " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Stop();
  ServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  Start(o);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  RawConnection raw(port_);
  ASSERT_TRUE(raw.ok());
  // Reuse the raw connection's socket through a fresh one for OpenSSL.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  EXPECT_GE(SSL_version(ssl), TLS1_2_VERSION);
  std::string req = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_GT(SSL_write(ssl, req.data(), static_cast<int>(req.size())), 0);
  std::string got;
  char buf[4096];
  int n;
  while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << got;
  EXPECT_NE(got.find("Strict-Transport-Security"), std::string::npos);
  EXPECT_TRUE(got.ends_with("pong"));
  SSL_free(ssl);
  ::close(fd);

  // A TLS 1.1 client is refused.
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_security_level(ctx, 0);
  int fd2 = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(fd2, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  SSL* old = SSL_new(ctx);
  SSL_set_fd(old, fd2);
  EXPECT_NE(SSL_connect(old), 1);
  SSL_free(old);
  ::close(fd2);
  SSL_CTX_free(ctx);

  // Plain HTTP on the TLS listener gets no HTTP answer.
  RawConnection plain(port_);
  ASSERT_TRUE(plain.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(plain.Read(1000));
}

}  // namespace
}  // namespace c19ai::http
