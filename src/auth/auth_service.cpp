// The auth service over the db, cache and events modules.
//
// Caching (namespace "auth" of the cache module), all with a TTL of principal_cache_ttl_ms so that a
// revocation on another replica takes effect within that time; changes on this replica delete the
// affected entries at once:
//   s:<user id>:<session id>  -> the principal of a valid session, or "x"
//   k:<api key id>            -> secret hash + principal of a valid key, or "x"
//   p:<user id>               -> the /auth/me profile JSON

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "auth/auth.h"
#include "auth/crypto.h"
#include "cache/cache.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "events/events.h"

namespace c19ai::auth {

namespace {

constexpr std::string_view kNs = "auth";
constexpr std::string_view kApiKeyPrefix = "c19ak.";

const std::vector<std::string>& Catalogue() {
  static const std::vector<std::string> kAll = {
      "audit:read",    "cache:admin",  "datasets:read", "datasets:write", "files:read",
      "files:write",   "inference:predict", "models:deploy", "models:read", "models:write",
      "queues:admin",  "system:admin", "training:read", "training:run",   "users:admin"};
  return kAll;
}

struct BuiltinRole {
  const char* name;
  const char* description;
  std::vector<std::string> permissions;
};

const std::vector<BuiltinRole>& Builtins() {
  static const std::vector<BuiltinRole> kRoles = {
      {"admin", "Everything, including users, roles and operations", Catalogue()},
      {"ml_engineer", "Reads everything; manages and deploys models, trains, writes datasets and files",
       {"audit:read", "datasets:read", "datasets:write", "files:read", "files:write", "inference:predict",
        "models:deploy", "models:read", "models:write", "training:read", "training:run"}},
      {"data_scientist", "Reads everything; trains, predicts, writes datasets and files",
       {"audit:read", "datasets:read", "datasets:write", "files:read", "files:write", "inference:predict",
        "models:read", "training:read", "training:run"}},
      {"viewer", "Reads models, training jobs, datasets and files",
       {"datasets:read", "files:read", "models:read", "training:read"}},
  };
  return kRoles;
}

extern const char* const kCommonPasswordList[];
extern const size_t kCommonPasswordCount;

// Common passwords refused by the policy (compared case-insensitively).
const std::set<std::string>& CommonPasswords() {
  static const std::set<std::string> kLower = [] {
    std::set<std::string> out;
    for (size_t i = 0; i < kCommonPasswordCount; ++i) out.insert(ToLower(kCommonPasswordList[i]));
    return out;
  }();
  return kLower;
}

const char* const kCommonPasswordList[] = {
      "123456", "123456789", "12345678", "password", "qwerty123", "qwerty", "1234567", "111111", "1234567890",
      "123123", "abc123", "1234", "password1", "iloveyou", "1q2w3e4r", "000000", "qwerty1", "123321",
      "zaq12wsx", "dragon", "sunshine", "princess", "letmein", "654321", "monkey", "27653", "1qaz2wsx",
      "123qwe", "football", "baseball", "welcome", "admin", "administrator", "passw0rd", "p@ssw0rd",
      "password123", "password1234", "password12345", "123456789012", "1234567890123", "qwertyuiop",
      "qwertyuiop123", "qwertyuiopasdf", "asdfghjkl", "asdfghjkl123", "zxcvbnm123", "iloveyou1234",
      "welcome12345", "welcome123456", "letmein12345", "changeme", "changeme1234", "changemenow1",
      "administrator1", "adminadmin123", "admin1234567", "passwordpassword", "trustno1trustno1",
      "111111111111", "000000000000", "123123123123", "abcdefghijkl", "abc123abc123", "qazwsxedcrfv",
      "1q2w3e4r5t6y", "1qaz2wsx3edc", "superman1234", "batman123456", "football1234", "baseball1234",
      "starwars1234", "sunshine1234", "princess1234", "monkey123456", "dragon123456", "master123456",
      "michael12345", "shadow123456", "mustang12345", "qwerty123456", "qwerty1234567", "123qweasdzxc",
      "correcthorse", "correcthorsebatterystaple", "letmeinplease", "password!123", "Password123!",
      "Welcome1234!", "Summer2024!!", "Winter2024!!", "Spring2025!!", "c19aic19aic19"};
const size_t kCommonPasswordCount = sizeof(kCommonPasswordList) / sizeof(kCommonPasswordList[0]);

std::string JoinCsv(const std::vector<std::string>& v) { return Join(v, ","); }
std::vector<std::string> SplitCsv(std::string_view s) { return Split(s, ',', true); }

bool ValidUsername(std::string_view u) {
  if (u.size() < 3 || u.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(u[0]))) return false;
  for (char c : u) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

bool ValidEmail(std::string_view e) {
  if (e.size() < 3 || e.size() > 254) return false;
  size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view domain = e.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : e.substr(0, at)) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' ||
        c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\') {
      return false;
    }
  }
  for (char c : domain) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return false;
  }
  return true;
}

bool ValidDisplayName(std::string_view d) {
  if (d.size() > 128) return false;
  for (unsigned char c : d) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool ValidRoleName(std::string_view n) {
  if (n.size() < 2 || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

// Serialised principal for the cache: fields separated by '\n'.
std::string EncodePrincipal(const Principal& p, std::string_view extra = {}) {
  return std::string(extra) + "\n" + p.user_id + "\n" + p.username + "\n" + JoinCsv(p.roles) + "\n" +
         JoinCsv(p.permissions);
}

bool DecodePrincipal(std::string_view s, std::string& extra, Principal& p) {
  auto parts = Split(s, '\n');
  if (parts.size() != 5) return false;
  extra = parts[0];
  p.user_id = parts[1];
  p.username = parts[2];
  p.roles = SplitCsv(parts[3]);
  p.permissions = SplitCsv(parts[4]);
  return true;
}

// Writes audit entries from a background thread in batches, so that recording one costs a queue push.
class DbAuditLog final : public AuditLog {
 public:
  DbAuditLog(db::Database& db, const Clock* clock)
      : db_(db),
        clock_(clock),
        dropped_(metrics::Registry::Default().GetCounter("c19ai_audit_dropped_total",
                                                         "Audit entries dropped because the writer fell behind")),
        failed_(metrics::Registry::Default().GetCounter("c19ai_audit_write_failures_total",
                                                        "Audit batches that could not be written")) {
    thread_ = std::thread([this] { Run(); });
  }
  ~DbAuditLog() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Record(AuditEntry entry) override {
    if (entry.at_ms == 0) entry.at_ms = clock_->NowMs();
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= kMaxQueued) {
        queue_.pop_front();
        dropped_.Inc();
      }
      queue_.push_back(std::move(entry));
    }
    cv_.notify_one();
  }

  void Flush() {
    std::unique_lock lock(mu_);
    uint64_t target = enqueued_total() ;
    cv_.notify_one();
    done_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return written_ >= target || stop_; });
  }

 private:
  static constexpr size_t kMaxQueued = 100000;
  uint64_t enqueued_total() const { return written_ + inflight_ + queue_.size(); }

  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stop_) return;
        continue;
      }
      std::vector<AuditEntry> batch;
      while (!queue_.empty() && batch.size() < 500) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      inflight_ = batch.size();
      lock.unlock();
      Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
        for (const auto& e : batch) {
          C19_TRY(tx.Exec("INSERT INTO audit_log (id, at, actor_id, actor_name, action, resource, outcome, "
                          "request_id, client_address, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          {NewIdAt(e.at_ms), e.at_ms, e.actor_id, e.actor_name, e.action, e.resource, e.outcome,
                           e.request_id, e.client_address, e.details.empty() ? "{}" : e.details}));
        }
        return OkStatus();
      });
      if (!st.ok()) {
        failed_.Inc();
        log::Error("writing audit entries failed", {{"entries", batch.size()}, {"error", st.error().message}});
      }
      lock.lock();
      written_ += inflight_;
      inflight_ = 0;
      done_cv_.notify_all();
    }
  }

  db::Database& db_;
  const Clock* clock_;
  metrics::Counter& dropped_;
  metrics::Counter& failed_;
  std::mutex mu_;  // guards queue_, stop_, written_, inflight_
  std::condition_variable cv_, done_cv_;
  std::deque<AuditEntry> queue_;
  uint64_t written_ = 0;
  uint64_t inflight_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

class AuthServiceImpl final : public AuthService {
 public:
  AuthServiceImpl(db::Database& db, cache::Cache& cache, events::EventBus& bus, Options o)
      : db_(db), cache_(cache), bus_(bus), o_(std::move(o)), clock_(o_.clock), audit_(db, o_.clock) {}

  Status Init() {
    // The signing key: configured, or generated once and shared through the database.
    if (o_.jwt_secret.empty()) {
      std::string candidate = crypto::RandomToken(48);
      C19_TRY(db_.Exec("INSERT INTO auth_settings (name, value) VALUES ('jwt_secret', ?) ON CONFLICT (name) DO NOTHING",
                       {candidate}));
      C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT value FROM auth_settings WHERE name = 'jwt_secret'"));
      if (rows.empty()) return Error::Internal("the JWT signing key could not be stored");
      secret_ = rows[0].Text(0);
    } else {
      if (o_.jwt_secret.size() < 32) {
        return Error::Field("auth.jwt_secret", "configuration key \"auth.jwt_secret\" must be at least 32 characters");
      }
      secret_ = o_.jwt_secret;
    }
    // Built-in roles follow the code (the permission catalogue grows with the modules).
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      int64_t now = clock_->NowMs();
      for (const auto& r : Builtins()) {
        C19_TRY(tx.Exec("INSERT INTO auth_roles (name, description, builtin, created_at, updated_at) VALUES "
                        "(?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET description = excluded.description, "
                        "builtin = 1",
                        {r.name, r.description, now, now}));
        C19_TRY(tx.Exec("DELETE FROM auth_role_permissions WHERE role = ?", {r.name}));
        for (const auto& p : r.permissions) {
          C19_TRY(tx.Exec("INSERT INTO auth_role_permissions (role, permission) VALUES (?, ?)", {r.name, p}));
        }
      }
      return OkStatus();
    }));
    C19_ASSIGN_OR_RETURN(dummy_hash_, crypto::HashPassword(crypto::RandomToken(16), Argon2()));
    return OkStatus();
  }

  crypto::Argon2Params Argon2() const { return {o_.argon2_memory_bytes, o_.argon2_iterations}; }

  // ---------------------------------------------------------------- users

  Status CheckPassword(std::string_view password, std::string_view username, std::string_view email,
                       std::string_view field = "password") {
    const auto& p = o_.policy;
    if (static_cast<int>(password.size()) < p.min_length) {
      return Error::Field(field, "password must be at least " + std::to_string(p.min_length) + " characters");
    }
    if (static_cast<int>(password.size()) > p.max_length) {
      return Error::Field(field, "password must be at most " + std::to_string(p.max_length) + " characters");
    }
    if (p.reject_user_info) {
      std::string lp = ToLower(password);
      std::string le = ToLower(email);
      if (lp == ToLower(username) || lp == le || (!le.empty() && lp == le.substr(0, le.find('@')))) {
        return Error::Field(field, "password must not be the user name or email address");
      }
    }
    if (p.reject_common && CommonPasswords().contains(ToLower(password))) {
      return Error::Field(field, "password is too common; choose another");
    }
    return OkStatus();
  }

  Status ValidateNewUser(const NewUser& u) {
    if (!ValidUsername(u.username)) {
      return Error::Field("username",
                          "username must be 3-64 characters of letters, digits, '.', '_' or '-', starting with a "
                          "letter or digit");
    }
    if (!ValidEmail(u.email)) return Error::Field("email", "email must be an address like name@example.com");
    if (!ValidDisplayName(u.display_name)) {
      return Error::Field("display_name", "display_name must be at most 128 characters without control characters");
    }
    return CheckPassword(u.password, u.username, u.email);
  }

  Status CheckRolesExist(db::Executor& ex, const std::vector<std::string>& roles) {
    for (const auto& r : roles) {
      C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT 1 FROM auth_roles WHERE name = ?", {r}));
      if (rows.empty()) return Error::Field("roles", "role \"" + r.substr(0, 64) + "\" does not exist");
    }
    return OkStatus();
  }

  Result<User> Insert(const NewUser& in) {
    C19_TRY(ValidateNewUser(in));
    std::vector<std::string> roles = in.roles.empty() ? std::vector<std::string>{"viewer"} : in.roles;
    C19_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(in.password, Argon2()));
    std::string id = NewId();
    int64_t now = clock_->NowMs();
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(CheckRolesExist(tx, roles));
      // Checked first: on PostgreSQL a failed INSERT would abort the transaction.
      C19_ASSIGN_OR_RETURN(auto taken, tx.Query("SELECT username_lower = ? FROM auth_users WHERE username_lower = ? "
                                                "OR email_lower = ?",
                                                {ToLower(in.username), ToLower(in.username), ToLower(in.email)}));
      if (!taken.empty()) {
        if (taken[0].Bool(0)) {
          return Error{ErrorCode::kAlreadyExists, "username \"" + in.username + "\" is taken", R"({"field":"username"})"};
        }
        return Error{ErrorCode::kAlreadyExists, "email address is already registered", R"({"field":"email"})"};
      }
      auto ins = tx.Exec("INSERT INTO auth_users (id, username, username_lower, email, email_lower, display_name, "
                         "password_hash, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                         {id, in.username, ToLower(in.username), in.email, ToLower(in.email), in.display_name, hash,
                          now, now});
      if (!ins.ok() && ins.error().code == ErrorCode::kAlreadyExists) {  // lost a race with another request
        return Error::AlreadyExists("username or email address is already registered");
      }
      C19_TRY(ins);
      for (const auto& r : roles) {
        C19_TRY(tx.Exec("INSERT INTO auth_user_roles (user_id, role) VALUES (?, ?)", {id, r}));
      }
      return OkStatus();
    });
    C19_TRY(st);
    return GetUser(id);
  }

  Result<User> Register(const NewUser& user) override {
    if (!o_.allow_registration) {
      return Error::FailedPrecondition("self-registration is turned off on this server; ask an administrator");
    }
    NewUser u = user;
    u.roles = {"viewer"};
    return Insert(u);
  }

  Result<User> CreateUser(const NewUser& user) override { return Insert(user); }

  Result<User> LoadUser(std::string_view where, const db::Params& params) {
    C19_ASSIGN_OR_RETURN(auto rows,
                         db_.Query("SELECT id, username, email, display_name, is_active, totp_secret, created_at, "
                                   "updated_at, last_login_at FROM auth_users WHERE " + std::string(where),
                                   params));
    if (rows.empty()) return Error::NotFound("user not found");
    const auto& r = rows[0];
    User u;
    u.id = r.Text(0);
    u.username = r.Text(1);
    u.email = r.Text(2);
    u.display_name = r.Text(3);
    u.is_active = r.Bool(4);
    u.totp_enabled = !r.IsNull(5);
    u.created_at_ms = r.Int(6);
    u.updated_at_ms = r.Int(7);
    u.last_login_ms = r.OptInt(8);
    C19_TRY(LoadRoles(u.id, u.roles, u.permissions));
    return u;
  }

  Status LoadRoles(const std::string& user_id, std::vector<std::string>& roles, std::vector<std::string>& perms) {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT ur.role, rp.permission FROM auth_user_roles ur LEFT JOIN "
                                              "auth_role_permissions rp ON rp.role = ur.role WHERE ur.user_id = ?",
                                              {user_id}));
    std::set<std::string> rs, ps;
    for (const auto& r : rows) {
      rs.insert(r.Text(0));
      if (!r.IsNull(1)) ps.insert(r.Text(1));
    }
    roles.assign(rs.begin(), rs.end());
    perms.assign(ps.begin(), ps.end());
    return OkStatus();
  }

  Result<User> GetUser(const std::string& id) override { return LoadUser("id = ?", {id}); }
  Result<User> FindUser(const std::string& username) override {
    return LoadUser("username_lower = ?", {ToLower(username)});
  }

  Result<std::vector<User>> ListUsers(const ListQuery& q) override {
    db::Select s("SELECT id FROM auth_users");
    if (!q.search.empty()) {
      std::string like = "%" + ToLower(q.search) + "%";
      s.Where("username_lower LIKE ? OR email_lower LIKE ? OR LOWER(display_name) LIKE ?", {like, like, like});
    }
    s.OrderBy("username_lower").Limit(q.limit).Offset(q.offset);
    C19_ASSIGN_OR_RETURN(auto rows, s.Run(db_));
    std::vector<User> out;
    for (const auto& r : rows) {
      C19_ASSIGN_OR_RETURN(User u, GetUser(r.Text(0)));
      out.push_back(std::move(u));
    }
    return out;
  }

  int64_t CountUsers() override {
    auto rows = db_.Query("SELECT COUNT(*) FROM auth_users");
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  // failed_precondition when the change would leave no active admin.
  Status KeepAnAdmin(db::Executor& ex, const std::string& user_id) {
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT COUNT(*) FROM auth_user_roles ur JOIN auth_users u ON u.id = "
                                             "ur.user_id WHERE ur.role = 'admin' AND u.is_active = 1 AND u.id <> ?",
                                             {user_id}));
    if (rows[0].Int(0) == 0) {
      return Error::FailedPrecondition("this would leave no active administrator");
    }
    return OkStatus();
  }

  bool IsAdmin(const User& u) { return std::find(u.roles.begin(), u.roles.end(), "admin") != u.roles.end(); }

  Result<User> UpdateUser(const std::string& id, const UserPatch& patch) override {
    C19_ASSIGN_OR_RETURN(User before, GetUser(id));
    if (patch.email && !ValidEmail(*patch.email)) {
      return Error::Field("email", "email must be an address like name@example.com");
    }
    if (patch.display_name && !ValidDisplayName(*patch.display_name)) {
      return Error::Field("display_name", "display_name must be at most 128 characters without control characters");
    }
    bool deactivating = patch.is_active && !*patch.is_active && before.is_active;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      if (deactivating && IsAdmin(before)) C19_TRY(KeepAnAdmin(tx, id));
      int64_t now = clock_->NowMs();
      if (patch.email) {
        C19_ASSIGN_OR_RETURN(auto taken, tx.Query("SELECT 1 FROM auth_users WHERE email_lower = ? AND id <> ?",
                                                  {ToLower(*patch.email), id}));
        if (!taken.empty()) {
          return Error{ErrorCode::kAlreadyExists, "email address is already registered", R"({"field":"email"})"};
        }
        auto r = tx.Exec("UPDATE auth_users SET email = ?, email_lower = ?, updated_at = ? WHERE id = ?",
                         {*patch.email, ToLower(*patch.email), now, id});
        if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) {
          return Error{ErrorCode::kAlreadyExists, "email address is already registered", R"({"field":"email"})"};
        }
        C19_TRY(r);
      }
      if (patch.display_name) {
        C19_TRY(tx.Exec("UPDATE auth_users SET display_name = ?, updated_at = ? WHERE id = ?",
                        {*patch.display_name, now, id}));
      }
      if (patch.is_active) {
        C19_TRY(tx.Exec("UPDATE auth_users SET is_active = ?, updated_at = ? WHERE id = ?", {*patch.is_active, now, id}));
      }
      if (deactivating) C19_TRY(RevokeAll(tx, id, "user deactivated"));
      return OkStatus();
    });
    C19_TRY(st);
    ForgetUser(id);
    if (deactivating) {
      bus_.Publish({.type = std::string(events::kUserDeactivated), .room = events::UserRoom(id),
                    .data = DumpJson(Json{{"user_id", id}, {"username", before.username}})});
    }
    return GetUser(id);
  }

  Status DeleteUser(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(User u, GetUser(id));
    std::vector<std::string> keys = KeyIds(id);
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      if (IsAdmin(u)) C19_TRY(KeepAnAdmin(tx, id));
      C19_TRY(tx.Exec("DELETE FROM auth_users WHERE id = ?", {id}));
      return OkStatus();
    });
    C19_TRY(st);
    ForgetUser(id);
    for (const auto& k : keys) cache_.Delete(kNs, "k:" + k);
    bus_.Publish({.type = std::string(events::kUserDeactivated), .room = events::UserRoom(id),
                  .data = DumpJson(Json{{"user_id", id}, {"username", u.username}, {"deleted", true}})});
    return OkStatus();
  }

  Result<User> SetRoles(const std::string& id, const std::vector<std::string>& roles) override {
    C19_ASSIGN_OR_RETURN(User before, GetUser(id));
    std::set<std::string> unique(roles.begin(), roles.end());
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(CheckRolesExist(tx, roles));
      if (IsAdmin(before) && !unique.contains("admin")) C19_TRY(KeepAnAdmin(tx, id));
      C19_TRY(tx.Exec("DELETE FROM auth_user_roles WHERE user_id = ?", {id}));
      for (const auto& r : unique) {
        C19_TRY(tx.Exec("INSERT INTO auth_user_roles (user_id, role) VALUES (?, ?)", {id, r}));
      }
      C19_TRY(tx.Exec("UPDATE auth_users SET updated_at = ? WHERE id = ?", {clock_->NowMs(), id}));
      return OkStatus();
    });
    C19_TRY(st);
    ForgetUser(id);
    for (const auto& k : KeyIds(id)) cache_.Delete(kNs, "k:" + k);
    return GetUser(id);
  }

  Status SetPasswordHash(const std::string& user_id, const std::string& next, const std::string& reason) {
    C19_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(next, Argon2()));
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(tx.Exec("UPDATE auth_users SET password_hash = ?, updated_at = ? WHERE id = ?",
                      {hash, clock_->NowMs(), user_id}));
      return RevokeAll(tx, user_id, reason);
    }));
    ForgetUser(user_id);
    return OkStatus();
  }

  Status ChangePassword(const std::string& user_id, const std::string& current, const std::string& next) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT password_hash, username, email FROM auth_users WHERE id = ?",
                                              {user_id}));
    if (rows.empty()) return Error::NotFound("user not found");
    if (!crypto::VerifyPassword(current, rows[0].Text(0))) {
      return Error{ErrorCode::kInvalidArgument, "current_password is wrong", R"({"field":"current_password"})"};
    }
    C19_TRY(CheckPassword(next, rows[0].Text(1), rows[0].Text(2), "new_password"));
    if (next == current) return Error::Field("new_password", "new_password must differ from the current one");
    return SetPasswordHash(user_id, next, "password changed");
  }

  Status ResetPassword(const std::string& user_id, const std::string& next) override {
    C19_ASSIGN_OR_RETURN(User u, GetUser(user_id));
    C19_TRY(CheckPassword(next, u.username, u.email));
    return SetPasswordHash(user_id, next, "password reset by an administrator");
  }

  // ---------------------------------------------------------------- sessions

  Status RevokeAll(db::Executor& ex, const std::string& user_id, const std::string& reason) {
    C19_TRY(ex.Exec("UPDATE auth_sessions SET revoked_at = ?, revoke_reason = ? WHERE user_id = ? AND revoked_at IS "
                    "NULL",
                    {clock_->NowMs(), reason, user_id}));
    return OkStatus();
  }

  void ForgetUser(const std::string& user_id) {
    cache_.DeletePrefix(kNs, "s:" + user_id + ":");
    cache_.Delete(kNs, "p:" + user_id);
  }

  std::vector<std::string> KeyIds(const std::string& user_id) {
    std::vector<std::string> out;
    auto rows = db_.Query("SELECT id FROM auth_api_keys WHERE user_id = ?", {user_id});
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.Text(0));
    }
    return out;
  }

  std::string AccessToken(const std::string& user_id, const std::string& session_id, int64_t now) {
    Json claims = {{"iss", o_.issuer},          {"aud", o_.audience},
                   {"sub", user_id},            {"sid", session_id},
                   {"iat", now / 1000},         {"exp", (now + o_.access_ttl_ms) / 1000},
                   {"jti", crypto::RandomToken(9)}};
    return crypto::SignJwt(claims.dump(), secret_);
  }

  Result<TokenPair> NewSession(db::Executor& ex, const std::string& user_id, const LoginRequest& req) {
    int64_t now = clock_->NowMs();
    TokenPair pair;
    pair.session_id = NewId();
    pair.refresh_token = crypto::RandomToken(32);
    C19_TRY(ex.Exec("INSERT INTO auth_sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, "
                    "client_address) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    {pair.session_id, user_id, now, now, now + o_.refresh_ttl_ms, req.user_agent.substr(0, 256),
                     req.client_address}));
    C19_TRY(ex.Exec("INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?, ?, "
                    "?, ?)",
                    {crypto::Sha256Hex(pair.refresh_token), pair.session_id, now, now + o_.refresh_ttl_ms}));
    pair.access_token = AccessToken(user_id, pair.session_id, now);
    pair.expires_in_s = o_.access_ttl_ms / 1000;
    return pair;
  }

  // Consecutive failures per throttle key; a long quiet period starts the count again.
  Status RecordFailure(const std::string& key) {
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      int64_t now = clock_->NowMs();
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT failures, last_failure_at FROM auth_login_failures WHERE "
                                               "throttle_key = ?",
                                               {key}));
      int64_t failures = 1;
      if (!rows.empty() && now - rows[0].Int(1) < 3'600'000) failures = rows[0].Int(0) + 1;
      int64_t locked_until = 0;
      if (failures >= o_.login_max_failures) {
        int64_t shift = std::min<int64_t>(failures - o_.login_max_failures, 20);
        locked_until = now + std::min(o_.lockout_max_ms, o_.lockout_base_ms << shift);
      }
      C19_TRY(tx.Exec("INSERT INTO auth_login_failures (throttle_key, failures, last_failure_at, locked_until) VALUES "
                      "(?, ?, ?, ?) ON CONFLICT (throttle_key) DO UPDATE SET failures = excluded.failures, "
                      "last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
                      {key, failures, now, locked_until}));
      return OkStatus();
    });
  }

  Result<TokenPair> Login(const LoginRequest& req) override {
    int64_t now = clock_->NowMs();
    std::string account_key = "user:" + ToLower(req.username).substr(0, 256);
    std::string address_key = "addr:" + req.client_address;
    C19_ASSIGN_OR_RETURN(auto locks, db_.Query("SELECT MAX(locked_until) FROM auth_login_failures WHERE "
                                               "throttle_key IN (?, ?)",
                                               {account_key, address_key}));
    int64_t locked_until = locks.empty() ? 0 : locks[0].Int(0);
    if (locked_until > now) {
      int64_t retry = (locked_until - now + 999) / 1000;
      return Error{ErrorCode::kResourceExhausted,
                   "too many failed sign-in attempts; try again in " + std::to_string(retry) + " s",
                   "{\"retry_after_s\":" + std::to_string(retry) + "}"};
    }
    auto invalid = [&]() -> Error {
      (void)RecordFailure(account_key);
      (void)RecordFailure(address_key);
      return Error::Unauthenticated("invalid username or password");
    };
    std::string lower = ToLower(req.username);
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT id, password_hash, is_active, totp_secret, totp_last_step FROM "
                                              "auth_users WHERE username_lower = ? OR email_lower = ?",
                                              {lower, lower}));
    if (rows.empty()) {
      crypto::VerifyPassword(req.password, dummy_hash_);  // same work as for a real account
      return invalid();
    }
    const auto& u = rows[0];
    std::string user_id = u.Text(0);
    std::string hash = u.Text(1);
    if (!crypto::VerifyPassword(req.password, hash) || !u.Bool(2)) return invalid();
    if (auto secret = u.OptText(3)) {
      if (!req.totp_code || req.totp_code->empty()) {
        return Error{ErrorCode::kUnauthenticated, "a TOTP code is required for this account",
                     R"({"totp_required":true})"};
      }
      auto st = ConsumeTotp(user_id, *secret, *req.totp_code);
      if (!st.ok()) {
        (void)RecordFailure(account_key);
        (void)RecordFailure(address_key);
        return st.error();
      }
    }
    C19_TRY(db_.Exec("DELETE FROM auth_login_failures WHERE throttle_key IN (?, ?)", {account_key, address_key}));
    if (crypto::NeedsRehash(hash, Argon2())) {
      if (auto rehashed = crypto::HashPassword(req.password, Argon2()); rehashed.ok()) {
        (void)db_.Exec("UPDATE auth_users SET password_hash = ? WHERE id = ?", {*rehashed, user_id});
      }
    }
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Result<TokenPair> {
      C19_TRY(tx.Exec("UPDATE auth_users SET last_login_at = ? WHERE id = ?", {now, user_id}));
      return NewSession(tx, user_id, req);
    });
  }

  Result<TokenPair> Refresh(const std::string& token) override {
    std::string hash = crypto::Sha256Hex(token);
    std::string reused_session;
    auto result = db::InTransaction(db_, [&](db::Transaction& tx) -> Result<TokenPair> {
      reused_session.clear();
      int64_t now = clock_->NowMs();
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT rt.session_id, rt.used_at, rt.expires_at, s.user_id, "
                                               "s.revoked_at, s.expires_at, u.is_active FROM auth_refresh_tokens rt "
                                               "JOIN auth_sessions s ON s.id = rt.session_id JOIN auth_users u ON "
                                               "u.id = s.user_id WHERE rt.token_hash = ?",
                                               {hash}));
      if (rows.empty()) return Error::Unauthenticated("invalid refresh token");
      const auto& r = rows[0];
      std::string sid = r.Text(0), user_id = r.Text(3);
      if (!r.IsNull(4)) return Error::Unauthenticated("the session of this refresh token was revoked");
      if (!r.IsNull(1)) {
        reused_session = sid;
        return Error::Unauthenticated("refresh token reuse detected: the session was revoked");
      }
      if (r.Int(2) <= now || r.Int(5) <= now) return Error::Unauthenticated("the refresh token expired");
      if (!r.Bool(6)) return Error::Unauthenticated("the account is deactivated");
      C19_ASSIGN_OR_RETURN(int64_t claimed, tx.Exec("UPDATE auth_refresh_tokens SET used_at = ? WHERE token_hash = ? "
                                                    "AND used_at IS NULL",
                                                    {now, hash}));
      if (claimed != 1) {  // a concurrent refresh won: this one is a reuse
        reused_session = sid;
        return Error::Unauthenticated("refresh token reuse detected: the session was revoked");
      }
      TokenPair pair;
      pair.session_id = sid;
      pair.refresh_token = crypto::RandomToken(32);
      C19_TRY(tx.Exec("INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?, "
                      "?, ?, ?)",
                      {crypto::Sha256Hex(pair.refresh_token), sid, now, r.Int(5)}));
      C19_TRY(tx.Exec("UPDATE auth_sessions SET last_used_at = ? WHERE id = ?", {now, sid}));
      pair.access_token = AccessToken(user_id, sid, now);
      pair.expires_in_s = o_.access_ttl_ms / 1000;
      return pair;
    });
    if (!reused_session.empty()) {
      // Outside the failed transaction: the revocation must stick.
      auto owner = db_.Query("SELECT user_id FROM auth_sessions WHERE id = ?", {reused_session});
      (void)db_.Exec("UPDATE auth_sessions SET revoked_at = ?, revoke_reason = 'refresh token reuse' WHERE id = ? AND "
                     "revoked_at IS NULL",
                     {clock_->NowMs(), reused_session});
      if (owner.ok() && !owner->empty()) cache_.Delete(kNs, "s:" + (*owner)[0].Text(0) + ":" + reused_session);
      log::Warn("refresh token reuse; session revoked", {{"session_id", reused_session}});
    }
    return result;
  }

  Status RevokeSession(const std::string& user_id, const std::string& session_id, const std::string& reason) override {
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE auth_sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? "
                                             "AND user_id = ? AND revoked_at IS NULL",
                                             {clock_->NowMs(), reason, session_id, user_id}));
    if (n == 0) return Error::NotFound("session not found");
    cache_.Delete(kNs, "s:" + user_id + ":" + session_id);
    return OkStatus();
  }

  Result<std::vector<SessionInfo>> ListSessions(const std::string& user_id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT id, created_at, last_used_at, expires_at, user_agent, "
                                              "client_address FROM auth_sessions WHERE user_id = ? AND revoked_at IS "
                                              "NULL AND expires_at > ? ORDER BY last_used_at DESC",
                                              {user_id, clock_->NowMs()}));
    std::vector<SessionInfo> out;
    for (const auto& r : rows) {
      out.push_back({r.Text(0), r.Int(1), r.Int(2), r.Int(3), r.Text(4), r.Text(5), false});
    }
    return out;
  }

  // ---------------------------------------------------------------- request authentication

  struct TokenClaims {
    std::string user_id, session_id;
    int64_t expires_at_ms = 0;
  };

  // Parses and checks the claims.
  Result<TokenClaims> Claims(std::string_view token) {
    C19_ASSIGN_OR_RETURN(std::string payload, crypto::VerifyJwt(token, secret_));
    Json c = Json::parse(payload, nullptr, false);
    auto bad = [](const char* why) { return Error::Unauthenticated(std::string("invalid access token: ") + why); };
    if (!c.is_object()) return bad("malformed payload");
    int64_t now_s = clock_->NowMs() / 1000;
    auto str = [&](const char* k) { return c.contains(k) && c[k].is_string() ? c[k].get<std::string>() : ""; };
    if (str("iss") != o_.issuer) return bad("wrong issuer");
    if (str("aud") != o_.audience) return bad("wrong audience");
    if (!c.contains("exp") || !c["exp"].is_number_integer()) return bad("no expiry");
    if (c["exp"].get<int64_t>() <= now_s) return Error::Unauthenticated("access token expired");
    if (!c.contains("iat") || !c["iat"].is_number_integer() || c["iat"].get<int64_t>() > now_s + 60) {
      return bad("issued in the future");
    }
    std::string sub = str("sub"), sid = str("sid");
    if (sub.empty() || sid.empty()) return bad("no subject");
    return TokenClaims{sub, sid, c["exp"].get<int64_t>() * 1000};
  }

  std::optional<Result<Principal>> FromSessionCache(const std::string& user_id, const std::string& sid) {
    auto cached = cache_.Get(kNs, "s:" + user_id + ":" + sid);
    if (!cached) return std::nullopt;
    if (*cached == "x") return Result<Principal>(Error::Unauthenticated("the session is no longer valid"));
    Principal p;
    std::string extra;
    if (!DecodePrincipal(*cached, extra, p)) return std::nullopt;
    p.session_id = sid;
    return Result<Principal>(std::move(p));
  }

  std::optional<Result<Principal>> VerifyAccessTokenCached(std::string_view token) override {
    auto claims = Claims(token);
    if (!claims.ok()) return Result<Principal>(std::move(claims).error());
    auto cached = FromSessionCache(claims->user_id, claims->session_id);
    if (cached && cached->ok()) (*cached)->expires_at_ms = claims->expires_at_ms;
    return cached;
  }

  Result<Principal> VerifyAccessToken(std::string_view token) override {
    C19_ASSIGN_OR_RETURN(auto claims, Claims(token));
    const std::string& user_id = claims.user_id;
    const std::string& sid = claims.session_id;
    if (auto cached = FromSessionCache(user_id, sid)) {
      if (cached->ok()) (*cached)->expires_at_ms = claims.expires_at_ms;
      return std::move(*cached);
    }
    std::string key = "s:" + user_id + ":" + sid;
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT s.revoked_at, s.expires_at, u.username, u.is_active FROM "
                                              "auth_sessions s JOIN auth_users u ON u.id = s.user_id WHERE s.id = ? "
                                              "AND s.user_id = ?",
                                              {sid, user_id}));
    if (rows.empty() || !rows[0].IsNull(0) || rows[0].Int(1) <= clock_->NowMs() || !rows[0].Bool(3)) {
      cache_.Set(kNs, key, "x", o_.principal_cache_ttl_ms);
      return Error::Unauthenticated("the session is no longer valid");
    }
    Principal p;
    p.user_id = user_id;
    p.username = rows[0].Text(2);
    p.session_id = sid;
    C19_TRY(LoadRoles(user_id, p.roles, p.permissions));
    cache_.Set(kNs, key, EncodePrincipal(p), o_.principal_cache_ttl_ms);
    p.expires_at_ms = claims.expires_at_ms;
    return p;
  }

  static bool SplitApiKey(std::string_view key, std::string& id, std::string& secret) {
    if (!key.starts_with(kApiKeyPrefix)) return false;
    key.remove_prefix(kApiKeyPrefix.size());
    size_t dot = key.find('.');
    if (dot == std::string_view::npos || dot != 36) return false;
    id = key.substr(0, dot);
    secret = key.substr(dot + 1);
    return LooksLikeId(id) && !secret.empty() && secret.size() < 128;
  }

  std::optional<Result<Principal>> FromKeyCache(const std::string& id, const std::string& secret) {
    auto cached = cache_.Get(kNs, "k:" + id);
    if (!cached) return std::nullopt;
    if (*cached == "x") return Result<Principal>(Error::Unauthenticated("invalid API key"));
    Principal p;
    std::string hash;
    if (!DecodePrincipal(*cached, hash, p)) return std::nullopt;
    if (!ConstantTimeEquals(hash, crypto::Sha256Hex(secret))) {
      return Result<Principal>(Error::Unauthenticated("invalid API key"));
    }
    p.api_key_id = id;
    return Result<Principal>(std::move(p));
  }

  std::optional<Result<Principal>> VerifyApiKeyCached(std::string_view key) override {
    std::string id, secret;
    if (!SplitApiKey(key, id, secret)) return Result<Principal>(Error::Unauthenticated("invalid API key"));
    return FromKeyCache(id, secret);
  }

  Result<Principal> VerifyApiKey(std::string_view key) override {
    std::string id, secret;
    if (!SplitApiKey(key, id, secret)) return Error::Unauthenticated("invalid API key");
    if (auto cached = FromKeyCache(id, secret)) return std::move(*cached);
    int64_t now = clock_->NowMs();
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT k.secret_hash, k.scopes, k.expires_at, k.user_id, u.username, "
                                              "u.is_active FROM auth_api_keys k JOIN auth_users u ON u.id = k.user_id "
                                              "WHERE k.id = ?",
                                              {id}));
    if (rows.empty() || (!rows[0].IsNull(2) && rows[0].Int(2) <= now) || !rows[0].Bool(5)) {
      cache_.Set(kNs, "k:" + id, "x", o_.principal_cache_ttl_ms);
      return Error::Unauthenticated("invalid API key");
    }
    Principal p;
    p.user_id = rows[0].Text(3);
    p.username = rows[0].Text(4);
    std::vector<std::string> user_perms;
    C19_TRY(LoadRoles(p.user_id, p.roles, user_perms));
    // A key can do what its scopes say, and never more than its owner can do now.
    auto scopes = SplitCsv(rows[0].Text(1));
    std::sort(scopes.begin(), scopes.end());
    std::set_intersection(scopes.begin(), scopes.end(), user_perms.begin(), user_perms.end(),
                          std::back_inserter(p.permissions));
    std::string hash = rows[0].Text(0);
    cache_.Set(kNs, "k:" + id, EncodePrincipal(p, hash), o_.principal_cache_ttl_ms);
    (void)db_.Exec("UPDATE auth_api_keys SET last_used_at = ? WHERE id = ?", {now, id});
    if (!ConstantTimeEquals(hash, crypto::Sha256Hex(secret))) return Error::Unauthenticated("invalid API key");
    p.api_key_id = id;
    return p;
  }

  // ---------------------------------------------------------------- TOTP

  // Accepts a code of the current step or one step either side, once: a step at or before the last
  // one used is a replay.
  Status ConsumeTotp(const std::string& user_id, const std::string& secret_b32, const std::string& code) {
    auto secret = crypto::Base32Decode(secret_b32);
    if (!secret) return Error::Internal("stored TOTP secret is malformed");
    std::string c(Trim(code));
    if (c.size() != 6 || c.find_first_not_of("0123456789") != std::string::npos) {
      return Error::Unauthenticated("invalid TOTP code");
    }
    int64_t step = clock_->NowMs() / 1000 / 30;
    for (int64_t s = step - 1; s <= step + 1; ++s) {
      if (ConstantTimeEquals(crypto::TotpCode(*secret, s), c)) {
        C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE auth_users SET totp_last_step = ? WHERE id = ? AND "
                                                 "totp_last_step < ?",
                                                 {s, user_id, s}));
        if (n == 0) return Error::Unauthenticated("this TOTP code was already used; wait for the next one");
        return OkStatus();
      }
    }
    return Error::Unauthenticated("invalid TOTP code");
  }

  Result<TotpSetup> SetupTotp(const std::string& user_id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT username, totp_secret FROM auth_users WHERE id = ?", {user_id}));
    if (rows.empty()) return Error::NotFound("user not found");
    if (!rows[0].IsNull(1)) {
      return Error::FailedPrecondition("two-factor authentication is already enabled; disable it first");
    }
    std::string secret = crypto::Base32Encode(crypto::RandomBytes(20));
    C19_TRY(db_.Exec("UPDATE auth_users SET totp_pending_secret = ?, updated_at = ? WHERE id = ?",
                     {secret, clock_->NowMs(), user_id}));
    std::string label = PercentEncode("C19 AI:" + rows[0].Text(0));
    return TotpSetup{secret, "otpauth://totp/" + label + "?secret=" + secret +
                                 "&issuer=C19%20AI&algorithm=SHA1&digits=6&period=30"};
  }

  Status EnableTotp(const std::string& user_id, const std::string& code) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT totp_pending_secret, totp_secret FROM auth_users WHERE id = ?",
                                              {user_id}));
    if (rows.empty()) return Error::NotFound("user not found");
    if (!rows[0].IsNull(1)) return Error::FailedPrecondition("two-factor authentication is already enabled");
    if (rows[0].IsNull(0)) return Error::FailedPrecondition("call /api/v1/auth/totp/setup first");
    Status st = ConsumeTotp(user_id, rows[0].Text(0), code);
    if (!st.ok()) return Error{ErrorCode::kInvalidArgument, st.error().message, R"({"field":"code"})"};
    C19_TRY(db_.Exec("UPDATE auth_users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, "
                     "updated_at = ? WHERE id = ?",
                     {clock_->NowMs(), user_id}));
    cache_.Delete(kNs, "p:" + user_id);
    return OkStatus();
  }

  Status DisableTotp(const std::string& user_id, const std::string& code) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT totp_secret FROM auth_users WHERE id = ?", {user_id}));
    if (rows.empty()) return Error::NotFound("user not found");
    if (rows[0].IsNull(0)) return Error::FailedPrecondition("two-factor authentication is not enabled");
    Status st = ConsumeTotp(user_id, rows[0].Text(0), code);
    if (!st.ok()) return Error{ErrorCode::kInvalidArgument, st.error().message, R"({"field":"code"})"};
    C19_TRY(db_.Exec("UPDATE auth_users SET totp_secret = NULL, updated_at = ? WHERE id = ?", {clock_->NowMs(), user_id}));
    cache_.Delete(kNs, "p:" + user_id);
    return OkStatus();
  }

  // ---------------------------------------------------------------- API keys

  Result<std::pair<ApiKeyInfo, std::string>> CreateApiKey(const Principal& creator, const std::string& name,
                                                          const std::vector<std::string>& scopes,
                                                          std::optional<int64_t> expires_at_ms) override {
    if (!creator.api_key_id.empty()) return Error::PermissionDenied("an API key cannot create API keys");
    if (name.empty() || name.size() > 100 || !ValidDisplayName(name)) {
      return Error::Field("name", "name must be 1-100 characters without control characters");
    }
    if (scopes.empty()) return Error::Field("scopes", "scopes must list at least one permission");
    std::set<std::string> unique;
    for (const auto& s : scopes) {
      if (std::find(Catalogue().begin(), Catalogue().end(), s) == Catalogue().end()) {
        return Error::Field("scopes", "\"" + s.substr(0, 64) + "\" is not a permission");
      }
      if (!creator.Has(s)) return Error{ErrorCode::kPermissionDenied, "you do not have \"" + s + "\" yourself",
                                        R"({"field":"scopes"})"};
      unique.insert(s);
    }
    int64_t now = clock_->NowMs();
    if (expires_at_ms && *expires_at_ms <= now) return Error::Field("expires_at", "expires_at must be in the future");
    ApiKeyInfo info;
    info.id = NewId();
    info.name = name;
    info.user_id = creator.user_id;
    info.scopes.assign(unique.begin(), unique.end());
    info.created_at_ms = now;
    info.expires_at_ms = expires_at_ms;
    std::string secret = crypto::RandomToken(32);
    C19_TRY(db_.Exec("INSERT INTO auth_api_keys (id, user_id, name, secret_hash, scopes, created_at, expires_at) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?)",
                     {info.id, info.user_id, name, crypto::Sha256Hex(secret), JoinCsv(info.scopes), now,
                      expires_at_ms}));
    return std::make_pair(info, std::string(kApiKeyPrefix) + info.id + "." + secret);
  }

  Result<std::vector<ApiKeyInfo>> ListApiKeys(const std::string& user_id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT id, name, scopes, created_at, expires_at, last_used_at FROM "
                                              "auth_api_keys WHERE user_id = ? ORDER BY created_at DESC",
                                              {user_id}));
    std::vector<ApiKeyInfo> out;
    for (const auto& r : rows) {
      out.push_back({r.Text(0), r.Text(1), user_id, SplitCsv(r.Text(2)), r.Int(3), r.OptInt(4), r.OptInt(5)});
    }
    return out;
  }

  Status DeleteApiKey(const Principal& caller, const std::string& id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT user_id FROM auth_api_keys WHERE id = ?", {id}));
    if (rows.empty() || (rows[0].Text(0) != caller.user_id && !caller.Has("users:admin"))) {
      return Error::NotFound("API key not found");
    }
    C19_TRY(db_.Exec("DELETE FROM auth_api_keys WHERE id = ?", {id}));
    cache_.Delete(kNs, "k:" + id);
    return OkStatus();
  }

  // ---------------------------------------------------------------- roles

  Result<Role> GetRole(const std::string& name) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT name, description, builtin, created_at, updated_at FROM "
                                              "auth_roles WHERE name = ?",
                                              {name}));
    if (rows.empty()) return Error::NotFound("role \"" + name.substr(0, 64) + "\" not found");
    Role r{rows[0].Text(0), rows[0].Text(1), {}, rows[0].Bool(2), rows[0].Int(3), rows[0].Int(4)};
    C19_ASSIGN_OR_RETURN(auto perms, db_.Query("SELECT permission FROM auth_role_permissions WHERE role = ? ORDER BY "
                                               "permission",
                                               {name}));
    for (const auto& p : perms) r.permissions.push_back(p.Text(0));
    return r;
  }

  Result<std::vector<Role>> ListRoles() override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT name FROM auth_roles ORDER BY builtin DESC, name"));
    std::vector<Role> out;
    for (const auto& r : rows) {
      C19_ASSIGN_OR_RETURN(Role role, GetRole(r.Text(0)));
      out.push_back(std::move(role));
    }
    return out;
  }

  Status CheckPermissions(const std::vector<std::string>& perms) {
    for (const auto& p : perms) {
      if (std::find(Catalogue().begin(), Catalogue().end(), p) == Catalogue().end()) {
        return Error::Field("permissions", "\"" + p.substr(0, 64) + "\" is not a permission");
      }
    }
    return OkStatus();
  }

  Result<Role> CreateRole(const Role& role) override {
    if (!ValidRoleName(role.name)) {
      return Error::Field("name", "name must be 2-64 characters of lower-case letters, digits, '_' or '-'");
    }
    if (!ValidDisplayName(role.description)) return Error::Field("description", "description is too long");
    C19_TRY(CheckPermissions(role.permissions));
    int64_t now = clock_->NowMs();
    std::set<std::string> perms(role.permissions.begin(), role.permissions.end());
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(auto exists, tx.Query("SELECT 1 FROM auth_roles WHERE name = ?", {role.name}));
      if (!exists.empty()) {
        return Error{ErrorCode::kAlreadyExists, "role \"" + role.name + "\" already exists", R"({"field":"name"})"};
      }
      auto ins = tx.Exec("INSERT INTO auth_roles (name, description, builtin, created_at, updated_at) VALUES (?, ?, 0, "
                         "?, ?)",
                         {role.name, role.description, now, now});
      if (!ins.ok() && ins.error().code == ErrorCode::kAlreadyExists) {
        return Error{ErrorCode::kAlreadyExists, "role \"" + role.name + "\" already exists", R"({"field":"name"})"};
      }
      C19_TRY(ins);
      for (const auto& p : perms) {
        C19_TRY(tx.Exec("INSERT INTO auth_role_permissions (role, permission) VALUES (?, ?)", {role.name, p}));
      }
      return OkStatus();
    }));
    return GetRole(role.name);
  }

  Result<Role> UpdateRole(const std::string& name, std::optional<std::string> description,
                          std::optional<std::vector<std::string>> permissions) override {
    C19_ASSIGN_OR_RETURN(Role existing, GetRole(name));
    if (existing.builtin) return Error::FailedPrecondition("built-in role \"" + name + "\" cannot be changed");
    if (description && !ValidDisplayName(*description)) return Error::Field("description", "description is too long");
    if (permissions) C19_TRY(CheckPermissions(*permissions));
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      int64_t now = clock_->NowMs();
      if (description) {
        C19_TRY(tx.Exec("UPDATE auth_roles SET description = ?, updated_at = ? WHERE name = ?", {*description, now, name}));
      }
      if (permissions) {
        std::set<std::string> perms(permissions->begin(), permissions->end());
        C19_TRY(tx.Exec("DELETE FROM auth_role_permissions WHERE role = ?", {name}));
        for (const auto& p : perms) {
          C19_TRY(tx.Exec("INSERT INTO auth_role_permissions (role, permission) VALUES (?, ?)", {name, p}));
        }
        C19_TRY(tx.Exec("UPDATE auth_roles SET updated_at = ? WHERE name = ?", {now, name}));
      }
      return OkStatus();
    }));
    if (permissions) cache_.DeleteNamespace(kNs);  // every holder's permission set changed
    return GetRole(name);
  }

  Status DeleteRole(const std::string& name) override {
    C19_ASSIGN_OR_RETURN(Role existing, GetRole(name));
    if (existing.builtin) return Error::FailedPrecondition("built-in role \"" + name + "\" cannot be deleted");
    C19_TRY(db_.Exec("DELETE FROM auth_roles WHERE name = ?", {name}));
    cache_.DeleteNamespace(kNs);
    return OkStatus();
  }

  // ---------------------------------------------------------------- audit and profile

  AuditLog& audit() override { return audit_; }
  void FlushAudit() override { audit_.Flush(); }

  Result<std::vector<AuditEntry>> QueryAudit(const AuditQuery& q) override {
    db::Select s("SELECT at, actor_id, actor_name, action, resource, outcome, request_id, client_address, details "
                 "FROM audit_log");
    if (!q.actor.empty()) s.Where("actor_name = ? OR actor_id = ?", {q.actor, q.actor});
    auto match = [&](const char* column, const std::string& v) {
      if (v.empty()) return;
      if (v.back() == '*') {
        s.Where(std::string(column) + " LIKE ?", {v.substr(0, v.size() - 1) + "%"});
      } else {
        s.Where(std::string(column) + " = ?", {v});
      }
    };
    match("action", q.action);
    match("resource", q.resource);
    if (q.since_ms) s.Where("at >= ?", {*q.since_ms});
    if (q.until_ms) s.Where("at < ?", {*q.until_ms});
    s.OrderBy("at DESC, id DESC").Limit(q.limit).Offset(q.offset);
    C19_ASSIGN_OR_RETURN(auto rows, s.Run(db_));
    std::vector<AuditEntry> out;
    for (const auto& r : rows) {
      AuditEntry e;
      e.at_ms = r.Int(0);
      e.actor_id = r.Text(1);
      e.actor_name = r.Text(2);
      e.action = r.Text(3);
      e.resource = r.Text(4);
      e.outcome = r.Text(5);
      e.request_id = r.Text(6);
      e.client_address = r.Text(7);
      e.details = r.Text(8);
      out.push_back(std::move(e));
    }
    return out;
  }

  Status WarmCache() override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT s.id, s.user_id, u.username FROM auth_sessions s JOIN auth_users "
                                              "u ON u.id = s.user_id WHERE s.revoked_at IS NULL AND s.expires_at > ? AND "
                                              "s.last_used_at > ? AND u.is_active = 1 LIMIT 10000",
                                              {clock_->NowMs(), clock_->NowMs() - 3'600'000}));
    for (const auto& r : rows) {
      Principal p;
      p.user_id = r.Text(1);
      p.username = r.Text(2);
      p.session_id = r.Text(0);
      C19_TRY(LoadRoles(p.user_id, p.roles, p.permissions));
      cache_.Set(kNs, "s:" + p.user_id + ":" + p.session_id, EncodePrincipal(p), o_.principal_cache_ttl_ms);
    }
    return OkStatus();
  }

  std::optional<std::string> CachedProfile(const std::string& user_id) override { return cache_.Get(kNs, "p:" + user_id); }
  void CacheProfile(const std::string& user_id, const std::string& json) override {
    cache_.Set(kNs, "p:" + user_id, json, o_.principal_cache_ttl_ms);
  }

 private:
  db::Database& db_;
  cache::Cache& cache_;
  events::EventBus& bus_;
  const Options o_;
  const Clock* clock_;
  DbAuditLog audit_;
  std::string secret_;
  std::string dummy_hash_;
};

}  // namespace

const std::vector<std::string>& AllPermissions() { return Catalogue(); }

Result<std::unique_ptr<AuthService>> AuthService::Create(db::Database& db, cache::Cache& cache, events::EventBus& bus,
                                                         Options options) {
  auto s = std::make_unique<AuthServiceImpl>(db, cache, bus, std::move(options));
  C19_TRY(s->Init());
  return std::unique_ptr<AuthService>(std::move(s));
}

Result<bool> BootstrapAdmin(AuthService& auth, const std::string& username, const std::string& password) {
  if (auth.CountUsers() != 0) return false;
  NewUser u{username, username + "@localhost", password, "Administrator", {"admin"}};
  auto created = auth.CreateUser(u);
  if (!created.ok()) {
    // Another replica may have created it first.
    if (created.error().code == ErrorCode::kAlreadyExists) return false;
    return std::move(created).error().Context("creating the first admin from C19AI_ADMIN_PASSWORD");
  }
  auth.audit().Record({.actor_name = "system", .action = "user.bootstrap_admin", .resource = "user:" + created->id});
  return true;
}

}  // namespace c19ai::auth
