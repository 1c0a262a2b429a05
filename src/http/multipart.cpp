// Streaming multipart/form-data: a sliding buffer in which the delimiter "\r\n--<boundary>" is sought;
// bytes that cannot be the start of a delimiter are handed out at once.

#include "http/multipart.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/text.h"
#include "http/http.h"

namespace c19ai::http {

namespace {

constexpr size_t kMaxPartHeader = 16 << 10;
constexpr size_t kChunk = 64 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits a header value at ';' outside quotes.
std::vector<std::string_view> SplitParams(std::string_view v) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t from = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (quoted && v[i] == '\\') {
      ++i;
    } else if (v[i] == '"') {
      quoted = !quoted;
    } else if (v[i] == ';' && !quoted) {
      out.push_back(v.substr(from, i - from));
      from = i + 1;
    }
  }
  out.push_back(v.substr(from));
  return out;
}

// The value of `param` in a header like `form-data; name="artifact"; filename="m.pt"`.
std::optional<std::string> HeaderParam(std::string_view header, std::string_view param) {
  for (std::string_view item : SplitParams(header)) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || Lower(Trim(item.substr(0, eq))) != param) continue;
    std::string_view raw = Trim(item.substr(eq + 1));
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
      std::string value;
      for (size_t i = 1; i + 1 < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 2 < raw.size()) ++i;
        value += raw[i];
      }
      return value;
    }
    return std::string(raw);
  }
  return std::nullopt;
}

class Reader final : public MultipartReader {
 public:
  Reader(BodyReader& body, std::string boundary) : body_(body), delim_("\r\n--" + std::move(boundary)) {
    // The first delimiter may come without the leading CRLF: pretend it was there.
    buf_ = "\r\n";
  }

  Result<std::optional<PartHeaders>> NextPart() override {
    if (done_) return std::optional<PartHeaders>{};
    // Drain the current part (or the preamble).
    char sink[8192];
    for (;;) {
      C19_ASSIGN_OR_RETURN(size_t n, Read(sink, sizeof sink));
      if (n == 0) break;
    }
    // At a delimiter: "--" ends the body, CRLF starts a part.
    C19_TRY(Fill(delim_.size() + 2));
    if (buf_.size() < delim_.size() + 2) return Error::InvalidArgument("multipart body ends inside a delimiter");
    std::string_view after(buf_.data() + delim_.size(), 2);
    if (after == "--") {
      done_ = true;
      return std::optional<PartHeaders>{};
    }
    // Transport padding (spaces/tabs) may precede the CRLF.
    size_t p = delim_.size();
    for (;;) {
      C19_TRY(Fill(p + 2));
      if (buf_.size() < p + 2) return Error::InvalidArgument("multipart body ends inside a delimiter");
      if (buf_[p] == ' ' || buf_[p] == '\t') {
        ++p;
        if (p > delim_.size() + 64) return Error::InvalidArgument("malformed multipart delimiter");
        continue;
      }
      if (buf_.compare(p, 2, "\r\n") != 0) return Error::InvalidArgument("malformed multipart delimiter");
      break;
    }
    buf_.erase(0, p + 2);
    // Part headers up to an empty line.
    size_t end;
    for (;;) {
      end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) break;
      if (buf_.rfind("\r\n", 0) == 0) {  // no headers at all
        end = 0;
        break;
      }
      if (buf_.size() > kMaxPartHeader) return Error::InvalidArgument("multipart part headers are too large");
      C19_ASSIGN_OR_RETURN(bool more, Pull());
      if (!more) return Error::InvalidArgument("multipart body ends inside part headers");
    }
    PartHeaders h;
    bool disposition = false;
    std::string_view headers(buf_.data(), end);
    size_t pos = 0;
    while (pos < headers.size()) {
      size_t nl = headers.find("\r\n", pos);
      std::string_view line = headers.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? headers.size() : nl + 2;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string key = Lower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
      if (key == "content-disposition") {
        disposition = true;
        h.name = HeaderParam(value, "name").value_or("");
        h.filename = HeaderParam(value, "filename").value_or("");
      } else if (key == "content-type") {
        h.content_type = std::string(value);
      }
    }
    if (!disposition || h.name.empty()) {
      return Error::InvalidArgument("a multipart part has no Content-Disposition with a name");
    }
    // The part's content ends at the next delimiter, which includes the CRLF before it.
    buf_.erase(0, end == 0 ? 2 : end + 4);
    return std::optional<PartHeaders>(std::move(h));
  }

  Result<size_t> Read(char* data, size_t size) override {
    if (done_ || size == 0) return size_t{0};
    for (;;) {
      size_t at = buf_.find(delim_);
      if (at != std::string::npos) {
        if (at == 0) return size_t{0};
        size_t n = std::min(size, at);
        std::memcpy(data, buf_.data(), n);
        buf_.erase(0, n);
        return n;
      }
      // Everything except a possible delimiter prefix at the end can go out.
      size_t safe = buf_.size() >= delim_.size() ? buf_.size() - delim_.size() + 1 : 0;
      if (safe > 0) {
        size_t n = std::min(size, safe);
        std::memcpy(data, buf_.data(), n);
        buf_.erase(0, n);
        return n;
      }
      C19_ASSIGN_OR_RETURN(bool more, Pull());
      if (!more) return Error::InvalidArgument("multipart body ends without its closing delimiter");
    }
  }

 private:
  // Appends the next piece of the body; false at its end.
  Result<bool> Pull() {
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    auto n = body_.Read(buf_.data() + old, kChunk);
    if (!n.ok()) {
      buf_.resize(old);
      return std::move(n).error();
    }
    buf_.resize(old + *n);
    return *n > 0;
  }

  Status Fill(size_t want) {
    while (buf_.size() < want) {
      C19_ASSIGN_OR_RETURN(bool more, Pull());
      if (!more) break;
    }
    return OkStatus();
  }

  BodyReader& body_;
  std::string delim_;
  std::string buf_;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<MultipartReader>> MultipartReader::Create(BodyReader& body, std::string_view content_type) {
  std::string type = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (type != "multipart/form-data") {
    return Error::Field("Content-Type", "the body must be multipart/form-data");
  }
  auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return Error::Field("Content-Type", "multipart/form-data needs a boundary of 1 to 70 characters");
  }
  return std::unique_ptr<MultipartReader>(new Reader(body, *boundary));
}

Result<std::string> MultipartReader::ReadAll(size_t limit) {
  std::string out;
  char buf[8192];
  for (;;) {
    C19_ASSIGN_OR_RETURN(size_t n, Read(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit) return Error::PayloadTooLarge("a multipart part is larger than " + std::to_string(limit) + " bytes");
    out.append(buf, n);
  }
}

}  // namespace c19ai::http
