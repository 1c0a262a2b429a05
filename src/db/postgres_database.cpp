// PostgreSQL backend over libpq: a bounded pool, statements prepared once per connection, text
// parameters, typed result cells (integers, floats and booleans come back as numbers). A connection
// that broke (server restart) is discarded and a statement outside a transaction is retried once on
// a fresh one, so service resumes by itself when the server is back.

#include <libpq-fe.h>

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "common/log.h"
#include "db/backends.h"
#include "db/pool.h"

namespace c19ai::db {

namespace {

constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kFloat4Oid = 700, kFloat8Oid = 701,
              kNumericOid = 1700;

bool ConnectionLost(PGconn* conn) { return PQstatus(conn) != CONNECTION_OK; }

Error PgError(PGconn* conn, PGresult* res, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  msg = std::string(what) + ": " + msg;
  std::string s = state ? state : "";
  if (s == "23505") return Error::AlreadyExists(msg);
  if (s == "23503") return Error::FailedPrecondition(msg);
  if (s == "40001" || s == "40P01") return Error::Aborted(msg);
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || ConnectionLost(conn)) {
    return Error::Unavailable("database unavailable: " + msg);
  }
  if (s.starts_with("23") || s.starts_with("22")) return Error::InvalidArgument(msg);
  return Error::Internal(msg);
}

class Connection {
 public:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  ~Connection() { PQfinish(conn_); }
  bool lost() const { return ConnectionLost(conn_); }

  Result<Rows> Query(std::string_view sql, const Params& params) {
    auto it = prepared_.find(std::string(sql));
    if (it == prepared_.end()) {
      std::string name = "c19_" + std::to_string(prepared_.size() + 1);
      std::string translated = ToPostgresPlaceholders(sql);
      PGresult* res = PQprepare(conn_, name.c_str(), translated.c_str(), static_cast<int>(params.size()), nullptr);
      bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
      if (!ok) {
        Error e = PgError(conn_, res, "preparing SQL");
        PQclear(res);
        return e;
      }
      PQclear(res);
      it = prepared_.emplace(std::string(sql), name).first;
    }
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].is_null()) {
        values[i] = nullptr;
        continue;
      }
      if (const std::string* t = params[i].text()) {
        values[i] = t->c_str();
        lengths[i] = static_cast<int>(t->size());
      } else {
        storage[i] = params[i].AsText();
        values[i] = storage[i].c_str();
        lengths[i] = static_cast<int>(storage[i].size());
      }
    }
    PGresult* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                                   lengths.data(), nullptr, 0);
    struct Clear {
      PGresult* r;
      ~Clear() { PQclear(r); }
    } clear{res};
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      Error e = PgError(conn_, res, "running SQL");
      if (e.message.find("does not exist") != std::string::npos && e.message.find("prepared statement") !=
                                                                         std::string::npos) {
        prepared_.clear();
      }
      return e;
    }
    Rows out;
    int ncols = PQnfields(res);
    auto cols = std::make_shared<std::vector<std::string>>();
    std::vector<Oid> types(ncols);
    for (int c = 0; c < ncols; ++c) {
      cols->emplace_back(PQfname(res, c));
      types[c] = PQftype(res, c);
    }
    out.columns = cols;
    int nrows = PQntuples(res);
    out.rows.reserve(nrows);
    for (int r = 0; r < nrows; ++r) {
      std::vector<Value> cells;
      cells.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          cells.emplace_back();
          continue;
        }
        const char* v = PQgetvalue(res, r, c);
        switch (types[c]) {
          case kInt2Oid:
          case kInt4Oid:
          case kInt8Oid: cells.emplace_back(static_cast<long long>(std::strtoll(v, nullptr, 10))); break;
          case kFloat4Oid:
          case kFloat8Oid:
          case kNumericOid: cells.emplace_back(std::strtod(v, nullptr)); break;
          case kBoolOid: cells.emplace_back(v[0] == 't'); break;
          default: cells.emplace_back(std::string(v, static_cast<size_t>(PQgetlength(res, r, c))));
        }
      }
      out.rows.emplace_back(cols, std::move(cells));
    }
    const char* tuples = PQcmdTuples(res);
    out.affected = (tuples && *tuples) ? std::strtoll(tuples, nullptr, 10) : 0;
    return out;
  }

  Status ExecScript(std::string_view sql) {
    std::string s(sql);
    PGresult* res = PQexec(conn_, s.c_str());
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Error e = PgError(conn_, res, "running SQL script");
      PQclear(res);
      return e;
    }
    PQclear(res);
    return OkStatus();
  }

 private:
  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;
};

using PgPool = internal::Pool<Connection>;

class PgTransaction final : public Transaction {
 public:
  explicit PgTransaction(PgPool::Lease lease) : lease_(std::move(lease)) {}
  ~PgTransaction() override {
    if (!done_) {
      if (lease_->lost() || !lease_->ExecScript("ROLLBACK").ok()) lease_.Discard();
    }
  }
  Dialect dialect() const override { return Dialect::kPostgres; }
  Result<Rows> Query(std::string_view sql, const Params& params) override { return Check(lease_->Query(sql, params)); }
  Status ExecScript(std::string_view sql) override { return Check(lease_->ExecScript(sql)); }
  Status Commit() override {
    Status st = Check(lease_->ExecScript("COMMIT"));
    done_ = true;  // after COMMIT (failed or not) the transaction is over
    return st;
  }

 private:
  template <typename R>
  R Check(R r) {
    if (!r.ok() && lease_->lost()) {
      done_ = true;
      lease_.Discard();
    }
    return r;
  }
  PgPool::Lease lease_;
  bool done_ = false;
};

std::string WithoutCredentials(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

class PgDatabase final : public Database {
 public:
  PgDatabase(std::string url, const Options& options)
      : url_(std::move(url)), pool_([this] { return Connect(); }, options.pool_size, options.acquire_timeout_ms) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<Rows> Query(std::string_view sql, const Params& params) override {
    return WithRetry([&](Connection& c) { return c.Query(sql, params); });
  }
  Status ExecScript(std::string_view sql) override {
    return WithRetry([&](Connection& c) { return c.ExecScript(sql); });
  }
  Result<std::unique_ptr<Transaction>> Begin() override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      C19_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
      Status st = lease->ExecScript("BEGIN");
      if (st.ok()) return std::unique_ptr<Transaction>(new PgTransaction(std::move(lease)));
      if (!lease->lost()) return std::move(st).error();
      lease.Discard();
      pool_.DropIdle();
      if (attempt == 1) return std::move(st).error();
    }
    return Error::Unavailable("database unavailable");
  }
  Status Ping() override {
    auto r = Query("SELECT 1", {});
    if (!r.ok()) return std::move(r).error();
    return OkStatus();
  }
  PoolStats Stats() const override { return pool_.Stats(); }
  std::string Describe() const override { return WithoutCredentials(url_); }

 private:
  template <typename F>
  auto WithRetry(F&& f) -> decltype(f(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.Acquire();
      if (!lease.ok()) return std::move(lease).error();
      auto r = f(**lease);
      if (r.ok() || !(*lease)->lost()) return r;
      lease->Discard();
      pool_.DropIdle();  // the others are from the same (dead) server
      if (attempt >= 1) return r;
    }
  }

  Result<std::unique_ptr<Connection>> Connect() {
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* vals[] = {url_.c_str(), "5", "c19ai", nullptr};
    PGconn* conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
      std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      PQfinish(conn);
      return Error::Unavailable("cannot connect to " + Describe() + ": " + msg);
    }
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    return std::make_unique<Connection>(conn);
  }

  std::string url_;
  PgPool pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, const Options& options) {
  auto db = std::make_unique<PgDatabase>(url, options);
  C19_TRY(db->Ping());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace c19ai::db
