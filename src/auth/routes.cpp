#include "auth/routes.h"

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/text.h"
#include "common/thread_pool.h"

namespace c19ai::auth {

namespace {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

Json ToJson(const User& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"email", u.email},
          {"display_name", u.display_name},
          {"roles", u.roles},
          {"permissions", u.permissions},
          {"is_active", u.is_active},
          {"totp_enabled", u.totp_enabled},
          {"created_at", FormatRfc3339(u.created_at_ms)},
          {"updated_at", FormatRfc3339(u.updated_at_ms)},
          {"last_login_at", u.last_login_ms ? Json(FormatRfc3339(*u.last_login_ms)) : Json(nullptr)}};
}

Json ToJson(const Role& r) {
  return {{"name", r.name},
          {"description", r.description},
          {"permissions", r.permissions},
          {"builtin", r.builtin},
          {"created_at", FormatRfc3339(r.created_at_ms)},
          {"updated_at", FormatRfc3339(r.updated_at_ms)}};
}

Json ToJson(const ApiKeyInfo& k) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? Json(FormatRfc3339(*v)) : Json(nullptr); };
  return {{"id", k.id},
          {"name", k.name},
          {"scopes", k.scopes},
          {"created_at", FormatRfc3339(k.created_at_ms)},
          {"expires_at", opt(k.expires_at_ms)},
          {"last_used_at", opt(k.last_used_ms)}};
}

Json ToJson(const TokenPair& t) {
  return {{"access_token", t.access_token},
          {"refresh_token", t.refresh_token},
          {"token_type", "Bearer"},
          {"expires_in", t.expires_in_s}};
}

Response JsonOk(int status, const Json& j) { return Response::Json(status, DumpJson(j)); }

// limit/page_token of list routes.
struct Page {
  int64_t limit = kDefaultPageSize;
  int64_t offset = 0;
};
Result<Page> ReadPage(const Request& req) {
  Page p;
  C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
  if (limit) p.limit = *limit;
  if (auto token = req.Query("page_token"); token && !token->empty()) {
    C19_ASSIGN_OR_RETURN(p.offset, DecodePageToken(*token));
  }
  return p;
}
Json ListBody(Json items, const Page& page) {
  size_t n = items.size();
  Json body = {{"items", std::move(items)}};
  body["next_page_token"] = static_cast<int64_t>(n) == page.limit ? Json(EncodePageToken(page.offset + page.limit))
                                                                   : Json(nullptr);
  return body;
}

// Reads "expires_at" (RFC 3339) if present.
Result<std::optional<int64_t>> ReadTime(FieldReader& r, std::string_view key) {
  auto v = r.OptString(key);
  if (!v) return std::optional<int64_t>();
  auto t = ParseRfc3339(*v);
  if (!t) return Error::Field(key, "field \"" + std::string(key) + "\" must be an RFC 3339 time, got \"" +
                                       v->substr(0, 40) + "\"");
  return std::optional<int64_t>(*t);
}

Result<std::optional<int64_t>> QueryTime(const Request& req, std::string_view key) {
  auto v = req.Query(key);
  if (!v || v->empty()) return std::optional<int64_t>();
  auto t = ParseRfc3339(*v);
  if (!t) return Error::Field(key, "query parameter \"" + std::string(key) + "\" must be an RFC 3339 time");
  return std::optional<int64_t>(*t);
}

class Registrar {
 public:
  Registrar(http::Router& router) : router_(router) {}
  Status Add(Method m, const char* path, std::string_view permission, const char* summary, const char* audit,
             http::Handler h, Exec exec = Exec::kBlocking) {
    http::Route r;
    r.method = m;
    r.path = path;
    r.permission = std::string(permission);
    r.summary = summary;
    r.tag = "auth";
    r.audit = audit;
    r.exec = exec;
    r.max_body = 64 << 10;
    r.handler = std::move(h);
    return router_.Add(std::move(r));
  }
  http::Router& router() { return router_; }

 private:
  http::Router& router_;
};

std::string CurrentSessionOnly(const Principal& p) { return p.session_id; }

}  // namespace

Status RegisterRoutes(http::Router& router, AuthService& auth, ThreadPool& pool) {
  Registrar r(router);
  AuthService* a = &auth;
  const std::string_view kAuthd = http::kAuthenticated;

  // ---- sign-up and sign-in (public)
  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/register", http::kPublic, "Create an account (role viewer)",
                "user.register", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  NewUser u;
                  u.username = f.String("username");
                  u.email = f.String("email");
                  u.password = f.String("password");
                  u.display_name = f.OptString("display_name").value_or("");
                  C19_TRY(f.Finish());
                  req.audit_details = DumpJson(Json{{"username", u.username}});
                  C19_ASSIGN_OR_RETURN(User user, a->Register(u));
                  req.audit_resource = "user:" + user.id;
                  req.principal.user_id = user.id;
                  req.principal.username = user.username;
                  return JsonOk(201, ToJson(user));
                }));

  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/login", http::kPublic, "Sign in; returns an access and a refresh token",
                "auth.login", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  LoginRequest l;
                  l.username = f.String("username");
                  l.password = f.String("password");
                  l.totp_code = f.OptString("totp_code");
                  C19_TRY(f.Finish());
                  l.client_address = req.client_address;
                  l.user_agent = std::string(req.Header("User-Agent"));
                  req.audit_details = DumpJson(Json{{"username", l.username.substr(0, 128)}});
                  auto pair = a->Login(l);
                  if (!pair.ok()) {
                    if (pair.error().code == ErrorCode::kResourceExhausted) {
                      Response res = http::ErrorResponse(pair.error(), req.request_id);
                      Json d = Json::parse(pair.error().details, nullptr, false);
                      std::string retry = d.is_object() && d.contains("retry_after_s")
                                              ? std::to_string(d["retry_after_s"].get<int64_t>())
                                              : "1";
                      res.headers.clear();
                      res.headers.emplace_back("Retry-After", retry);
                      return res;
                    }
                    return std::move(pair).error();
                  }
                  if (auto p = a->VerifyAccessToken(pair->access_token); p.ok()) req.principal = *p;
                  return JsonOk(200, ToJson(*pair));
                }));

  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/refresh", http::kPublic,
                "Exchange a refresh token for a new pair (the old one stops working)", "auth.refresh",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string token = f.String("refresh_token");
                  C19_TRY(f.Finish());
                  C19_ASSIGN_OR_RETURN(TokenPair pair, a->Refresh(token));
                  if (auto p = a->VerifyAccessToken(pair.access_token); p.ok()) req.principal = *p;
                  return JsonOk(200, ToJson(pair));
                }));

  // ---- the caller's own account
  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/logout", kAuthd, "Sign out: revoke the current session", "auth.logout",
                [a](Request& req) -> Result<Response> {
                  if (req.principal.session_id.empty()) {
                    return Error::FailedPrecondition("API keys have no session; delete the key instead");
                  }
                  C19_TRY(a->RevokeSession(req.principal.user_id, req.principal.session_id, "logout"));
                  return Response::Empty(204);
                }));

  {
    http::Route me;
    me.method = Method::kGet;
    me.path = "/api/v1/auth/me";
    me.permission = std::string(kAuthd);
    me.summary = "The caller's profile, roles and permissions";
    me.tag = "auth";
    me.exec = Exec::kAsync;
    ThreadPool* p = &pool;
    me.async_handler = [a, p](Request& req, http::Responder respond) {
      const Principal principal = req.principal;
      // Sessions carry the user's own permissions: the cached profile is exact. API keys are scoped,
      // so their profile is built fresh.
      if (principal.api_key_id.empty()) {
        if (auto cached = a->CachedProfile(principal.user_id)) return respond(Response::Json(200, std::move(*cached)));
      }
      bool queued = p->TrySubmit([a, principal, respond] {
        auto user = a->GetUser(principal.user_id);
        if (!user.ok()) return respond(std::move(user).error());
        Json j = ToJson(*user);
        if (!principal.api_key_id.empty()) {
          j["permissions"] = principal.permissions;
          j["api_key_id"] = principal.api_key_id;
          return respond(JsonOk(200, j));
        }
        std::string body = DumpJson(j);
        a->CacheProfile(principal.user_id, body);
        respond(Response::Json(200, std::move(body)));
      });
      if (!queued) respond(Error::Unavailable("server overloaded: the request queue is full, retry shortly"));
    };
    C19_TRY(router.Add(std::move(me)));
  }

  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/password", kAuthd, "Change the caller's password (signs out everywhere)",
                "auth.password_change", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string current = f.String("current_password");
                  std::string next = f.String("new_password");
                  C19_TRY(f.Finish());
                  if (!req.principal.api_key_id.empty()) {
                    return Error::PermissionDenied("an API key cannot change its owner's password");
                  }
                  req.audit_resource = "user:" + req.principal.user_id;
                  C19_TRY(a->ChangePassword(req.principal.user_id, current, next));
                  return Response::Empty(204);
                }));

  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/totp/setup", kAuthd, "Start two-factor setup: a secret and otpauth URI",
                "auth.totp_setup", [a](Request& req) -> Result<Response> {
                  if (!req.principal.api_key_id.empty()) return Error::PermissionDenied("not with an API key");
                  C19_ASSIGN_OR_RETURN(auto setup, a->SetupTotp(req.principal.user_id));
                  return JsonOk(200, Json{{"secret", setup.secret}, {"otpauth_uri", setup.otpauth_uri}});
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/totp/enable", kAuthd, "Enable two-factor with a current code",
                "auth.totp_enable", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string code = f.String("code");
                  C19_TRY(f.Finish());
                  if (!req.principal.api_key_id.empty()) return Error::PermissionDenied("not with an API key");
                  C19_TRY(a->EnableTotp(req.principal.user_id, code));
                  return JsonOk(200, Json{{"totp_enabled", true}});
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/auth/totp/disable", kAuthd, "Disable two-factor with a current code",
                "auth.totp_disable", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string code = f.String("code");
                  C19_TRY(f.Finish());
                  if (!req.principal.api_key_id.empty()) return Error::PermissionDenied("not with an API key");
                  C19_TRY(a->DisableTotp(req.principal.user_id, code));
                  return JsonOk(200, Json{{"totp_enabled", false}});
                }));

  C19_TRY(r.Add(Method::kGet, "/api/v1/auth/sessions", kAuthd, "The caller's active sessions", "",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(auto sessions, a->ListSessions(req.principal.user_id));
                  Json items = Json::array();
                  for (const auto& s : sessions) {
                    items.push_back({{"id", s.id},
                                     {"created_at", FormatRfc3339(s.created_at_ms)},
                                     {"last_used_at", FormatRfc3339(s.last_used_ms)},
                                     {"expires_at", FormatRfc3339(s.expires_at_ms)},
                                     {"user_agent", s.user_agent},
                                     {"client_address", s.client_address},
                                     {"current", s.id == CurrentSessionOnly(req.principal)}});
                  }
                  return JsonOk(200, Json{{"items", items}, {"next_page_token", nullptr}});
                }));
  C19_TRY(r.Add(Method::kDelete, "/api/v1/auth/sessions/{id}", kAuthd, "Revoke one of the caller's sessions",
                "auth.session_revoke", [a](Request& req) -> Result<Response> {
                  std::string id(req.Param("id"));
                  req.audit_resource = "session:" + id;
                  C19_TRY(a->RevokeSession(req.principal.user_id, id, "revoked by the user"));
                  return Response::Empty(204);
                }));

  // ---- API keys
  C19_TRY(r.Add(Method::kGet, "/api/v1/api-keys", kAuthd, "The caller's API keys (never their secrets)", "",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(auto keys, a->ListApiKeys(req.principal.user_id));
                  Json items = Json::array();
                  for (const auto& k : keys) items.push_back(ToJson(k));
                  return JsonOk(200, Json{{"items", items}, {"next_page_token", nullptr}});
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/api-keys", kAuthd,
                "Create an API key with scopes from the caller's permissions; the key is shown once", "api_key.create",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string name = f.String("name");
                  auto scopes = f.OptStringList("scopes");
                  if (f.ok() && !scopes) f.Fail("scopes", "field \"scopes\" is required");
                  C19_ASSIGN_OR_RETURN(auto expires, ReadTime(f, "expires_at"));
                  C19_TRY(f.Finish());
                  C19_ASSIGN_OR_RETURN(auto created, a->CreateApiKey(req.principal, name, *scopes, expires));
                  req.audit_resource = "api_key:" + created.first.id;
                  Json j = ToJson(created.first);
                  j["key"] = created.second;
                  return JsonOk(201, j);
                }));
  C19_TRY(r.Add(Method::kDelete, "/api/v1/api-keys/{id}", kAuthd, "Delete an API key", "api_key.delete",
                [a](Request& req) -> Result<Response> {
                  std::string id(req.Param("id"));
                  req.audit_resource = "api_key:" + id;
                  C19_TRY(a->DeleteApiKey(req.principal, id));
                  return Response::Empty(204);
                }));

  // ---- user administration
  constexpr std::string_view kAdmin = "users:admin";
  C19_TRY(r.Add(Method::kGet, "/api/v1/users", kAdmin, "List users (search, limit, page_token)", "",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Page page, ReadPage(req));
                  ListQuery q{page.limit, page.offset, req.Query("search").value_or("")};
                  C19_ASSIGN_OR_RETURN(auto users, a->ListUsers(q));
                  Json items = Json::array();
                  for (const auto& u : users) items.push_back(ToJson(u));
                  return JsonOk(200, ListBody(std::move(items), page));
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/users", kAdmin, "Create a user with roles", "user.create",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  NewUser u;
                  u.username = f.String("username");
                  u.email = f.String("email");
                  u.password = f.String("password");
                  u.display_name = f.OptString("display_name").value_or("");
                  u.roles = f.OptStringList("roles").value_or(std::vector<std::string>{});
                  C19_TRY(f.Finish());
                  C19_ASSIGN_OR_RETURN(User user, a->CreateUser(u));
                  req.audit_resource = "user:" + user.id;
                  req.audit_details = DumpJson(Json{{"username", user.username}, {"roles", user.roles}});
                  return JsonOk(201, ToJson(user));
                }));
  C19_TRY(r.Add(Method::kGet, "/api/v1/users/{id}", kAdmin, "Get a user", "", [a](Request& req) -> Result<Response> {
    C19_ASSIGN_OR_RETURN(User u, a->GetUser(std::string(req.Param("id"))));
    return JsonOk(200, ToJson(u));
  }));
  C19_TRY(r.Add(Method::kPatch, "/api/v1/users/{id}", kAdmin,
                "Update a user's email, display name or active flag (deactivating signs them out)", "user.update",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  UserPatch p;
                  p.email = f.OptString("email");
                  p.display_name = f.OptString("display_name");
                  p.is_active = f.OptBool("is_active");
                  C19_TRY(f.Finish());
                  std::string id(req.Param("id"));
                  req.audit_resource = "user:" + id;
                  req.audit_details = DumpJson(body);
                  C19_ASSIGN_OR_RETURN(User u, a->UpdateUser(id, p));
                  return JsonOk(200, ToJson(u));
                }));
  C19_TRY(r.Add(Method::kDelete, "/api/v1/users/{id}", kAdmin, "Delete a user (their sessions and keys go too)",
                "user.delete", [a](Request& req) -> Result<Response> {
                  std::string id(req.Param("id"));
                  req.audit_resource = "user:" + id;
                  C19_TRY(a->DeleteUser(id));
                  return Response::Empty(204);
                }));
  C19_TRY(r.Add(Method::kPut, "/api/v1/users/{id}/roles", kAdmin, "Replace a user's roles", "user.set_roles",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  auto roles = f.OptStringList("roles");
                  if (f.ok() && !roles) f.Fail("roles", "field \"roles\" is required");
                  C19_TRY(f.Finish());
                  std::string id(req.Param("id"));
                  req.audit_resource = "user:" + id;
                  req.audit_details = DumpJson(Json{{"roles", *roles}});
                  C19_ASSIGN_OR_RETURN(User u, a->SetRoles(id, *roles));
                  return JsonOk(200, ToJson(u));
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/users/{id}/password", kAdmin,
                "Set a new password for a user (signs them out everywhere)", "user.password_reset",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  std::string next = f.String("new_password");
                  C19_TRY(f.Finish());
                  std::string id(req.Param("id"));
                  req.audit_resource = "user:" + id;
                  C19_TRY(a->ResetPassword(id, next));
                  return Response::Empty(204);
                }));

  // ---- roles and permissions
  C19_TRY(r.Add(Method::kGet, "/api/v1/roles", kAdmin, "List roles with their permissions", "",
                [a](Request&) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(auto roles, a->ListRoles());
                  Json items = Json::array();
                  for (const auto& role : roles) items.push_back(ToJson(role));
                  return JsonOk(200, Json{{"items", items}, {"next_page_token", nullptr}});
                }));
  C19_TRY(r.Add(Method::kPost, "/api/v1/roles", kAdmin, "Create a custom role", "role.create",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  Role role;
                  role.name = f.String("name");
                  role.description = f.OptString("description").value_or("");
                  role.permissions = f.OptStringList("permissions").value_or(std::vector<std::string>{});
                  C19_TRY(f.Finish());
                  req.audit_resource = "role:" + role.name;
                  C19_ASSIGN_OR_RETURN(Role created, a->CreateRole(role));
                  return JsonOk(201, ToJson(created));
                }));
  C19_TRY(r.Add(Method::kGet, "/api/v1/roles/{name}", kAdmin, "Get a role", "", [a](Request& req) -> Result<Response> {
    C19_ASSIGN_OR_RETURN(Role role, a->GetRole(std::string(req.Param("name"))));
    return JsonOk(200, ToJson(role));
  }));
  C19_TRY(r.Add(Method::kPatch, "/api/v1/roles/{name}", kAdmin, "Change a custom role's description or permissions",
                "role.update", [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                  FieldReader f(body);
                  auto description = f.OptString("description");
                  auto permissions = f.OptStringList("permissions");
                  C19_TRY(f.Finish());
                  std::string name(req.Param("name"));
                  req.audit_resource = "role:" + name;
                  req.audit_details = DumpJson(body);
                  C19_ASSIGN_OR_RETURN(Role role, a->UpdateRole(name, description, permissions));
                  return JsonOk(200, ToJson(role));
                }));
  C19_TRY(r.Add(Method::kDelete, "/api/v1/roles/{name}", kAdmin, "Delete a custom role", "role.delete",
                [a](Request& req) -> Result<Response> {
                  std::string name(req.Param("name"));
                  req.audit_resource = "role:" + name;
                  C19_TRY(a->DeleteRole(name));
                  return Response::Empty(204);
                }));
  C19_TRY(r.Add(Method::kGet, "/api/v1/permissions", kAdmin, "Every permission a role can grant", "",
                [](Request&) -> Result<Response> {
                  return JsonOk(200, Json{{"items", AllPermissions()}});
                },
                Exec::kInline));

  // ---- audit
  C19_TRY(r.Add(Method::kGet, "/api/v1/audit", "audit:read",
                "Audit trail, newest first (actor, action, resource with a trailing * for prefixes, since, until)", "",
                [a](Request& req) -> Result<Response> {
                  C19_ASSIGN_OR_RETURN(Page page, ReadPage(req));
                  AuditQuery q;
                  q.actor = req.Query("actor").value_or("");
                  q.action = req.Query("action").value_or("");
                  q.resource = req.Query("resource").value_or("");
                  C19_ASSIGN_OR_RETURN(q.since_ms, QueryTime(req, "since"));
                  C19_ASSIGN_OR_RETURN(q.until_ms, QueryTime(req, "until"));
                  q.limit = page.limit;
                  q.offset = page.offset;
                  C19_ASSIGN_OR_RETURN(auto entries, a->QueryAudit(q));
                  Json items = Json::array();
                  for (const auto& e : entries) {
                    Json details = Json::parse(e.details, nullptr, false);
                    items.push_back({{"at", FormatRfc3339(e.at_ms)},
                                     {"actor_id", e.actor_id},
                                     {"actor", e.actor_name},
                                     {"action", e.action},
                                     {"resource", e.resource},
                                     {"outcome", e.outcome},
                                     {"request_id", e.request_id},
                                     {"client_address", e.client_address},
                                     {"details", details.is_discarded() ? Json::object() : details}});
                  }
                  return JsonOk(200, ListBody(std::move(items), page));
                }));
  return OkStatus();
}

namespace {

class TokenAuthenticator final : public http::Authenticator {
 public:
  explicit TokenAuthenticator(AuthService& auth) : auth_(auth) {}

  Outcome TryAuthenticate(const Request& req, Principal& principal, Error& error) override {
    std::optional<Result<Principal>> r;
    std::string_view key = req.Header("X-API-Key");
    if (!key.empty()) {
      r = auth_.VerifyApiKeyCached(Trim(key));
    } else {
      std::string_view h = Trim(req.Header("Authorization"));
      if (h.empty()) {
        error = Error::Unauthenticated("authentication required: send Authorization: Bearer <token> or X-API-Key");
        return Outcome::kDenied;
      }
      if (h.size() < 7 || !EqualsIgnoreCase(h.substr(0, 7), "Bearer ")) {
        error = Error::Unauthenticated("unsupported Authorization scheme: use Bearer");
        return Outcome::kDenied;
      }
      r = auth_.VerifyAccessTokenCached(Trim(h.substr(7)));
    }
    if (!r) return Outcome::kNeedsBlocking;
    if (!r->ok()) {
      error = r->error();
      return Outcome::kDenied;
    }
    principal = std::move(*r).value();
    return Outcome::kOk;
  }

  Result<Principal> Authenticate(const Request& req) override {
    std::string_view key = req.Header("X-API-Key");
    if (!key.empty()) return auth_.VerifyApiKey(Trim(key));
    std::string_view h = Trim(req.Header("Authorization"));
    if (h.size() < 7 || !EqualsIgnoreCase(h.substr(0, 7), "Bearer ")) {
      return Error::Unauthenticated("authentication required");
    }
    return auth_.VerifyAccessToken(Trim(h.substr(7)));
  }

 private:
  AuthService& auth_;
};

class AuditObserver final : public http::RequestObserver {
 public:
  explicit AuditObserver(AuthService& auth) : auth_(auth) {}
  void OnResponse(const Request& req, int status) override {
    if (req.method == Method::kGet || req.method == Method::kHead || req.method == Method::kOptions) return;
    if (!req.route || req.route->path == "/{path...}") return;
    if (req.route->read_only && status != 401 && status != 403) return;
    AuditEntry e;
    e.actor_id = req.principal.user_id;
    e.actor_name = req.principal.username;
    e.action = req.route->audit.empty() ? std::string(http::MethodName(req.method)) + " " + req.route->path
                                        : req.route->audit;
    if (!req.audit_resource.empty()) {
      e.resource = req.audit_resource;
    } else {
      std::string decoded;
      e.resource = PercentDecode(req.path, decoded) ? decoded : std::string(req.path);
    }
    e.outcome = status < 400 ? "success" : (status == 401 || status == 403) ? "denied" : "failure";
    e.request_id = req.request_id;
    e.client_address = req.client_address;
    Json details = req.audit_details.empty() ? Json::object() : Json::parse(req.audit_details, nullptr, false);
    if (!details.is_object()) details = Json::object();
    details["status"] = status;
    if (!req.principal.api_key_id.empty()) details["api_key_id"] = req.principal.api_key_id;
    e.details = DumpJson(details);
    auth_.audit().Record(std::move(e));
  }

 private:
  AuthService& auth_;
};

}  // namespace

std::unique_ptr<http::Authenticator> MakeAuthenticator(AuthService& auth) {
  return std::make_unique<TokenAuthenticator>(auth);
}

std::unique_ptr<http::RequestObserver> MakeAuditObserver(AuthService& auth) {
  return std::make_unique<AuditObserver>(auth);
}

}  // namespace c19ai::auth
