#pragma once
// The database layer: one interface over SQLite (embedded default) and PostgreSQL (libpq, pooled).
// SQL uses `?` placeholders on both dialects (translated to $n for PostgreSQL); values are always
// bound, never spliced into SQL text. Thread-safe: a Database may be used from any thread; a
// Transaction belongs to the thread that began it.
//
// Error codes: already_exists (unique violation), failed_precondition (foreign key), aborted
// (serialization failure/deadlock: retry), unavailable (server down, pool exhausted, SQLite busy),
// internal (anything else, including SQL errors, which are bugs).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/result.h"

namespace c19ai::db {

enum class Dialect { kSqlite, kPostgres };

// A bound parameter or a cell: NULL, integer, floating point or text. Booleans are stored as 0/1.
class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}                                   // NOLINT
  Value(int v) : v_(int64_t{v}) {}                           // NOLINT
  Value(long v) : v_(int64_t{v}) {}                          // NOLINT
  Value(long long v) : v_(int64_t{v}) {}                     // NOLINT
  Value(unsigned v) : v_(int64_t{v}) {}                      // NOLINT
  Value(unsigned long v) : v_(static_cast<int64_t>(v)) {}    // NOLINT
  Value(bool v) : v_(int64_t{v ? 1 : 0}) {}                  // NOLINT
  Value(double v) : v_(v) {}                                 // NOLINT
  Value(std::string v) : v_(std::move(v)) {}                 // NOLINT
  Value(std::string_view v) : v_(std::string(v)) {}          // NOLINT
  Value(const char* v) : v_(std::string(v)) {}               // NOLINT
  template <typename T>
  Value(const std::optional<T>& v) {  // NOLINT
    if (v) *this = Value(*v);
  }

  bool is_null() const { return v_.index() == 0; }
  bool is_int() const { return v_.index() == 1; }
  bool is_double() const { return v_.index() == 2; }
  bool is_text() const { return v_.index() == 3; }
  int64_t AsInt() const;        // text is parsed; null is 0
  double AsDouble() const;
  std::string AsText() const;   // numbers are formatted; null is ""
  const std::string* text() const { return std::get_if<3>(&v_); }

 private:
  std::variant<std::monostate, int64_t, double, std::string> v_;
};

using Params = std::vector<Value>;

class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> cells)
      : columns_(std::move(columns)), cells_(std::move(cells)) {}
  size_t size() const { return cells_.size(); }
  const Value& at(size_t i) const { return cells_.at(i); }
  const Value& at(std::string_view column) const;  // C19_CHECKs that the column exists
  bool IsNull(size_t i) const { return at(i).is_null(); }
  int64_t Int(size_t i) const { return at(i).AsInt(); }
  double Double(size_t i) const { return at(i).AsDouble(); }
  bool Bool(size_t i) const { return at(i).AsInt() != 0; }
  std::string Text(size_t i) const { return at(i).AsText(); }
  std::optional<std::string> OptText(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  std::optional<double> OptDouble(size_t i) const;
  int64_t Int(std::string_view c) const { return at(c).AsInt(); }
  double Double(std::string_view c) const { return at(c).AsDouble(); }
  bool Bool(std::string_view c) const { return at(c).AsInt() != 0; }
  std::string Text(std::string_view c) const { return at(c).AsText(); }
  bool IsNull(std::string_view c) const { return at(c).is_null(); }
  std::optional<std::string> OptText(std::string_view c) const;
  std::optional<int64_t> OptInt(std::string_view c) const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> cells_;
};

struct Rows {
  std::shared_ptr<const std::vector<std::string>> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  const Row& operator[](size_t i) const { return rows[i]; }
  std::vector<Row>::const_iterator begin() const { return rows.begin(); }
  std::vector<Row>::const_iterator end() const { return rows.end(); }
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement; rows for SELECT/RETURNING, affected count for the rest.
  virtual Result<Rows> Query(std::string_view sql, const Params& params = {}) = 0;
  // Runs one statement and returns the number of rows it changed.
  Result<int64_t> Exec(std::string_view sql, const Params& params = {});
  // Runs several statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
};

// Rolls back in its destructor unless committed.
class Transaction : public Executor {
 public:
  virtual Status Commit() = 0;
};

struct PoolStats {
  int size = 0;      // connections open
  int in_use = 0;
  int max = 0;
  int64_t waits = 0;     // acquisitions that had to wait
  int64_t timeouts = 0;  // acquisitions that gave up (unavailable)
};

class Database : public Executor {
 public:
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;
  virtual Status Ping() = 0;
  virtual PoolStats Stats() const = 0;
  // "sqlite:///path" or "postgresql://host:port/db" without credentials.
  virtual std::string Describe() const = 0;
};

struct Options {
  std::string url;  // sqlite://PATH (sqlite://:memory: for tests) or postgresql://... / postgres://...
  int pool_size = 8;
  int64_t busy_timeout_ms = 5000;
  int64_t acquire_timeout_ms = 5000;
};

// Opens the database the URL names; invalid_argument for an unknown scheme, unavailable when it
// cannot connect.
Result<std::unique_ptr<Database>> Open(const Options& options);

// Runs fn(tx) in a transaction and commits when it returns OK; retries up to 3 times on `aborted`.
// fn returns Status or Result<T>.
template <typename F>
auto InTransaction(Database& db, F&& fn) -> decltype(fn(std::declval<Transaction&>())) {
  for (int attempt = 0;; ++attempt) {
    auto tx = db.Begin();
    if (!tx.ok()) return std::move(tx).error();
    auto result = fn(**tx);
    if (result.ok()) {
      Status committed = (*tx)->Commit();
      if (committed.ok()) return result;
      if (committed.error().code != ErrorCode::kAborted || attempt >= 2) return std::move(committed).error();
      continue;
    }
    if (result.error().code != ErrorCode::kAborted || attempt >= 2) return result;
  }
}

// Migrations: src/<module>/migrations/NNNN_name[.sqlite|.postgres].sql, embedded at build time and
// exposed by each module as c19ai::<module>::Migrations().
struct MigrationFile {
  const char* module;
  const char* name;     // "0001_users"
  const char* dialect;  // "", "sqlite" or "postgres"
  std::string_view sql;
};

// Applies the files not yet recorded in c19ai_migrations, in the given module order and then by
// name, each in its own transaction together with its record. Safe to run from several processes
// at once. Returns the ids applied ("auth/0001_users").
Result<std::vector<std::string>> Migrate(Database& db, const std::vector<MigrationFile>& files);

// A SELECT whose WHERE clause is assembled from optional filters, with bound values.
class Select {
 public:
  explicit Select(std::string base) : sql_(std::move(base)) {}
  Select& Where(std::string_view condition, Params params = {});
  Select& OrderBy(std::string_view order) { order_ = order; return *this; }
  Select& Limit(int64_t limit) { limit_ = limit; return *this; }
  Select& Offset(int64_t offset) { offset_ = offset; return *this; }
  std::string sql() const;
  const Params& params() const { return params_; }
  Result<Rows> Run(Executor& ex) const { return ex.Query(sql(), params_); }

 private:
  std::string sql_;
  std::vector<std::string> where_;
  Params params_;
  std::string order_;
  int64_t limit_ = -1;
  int64_t offset_ = 0;
};

// Rewrites `?` placeholders outside quotes to $1, $2, ... (exposed for tests).
std::string ToPostgresPlaceholders(std::string_view sql);

}  // namespace c19ai::db
