#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace c19ai::testing {

std::string HttpResponse::header(const std::string& name) const {
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

RawConnection::RawConnection(int port, const std::string& host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::Fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool RawConnection::WaitClosed(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char tmp[4096];
  while (true) {
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN;
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
  }
}

std::optional<HttpResponse> RawConnection::Read(int timeout_ms, bool head_only) {
  HttpResponse r;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(timeout_ms)) return std::nullopt;
  }
  std::string head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  r.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = e + 2;
  }
  if (r.status == 100) return r;
  if (head_only || r.status == 204 || r.status == 304) return r;
  if (r.header("transfer-encoding") == "chunked") {
    while (true) {
      size_t e;
      while ((e = buf_.find("\r\n")) == std::string::npos) {
        if (!Fill(timeout_ms)) return std::nullopt;
      }
      size_t size = std::stoul(buf_.substr(0, e), nullptr, 16);
      buf_.erase(0, e + 2);
      while (buf_.size() < size + 2) {
        if (!Fill(timeout_ms)) return std::nullopt;
      }
      r.body += buf_.substr(0, size);
      buf_.erase(0, size + 2);
      if (size == 0) break;
    }
    return r;
  }
  std::string cl = r.header("content-length");
  if (cl.empty()) {
    while (Fill(timeout_ms)) {
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }
  size_t len = std::stoul(cl);
  while (buf_.size() < len) {
    if (!Fill(timeout_ms)) return std::nullopt;
  }
  r.body = buf_.substr(0, len);
  buf_.erase(0, len);
  return r;
}

std::optional<HttpResponse> Request(int port, const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& extra_headers) {
  RawConnection c(port);
  if (!c.ok()) return std::nullopt;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers;
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (!c.Send(req)) return std::nullopt;
  return c.Read(10000, method == "HEAD");
}

}  // namespace c19ai::testing
