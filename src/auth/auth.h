#pragma once
// Users, roles and permissions, sessions with JWT access tokens and rotating refresh tokens, TOTP,
// API keys, login throttling and the audit log. Thread-safe; every method may block on the database
// except VerifyAccessTokenCached / VerifyApiKeyCached, which answer from the cache or say they cannot.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/audit.h"
#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "db/db.h"

namespace c19ai::cache {
class Cache;
}
namespace c19ai::events {
class EventBus;
}

namespace c19ai::auth {

std::vector<db::MigrationFile> Migrations();

// The permission catalogue and the built-in roles of API.md.
const std::vector<std::string>& AllPermissions();

struct User {
  std::string id, username, email, display_name;
  std::vector<std::string> roles;
  std::vector<std::string> permissions;
  bool is_active = true;
  bool totp_enabled = false;
  int64_t created_at_ms = 0, updated_at_ms = 0;
  std::optional<int64_t> last_login_ms;
};

struct Role {
  std::string name, description;
  std::vector<std::string> permissions;
  bool builtin = false;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

struct SessionInfo {
  std::string id;
  int64_t created_at_ms = 0, last_used_ms = 0, expires_at_ms = 0;
  std::string user_agent, client_address;
  bool current = false;
};

struct ApiKeyInfo {
  std::string id, name, user_id;
  std::vector<std::string> scopes;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms, last_used_ms;
};

struct TokenPair {
  std::string access_token, refresh_token;
  int64_t expires_in_s = 0;
  std::string session_id;
};

struct NewUser {
  std::string username, email, password, display_name;
  std::vector<std::string> roles;  // empty: viewer
};

struct UserPatch {
  std::optional<std::string> email, display_name;
  std::optional<bool> is_active;
};

struct LoginRequest {
  std::string username, password;
  std::optional<std::string> totp_code;
  std::string client_address, user_agent;
};

struct ListQuery {
  int64_t limit = 50;
  int64_t offset = 0;
  std::string search;  // substring of username/email/display name
};

struct AuditQuery {
  std::string actor, action, resource;
  std::optional<int64_t> since_ms, until_ms;
  int64_t limit = 50;
  int64_t offset = 0;
};

struct PasswordPolicy {
  int min_length = 12;
  int max_length = 1024;
  bool reject_common = true;
  bool reject_user_info = true;  // equal to the username or email
};

struct Options {
  bool allow_registration = true;
  PasswordPolicy policy;
  uint64_t argon2_memory_bytes = 64ull << 20;
  uint64_t argon2_iterations = 3;
  std::string jwt_secret;  // empty: generated once and stored in the database
  std::string issuer = "c19ai", audience = "c19ai";
  int64_t access_ttl_ms = 15 * 60'000;
  int64_t refresh_ttl_ms = 30 * 86'400'000LL;
  int64_t principal_cache_ttl_ms = 2000;  // how late a revocation may take effect
  int login_max_failures = 5;
  int64_t lockout_base_ms = 2000;     // doubles with each failure past the limit
  int64_t lockout_max_ms = 15 * 60'000;
  const Clock* clock = &Clock::System();
};

class AuthService {
 public:
  // Loads or creates the signing key and syncs the built-in roles.
  static Result<std::unique_ptr<AuthService>> Create(db::Database& db, cache::Cache& cache, events::EventBus& bus,
                                                     Options options);
  virtual ~AuthService() = default;

  // --- users (already_exists for a taken username/email, case-insensitively; invalid_argument for
  // a bad field or a password the policy refuses, naming the field) ---
  virtual Result<User> Register(const NewUser& user) = 0;  // failed_precondition when turned off
  virtual Result<User> CreateUser(const NewUser& user) = 0;
  virtual Result<User> GetUser(const std::string& id) = 0;
  virtual Result<User> FindUser(const std::string& username) = 0;
  virtual Result<std::vector<User>> ListUsers(const ListQuery& q) = 0;
  // Deactivating revokes every session and emits user.deactivated.
  virtual Result<User> UpdateUser(const std::string& id, const UserPatch& patch) = 0;
  virtual Status DeleteUser(const std::string& id) = 0;
  // failed_precondition when it would leave no active admin.
  virtual Result<User> SetRoles(const std::string& id, const std::vector<std::string>& roles) = 0;
  // Revokes every session of the user.
  virtual Status ChangePassword(const std::string& user_id, const std::string& current, const std::string& next) = 0;
  virtual Status ResetPassword(const std::string& user_id, const std::string& next) = 0;
  virtual int64_t CountUsers() = 0;

  // --- sign-in ---
  // unauthenticated (same message whether or not the user exists), resource_exhausted with
  // retry_after_s in details when throttled.
  virtual Result<TokenPair> Login(const LoginRequest& request) = 0;
  // Rotates the refresh token; a reused token revokes its whole session (unauthenticated).
  virtual Result<TokenPair> Refresh(const std::string& refresh_token) = 0;
  virtual Status RevokeSession(const std::string& user_id, const std::string& session_id, const std::string& reason) = 0;
  virtual Result<std::vector<SessionInfo>> ListSessions(const std::string& user_id) = 0;

  // --- request authentication ---
  // Fast path: nullopt when the answer is not cached (then call the blocking variant).
  virtual std::optional<Result<Principal>> VerifyAccessTokenCached(std::string_view token) = 0;
  virtual Result<Principal> VerifyAccessToken(std::string_view token) = 0;
  virtual std::optional<Result<Principal>> VerifyApiKeyCached(std::string_view key) = 0;
  virtual Result<Principal> VerifyApiKey(std::string_view key) = 0;

  // --- two-factor ---
  struct TotpSetup {
    std::string secret;  // base32
    std::string otpauth_uri;
  };
  virtual Result<TotpSetup> SetupTotp(const std::string& user_id) = 0;
  virtual Status EnableTotp(const std::string& user_id, const std::string& code) = 0;
  virtual Status DisableTotp(const std::string& user_id, const std::string& code) = 0;

  // --- API keys ---
  // scopes must be a subset of the creator's permissions. Returns the key once (it is stored hashed).
  virtual Result<std::pair<ApiKeyInfo, std::string>> CreateApiKey(const Principal& creator, const std::string& name,
                                                                   const std::vector<std::string>& scopes,
                                                                   std::optional<int64_t> expires_at_ms) = 0;
  virtual Result<std::vector<ApiKeyInfo>> ListApiKeys(const std::string& user_id) = 0;
  virtual Status DeleteApiKey(const Principal& caller, const std::string& id) = 0;

  // --- roles ---
  virtual Result<std::vector<Role>> ListRoles() = 0;
  virtual Result<Role> GetRole(const std::string& name) = 0;
  virtual Result<Role> CreateRole(const Role& role) = 0;
  // Built-in roles cannot be changed or deleted (failed_precondition).
  virtual Result<Role> UpdateRole(const std::string& name, std::optional<std::string> description,
                                  std::optional<std::vector<std::string>> permissions) = 0;
  virtual Status DeleteRole(const std::string& name) = 0;

  // --- audit ---
  virtual AuditLog& audit() = 0;
  virtual Result<std::vector<AuditEntry>> QueryAudit(const AuditQuery& q) = 0;
  // Waits until queued audit entries are written (tests, shutdown).
  virtual void FlushAudit() = 0;

  // Loads the principals of sessions used in the last hour into the cache (a start-up warm-up).
  virtual Status WarmCache() = 0;

  // The cached profile JSON for /auth/me, or nullopt.
  virtual std::optional<std::string> CachedProfile(const std::string& user_id) = 0;
  virtual void CacheProfile(const std::string& user_id, const std::string& json) = 0;
};

// Creates the first admin from C19AI_ADMIN_PASSWORD (user name from C19AI_ADMIN_USER, default admin)
// when the user table is empty. Returns true when it created one.
Result<bool> BootstrapAdmin(AuthService& auth, const std::string& username, const std::string& password);

}  // namespace c19ai::auth
