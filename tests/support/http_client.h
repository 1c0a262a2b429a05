#pragma once
// A minimal blocking HTTP/1.1 client over a raw socket, for tests that must control the exact bytes
// (malformed requests, slow clients, pipelining) and read status, headers and body back.

#include <map>
#include <optional>
#include <string>

namespace c19ai::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const;
};

class RawConnection {
 public:
  explicit RawConnection(int port, const std::string& host = "127.0.0.1");
  ~RawConnection();
  bool ok() const { return fd_ >= 0; }
  bool Send(const std::string& bytes);
  // Reads one response (Content-Length or chunked; HEAD responses have no body when head_only).
  // nullopt on timeout or when the peer closed before a full response.
  std::optional<HttpResponse> Read(int timeout_ms = 5000, bool head_only = false);
  // True when the server closed the connection (read returns 0) within the timeout.
  bool WaitClosed(int timeout_ms);
  void Close();

 private:
  bool Fill(int timeout_ms);
  int fd_ = -1;
  std::string buf_;
};

// One request on a fresh connection: method, path, headers ("Name: value\r\n" lines), body.
std::optional<HttpResponse> Request(int port, const std::string& method, const std::string& path,
                                    const std::string& body = "", const std::string& extra_headers = "");

}  // namespace c19ai::testing
