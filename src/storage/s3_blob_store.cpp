// S3-compatible backend over libcurl with its built-in SigV4 signing. Uploads stream: objects up to
// one part are a single PUT; larger ones a multipart upload with parts of part_size bytes (the only
// buffer), aborted on any failure so that no orphaned parts remain. Reads fetch byte ranges of
// read_chunk bytes. Easy handles are pooled for connection reuse.

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "storage/storage.h"

namespace c19ai::storage {

namespace {

struct CurlInit {
  CurlInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// RFC 3986 encoding of a key, keeping '/'.
std::string EncodeKey(std::string_view key, bool keep_slash = true) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      auto semi = s.find(';', i);
      if (semi != std::string_view::npos) {
        std::string_view ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") out.push_back('&');
        else if (ent == "lt") out.push_back('<');
        else if (ent == "gt") out.push_back('>');
        else if (ent == "quot") out.push_back('"');
        else if (ent == "apos") out.push_back('\'');
        else out.append(s.substr(i, semi - i + 1));
        i = semi;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The text of the first <tag>...</tag> in s from `pos`; empty when absent.
std::string_view XmlTag(std::string_view s, std::string_view tag, size_t* pos = nullptr) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t start = s.find(open, pos ? *pos : 0);
  if (start == std::string_view::npos) return {};
  start += open.size();
  size_t end = s.find(close, start);
  if (end == std::string_view::npos) return {};
  if (pos) *pos = end + close.size();
  return s.substr(start, end - start);
}

struct Response {
  long status = 0;
  std::string body;
  std::string etag;
  int64_t content_length = -1;
  int64_t last_modified_ms = 0;
};

// Upload body over a memory buffer.
struct UploadState {
  const char* data;
  size_t size;
  size_t pos = 0;
};

size_t ReadBody(char* out, size_t size, size_t nmemb, void* user) {
  auto* s = static_cast<UploadState*>(user);
  size_t n = std::min(size * nmemb, s->size - s->pos);
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
  return n;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* r = static_cast<Response*>(user);
  std::string_view line(data, size * nmemb);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "etag") r->etag = std::string(value);
    if (name == "last-modified") {
      std::string v(value);
      time_t t = curl_getdate(v.c_str(), nullptr);
      if (t > 0) r->last_modified_ms = static_cast<int64_t>(t) * 1000;
    }
  }
  return size * nmemb;
}

class S3BlobStore;

class S3Source final : public ByteSource {
 public:
  S3Source(S3BlobStore* store, std::string key, int64_t offset, int64_t length, int64_t chunk)
      : store_(store), key_(std::move(key)), pos_(offset), end_(offset + length), chunk_(chunk) {}
  Result<size_t> Read(char* data, size_t size) override;

 private:
  S3BlobStore* store_;
  std::string key_;
  int64_t pos_, end_, chunk_;
  std::string buf_;
  size_t buf_pos_ = 0;
};

class S3BlobStore final : public BlobStore {
 public:
  explicit S3BlobStore(S3Options o) : o_(std::move(o)) {
    static CurlInit init;
    sigv4_ = "aws:amz:" + o_.region + ":s3";
    userpwd_ = o_.access_key + ":" + o_.secret_key;
    std::string endpoint = o_.endpoint.empty() ? "https://s3." + o_.region + ".amazonaws.com" : o_.endpoint;
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (o_.path_style) {
      base_ = endpoint + "/" + o_.bucket;
    } else {
      auto scheme = endpoint.find("://");
      base_ = endpoint.substr(0, scheme + 3) + o_.bucket + "." + endpoint.substr(scheme + 3);
    }
  }
  ~S3BlobStore() override {
    for (CURL* c : idle_) curl_easy_cleanup(c);
  }

  std::string kind() const override { return "s3"; }

  Status CheckBucket() {
    auto r = Do("HEAD", "", "", {}, nullptr, nullptr);
    if (!r.ok()) return std::move(r).error();
    if (r->status == 404) return Error::Unavailable("S3 bucket \"" + o_.bucket + "\" does not exist");
    if (r->status >= 300) return Error::Unavailable("S3 bucket \"" + o_.bucket + "\" answered HTTP " +
                                                    std::to_string(r->status));
    return OkStatus();
  }

  // One request, retried on a fresh connection when the transport failed (a pooled keep-alive connection
  // the server had just closed, a reset under load) or the server answered 5xx, as the AWS SDKs do.
  // Every request here is safe to repeat except creating a multipart upload (it would orphan an id).
  // `query` is already sorted and encoded. `upload` may be null (no body).
  Result<Response> Do(const char* method, const std::string& key, const std::string& query,
                      const std::vector<std::string>& headers, UploadState* upload, std::string* sink,
                      const std::string& range = "") {
    const bool repeatable = !(std::string_view(method) == "POST" && query == "uploads=");
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
      if (upload) upload->pos = 0;
      if (sink) sink->clear();
      CURLcode transport = CURLE_OK;
      auto r = DoOnce(method, key, query, headers, upload, sink, range, transport);
      const bool busy = r.ok() && (r->status == 500 || r->status == 502 || r->status == 503 || r->status == 504);
      const bool retry = busy || transport == CURLE_SEND_ERROR || transport == CURLE_RECV_ERROR ||
                         transport == CURLE_GOT_NOTHING || transport == CURLE_COULDNT_CONNECT ||
                         transport == CURLE_PARTIAL_FILE;
      if (!retry || !repeatable || attempt == kAttempts) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    }
  }

  Result<Response> DoOnce(const char* method, const std::string& key, const std::string& query,
                          const std::vector<std::string>& headers, UploadState* upload, std::string* sink,
                          const std::string& range, CURLcode& transport) {
    CURL* c = Acquire();
    Response r;
    std::string url = base_ + "/" + EncodeKey(key);
    if (!query.empty()) url += "?" + query;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_slist* list = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    if (!range.empty()) list = curl_slist_append(list, ("Range: bytes=" + range).c_str());
    std::string body;
    std::string method_s(method);
    if (method_s == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method_s == "PUT") {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      static UploadState empty{"", 0};
      UploadState* u = upload ? upload : &empty;
      curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(c, CURLOPT_READDATA, u);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(u->size));
      list = curl_slist_append(list, "Expect:");
    } else if (method_s == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, upload ? upload->data : "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload ? upload->size : 0));
    } else if (method_s != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink ? sink : &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    transport = rc;
    if (rc != CURLE_OK) {
      curl_easy_cleanup(c);
      return Error::Unavailable(std::string("S3 ") + method + " " + key + ": " + curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_off_t cl = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    r.content_length = cl;
    if (!sink) r.body = std::move(body);
    Release(c);
    return r;
  }

  static Error S3Error(const Response& r, std::string_view what) {
    std::string code(XmlTag(r.body, "Code")), message(XmlTag(r.body, "Message"));
    std::string msg = std::string(what) + ": HTTP " + std::to_string(r.status) +
                      (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
    if (r.status == 404) return Error::NotFound(msg);
    if (r.status == 416) return Error::InvalidArgument(msg);
    if (r.status >= 500 || r.status == 403 || r.status == 429) return Error::Unavailable(msg);
    return Error::Internal(msg);
  }

  Result<int64_t> Put(const std::string& key, ByteSource& source) override {
    std::string part(static_cast<size_t>(o_.part_size), '\0');
    auto fill = [&](size_t& filled) -> Status {
      filled = 0;
      while (filled < part.size()) {
        C19_ASSIGN_OR_RETURN(size_t n, source.Read(part.data() + filled, part.size() - filled));
        if (n == 0) break;
        filled += n;
      }
      return OkStatus();
    };
    size_t filled = 0;
    C19_TRY(fill(filled));
    if (filled < part.size()) {  // fits in one request
      UploadState u{part.data(), filled};
      C19_ASSIGN_OR_RETURN(Response r, Do("PUT", key, "", {}, &u, nullptr));
      if (r.status != 200) return S3Error(r, "S3 PUT " + key);
      return static_cast<int64_t>(filled);
    }
    C19_ASSIGN_OR_RETURN(Response init, Do("POST", key, "uploads=", {}, nullptr, nullptr));
    std::string upload_id = XmlUnescape(XmlTag(init.body, "UploadId"));
    if (init.status != 200 || upload_id.empty()) return S3Error(init, "S3 starting a multipart upload of " + key);
    std::string id_q = "uploadId=" + EncodeKey(upload_id, false);
    auto abort = [&](Error e) -> Error {
      auto a = Do("DELETE", key, id_q, {}, nullptr, nullptr);
      if (!a.ok() || (a->status != 204 && a->status != 200)) {
        log::Error("could not abort an S3 multipart upload", {{"key", key}, {"upload_id", upload_id}});
      }
      return e;
    };
    std::vector<std::string> etags;
    int64_t total = 0;
    while (filled > 0) {
      int number = static_cast<int>(etags.size()) + 1;
      UploadState u{part.data(), filled};
      auto r = Do("PUT", key, "partNumber=" + std::to_string(number) + "&" + id_q, {}, &u, nullptr);
      if (!r.ok()) return abort(std::move(r).error());
      if (r->status != 200 || r->etag.empty()) return abort(S3Error(*r, "S3 uploading part of " + key));
      etags.push_back(r->etag);
      total += static_cast<int64_t>(filled);
      Status st = fill(filled);
      if (!st.ok()) return abort(std::move(st).error());
    }
    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags.size(); ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    UploadState u{xml.data(), xml.size()};
    auto done = Do("POST", key, id_q, {"Content-Type: application/xml"}, &u, nullptr);
    if (!done.ok()) return abort(std::move(done).error());
    // S3 may answer 200 with an <Error> body.
    if (done->status != 200 || done->body.find("<Error>") != std::string::npos) {
      return abort(S3Error(*done, "S3 completing the upload of " + key));
    }
    return total;
  }

  Result<BlobStat> Head(const std::string& key) override {
    C19_ASSIGN_OR_RETURN(Response r, Do("HEAD", key, "", {}, nullptr, nullptr));
    if (r.status == 404) return Error::NotFound("blob " + key + " not found");
    if (r.status != 200) return S3Error(r, "S3 HEAD " + key);
    return BlobStat{std::max<int64_t>(r.content_length, 0), r.last_modified_ms};
  }

  Result<std::unique_ptr<ByteSource>> Get(const std::string& key, ByteRange range) override {
    C19_ASSIGN_OR_RETURN(BlobStat st, Head(key));
    if (range.offset < 0 || range.offset > st.size || (range.offset == st.size && st.size > 0 && range.length != 0)) {
      return Error::InvalidArgument("range starts at " + std::to_string(range.offset) + ", past the end (" +
                                    std::to_string(st.size) + " bytes)");
    }
    int64_t length = range.length < 0 ? st.size - range.offset : std::min(range.length, st.size - range.offset);
    return std::unique_ptr<ByteSource>(new S3Source(this, key, range.offset, length, o_.read_chunk));
  }

  // Reads bytes [first, last] into `out`, reusing its capacity.
  Status ReadRange(const std::string& key, int64_t first, int64_t last, std::string& out) {
    out.clear();
    out.reserve(static_cast<size_t>(last - first + 1));
    C19_ASSIGN_OR_RETURN(Response r, Do("GET", key, "", {}, nullptr, &out,
                                        std::to_string(first) + "-" + std::to_string(last)));
    if (r.status != 206 && r.status != 200) {
      r.body = out;
      return S3Error(r, "S3 GET " + key);
    }
    if (r.status == 200 && static_cast<int64_t>(out.size()) > last - first + 1) {  // server ignored Range
      out = out.substr(static_cast<size_t>(first), static_cast<size_t>(last - first + 1));
    }
    return OkStatus();
  }

  Status Delete(const std::string& key) override {
    C19_ASSIGN_OR_RETURN(Response r, Do("DELETE", key, "", {}, nullptr, nullptr));
    if (r.status != 204 && r.status != 200 && r.status != 404) return S3Error(r, "S3 DELETE " + key);
    return OkStatus();
  }

  Result<BlobListing> List(const std::string& prefix, const std::string& after, int limit) override {
    // ListObjects (v1) with a marker: every S3-compatible server has it, and unlike v2 it needs no
    // server-made continuation token (s3rver's cannot be made under OpenSSL 3).
    std::vector<std::pair<std::string, std::string>> q = {{"max-keys", std::to_string(limit)}};
    if (!prefix.empty()) q.emplace_back("prefix", prefix);
    if (!after.empty()) q.emplace_back("marker", after);
    std::sort(q.begin(), q.end());
    std::string query;
    for (const auto& [k, v] : q) query += (query.empty() ? "" : "&") + k + "=" + EncodeKey(v, false);
    C19_ASSIGN_OR_RETURN(Response r, Do("GET", "", query, {}, nullptr, nullptr));
    if (r.status != 200) return S3Error(r, "S3 list " + prefix);
    BlobListing out;
    size_t pos = 0;
    while (true) {
      std::string_view item = XmlTag(r.body, "Contents", &pos);
      if (item.empty()) break;
      BlobStat st;
      st.size = std::strtoll(std::string(XmlTag(item, "Size")).c_str(), nullptr, 10);
      st.modified_ms = ParseRfc3339(XmlTag(item, "LastModified")).value_or(0);
      out.items.emplace_back(XmlUnescape(XmlTag(item, "Key")), st);
    }
    out.truncated = XmlTag(r.body, "IsTruncated") == "true";
    return out;
  }

  Status Copy(const std::string& from, const std::string& to) override {
    C19_ASSIGN_OR_RETURN(Response r, Do("PUT", to, "", {"x-amz-copy-source: /" + o_.bucket + "/" + EncodeKey(from)},
                                        nullptr, nullptr));
    if (r.status != 200 || r.body.find("<Error>") != std::string::npos) return S3Error(r, "S3 copy " + from);
    return OkStatus();
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* c = idle_.back();
        idle_.pop_back();
        curl_easy_reset(c);
        return c;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < 16) idle_.push_back(c);
    else curl_easy_cleanup(c);
  }

  S3Options o_;
  std::string sigv4_, userpwd_, base_;
  std::mutex mu_;  // guards idle_
  std::vector<CURL*> idle_;
};

Result<size_t> S3Source::Read(char* data, size_t size) {
  if (buf_pos_ >= buf_.size()) {
    if (pos_ >= end_) return size_t{0};
    int64_t last = std::min(end_, pos_ + chunk_) - 1;
    C19_TRY(store_->ReadRange(key_, pos_, last, buf_));
    if (buf_.empty()) return Error::Internal("S3 returned an empty range");
    pos_ += static_cast<int64_t>(buf_.size());
    buf_pos_ = 0;
  }
  size_t n = std::min(size, buf_.size() - buf_pos_);
  std::memcpy(data, buf_.data() + buf_pos_, n);
  buf_pos_ += n;
  return n;
}

}  // namespace

Result<std::unique_ptr<BlobStore>> NewS3BlobStore(const S3Options& options) {
  if (options.bucket.empty()) return Error::Field("storage.url", "the S3 URL needs a bucket: s3://bucket?endpoint=...");
  if (options.part_size < (5 << 20)) {
    return Error::Field("storage.url", "S3 part_size must be at least 5MiB");
  }
  auto store = std::make_unique<S3BlobStore>(options);
  C19_TRY(store->CheckBucket());
  return std::unique_ptr<BlobStore>(std::move(store));
}

Result<S3Options> ParseS3Url(std::string_view url, std::string access_key, std::string secret_key) {
  if (!url.starts_with("s3://")) return Error::Field("storage.url", "an S3 URL starts with s3://");
  std::string_view rest = url.substr(5);
  auto q = rest.find('?');
  S3Options o;
  o.bucket = std::string(rest.substr(0, q));
  while (!o.bucket.empty() && o.bucket.back() == '/') o.bucket.pop_back();
  o.access_key = std::move(access_key);
  o.secret_key = std::move(secret_key);
  o.path_style = true;
  if (q != std::string_view::npos) {
    for (const auto& kv : Split(rest.substr(q + 1), '&', true)) {
      auto eq = kv.find('=');
      std::string k = kv.substr(0, eq), v;
      if (!PercentDecode(eq == std::string::npos ? "" : std::string_view(kv).substr(eq + 1), v, true)) {
        return Error::Field("storage.url", "malformed S3 URL parameter " + k);
      }
      if (k == "endpoint") o.endpoint = v;
      else if (k == "region") o.region = v;
      else if (k == "path_style") o.path_style = v == "true" || v == "1";
      else if (k == "part_size" || k == "read_chunk") {
        int64_t n = 0;
        if (!ParseByteSize(v, n)) return Error::Field("storage.url", "S3 " + k + " must be a size like 16MiB");
        (k == "part_size" ? o.part_size : o.read_chunk) = n;
      } else {
        return Error::Field("storage.url", "unknown S3 URL parameter \"" + k + "\"");
      }
    }
  }
  if (o.access_key.empty() || o.secret_key.empty()) {
    return Error::Field("storage.url", "S3 needs credentials: C19AI_S3_ACCESS_KEY and C19AI_S3_SECRET_KEY (or "
                                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  return o;
}

}  // namespace c19ai::storage
