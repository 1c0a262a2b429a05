// The validator: compiles a schema's fields and constraints into rules once, checks each record
// against them, and reports failures with full counts and capped examples.

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/text.h"
#include "validation/engine.h"
#include "validation/json.h"

namespace c19ai::validation::internal {

namespace {

enum class Kind {
  kMissingColumn, kType, kNotNull, kRange, kLength, kRegex, kEnum, kUnique, kMonotonic, kDateRange, kCompare,
  kRequiredIf, kExpression, kRowCount, kColumnExists, kColumnsOrder, kColumnsSet, kAggregate, kUniqueCombination
};

const char* Code(Kind k) {
  switch (k) {
    case Kind::kMissingColumn: return "missing_column";
    case Kind::kType: return "type";
    case Kind::kNotNull: return "not_null";
    case Kind::kRange: return "range";
    case Kind::kLength: return "length";
    case Kind::kRegex: return "regex";
    case Kind::kEnum: return "enum";
    case Kind::kUnique: return "unique";
    case Kind::kMonotonic: return "monotonic";
    case Kind::kDateRange: return "date_range";
    case Kind::kCompare: return "compare";
    case Kind::kRequiredIf: return "required_if";
    case Kind::kExpression: return "expression";
    case Kind::kRowCount: return "row_count";
    case Kind::kColumnExists: return "column_exists";
    case Kind::kColumnsOrder: return "columns_order";
    case Kind::kColumnsSet: return "columns_set";
    case Kind::kAggregate: return "aggregate";
    case Kind::kUniqueCombination: return "unique_combination";
  }
  return "rule";
}

std::string Num(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return DumpJson(Json(v));
}

// Lets sets of strings be searched with a string_view (no allocation per value).
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Rule {
  Kind kind;
  std::string name;  // as the user wrote it (GX name or ours)
  std::string field;  // column the rule is about ("" for dataset-level)
  bool warning = false;
  double mostly = 1.0;
  int col = -1, col_b = -1;
  bool skip = false;  // its column is absent (reported once by presence rules)
  // parameters
  std::string data_type, format;
  DataType type_kind = DataType::kString;
  std::optional<double> min, max;
  bool excl_min = false, excl_max = false, negate = false, strict = false, decreasing = false;
  std::unique_ptr<RE2> re;
  std::unordered_set<std::string, ViewHash, std::equal_to<>> set;
  std::vector<double> num_set;
  bool numeric_set = false;
  std::string op;
  std::unique_ptr<Expression> expr;
  std::string expr_text;
  std::vector<std::string> columns;
  std::vector<int> cols;
  bool exact = true;
  std::string stat;
  // state
  std::unordered_map<uint64_t, int64_t> seen;  // unique: hash -> first row
  bool have_prev = false;
  double prev = 0;
  int64_t count = 0;
  double mean = 0, m2 = 0, sum = 0, vmin = INFINITY, vmax = -INFINITY;
  // results
  int64_t checked = 0, failed = 0;
  std::vector<Issue> examples;
  std::string observed;
};

Result<std::optional<double>> OptNumber(const Json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<double>();
  if (j[key].is_number()) return std::optional<double>(j[key].get<double>());
  if (j[key].is_string()) {
    double d;
    if (ParseFloat(j[key].get<std::string>(), d)) return std::optional<double>(d);
  }
  return Error::Field(path + "." + key, path + "." + key + " must be a number");
}

std::string ValueText(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

class ValidatorImpl final : public Validator {
 public:
  explicit ValidatorImpl(ValidateOptions o) : o_(o) {}

  Status AddRule(const Json& in, const std::string& field, const std::string& path, const Field* f) {
    if (!in.is_object()) return Error::Field(path, path + " must be an object");
    Json j = in;
    std::string type = j.value("type", j.value("expectation_type", std::string()));
    if (IsGxName(type)) {
      // A Great Expectations name: its kwargs inline or under "kwargs".
      const Json& kw = j.contains("kwargs") && j["kwargs"].is_object() ? j["kwargs"] : j;
      auto mapped = FromGx(type, kw);
      if (!mapped) return Error::Field(path + ".type", "unsupported expectation \"" + type + "\"");
      for (const char* k : {"severity", "column"})
        if (j.contains(k) && !mapped->contains(k)) (*mapped)[k] = j[k];
      j = std::move(*mapped);
      type = j.value("type", std::string());
    }
    auto r = std::make_unique<Rule>();
    r->name = j.contains("gx") && j["gx"].is_string() ? j["gx"].get<std::string>() : type;
    r->field = j.contains("column") && j["column"].is_string() ? j["column"].get<std::string>() : field;
    std::string severity = j.value("severity", std::string("error"));
    if (severity != "error" && severity != "warning") return Error::Field(path + ".severity", "severity must be error or warning");
    r->warning = severity == "warning";
    C19_ASSIGN_OR_RETURN(auto mostly, OptNumber(j, "mostly", path));
    if (mostly) {
      if (*mostly < 0 || *mostly > 1) return Error::Field(path + ".mostly", "mostly must be between 0 and 1");
      r->mostly = *mostly;
    }
    auto need_column = [&]() -> Status {
      if (r->field.empty()) return Error::Field(path + ".column", "rule \"" + type + "\" needs a column");
      return OkStatus();
    };
    if (type == "not_null") {
      r->kind = Kind::kNotNull;
      C19_TRY(need_column());
    } else if (type == "type") {
      r->kind = Kind::kType;
      C19_TRY(need_column());
      r->data_type = j.value("data_type", std::string("string"));
      r->format = j.value("format", std::string());
      auto kind = ParseDataType(r->data_type);
      if (kind) r->type_kind = *kind;
      if (!kind) {
        return Error::Field(path + ".data_type", "unknown data_type \"" + r->data_type + "\"");
      }
    } else if (type == "range" || type == "between") {
      r->kind = Kind::kRange;
      C19_TRY(need_column());
      C19_ASSIGN_OR_RETURN(r->min, OptNumber(j, "min", path));
      C19_ASSIGN_OR_RETURN(r->max, OptNumber(j, "max", path));
      if (!r->min && !r->max) return Error::Field(path + ".min", "a range needs min or max");
      bool both = j.value("exclusive", false);
      r->excl_min = both || j.value("exclusive_min", false);
      r->excl_max = both || j.value("exclusive_max", false);
    } else if (type == "length") {
      r->kind = Kind::kLength;
      C19_TRY(need_column());
      C19_ASSIGN_OR_RETURN(r->min, OptNumber(j, "min", path));
      C19_ASSIGN_OR_RETURN(r->max, OptNumber(j, "max", path));
      if (!r->min && !r->max) return Error::Field(path + ".min", "a length rule needs min or max");
    } else if (type == "regex" || type == "pattern") {
      r->kind = Kind::kRegex;
      C19_TRY(need_column());
      if (!j.contains("pattern") || !j["pattern"].is_string()) return Error::Field(path + ".pattern", "a regex rule needs a pattern");
      RE2::Options ro;
      ro.set_log_errors(false);
      r->re = std::make_unique<RE2>(j["pattern"].get<std::string>(), ro);
      if (!r->re->ok()) return Error::Field(path + ".pattern", "invalid regular expression: " + r->re->error());
      r->negate = j.value("negate", false);
    } else if (type == "enum" || type == "in_set" || type == "allowed") {
      r->kind = Kind::kEnum;
      C19_TRY(need_column());
      if (!j.contains("values") || !j["values"].is_array()) return Error::Field(path + ".values", "an enum rule needs a list of values");
      r->numeric_set = !j["values"].empty();
      for (const auto& v : j["values"]) {
        r->set.insert(ValueText(v));
        if (v.is_number()) r->num_set.push_back(v.get<double>());
        else r->numeric_set = false;
      }
      r->negate = j.value("negate", false);
    } else if (type == "unique") {
      r->kind = Kind::kUnique;
      C19_TRY(need_column());
    } else if (type == "monotonic") {
      r->kind = Kind::kMonotonic;
      C19_TRY(need_column());
      std::string dir = j.value("direction", std::string("increasing"));
      if (dir != "increasing" && dir != "decreasing") return Error::Field(path + ".direction", "direction must be increasing or decreasing");
      r->decreasing = dir == "decreasing";
      r->strict = j.value("strict", false);
    } else if (type == "date_range") {
      r->kind = Kind::kDateRange;
      C19_TRY(need_column());
      r->format = j.value("format", f ? f->format : std::string());
      for (const char* k : {"min", "max"}) {
        if (!j.contains(k)) continue;
        double sec;
        std::string v = ValueText(j[k]);
        int64_t days;
        if (ParseDateTime(v, "", sec)) {
        } else if (ParseDate(v, "", days)) {
          sec = static_cast<double>(days) * 86400.0;
        } else {
          return Error::Field(path + "." + k, path + "." + k + " must be a date (YYYY-MM-DD) or an RFC 3339 time");
        }
        (std::string(k) == "min" ? r->min : r->max) = sec;
      }
      if (!r->min && !r->max) return Error::Field(path + ".min", "a date_range needs min or max");
    } else if (type == "compare") {
      r->kind = Kind::kCompare;
      if (!j.contains("a") || !j["a"].is_string() || !j.contains("b") || !j["b"].is_string())
        return Error::Field(path + ".a", "a compare rule needs columns a and b");
      r->columns = {j["a"].get<std::string>(), j["b"].get<std::string>()};
      r->op = j.value("op", std::string("<"));
      if (r->op != "<" && r->op != "<=" && r->op != ">" && r->op != ">=" && r->op != "==" && r->op != "!=")
        return Error::Field(path + ".op", "op must be one of < <= > >= == !=");
      r->field = r->columns[0];
    } else if (type == "required_if") {
      r->kind = Kind::kRequiredIf;
      C19_TRY(need_column());
      std::string cond = j.value("condition", j.value("if", std::string()));
      auto e = Expression::Parse(cond);
      if (!e.ok()) return Error::Field(path + ".condition", e.error().message);
      r->expr = std::move(*e);
      r->expr_text = cond;
    } else if (type == "expression" || type == "custom") {
      r->kind = Kind::kExpression;
      std::string text = j.value("expression", std::string());
      auto e = Expression::Parse(text);
      if (!e.ok()) return Error::Field(path + ".expression", e.error().message);
      r->expr = std::move(*e);
      r->expr_text = text;
      if (j.contains("name") && j["name"].is_string()) r->name = j["name"].get<std::string>();
    } else if (type == "row_count") {
      r->kind = Kind::kRowCount;
      C19_ASSIGN_OR_RETURN(r->min, OptNumber(j, "min", path));
      C19_ASSIGN_OR_RETURN(r->max, OptNumber(j, "max", path));
      r->field.clear();
    } else if (type == "column_exists") {
      r->kind = Kind::kColumnExists;
      C19_TRY(need_column());
    } else if (type == "columns_order" || type == "columns_set") {
      r->kind = type == "columns_order" ? Kind::kColumnsOrder : Kind::kColumnsSet;
      if (!j.contains("columns") || !j["columns"].is_array()) return Error::Field(path + ".columns", "the rule needs a list of columns");
      for (const auto& c : j["columns"]) r->columns.push_back(ValueText(c));
      r->exact = j.value("exact", true);
      r->field.clear();
    } else if (type == "aggregate") {
      r->kind = Kind::kAggregate;
      C19_TRY(need_column());
      r->stat = j.value("stat", std::string("mean"));
      if (r->stat != "mean" && r->stat != "min" && r->stat != "max" && r->stat != "stdev" && r->stat != "sum")
        return Error::Field(path + ".stat", "stat must be mean, min, max, stdev or sum");
      C19_ASSIGN_OR_RETURN(r->min, OptNumber(j, "min", path));
      C19_ASSIGN_OR_RETURN(r->max, OptNumber(j, "max", path));
      r->excl_min = j.value("exclusive_min", false);
      r->excl_max = j.value("exclusive_max", false);
    } else if (type == "unique_combination") {
      r->kind = Kind::kUniqueCombination;
      if (!j.contains("columns") || !j["columns"].is_array()) return Error::Field(path + ".columns", "the rule needs a list of columns");
      for (const auto& c : j["columns"]) r->columns.push_back(ValueText(c));
      r->field = Join(r->columns, ",");
    } else {
      return Error::Field(path + ".type", "unknown rule type \"" + type + "\"");
    }
    rules_.push_back(std::move(r));
    return OkStatus();
  }

  Status Build(const Schema& s) {
    for (size_t i = 0; i < s.fields.size(); ++i) {
      const Field& f = s.fields[i];
      std::string p = "fields[" + std::to_string(i) + "]";
      if (f.required) {
        auto r = std::make_unique<Rule>();
        r->kind = Kind::kMissingColumn;
        r->name = "required";
        r->field = f.name;
        rules_.push_back(std::move(r));
      }
      if (f.data_type != "string" && f.data_type != "categorical") {
        C19_TRY(AddRule(Json{{"type", "type"}, {"data_type", f.data_type}, {"format", f.format}}, f.name, p, &f));
      }
      if (!f.nullable) C19_TRY(AddRule(Json{{"type", "not_null"}}, f.name, p, &f));
      for (size_t k = 0; k < f.constraints_json.size(); ++k) {
        Json c = Json::parse(f.constraints_json[k], nullptr, false);
        C19_TRY(AddRule(c, f.name, p + ".constraints[" + std::to_string(k) + "]", &f));
      }
      schema_columns_.push_back(f.name);
    }
    for (size_t k = 0; k < s.constraints_json.size(); ++k) {
      Json c = Json::parse(s.constraints_json[k], nullptr, false);
      C19_TRY(AddRule(c, "", "constraints[" + std::to_string(k) + "]", nullptr));
    }
    return OkStatus();
  }

  void Begin(const std::vector<std::string>& columns, bool per_record) override {
    per_record_ = per_record;
    columns_ = columns;
    auto index = [&](const std::string& name) {
      for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name) return static_cast<int>(i);
      return -1;
    };
    for (auto& r : rules_) {
      if (r->kind == Kind::kCompare) {
        r->col = index(r->columns[0]);
        r->col_b = index(r->columns[1]);
        r->skip = r->col < 0 || r->col_b < 0;
        if (r->skip) DatasetIssue(*r, "column \"" + (r->col < 0 ? r->columns[0] : r->columns[1]) + "\" does not exist");
        continue;
      }
      if (r->kind == Kind::kUniqueCombination) {
        for (const auto& c : r->columns) {
          int i = index(c);
          if (i < 0) {
            r->skip = true;
            DatasetIssue(*r, "column \"" + c + "\" does not exist");
          }
          r->cols.push_back(i);
        }
        continue;
      }
      if (r->kind == Kind::kExpression || r->kind == Kind::kRequiredIf) {
        Status st = r->expr->Bind(columns);
        if (!st.ok()) {
          r->skip = true;
          DatasetIssue(*r, st.error().message);
        }
      }
      if (r->kind == Kind::kColumnsOrder || r->kind == Kind::kColumnsSet) {
        bool ok;
        if (r->kind == Kind::kColumnsOrder) {
          ok = columns == r->columns;
        } else {
          std::set<std::string> have(columns.begin(), columns.end()), want(r->columns.begin(), r->columns.end());
          ok = r->exact ? have == want : std::includes(have.begin(), have.end(), want.begin(), want.end());
        }
        r->checked = 1;
        if (!ok) DatasetIssue(*r, "the columns are [" + Join(columns, ", ") + "], expected " +
                                      (r->kind == Kind::kColumnsOrder ? "in this order: " : "the set: ") + "[" +
                                      Join(r->columns, ", ") + "]");
        continue;
      }
      if (r->field.empty() || r->kind == Kind::kRowCount) continue;
      r->col = index(r->field);
      if (r->col < 0) {
        r->skip = true;
        if (r->kind == Kind::kMissingColumn || r->kind == Kind::kColumnExists) {
          if (!per_record_) {
            r->checked = 1;
            DatasetIssue(*r, "required column \"" + r->field + "\" is missing");
          }
        }
      } else if (r->kind == Kind::kMissingColumn || r->kind == Kind::kColumnExists) {
        r->checked = per_record_ ? 0 : 1;
        r->skip = !per_record_;
      }
    }
  }

  void Check(const RecordReader& rec) override {
    const int64_t row = rec.record();
    bool row_failed = false;
    for (auto& rp : rules_) {
      Rule& r = *rp;
      if (r.kind == Kind::kMissingColumn || r.kind == Kind::kColumnExists) {
        if (!per_record_) continue;
        ++r.checked;
        if (r.col < 0 || rec.absent(static_cast<size_t>(r.col))) {
          Fail(r, row, "required field \"" + r.field + "\" is missing", nullptr, row_failed);
        }
        continue;
      }
      if (r.skip) continue;
      switch (r.kind) {
        case Kind::kNotNull: {
          ++r.checked;
          if (rec.is_null(static_cast<size_t>(r.col))) Fail(r, row, "\"" + r.field + "\" must not be empty", nullptr, row_failed);
          break;
        }
        case Kind::kType: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          ++r.checked;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          if (!MatchesType(r.type_kind, v, r.format)) {
            Fail(r, row, "value is not " + std::string(r.data_type == "integer" ? "an " : "a ") + r.data_type +
                             (r.format.empty() ? "" : " in format " + r.format), &v, row_failed);
          }
          break;
        }
        case Kind::kRange: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          double d;
          if (!ParseFloat(v, d)) break;  // not a number: the type check reports it
          ++r.checked;
          if (r.min && (r.excl_min ? d <= *r.min : d < *r.min)) {
            Fail(r, row, "value " + std::string(v) + " is below the minimum " + Num(*r.min) + (r.excl_min ? " (exclusive)" : ""), &v, row_failed);
          } else if (r.max && (r.excl_max ? d >= *r.max : d > *r.max)) {
            Fail(r, row, "value " + std::string(v) + " is above the maximum " + Num(*r.max) + (r.excl_max ? " (exclusive)" : ""), &v, row_failed);
          }
          break;
        }
        case Kind::kLength: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          ++r.checked;
          double n = static_cast<double>(Utf8Length(v));
          if ((r.min && n < *r.min) || (r.max && n > *r.max)) {
            Fail(r, row, "length " + Num(n) + " is outside [" + (r.min ? Num(*r.min) : "") + ", " + (r.max ? Num(*r.max) : "") + "]", &v, row_failed);
          }
          break;
        }
        case Kind::kRegex: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          ++r.checked;
          bool m = RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *r.re);
          if (m == r.negate) {
            Fail(r, row, std::string("value ") + (r.negate ? "matches" : "does not match") + " the pattern " + r.re->pattern(), &v, row_failed);
          }
          break;
        }
        case Kind::kEnum: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          ++r.checked;
          bool in = r.set.find(v) != r.set.end();
          if (!in && r.numeric_set) {
            double d;
            if (ParseFloat(v, d)) in = std::find(r.num_set.begin(), r.num_set.end(), d) != r.num_set.end();
          }
          if (in == r.negate) Fail(r, row, std::string("value is ") + (r.negate ? "in the forbidden set" : "not in the allowed set"), &v, row_failed);
          break;
        }
        case Kind::kUnique: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          ++r.checked;
          auto [it, inserted] = r.seen.emplace(Hash64(v), row);
          if (!inserted) Fail(r, row, "duplicate value, first seen in row " + std::to_string(it->second), &v, row_failed);
          break;
        }
        case Kind::kUniqueCombination: {
          std::string key;
          for (int c : r.cols) {
            key.append(rec.cell(static_cast<size_t>(c)));
            key.push_back('\x1f');
          }
          ++r.checked;
          auto [it, inserted] = r.seen.emplace(Hash64(key), row);
          if (!inserted) Fail(r, row, "duplicate combination of " + r.field + ", first seen in row " + std::to_string(it->second), nullptr, row_failed);
          break;
        }
        case Kind::kMonotonic: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          double d;
          if (!ParseFloat(v, d)) {
            double sec;
            int64_t days;
            if (ParseDateTime(v, "", sec)) d = sec;
            else if (ParseDate(v, "", days)) d = static_cast<double>(days) * 86400.0;
            else {
              ++r.checked;
              Fail(r, row, "value is neither a number nor a date", &v, row_failed);
              break;
            }
          }
          if (r.have_prev) {
            ++r.checked;
            bool ok = r.decreasing ? (r.strict ? d < r.prev : d <= r.prev) : (r.strict ? d > r.prev : d >= r.prev);
            if (!ok) Fail(r, row, "value " + std::string(v) + " breaks the " + (r.strict ? "strictly " : "") +
                                      (r.decreasing ? "decreasing" : "increasing") + " order (previous " + Num(r.prev) + ")", &v, row_failed);
          }
          r.have_prev = true;
          r.prev = d;
          break;
        }
        case Kind::kDateRange: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          std::string_view v = rec.cell(static_cast<size_t>(r.col));
          ++r.checked;
          double sec;
          int64_t days;
          if (ParseDateTime(v, r.format, sec)) {
          } else if (ParseDate(v, r.format, days)) {
            sec = static_cast<double>(days) * 86400.0;
          } else {
            Fail(r, row, "value is not a date", &v, row_failed);
            break;
          }
          if ((r.min && sec < *r.min) || (r.max && sec > *r.max)) Fail(r, row, "date is outside the allowed range", &v, row_failed);
          break;
        }
        case Kind::kCompare: {
          if (rec.is_null(static_cast<size_t>(r.col)) || rec.is_null(static_cast<size_t>(r.col_b))) break;
          std::string_view a = rec.cell(static_cast<size_t>(r.col)), b = rec.cell(static_cast<size_t>(r.col_b));
          ++r.checked;
          double x, y;
          int c;
          if (ParseFloat(a, x) && ParseFloat(b, y)) c = x < y ? -1 : x > y ? 1 : 0;
          else c = a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
          const std::string& op = r.op;
          bool ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : op == ">=" ? c >= 0 : op == "==" ? c == 0 : c != 0;
          if (!ok) {
            std::string v = std::string(a) + " " + op + " " + std::string(b);
            std::string_view vv = v;
            Fail(r, row, r.columns[0] + " " + op + " " + r.columns[1] + " does not hold (" + v + ")", &vv, row_failed);
          }
          break;
        }
        case Kind::kRequiredIf: {
          auto cond = r.expr->Test(rec);
          if (!cond || !*cond) break;
          ++r.checked;
          if (rec.is_null(static_cast<size_t>(r.col))) Fail(r, row, "\"" + r.field + "\" is required when " + r.expr_text, nullptr, row_failed);
          break;
        }
        case Kind::kExpression: {
          ++r.checked;
          auto t = r.expr->Test(rec);
          if (!t || !*t) Fail(r, row, "rule " + r.expr_text + " is " + (t ? "false" : "null"), nullptr, row_failed);
          break;
        }
        case Kind::kAggregate: {
          if (rec.is_null(static_cast<size_t>(r.col))) break;
          double d;
          if (!ParseFloat(rec.cell(static_cast<size_t>(r.col)), d)) break;
          ++r.count;
          double delta = d - r.mean;
          r.mean += delta / static_cast<double>(r.count);
          r.m2 += delta * (d - r.mean);
          r.sum += d;
          r.vmin = std::min(r.vmin, d);
          r.vmax = std::max(r.vmax, d);
          break;
        }
        default:
          break;
      }
    }
    if (row_failed) ++rows_with_errors_;
    last_failed_ = row_failed;
  }

  bool last_row_failed() const override { return last_failed_; }

  ValidationReport Finish(int64_t rows) override {
    ValidationReport rep;
    rep.rows = rows;
    int64_t type_checked = 0, type_failed = 0, uniq_checked = 0, uniq_failed = 0, null_checked = 0, null_failed = 0;
    for (auto& rp : rules_) {
      Rule& r = *rp;
      if (r.kind == Kind::kRowCount) {
        r.checked = 1;
        if ((r.min && rows < *r.min) || (r.max && rows > *r.max)) {
          DatasetIssue(r, "the dataset has " + std::to_string(rows) + " rows, expected " + (r.min ? "at least " + Num(*r.min) : "") +
                              (r.min && r.max ? " and " : "") + (r.max ? "at most " + Num(*r.max) : ""));
        }
        r.observed = std::to_string(rows);
      }
      if (r.kind == Kind::kAggregate && !r.skip) {
        double v = r.stat == "mean" ? r.mean : r.stat == "min" ? r.vmin : r.stat == "max" ? r.vmax : r.stat == "sum" ? r.sum
                                                                                                     : (r.count > 1 ? std::sqrt(r.m2 / static_cast<double>(r.count - 1)) : 0.0);
        r.checked = 1;
        r.observed = r.count > 0 ? DumpJson(Json(v)) : "null";
        bool bad = r.count == 0 || (r.min && (r.excl_min ? v <= *r.min : v < *r.min)) || (r.max && (r.excl_max ? v >= *r.max : v > *r.max));
        if (bad) DatasetIssue(r, "the " + r.stat + " of \"" + r.field + "\" is " + (r.count ? Num(v) : std::string("undefined")) +
                                     ", expected within [" + (r.min ? Num(*r.min) : "") + ", " + (r.max ? Num(*r.max) : "") + "]");
      }
      RuleResult res;
      res.rule = r.name;
      res.field = r.field;
      res.severity = r.warning ? "warning" : "error";
      res.checked = r.checked;
      res.failed = r.failed;
      res.mostly = r.mostly;
      res.observed_json = r.observed;
      // Passes when at most (1 - mostly) of the checked values failed.
      res.passed = r.failed == 0 || (r.mostly < 1.0 && static_cast<double>(r.checked - r.failed) >=
                                                           r.mostly * static_cast<double>(r.checked) - 1e-9);
      bool as_error = !res.passed && !r.warning;
      if (as_error) rep.is_valid = false;
      auto& dest = as_error ? rep.errors : rep.warnings;
      (as_error ? rep.error_count : rep.warning_count) += r.failed;
      for (auto& e : r.examples) dest.push_back(std::move(e));
      if (r.failed > static_cast<int64_t>(r.examples.size())) rep.truncated = true;
      if (r.kind == Kind::kType) type_checked += r.checked, type_failed += r.failed;
      if (r.kind == Kind::kUnique || r.kind == Kind::kUniqueCombination) uniq_checked += r.checked, uniq_failed += r.failed;
      if (r.kind == Kind::kNotNull) null_checked += r.checked, null_failed += r.failed;
      rep.rules.push_back(std::move(res));
    }
    auto by_row = [](const Issue& a, const Issue& b) { return a.row != b.row ? a.row < b.row : a.field < b.field; };
    std::stable_sort(rep.errors.begin(), rep.errors.end(), by_row);
    std::stable_sort(rep.warnings.begin(), rep.warnings.end(), by_row);
    auto cap = [&](std::vector<Issue>& v, size_t n) {
      if (v.size() > n) {
        v.resize(n);
        rep.truncated = true;
      }
    };
    cap(rep.errors, static_cast<size_t>(o_.max_issues));
    cap(rep.warnings, static_cast<size_t>(std::max<int64_t>(0, o_.max_issues - static_cast<int64_t>(rep.errors.size()))));
    rep.rows_with_errors = rows_with_errors_;
    auto share = [](int64_t ok, int64_t all) { return all > 0 ? static_cast<double>(ok) / static_cast<double>(all) : 1.0; };
    double completeness = share(null_checked - null_failed, null_checked);
    double validity = share(rows - rows_with_errors_, rows);
    double uniqueness = share(uniq_checked - uniq_failed, uniq_checked);
    double consistency = share(type_checked - type_failed, type_checked);
    rep.quality_score = std::round(1000.0 * (30 * completeness + 30 * validity + 20 * uniqueness + 20 * consistency)) / 1000.0;
    rep.quality_json = DumpJson(Json{{"completeness", completeness},
                                     {"validity", validity},
                                     {"uniqueness", uniqueness},
                                     {"consistency", consistency},
                                     {"weights", {{"completeness", 0.3}, {"validity", 0.3}, {"uniqueness", 0.2}, {"consistency", 0.2}}}});
    return rep;
  }

 private:
  void Fail(Rule& r, int64_t row, std::string message, const std::string_view* value, bool& row_failed) {
    ++r.failed;
    if (!r.warning) row_failed = true;
    if (static_cast<int64_t>(r.examples.size()) >= o_.max_examples_per_rule) return;
    Issue i;
    i.row = row;
    i.field = r.field;
    i.code = Code(r.kind);
    i.message = std::move(message);
    if (value) {
      i.has_value = true;
      i.value = std::string(value->substr(0, 200));
    }
    r.examples.push_back(std::move(i));
  }

  void DatasetIssue(Rule& r, std::string message) {
    r.checked = std::max<int64_t>(r.checked, 1);
    ++r.failed;
    Issue i;
    i.field = r.field;
    i.code = Code(r.kind);
    i.message = std::move(message);
    r.examples.push_back(std::move(i));
  }

  ValidateOptions o_;
  std::vector<std::unique_ptr<Rule>> rules_;
  std::vector<std::string> schema_columns_, columns_;
  bool per_record_ = false, last_failed_ = false;
  int64_t rows_with_errors_ = 0;
};

}  // namespace

Result<std::unique_ptr<Validator>> Validator::Compile(const Schema& schema, const ValidateOptions& options) {
  auto v = std::make_unique<ValidatorImpl>(options);
  C19_TRY(v->Build(schema));
  return std::unique_ptr<Validator>(std::move(v));
}

}  // namespace c19ai::validation::internal
