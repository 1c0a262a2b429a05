#include "db/db.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "common/check.h"
#include "common/clock.h"
#include "common/text.h"

namespace c19ai::db {

int64_t Value::AsInt() const {
  switch (v_.index()) {
    case 1: return std::get<1>(v_);
    case 2: return static_cast<int64_t>(std::get<2>(v_));
    case 3: {
      const auto& s = std::get<3>(v_);
      if (s == "t" || s == "true") return 1;
      if (s == "f" || s == "false") return 0;
      return std::strtoll(s.c_str(), nullptr, 10);
    }
    default: return 0;
  }
}

double Value::AsDouble() const {
  switch (v_.index()) {
    case 1: return static_cast<double>(std::get<1>(v_));
    case 2: return std::get<2>(v_);
    case 3: return std::strtod(std::get<3>(v_).c_str(), nullptr);
    default: return 0;
  }
}

std::string Value::AsText() const {
  switch (v_.index()) {
    case 1: return std::to_string(std::get<1>(v_));
    case 2: {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%.17g", std::get<2>(v_));
      return buf;
    }
    case 3: return std::get<3>(v_);
    default: return {};
  }
}

const Value& Row::at(std::string_view column) const {
  for (size_t i = 0; i < columns_->size(); ++i) {
    if ((*columns_)[i] == column) return cells_[i];
  }
  C19_CHECK(!"unknown column");
  return cells_.at(0);
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}
std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}
std::optional<double> Row::OptDouble(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Double(i);
}
std::optional<std::string> Row::OptText(std::string_view c) const {
  if (at(c).is_null()) return std::nullopt;
  return at(c).AsText();
}
std::optional<int64_t> Row::OptInt(std::string_view c) const {
  if (at(c).is_null()) return std::nullopt;
  return at(c).AsInt();
}

Result<int64_t> Executor::Exec(std::string_view sql, const Params& params) {
  C19_ASSIGN_OR_RETURN(Rows rows, Query(sql, params));
  return rows.affected;
}

Select& Select::Where(std::string_view condition, Params params) {
  where_.emplace_back(condition);
  for (auto& p : params) params_.push_back(std::move(p));
  return *this;
}

std::string Select::sql() const {
  std::string out = sql_;
  for (size_t i = 0; i < where_.size(); ++i) {
    out += i == 0 ? " WHERE (" : " AND (";
    out += where_[i];
    out += ")";
  }
  if (!order_.empty()) out += " ORDER BY " + order_;
  if (limit_ >= 0) out += " LIMIT " + std::to_string(limit_);
  if (offset_ > 0) out += " OFFSET " + std::to_string(offset_);
  return out;
}

std::string ToPostgresPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out.push_back('$');
      out += std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::vector<std::string>> Migrate(Database& db, const std::vector<MigrationFile>& files) {
  C19_TRY(db.ExecScript(
      "CREATE TABLE IF NOT EXISTS c19ai_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"));
  const std::string dialect = db.dialect() == Dialect::kSqlite ? "sqlite" : "postgres";
  // Keep the caller's module order; within a module sort by name. A dialect-specific file replaces
  // the generic one of the same name.
  std::vector<std::string> module_order;
  std::map<std::string, std::map<std::string, const MigrationFile*>> by_module;
  for (const auto& f : files) {
    if (!by_module.contains(f.module)) module_order.push_back(f.module);
    std::string d = f.dialect;
    if (!d.empty() && d != dialect) continue;
    auto& slot = by_module[f.module][f.name];
    if (!slot || !d.empty()) slot = &f;
  }
  std::vector<std::string> applied;
  for (const auto& module : module_order) {
    for (const auto& [name, file] : by_module[module]) {
      std::string id = module + "/" + name;
      Status st = InTransaction(db, [&](Transaction& tx) -> Status {
        if (db.dialect() == Dialect::kPostgres) {
          C19_TRY(tx.Query("SELECT pg_advisory_xact_lock(1919001)"));
        }
        C19_ASSIGN_OR_RETURN(Rows done, tx.Query("SELECT 1 FROM c19ai_migrations WHERE id = ?", {id}));
        if (!done.empty()) return OkStatus();
        Status run = tx.ExecScript(file->sql);
        if (!run.ok()) return std::move(run).error().Context("migration " + id);
        C19_TRY(tx.Exec("INSERT INTO c19ai_migrations (id, applied_at) VALUES (?, ?)",
                        {id, NowMs()}));
        applied.push_back(id);
        return OkStatus();
      });
      C19_TRY(st);
    }
  }
  return applied;
}

}  // namespace c19ai::db
