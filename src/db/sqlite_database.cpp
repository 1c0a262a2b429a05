// SQLite backend: WAL mode, busy timeout, foreign keys on, a small pool of connections with a
// statement cache each. Write transactions start with BEGIN IMMEDIATE so that two writers never
// deadlock upgrading read locks; readers proceed in parallel under WAL.

#include <sqlite3.h>

#include <filesystem>
#include <unordered_map>

#include "db/backends.h"
#include "db/pool.h"

namespace c19ai::db {

namespace {

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return Error::AlreadyExists(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY: return Error::FailedPrecondition(msg);
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Error::Unavailable("database is busy: " + msg);
    case SQLITE_CONSTRAINT: return Error::InvalidArgument(msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: return Error::Unavailable(msg);
    default: return Error::Internal(msg);
  }
}

class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  sqlite3* handle() const { return db_; }

  Result<Rows> Query(std::string_view sql, const Params& params) {
    sqlite3_stmt* stmt = nullptr;
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                  nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing SQL");
      if (cache_.size() > 512) {
        for (auto& [s, st] : cache_) sqlite3_finalize(st);
        cache_.clear();
      }
      cache_.emplace(std::move(key), stmt);
    }
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Error::Internal("SQL expects " + std::to_string(sqlite3_bind_parameter_count(stmt)) +
                             " parameters, got " + std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      int idx = static_cast<int>(i + 1);
      int rc;
      if (v.is_null()) rc = sqlite3_bind_null(stmt, idx);
      else if (v.is_int()) rc = sqlite3_bind_int64(stmt, idx, v.AsInt());
      else if (v.is_double()) rc = sqlite3_bind_double(stmt, idx, v.AsDouble());
      else rc = sqlite3_bind_text(stmt, idx, v.text()->data(), static_cast<int>(v.text()->size()), SQLITE_STATIC);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding parameter");
    }
    Rows out;
    int ncols = sqlite3_column_count(stmt);
    auto cols = std::make_shared<std::vector<std::string>>();
    for (int c = 0; c < ncols; ++c) cols->emplace_back(sqlite3_column_name(stmt, c));
    out.columns = cols;
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "running SQL");
      std::vector<Value> cells;
      cells.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL: cells.emplace_back(); break;
          case SQLITE_INTEGER: cells.emplace_back(static_cast<long long>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: cells.emplace_back(sqlite3_column_double(stmt, c)); break;
          default: {
            const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            int n = sqlite3_column_bytes(stmt, c);
            cells.emplace_back(std::string(text ? text : "", static_cast<size_t>(n)));
          }
        }
      }
      out.rows.emplace_back(cols, std::move(cells));
    }
    out.affected = sqlite3_changes(db_);
    return out;
  }

  Status ExecScript(std::string_view sql) {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      Error e = SqliteError(db_, rc, "running SQL script");
      e.message = "running SQL script: " + msg;
      return e;
    }
    return OkStatus();
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

using SqlitePool = internal::Pool<Connection>;

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(SqlitePool::Lease lease) : lease_(std::move(lease)) {}
  ~SqliteTransaction() override {
    if (!done_) {
      if (!lease_->ExecScript("ROLLBACK").ok()) lease_.Discard();
    }
  }
  Dialect dialect() const override { return Dialect::kSqlite; }
  Result<Rows> Query(std::string_view sql, const Params& params) override { return lease_->Query(sql, params); }
  Status ExecScript(std::string_view sql) override { return lease_->ExecScript(sql); }
  Status Commit() override {
    Status st = lease_->ExecScript("COMMIT");
    if (st.ok()) done_ = true;
    return st;
  }

 private:
  SqlitePool::Lease lease_;
  bool done_ = false;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const Options& options)
      : path_(std::move(path)),
        pool_([this, busy = options.busy_timeout_ms] { return OpenConnection(busy); },
              path_ == ":memory:" ? 1 : options.pool_size, options.acquire_timeout_ms) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<Rows> Query(std::string_view sql, const Params& params) override {
    C19_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
    return lease->Query(sql, params);
  }
  Status ExecScript(std::string_view sql) override {
    C19_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
    return lease->ExecScript(sql);
  }
  Result<std::unique_ptr<Transaction>> Begin() override {
    C19_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
    C19_TRY(lease->ExecScript("BEGIN IMMEDIATE"));
    return std::unique_ptr<Transaction>(new SqliteTransaction(std::move(lease)));
  }
  Status Ping() override {
    C19_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
    C19_TRY(lease->Query("SELECT 1", {}));
    return OkStatus();
  }
  PoolStats Stats() const override { return pool_.Stats(); }
  std::string Describe() const override { return "sqlite://" + path_; }

  Status Open() {
    if (path_ != ":memory:") {
      std::error_code ec;
      auto parent = std::filesystem::path(path_).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) return Error::Unavailable("cannot create folder " + parent.string() + ": " + ec.message());
    }
    return Ping();
  }

 private:
  Result<std::unique_ptr<Connection>> OpenConnection(int64_t busy_timeout_ms) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path_.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
      Error e = SqliteError(db, rc, "opening " + path_);
      sqlite3_close_v2(db);
      return Error::Unavailable(e.message);
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout_ms));
    auto conn = std::make_unique<Connection>(db);
    C19_TRY(conn->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                             " PRAGMA temp_store=MEMORY;"));
    return conn;
  }

  std::string path_;
  SqlitePool pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const Options& options) {
  auto db = std::make_unique<SqliteDatabase>(path, options);
  C19_TRY(db->Open());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace c19ai::db
