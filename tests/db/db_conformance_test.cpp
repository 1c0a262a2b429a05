// One suite, every backend: SQLite always; PostgreSQL when CI provides a server.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "db/db.h"
#include "support/test_env.h"

namespace c19ai::db {
namespace {

class DbTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Options o;
    if (GetParam() == "sqlite") {
      o.url = "sqlite://" + dir_.path() + "/t.db";
    } else {
      pg_ = std::make_unique<testing::PostgresDatabase>();
      if (pg_->url().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_POSTGRES_URL is not set";
        GTEST_SKIP() << "no PostgreSQL server (set C19AI_TEST_POSTGRES_URL)";
      }
      o.url = pg_->url();
    }
    o.pool_size = 4;
    o.acquire_timeout_ms = 2000;
    auto db = Open(o);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->ExecScript("CREATE TABLE items (id TEXT PRIMARY KEY, n BIGINT NOT NULL, x DOUBLE PRECISION, "
                                "label TEXT, flag INTEGER NOT NULL DEFAULT 0);"
                                "CREATE TABLE notes (id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), "
                                "body TEXT)")
                    .ok());
  }
  void TearDown() override {
    db_.reset();
    pg_.reset();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresDatabase> pg_;
  std::unique_ptr<Database> db_;
};

TEST_P(DbTest, RoundTripsTypedValues) {
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n, x, label, flag) VALUES (?, ?, ?, ?, ?)",
                        {"a", int64_t{1} << 40, 2.5, "it's \"quoted\" ?", true})
                  .ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n, x, label) VALUES (?, ?, ?, ?)", {"b", -3, nullptr, nullptr}).ok());
  auto rows = db_->Query("SELECT id, n, x, label, flag FROM items ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  const Row& a = (*rows)[0];
  EXPECT_EQ(a.Text("id"), "a");
  EXPECT_EQ(a.Int("n"), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(a.Double("x"), 2.5);
  EXPECT_EQ(a.Text("label"), "it's \"quoted\" ?");
  EXPECT_TRUE(a.Bool("flag"));
  const Row& b = (*rows)[1];
  EXPECT_EQ(b.Int(1), -3);
  EXPECT_TRUE(b.IsNull("x"));
  EXPECT_EQ(b.OptText("label"), std::nullopt);
  EXPECT_FALSE(b.Bool("flag"));
}

TEST_P(DbTest, ValuesAreBoundNeverSpliced) {
  std::string evil = "x'); DROP TABLE items; --";
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n) VALUES (?, ?)", {evil, 1}).ok());
  auto rows = db_->Query("SELECT id FROM items WHERE id = ?", {evil});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), evil);
}

TEST_P(DbTest, UniqueViolationIsAlreadyExists) {
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"a", 1}).ok());
  auto r = db_->Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"a", 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(DbTest, ForeignKeyViolationIsFailedPrecondition) {
  auto r = db_->Exec("INSERT INTO notes (id, item_id) VALUES (?, ?)", {"n1", "missing"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << r.error().message;
}

TEST_P(DbTest, AffectedRowsAndReturning) {
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n) VALUES (?, ?), (?, ?)", {"a", 1, "b", 2}).ok());
  auto n = db_->Exec("UPDATE items SET n = n + 10 WHERE n < ?", {5});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  auto r = db_->Query("UPDATE items SET n = 0 WHERE id = ? RETURNING n", {"a"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].Int(0), 0);
}

TEST_P(DbTest, TransactionRollsBackUnlessCommitted) {
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"gone", 1}).ok());
  }
  EXPECT_TRUE(db_->Query("SELECT 1 FROM items WHERE id = 'gone'")->empty());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"kept", 1}).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  EXPECT_EQ(db_->Query("SELECT 1 FROM items WHERE id = 'kept'")->size(), 1u);
}

TEST_P(DbTest, InTransactionCommitsOnSuccessOnly) {
  Status failed = InTransaction(*db_, [](Transaction& tx) -> Status {
    C19_TRY(tx.Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"t1", 1}));
    return Error::InvalidArgument("changed my mind");
  });
  EXPECT_EQ(failed.error().message, "changed my mind");
  EXPECT_TRUE(db_->Query("SELECT 1 FROM items")->empty());
  Result<int64_t> ok = InTransaction(*db_, [](Transaction& tx) -> Result<int64_t> {
    return tx.Exec("INSERT INTO items (id, n) VALUES (?, ?)", {"t2", 1});
  });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 1);
  EXPECT_EQ(db_->Query("SELECT 1 FROM items")->size(), 1u);
}

TEST_P(DbTest, ConcurrentWritersAllLand) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        Status st = InTransaction(*db_, [&](Transaction& tx) -> Status {
          C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM items"));
          return tx.Exec("INSERT INTO items (id, n) VALUES (?, ?)",
                         {std::to_string(t) + "-" + std::to_string(i), rows[0].Int(0)})
                     .ok()
                     ? OkStatus()
                     : Error::Internal("insert failed");
        });
        if (!st.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*db_->Query("SELECT COUNT(*) FROM items"))[0].Int(0), 100);
}

TEST_P(DbTest, PoolExhaustionIsUnavailable) {
  std::vector<std::unique_ptr<Transaction>> held;
  if (GetParam() == "sqlite") GTEST_SKIP() << "SQLite transactions serialise on the write lock instead";
  for (int i = 0; i < 4; ++i) {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    held.push_back(std::move(tx).value());
  }
  auto r = db_->Query("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  held.clear();
  EXPECT_TRUE(db_->Query("SELECT 1").ok());
  EXPECT_GE(db_->Stats().timeouts, 1);
}

TEST_P(DbTest, SelectBuilderBindsFilters) {
  ASSERT_TRUE(db_->Exec("INSERT INTO items (id, n, label) VALUES ('a', 1, 'x'), ('b', 2, 'y'), ('c', 3, 'x')").ok());
  Select q("SELECT id FROM items");
  q.Where("label = ?", {"x"}).Where("n >= ?", {2}).OrderBy("id").Limit(10);
  auto rows = q.Run(*db_);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), "c");
}

TEST_P(DbTest, MigrationsApplyOnceInModuleOrderAndPerDialect) {
  std::vector<MigrationFile> files = {
      {"alpha", "0001_first", "", "CREATE TABLE alpha_t (id TEXT PRIMARY KEY);"},
      {"alpha", "0002_second", "", "ALTER TABLE alpha_t ADD COLUMN note TEXT;"},
      {"alpha", "0002_second", "postgres", "ALTER TABLE alpha_t ADD COLUMN note TEXT DEFAULT 'pg';"},
      {"beta", "0001_first", "", "CREATE TABLE beta_t (id TEXT PRIMARY KEY REFERENCES alpha_t(id));"},
  };
  auto first = Migrate(*db_, files);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, (std::vector<std::string>{"alpha/0001_first", "alpha/0002_second", "beta/0001_first"}));
  auto again = Migrate(*db_, files);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  ASSERT_TRUE(db_->Exec("INSERT INTO alpha_t (id) VALUES ('x')").ok());
  auto note = db_->Query("SELECT note FROM alpha_t");
  EXPECT_EQ((*note)[0].OptText(0), GetParam() == "postgres" ? std::optional<std::string>("pg") : std::nullopt);
}

TEST_P(DbTest, FailedMigrationLeavesNoTrace) {
  std::vector<MigrationFile> files = {
      {"gamma", "0001_ok", "", "CREATE TABLE gamma_t (id TEXT PRIMARY KEY);"},
      {"gamma", "0002_broken", "", "CREATE TABLE gamma_u (id TEXT); THIS IS NOT SQL;"},
  };
  auto r = Migrate(*db_, files);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("gamma/0002_broken"), std::string::npos);
  auto recorded = db_->Query("SELECT id FROM c19ai_migrations ORDER BY id");
  ASSERT_EQ(recorded->size(), 1u);
  EXPECT_EQ((*recorded)[0].Text(0), "gamma/0001_ok");
  if (GetParam() == "postgres") {  // SQLite's script runner commits DDL statement by statement
    EXPECT_FALSE(db_->Query("SELECT 1 FROM gamma_u").ok());
  }
}

TEST_P(DbTest, ReconnectsAfterTheServerDroppedConnections) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only";
  ASSERT_TRUE(db_->Query("SELECT 1").ok());
  // Kill every backend of this database from another session, as a server restart would.
  auto admin = Open({.url = testing::PostgresUrl(), .pool_size = 1});
  ASSERT_TRUE(admin.ok());
  auto killed = (*admin)->Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid()");
  ASSERT_TRUE(killed.ok());
  std::string dbname = pg_->url().substr(pg_->url().rfind('/') + 1);
  ASSERT_TRUE((*admin)->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?", {dbname})
                  .ok());
  auto r = db_->Query("SELECT 41 + 1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].Int(0), 42);
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok()) << tx.error().message;
}

TEST(PlaceholderTest, RewritesOutsideQuotesOnly) {
  EXPECT_EQ(ToPostgresPlaceholders("SELECT '?' , \"a?\" FROM t WHERE a = ? AND b = ?"),
            "SELECT '?' , \"a?\" FROM t WHERE a = $1 AND b = $2");
}

TEST(OpenTest, UnknownSchemeNamesTheKey) {
  auto r = Open({.url = "mysql://root:secret@db/x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
}

TEST(OpenTest, UnreachablePostgresIsUnavailable) {
  auto r = Open({.url = "postgresql://nobody@127.0.0.1:1/none", .pool_size = 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace c19ai::db
