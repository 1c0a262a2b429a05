// The files API (namespace files/ only) and storage operations over HTTP (target c19ai_storage_http).

#include "storage/routes.h"

#include <ctime>

#include "common/clock.h"
#include "common/json.h"
#include "common/paging.h"
#include "common/text.h"

namespace c19ai::storage {

namespace {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

// An HTTP request body as a ByteSource.
class BodySource final : public ByteSource {
 public:
  explicit BodySource(http::BodyReader* r) : r_(r) {}
  Result<size_t> Read(char* data, size_t size) override {
    if (!r_) return size_t{0};
    return r_->Read(data, size);
  }

 private:
  http::BodyReader* r_;
};

Json ToJson(const ObjectInfo& o) {
  return {{"key", o.key},
          {"size", o.size},
          {"sha256", o.sha256},
          {"content_type", o.content_type},
          {"backend", o.backend},
          {"locations", o.locations},
          {"created_by", o.created_by},
          {"created_at", FormatRfc3339(o.created_at_ms)},
          {"expires_at", o.expires_at_ms ? Json(FormatRfc3339(*o.expires_at_ms)) : Json(nullptr)},
          {"metadata", o.metadata}};
}

Json ToJson(const Replication& r) {
  return {{"id", r.id},
          {"from_backend", r.from_backend},
          {"to_backend", r.to_backend},
          {"prefix", r.prefix},
          {"status", r.status},
          {"cursor", r.cursor},
          {"copied", r.copied},
          {"skipped", r.skipped},
          {"bytes", r.bytes},
          {"failed", r.failed},
          {"error", r.error},
          {"created_at", FormatRfc3339(r.created_at_ms)},
          {"updated_at", FormatRfc3339(r.updated_at_ms)}};
}

std::string HttpDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// One "bytes=" range: a-b, a- or -n. nullopt for absent or multi-range headers (served whole).
struct RangeSpec {
  int64_t first = 0, last = -1;  // inclusive; last -1 = to the end
  bool suffix = false;
  int64_t suffix_len = 0;
};
Result<std::optional<RangeSpec>> ParseRange(std::string_view h) {
  h = Trim(h);
  if (h.empty()) return std::optional<RangeSpec>();
  if (!h.starts_with("bytes=")) return std::optional<RangeSpec>();  // unknown unit: ignore (RFC 9110)
  std::string_view spec = h.substr(6);
  if (spec.find(',') != std::string_view::npos) return std::optional<RangeSpec>();
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return Error::InvalidArgument("malformed Range header");
  auto num = [](std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    out = std::stoll(std::string(s));
    return true;
  };
  RangeSpec r;
  std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  if (a.empty()) {
    if (!num(b, r.suffix_len)) return Error::InvalidArgument("malformed Range header");
    r.suffix = true;
  } else {
    if (!num(a, r.first)) return Error::InvalidArgument("malformed Range header");
    if (!b.empty() && (!num(b, r.last) || r.last < r.first)) return Error::InvalidArgument("malformed Range header");
  }
  return std::optional<RangeSpec>(r);
}

Result<std::optional<int64_t>> ExpiresIn(const Request& req, const Clock& clock) {
  std::string_view h = Trim(req.Header("X-Expires-In"));
  if (h.empty()) return std::optional<int64_t>();
  int64_t ms = 0;
  if (!ParseDurationMs(h, ms) || ms <= 0) {
    return Error::Field("X-Expires-In", "header X-Expires-In must be a positive duration such as 3600 or 1h");
  }
  return std::optional<int64_t>(clock.NowMs() + ms);
}

std::map<std::string, std::string> UserMetadata(const Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& h : req.headers) {
    if (h.name.size() > 7 && EqualsIgnoreCase(h.name.substr(0, 7), "X-Meta-")) {
      out[ToLower(h.name.substr(7))] = std::string(h.value.substr(0, 1024));
    }
  }
  return out;
}

http::Route MakeRoute(Method m, const char* path, const char* perm, const char* summary, const char* audit,
                      http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = perm;
  r.summary = summary;
  r.tag = "files";
  r.audit = audit;
  r.exec = Exec::kBlocking;
  r.max_body = 64 << 10;
  r.handler = std::move(h);
  return r;
}

}  // namespace

Status RegisterRoutes(http::Router& router, StorageService& storage, const RouteOptions& options) {
  StorageService* s = &storage;
  const Clock* clock = options.clock;

  http::Route put = MakeRoute(
      Method::kPut, "/api/v1/files/{key...}", "files:write",
      "Upload a file (raw body, streamed; X-Expires-In and X-Meta-* headers optional)", "file.put",
      [s, clock](Request& req) -> Result<Response> {
        std::string key(req.Param("key"));
        C19_TRY(ValidateKey(key));
        req.audit_resource = "file:" + key;
        PutOptions o;
        std::string_view ct = Trim(req.Header("Content-Type"));
        o.content_type = ct.empty() ? "application/octet-stream" : std::string(ct.substr(0, 255));
        C19_ASSIGN_OR_RETURN(o.expires_at_ms, ExpiresIn(req, *clock));
        o.metadata = UserMetadata(req);
        o.created_by = req.principal.username;
        bool existed = s->Stat(Namespace::kFiles, key).ok();
        BodySource body(req.body_reader);
        C19_ASSIGN_OR_RETURN(ObjectInfo info, s->Put(Namespace::kFiles, key, body, o));
        Response r = Response::Json(existed ? 200 : 201, DumpJson(ToJson(info)));
        r.headers.emplace_back("ETag", "\"" + info.sha256 + "\"");
        return r;
      });
  put.body = http::BodyMode::kStream;
  put.max_body = options.max_file_size;
  C19_TRY(router.Add(std::move(put)));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/files/{key...}", "files:read",
      "Download a file (Range, ETag and If-None-Match supported; HEAD for headers only)", "",
      [s](Request& req) -> Result<Response> {
        std::string key(req.Param("key"));
        C19_ASSIGN_OR_RETURN(ObjectInfo info, s->Stat(Namespace::kFiles, key));
        std::string etag = "\"" + info.sha256 + "\"";
        Response r;
        r.content_type = info.content_type;
        r.headers.emplace_back("ETag", etag);
        r.headers.emplace_back("Accept-Ranges", "bytes");
        r.headers.emplace_back("Last-Modified", HttpDate(info.created_at_ms));
        r.headers.emplace_back("X-Content-SHA256", info.sha256);
        std::string_view inm = req.Header("If-None-Match");
        if (!inm.empty() && (Trim(inm) == "*" || inm.find(etag) != std::string_view::npos ||
                             inm.find(info.sha256) != std::string_view::npos)) {
          r.status = 304;
          return r;
        }
        C19_ASSIGN_OR_RETURN(auto range, ParseRange(req.Header("Range")));
        ByteRange br;
        r.status = 200;
        if (range) {
          int64_t first, last;
          if (range->suffix) {
            first = std::max<int64_t>(0, info.size - range->suffix_len);
            last = info.size - 1;
          } else {
            first = range->first;
            last = range->last < 0 ? info.size - 1 : std::min(range->last, info.size - 1);
          }
          if (first >= info.size || (range->suffix && range->suffix_len == 0)) {
            Response bad = http::ErrorResponse(
                Error::InvalidArgument("range not satisfiable: the file has " + std::to_string(info.size) + " bytes"),
                req.request_id);
            bad.status = 416;
            bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(info.size));
            return bad;
          }
          br = {first, last - first + 1};
          r.status = 206;
          r.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                                      std::to_string(info.size));
        }
        r.content_length = br.length < 0 ? info.size : br.length;
        if (req.method == Method::kHead) {
          r.headers.emplace_back("Content-Length", std::to_string(r.content_length));
          return r;
        }
        C19_ASSIGN_OR_RETURN(auto src, s->Open(Namespace::kFiles, key, br));
        r.source = std::make_shared<http::PullBody<ByteSource>>(std::move(src));
        return r;
      })));

  C19_TRY(router.Add(MakeRoute(Method::kDelete, "/api/v1/files/{key...}", "files:write", "Delete a file",
                               "file.delete", [s](Request& req) -> Result<Response> {
                                 std::string key(req.Param("key"));
                                 req.audit_resource = "file:" + key;
                                 C19_TRY(s->Delete(Namespace::kFiles, key));
                                 return Response::Empty(204);
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/files", "files:read", "List files by key prefix (prefix, limit, page_token)", "",
      [s](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
        std::string prefix = req.Query("prefix").value_or("");
        C19_ASSIGN_OR_RETURN(ListPage page, s->List(Namespace::kFiles, prefix, req.Query("page_token").value_or(""),
                                                    limit.value_or(kDefaultPageSize)));
        Json items = Json::array();
        for (const auto& o : page.items) items.push_back(ToJson(o));
        return Response::Json(200, DumpJson(Json{{"items", items},
                                                 {"next_page_token", page.next_page_token.empty()
                                                                         ? Json(nullptr)
                                                                         : Json(page.next_page_token)}}));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/files/{key...}:copy", "files:write",
      "Copy a file to another key ({to_key}) or add a copy on another backend ({to_backend})", "file.copy",
      [s](Request& req) -> Result<Response> {
        std::string key(req.Param("key"));
        req.audit_resource = "file:" + key;
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader f(body);
        auto to_key = f.OptString("to_key");
        auto to_backend = f.OptString("to_backend");
        C19_TRY(f.Finish());
        if (to_key.has_value() == to_backend.has_value()) {
          return Error::InvalidArgument("give exactly one of to_key and to_backend");
        }
        req.audit_details = DumpJson(body);
        if (to_key) {
          C19_ASSIGN_OR_RETURN(ObjectInfo info, s->CopyTo(Namespace::kFiles, key, *to_key, req.principal.username));
          return Response::Json(201, DumpJson(ToJson(info)));
        }
        C19_ASSIGN_OR_RETURN(ObjectInfo info, s->CopyToBackend(Namespace::kFiles, key, *to_backend));
        return Response::Json(200, DumpJson(ToJson(info)));
      })));

  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/files/{key...}:verify", "files:read",
                               "Recompute a file's SHA-256 on every backend holding it", "",
                               [s](Request& req) -> Result<Response> {
                                 std::string key(req.Param("key"));
                                 C19_ASSIGN_OR_RETURN(VerifyResult v, s->Verify(Namespace::kFiles, key));
                                 return Response::Json(200, DumpJson(Json{{"ok", v.ok},
                                                                          {"expected_sha256", v.expected_sha256},
                                                                          {"actual_sha256", v.actual_sha256}}));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/storage/stats", "files:read", "Objects and bytes per backend and prefix", "",
      [s](Request&) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(StorageStats st, s->Stats());
        Json usage = Json::array();
        for (const auto& u : st.usage) {
          usage.push_back({{"backend", u.backend}, {"prefix", u.prefix}, {"objects", u.objects}, {"bytes", u.bytes}});
        }
        return Response::Json(200, DumpJson(Json{{"objects", st.objects},
                                                 {"bytes", st.bytes},
                                                 {"usage", usage},
                                                 {"backends", s->BackendNames()},
                                                 {"primary", s->PrimaryBackend()}}));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/storage/replications", "system:admin",
      "Copy every object under a prefix to another backend, in the background and resumably", "storage.replicate",
      [s](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader f(body);
        std::string from = f.String("from_backend");
        std::string to = f.String("to_backend");
        std::string prefix = f.OptString("prefix").value_or("");
        C19_TRY(f.Finish());
        C19_ASSIGN_OR_RETURN(Replication r, s->StartReplication(from, to, prefix));
        req.audit_resource = "replication:" + r.id;
        return Response::Json(202, DumpJson(ToJson(r)));
      })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/storage/replications", "system:admin",
                               "Replications, newest first", "", [s](Request&) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto list, s->ListReplications());
                                 Json items = Json::array();
                                 for (const auto& r : list) items.push_back(ToJson(r));
                                 return Response::Json(200, DumpJson(Json{{"items", items},
                                                                          {"next_page_token", nullptr}}));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/storage/replications/{id}", "system:admin",
                               "A replication's progress", "", [s](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Replication r, s->GetReplication(std::string(req.Param("id"))));
                                 return Response::Json(200, DumpJson(ToJson(r)));
                               })));
  return OkStatus();
}

}  // namespace c19ai::storage
