// The auth service on every database backend, with a fake clock for expiry and throttling.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/auth.h"
#include "auth/crypto.h"
#include "cache/cache.h"
#include "common/json.h"
#include "events/events.h"
#include "support/test_env.h"

namespace c19ai::auth {
namespace {

constexpr const char* kPassword = "correct horse battery staple 9";

class AuthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db::Options o;
    if (GetParam() == "sqlite") {
      o.url = "sqlite://" + dir_.path() + "/t.db";
    } else {
      pg_ = std::make_unique<testing::PostgresDatabase>();
      if (pg_->url().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_POSTGRES_URL is not set";
        GTEST_SKIP() << "no PostgreSQL server";
      }
      o.url = pg_->url();
    }
    auto d = db::Open(o);
    ASSERT_TRUE(d.ok()) << d.error().message;
    db_ = std::move(d).value();
    ASSERT_TRUE(db::Migrate(*db_, Migrations()).ok());
    cache::MemoryOptions mo;
    mo.clock = &clock_;
    cache_ = cache::NewMemoryCache(mo);
    bus_ = events::NewInProcessBus();
    events_ = bus_->Subscribe({});
    Reopen();
  }

  void Reopen(Options extra = {}) {
    svc_.reset();
    Options o = extra;
    o.argon2_memory_bytes = 8192;
    o.argon2_iterations = 1;
    o.clock = &clock_;
    auto s = AuthService::Create(*db_, *cache_, *bus_, o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    svc_ = std::move(s).value();
  }

  void TearDown() override {
    events_.reset();
    svc_.reset();
    db_.reset();
  }

  User MakeUser(const std::string& name, std::vector<std::string> roles = {}) {
    auto u = svc_->CreateUser({name, name + "@example.com", kPassword, name, roles});
    EXPECT_TRUE(u.ok()) << (u.ok() ? "" : u.error().message);
    return u.ok() ? *u : User{};
  }

  TokenPair Login(const std::string& name, std::optional<std::string> totp = std::nullopt) {
    auto p = svc_->Login({name, kPassword, totp, "10.0.0.1", "test"});
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    return p.ok() ? *p : TokenPair{};
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresDatabase> pg_;
  std::unique_ptr<db::Database> db_;
  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<cache::Cache> cache_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<events::Subscription> events_;
  std::unique_ptr<AuthService> svc_;
};

TEST_P(AuthTest, RegisteredUsersAreViewersAndNamesAreUniqueIgnoringCase) {
  auto u = svc_->Register({"alice", "Alice@Example.com", kPassword, "Alice", {"admin"}});
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->roles, std::vector<std::string>{"viewer"});  // requested roles are ignored
  EXPECT_EQ(u->permissions, (std::vector<std::string>{"datasets:read", "files:read", "models:read", "training:read"}));
  auto dup = svc_->Register({"ALICE", "other@example.com", kPassword, "", {}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(dup.error().details.find("username"), std::string::npos);
  auto dup_mail = svc_->Register({"alice2", "alice@EXAMPLE.com", kPassword, "", {}});
  EXPECT_EQ(dup_mail.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(AuthTest, RegistrationCanBeTurnedOff) {
  Options o;
  o.allow_registration = false;
  Reopen(o);
  EXPECT_EQ(svc_->Register({"bob", "bob@example.com", kPassword, "", {}}).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST_P(AuthTest, PasswordPolicy) {
  auto check = [&](const std::string& user, const std::string& pw) {
    auto r = svc_->CreateUser({user, user + "@example.com", pw, "", {}});
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(check("user1", "short"), "password must be at least 12 characters");
  EXPECT_EQ(check("user2", "Password1234"), "password is too common; choose another");
  EXPECT_EQ(check("longusername1", "LongUserName1"), "password must not be the user name or email address");
  EXPECT_EQ(check("user4", std::string(2000, 'x')), "password must be at most 1024 characters");
  EXPECT_EQ(check("user5", "a perfectly fine passphrase"), "ok");
}

TEST_P(AuthTest, FieldsAreValidatedAndMetacharactersAreHarmless) {
  EXPECT_EQ(svc_->CreateUser({"x'; DROP TABLE auth_users;--", "a@b.c", kPassword, "", {}}).error().details,
            R"({"field":"username"})");
  EXPECT_EQ(svc_->CreateUser({"ok_name", "not-an-email", kPassword, "", {}}).error().details, R"({"field":"email"})");
  EXPECT_EQ(svc_->CreateUser({std::string(65, 'a'), "a@b.c", kPassword, "", {}}).error().details,
            R"({"field":"username"})");
  EXPECT_EQ(svc_->CreateUser({"ok_name", "a@b.c", kPassword, std::string(10000, 'd'), {}}).error().details,
            R"({"field":"display_name"})");
  EXPECT_EQ(svc_->CreateUser({"ok_name", "a@b.c", kPassword, "", {"no_such_role"}}).error().details,
            R"({"field":"roles"})");
  // Quotes and SQL in free text are stored verbatim.
  auto u = svc_->CreateUser({"quote.user", "o'brien@example.com", kPassword, "Robert'); DROP TABLE x;--", {}});
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(svc_->GetUser(u->id)->display_name, "Robert'); DROP TABLE x;--");
  auto login = svc_->Login({"' OR '1'='1", "' OR '1'='1", std::nullopt, "1.2.3.4", ""});
  EXPECT_EQ(login.error().code, ErrorCode::kUnauthenticated);
  auto found = svc_->ListUsers({50, 0, "%' OR 1=1 --"});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
}

TEST_P(AuthTest, LoginIssuesTokensThatAuthenticate) {
  User u = MakeUser("carol", {"ml_engineer"});
  TokenPair t = Login("carol");
  EXPECT_EQ(t.expires_in_s, 900);
  auto p = svc_->VerifyAccessToken(t.access_token);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->user_id, u.id);
  EXPECT_EQ(p->session_id, t.session_id);
  EXPECT_TRUE(p->Has("models:deploy"));
  EXPECT_FALSE(p->Has("users:admin"));
  // Now it is cached: the io-thread path answers without the database.
  auto cached = svc_->VerifyAccessTokenCached(t.access_token);
  ASSERT_TRUE(cached && cached->ok());
  // Login by email works too.
  EXPECT_TRUE(svc_->Login({"carol@example.com", kPassword, std::nullopt, "", ""}).ok());
}

TEST_P(AuthTest, WrongPasswordAndUnknownUserLookTheSame) {
  MakeUser("dave");
  auto wrong = svc_->Login({"dave", "not the password!!", std::nullopt, "1.1.1.1", ""});
  auto unknown = svc_->Login({"nobody", "not the password!!", std::nullopt, "1.1.1.2", ""});
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.error().code, unknown.error().code);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_P(AuthTest, ExpiredTamperedAndForeignTokensAreRefused) {
  MakeUser("erin");
  TokenPair t = Login("erin");
  clock_.AdvanceMs(15 * 60'000 + 1000);
  auto expired = svc_->VerifyAccessToken(t.access_token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().message, "access token expired");
  clock_.AdvanceMs(-(15 * 60'000 + 1000));
  std::string tampered = t.access_token;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(svc_->VerifyAccessToken(tampered).ok());
  // A token signed with another key (another installation).
  Json claims = {{"iss", "c19ai"}, {"aud", "c19ai"}, {"sub", "x"}, {"sid", "y"},
                 {"iat", clock_.NowMs() / 1000}, {"exp", clock_.NowMs() / 1000 + 60}};
  EXPECT_FALSE(svc_->VerifyAccessToken(crypto::SignJwt(claims.dump(), std::string(48, 'z'))).ok());
  EXPECT_FALSE(svc_->VerifyAccessToken("garbage").ok());
  EXPECT_FALSE(svc_->VerifyAccessToken("").ok());
}

TEST_P(AuthTest, RefreshRotatesAndReuseRevokesTheSession) {
  MakeUser("frank");
  TokenPair t1 = Login("frank");
  auto t2 = svc_->Refresh(t1.refresh_token);
  ASSERT_TRUE(t2.ok()) << t2.error().message;
  EXPECT_NE(t2->refresh_token, t1.refresh_token);
  EXPECT_EQ(t2->session_id, t1.session_id);
  auto reuse = svc_->Refresh(t1.refresh_token);
  ASSERT_FALSE(reuse.ok());
  EXPECT_NE(reuse.error().message.find("reuse"), std::string::npos);
  EXPECT_FALSE(svc_->Refresh(t2->refresh_token).ok());             // the whole session is gone
  EXPECT_FALSE(svc_->VerifyAccessToken(t2->access_token).ok());    // and its access tokens
  EXPECT_FALSE(svc_->Refresh("made-up-token").ok());
}

TEST_P(AuthTest, ConcurrentRefreshesOfOneTokenHaveExactlyOneWinner) {
  MakeUser("grace");
  for (int round = 0; round < 3; ++round) {
    TokenPair t = Login("grace");
    std::atomic<int> wins{0}, losses{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        if (svc_->Refresh(t.refresh_token).ok()) ++wins;
        else ++losses;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(losses.load(), 3);
  }
}

TEST_P(AuthTest, LogoutAndSessionRevocation) {
  User u = MakeUser("heidi");
  TokenPair a = Login("heidi");
  TokenPair b = Login("heidi");
  ASSERT_TRUE(svc_->VerifyAccessToken(a.access_token).ok());  // cached now
  auto sessions = svc_->ListSessions(u.id);
  ASSERT_EQ(sessions->size(), 2u);
  ASSERT_TRUE(svc_->RevokeSession(u.id, a.session_id, "logout").ok());
  EXPECT_FALSE(svc_->VerifyAccessToken(a.access_token).ok());  // cache entry dropped at once
  EXPECT_TRUE(svc_->VerifyAccessToken(b.access_token).ok());
  EXPECT_EQ(svc_->ListSessions(u.id)->size(), 1u);
  EXPECT_EQ(svc_->RevokeSession(u.id, a.session_id, "again").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->RevokeSession("someone-else", b.session_id, "x").error().code, ErrorCode::kNotFound);
}

TEST_P(AuthTest, DeactivationAndPasswordChangeRevokeEverySession) {
  MakeUser("root1", {"admin"});
  User u = MakeUser("ivan");
  TokenPair t = Login("ivan");
  ASSERT_TRUE(svc_->ChangePassword(u.id, kPassword, "an entirely new passphrase").ok());
  EXPECT_FALSE(svc_->VerifyAccessToken(t.access_token).ok());
  EXPECT_FALSE(svc_->Refresh(t.refresh_token).ok());
  EXPECT_EQ(svc_->ChangePassword(u.id, "wrong current pw", "another new passphrase").error().details,
            R"({"field":"current_password"})");

  auto t2 = svc_->Login({"ivan", "an entirely new passphrase", std::nullopt, "", ""});
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE(svc_->UpdateUser(u.id, {.is_active = false}).ok());
  EXPECT_FALSE(svc_->VerifyAccessToken(t2->access_token).ok());
  EXPECT_EQ(svc_->Login({"ivan", "an entirely new passphrase", std::nullopt, "", ""}).error().code,
            ErrorCode::kUnauthenticated);
  bool saw_event = false;
  while (auto e = events_->Next(std::chrono::milliseconds(10))) saw_event |= e->type == events::kUserDeactivated;
  EXPECT_TRUE(saw_event);
}

TEST_P(AuthTest, RevocationOnAnotherReplicaTakesEffectWithinTheCacheTtl) {
  MakeUser("judy");
  TokenPair t = Login("judy");
  ASSERT_TRUE(svc_->VerifyAccessToken(t.access_token).ok());
  // Another replica revokes directly in the shared database; this one still has the session cached.
  ASSERT_TRUE(db_->Exec("UPDATE auth_sessions SET revoked_at = 1 WHERE id = ?", {t.session_id}).ok());
  EXPECT_TRUE(svc_->VerifyAccessToken(t.access_token).ok());
  clock_.AdvanceMs(2001);
  EXPECT_FALSE(svc_->VerifyAccessToken(t.access_token).ok());
}

TEST_P(AuthTest, TokensOfDeletedUsersAreRefused) {
  MakeUser("root1", {"admin"});
  User u = MakeUser("ken");
  TokenPair t = Login("ken");
  ASSERT_TRUE(svc_->VerifyAccessToken(t.access_token).ok());
  ASSERT_TRUE(svc_->DeleteUser(u.id).ok());
  EXPECT_FALSE(svc_->VerifyAccessToken(t.access_token).ok());
  EXPECT_EQ(svc_->GetUser(u.id).error().code, ErrorCode::kNotFound);
}

TEST_P(AuthTest, TheLastAdminCannotBeRemoved) {
  User admin = MakeUser("boss", {"admin"});
  EXPECT_EQ(svc_->SetRoles(admin.id, {"viewer"}).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->UpdateUser(admin.id, {.is_active = false}).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->DeleteUser(admin.id).error().code, ErrorCode::kFailedPrecondition);
  MakeUser("boss2", {"admin"});
  EXPECT_TRUE(svc_->SetRoles(admin.id, {"viewer"}).ok());
}

TEST_P(AuthTest, RoleChangesApplyToPermissionsAtOnce) {
  User u = MakeUser("leo");
  TokenPair t = Login("leo");
  EXPECT_FALSE(svc_->VerifyAccessToken(t.access_token)->Has("models:write"));
  ASSERT_TRUE(svc_->SetRoles(u.id, {"ml_engineer"}).ok());
  EXPECT_TRUE(svc_->VerifyAccessToken(t.access_token)->Has("models:write"));
  ASSERT_TRUE(svc_->CreateRole({"labeler", "labels data", {"datasets:write"}}).ok());
  ASSERT_TRUE(svc_->SetRoles(u.id, {"labeler"}).ok());
  auto p = svc_->VerifyAccessToken(t.access_token);
  EXPECT_EQ(p->permissions, std::vector<std::string>{"datasets:write"});
  ASSERT_TRUE(svc_->UpdateRole("labeler", std::nullopt, std::vector<std::string>{"datasets:read"}).ok());
  EXPECT_EQ(svc_->VerifyAccessToken(t.access_token)->permissions, std::vector<std::string>{"datasets:read"});
  EXPECT_EQ(svc_->UpdateRole("admin", "x", std::nullopt).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->DeleteRole("viewer").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->CreateRole({"bad", "", {"rockets:launch"}}).error().details, R"({"field":"permissions"})");
  EXPECT_EQ(svc_->CreateRole({"labeler", "", {}}).error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(svc_->DeleteRole("labeler").ok());
  EXPECT_TRUE(svc_->VerifyAccessToken(t.access_token)->permissions.empty());
}

TEST_P(AuthTest, TotpRequiresACodeAndCodesCannotBeReplayed) {
  User u = MakeUser("mallory");
  auto setup = svc_->SetupTotp(u.id);
  ASSERT_TRUE(setup.ok());
  EXPECT_TRUE(setup->otpauth_uri.starts_with("otpauth://totp/C19%20AI%3Amallory?secret=" + setup->secret));
  std::string raw = *crypto::Base32Decode(setup->secret);
  int64_t step = clock_.NowMs() / 1000 / 30;
  EXPECT_EQ(svc_->EnableTotp(u.id, "000000").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(svc_->EnableTotp(u.id, crypto::TotpCode(raw, step)).ok());
  EXPECT_TRUE(svc_->GetUser(u.id)->totp_enabled);

  auto no_code = svc_->Login({"mallory", kPassword, std::nullopt, "", ""});
  ASSERT_FALSE(no_code.ok());
  EXPECT_EQ(no_code.error().details, R"({"totp_required":true})");
  // The enabling code cannot be used again in its window.
  auto replay = svc_->Login({"mallory", kPassword, crypto::TotpCode(raw, step), "", ""});
  EXPECT_EQ(replay.error().code, ErrorCode::kUnauthenticated);
  // The next step's code works once (±1 step of drift), then not again.
  EXPECT_TRUE(svc_->Login({"mallory", kPassword, crypto::TotpCode(raw, step + 1), "", ""}).ok());
  EXPECT_FALSE(svc_->Login({"mallory", kPassword, crypto::TotpCode(raw, step + 1), "", ""}).ok());
  clock_.AdvanceMs(60'000);
  EXPECT_TRUE(svc_->Login({"mallory", kPassword, crypto::TotpCode(raw, step + 2), "", ""}).ok());
  EXPECT_FALSE(svc_->Login({"mallory", kPassword, crypto::TotpCode(raw, step - 5), "", ""}).ok());
  clock_.AdvanceMs(30'000);
  ASSERT_TRUE(svc_->DisableTotp(u.id, crypto::TotpCode(raw, step + 3)).ok());
  EXPECT_TRUE(svc_->Login({"mallory", kPassword, std::nullopt, "", ""}).ok());
}

TEST_P(AuthTest, ThrottlesAfterConsecutiveFailuresWithBackoff) {
  MakeUser("nina");
  auto attempt = [&](const std::string& pw, const std::string& addr = "9.9.9.9") {
    return svc_->Login({"nina", pw, std::nullopt, addr, ""});
  };
  for (int i = 0; i < 4; ++i) EXPECT_EQ(attempt("wrong wrong wrong").error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(attempt(kPassword).ok());  // success resets the count
  for (int i = 0; i < 5; ++i) EXPECT_EQ(attempt("wrong wrong wrong").error().code, ErrorCode::kUnauthenticated);
  auto locked = attempt(kPassword);  // even the right password waits
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(locked.error().details, R"({"retry_after_s":2})");
  clock_.AdvanceMs(2001);
  EXPECT_EQ(attempt("wrong wrong wrong").error().code, ErrorCode::kUnauthenticated);  // 6th: 4 s now
  EXPECT_EQ(attempt(kPassword).error().details, R"({"retry_after_s":4})");
  clock_.AdvanceMs(4001);
  EXPECT_TRUE(attempt(kPassword).ok());
}

TEST_P(AuthTest, ThrottlesPerClientAddressAcrossAccounts) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(svc_->Login({"ghost" + std::to_string(i), "pw pw pw pw pw", std::nullopt, "6.6.6.6", ""}).ok());
  }
  MakeUser("olga");
  EXPECT_EQ(svc_->Login({"olga", kPassword, std::nullopt, "6.6.6.6", ""}).error().code,
            ErrorCode::kResourceExhausted);
  EXPECT_TRUE(svc_->Login({"olga", kPassword, std::nullopt, "7.7.7.7", ""}).ok());
}

TEST_P(AuthTest, ApiKeysAreScopedShownOnceAndStoredHashed) {
  User u = MakeUser("pat", {"data_scientist"});
  Principal me = *svc_->VerifyAccessToken(Login("pat").access_token);
  auto created = svc_->CreateApiKey(me, "ci", {"models:read", "datasets:read"}, std::nullopt);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string key = created->second;
  auto p = svc_->VerifyApiKey(key);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->permissions, (std::vector<std::string>{"datasets:read", "models:read"}));
  EXPECT_EQ(p->api_key_id, created->first.id);
  auto rows = db_->Query("SELECT secret_hash FROM auth_api_keys");
  EXPECT_EQ((*rows)[0].Text(0).find(key.substr(key.rfind('.') + 1)), std::string::npos);
  EXPECT_FALSE(svc_->VerifyApiKey(key + "x").ok());
  EXPECT_FALSE(svc_->VerifyApiKey("c19ak.nonsense").ok());
  // Beyond the creator's permissions, or made by a key: refused.
  EXPECT_EQ(svc_->CreateApiKey(me, "x", {"users:admin"}, std::nullopt).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(svc_->CreateApiKey(*p, "x", {"models:read"}, std::nullopt).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(svc_->CreateApiKey(me, "x", {}, std::nullopt).error().details, R"({"field":"scopes"})");
  // Losing a permission takes it from the key too.
  ASSERT_TRUE(svc_->SetRoles(u.id, {"viewer"}).ok());
  EXPECT_EQ(svc_->VerifyApiKey(key)->permissions, (std::vector<std::string>{"datasets:read", "models:read"}));
  ASSERT_TRUE(svc_->SetRoles(u.id, {}).ok());
  EXPECT_TRUE(svc_->VerifyApiKey(key)->permissions.empty());
  // Expiry and deletion.
  auto expiring = svc_->CreateApiKey(me, "short", {"models:read"}, clock_.NowMs() + 1000);
  ASSERT_TRUE(expiring.ok());
  clock_.AdvanceMs(3000);
  EXPECT_FALSE(svc_->VerifyApiKey(expiring->second).ok());
  ASSERT_TRUE(svc_->DeleteApiKey(me, created->first.id).ok());
  EXPECT_FALSE(svc_->VerifyApiKey(key).ok());
}

TEST_P(AuthTest, AuditEntriesAreWrittenAndQueryable) {
  svc_->audit().Record({.actor_id = "u1", .actor_name = "quinn", .action = "model.create", .resource = "model:iris"});
  svc_->audit().Record({.actor_name = "quinn", .action = "model.delete", .resource = "model:iris", .outcome = "denied"});
  svc_->audit().Record({.actor_name = "rita", .action = "user.create", .resource = "user:x"});
  svc_->FlushAudit();
  EXPECT_EQ(svc_->QueryAudit({})->size(), 3u);
  EXPECT_EQ(svc_->QueryAudit({.actor = "quinn"})->size(), 2u);
  EXPECT_EQ(svc_->QueryAudit({.action = "model.*"})->size(), 2u);
  auto denied = svc_->QueryAudit({.action = "model.delete"});
  ASSERT_EQ(denied->size(), 1u);
  EXPECT_EQ((*denied)[0].outcome, "denied");
  EXPECT_EQ(svc_->QueryAudit({.since_ms = clock_.NowMs() + 1})->size(), 0u);
}

TEST_P(AuthTest, SigningKeyIsGeneratedOnceAndShared) {
  MakeUser("sam");
  TokenPair t = Login("sam");
  Reopen();  // a second replica on the same database
  EXPECT_TRUE(svc_->VerifyAccessToken(t.access_token).ok());
}

TEST_P(AuthTest, BootstrapCreatesTheFirstAdminOnlyOnce) {
  auto first = BootstrapAdmin(*svc_, "admin", "Acceptance-admin-2026!");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*BootstrapAdmin(*svc_, "admin", "Acceptance-admin-2026!"));
  EXPECT_EQ(svc_->FindUser("admin")->roles, std::vector<std::string>{"admin"});
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace c19ai::auth
