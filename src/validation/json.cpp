// JSON mapping of the validation module: schemas, Great Expectations names and suites, reports,
// datasets and runs.

#include "validation/json.h"

#include "common/clock.h"
#include "common/text.h"
#include "validation/engine.h"

namespace c19ai::validation {

namespace internal {

namespace {

const char* const kDataTypes[] = {"integer", "float", "string", "boolean", "date", "datetime", "categorical", "json"};

bool IsDataType(std::string_view t) {
  for (const char* d : kDataTypes)
    if (t == d) return true;
  return false;
}

// GX type names (pandas/numpy/python/SQL) to ours.
std::optional<std::string> GxType(std::string t) {
  t = ToLower(t);
  if (IsDataType(t)) return t;
  for (const char* s : {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bigint",
                        "smallint", "long", "integertype", "longtype"})
    if (t == s) return "integer";
  for (const char* s : {"float", "float16", "float32", "float64", "double", "real", "numeric", "decimal",
                        "doubletype", "floattype", "number"})
    if (t == s) return "float";
  for (const char* s : {"str", "string", "object", "text", "varchar", "stringtype", "unicode"})
    if (t == s) return "string";
  for (const char* s : {"bool", "boolean", "booleantype"})
    if (t == s) return "boolean";
  for (const char* s : {"datetime64", "datetime64[ns]", "timestamp", "timestamptype", "datetime"})
    if (t == s) return "datetime";
  if (t == "date" || t == "datetype") return "date";
  if (t == "category") return "categorical";
  return std::nullopt;
}

Json Copy(const Json& kw, std::initializer_list<std::pair<const char*, const char*>> names) {
  Json out = Json::object();
  for (auto [from, to] : names)
    if (kw.contains(from) && !kw[from].is_null()) out[to] = kw[from];
  return out;
}

}  // namespace

// A GX expectation as our canonical rule; nullopt when unsupported.
std::optional<Json> FromGx(const std::string& type, const Json& kw) {
  Json r;
  auto col = [&](Json j) {
    if (kw.contains("column")) j["column"] = kw["column"];
    return j;
  };
  if (type == "expect_column_values_to_not_be_null") r = col({{"type", "not_null"}});
  else if (type == "expect_column_values_to_be_null")
    r = col({{"type", "expression"}, {"expression", "is_null(`" + kw.value("column", std::string()) + "`)"}});
  else if (type == "expect_column_values_to_be_between") {
    r = col(Copy(kw, {{"min_value", "min"}, {"max_value", "max"}, {"strict_min", "exclusive_min"}, {"strict_max", "exclusive_max"}}));
    r["type"] = "range";
  } else if (type == "expect_column_values_to_match_regex") {
    r = col(Copy(kw, {{"regex", "pattern"}}));
    r["type"] = "regex";
  } else if (type == "expect_column_values_to_not_match_regex") {
    r = col(Copy(kw, {{"regex", "pattern"}}));
    r["type"] = "regex";
    r["negate"] = true;
  } else if (type == "expect_column_values_to_be_in_set") {
    r = col(Copy(kw, {{"value_set", "values"}}));
    r["type"] = "enum";
  } else if (type == "expect_column_values_to_not_be_in_set") {
    r = col(Copy(kw, {{"value_set", "values"}}));
    r["type"] = "enum";
    r["negate"] = true;
  } else if (type == "expect_column_values_to_be_unique") r = col({{"type", "unique"}});
  else if (type == "expect_column_value_lengths_to_be_between") {
    r = col(Copy(kw, {{"min_value", "min"}, {"max_value", "max"}}));
    r["type"] = "length";
  } else if (type == "expect_column_value_lengths_to_equal") {
    r = col(Copy(kw, {{"value", "min"}}));
    if (kw.contains("value")) r["max"] = kw["value"];
    r["type"] = "length";
  } else if (type == "expect_table_row_count_to_be_between") {
    r = Copy(kw, {{"min_value", "min"}, {"max_value", "max"}});
    r["type"] = "row_count";
  } else if (type == "expect_table_row_count_to_equal") {
    r = Copy(kw, {{"value", "min"}});
    if (kw.contains("value")) r["max"] = kw["value"];
    r["type"] = "row_count";
  } else if (type == "expect_column_to_exist") r = col({{"type", "column_exists"}});
  else if (type == "expect_table_columns_to_match_ordered_list") {
    r = Copy(kw, {{"column_list", "columns"}});
    r["type"] = "columns_order";
  } else if (type == "expect_table_columns_to_match_set") {
    r = Copy(kw, {{"column_set", "columns"}, {"exact_match", "exact"}});
    r["type"] = "columns_set";
  } else if (type == "expect_column_pair_values_a_to_be_greater_than_b") {
    r = Copy(kw, {{"column_A", "a"}, {"column_B", "b"}});
    r["op"] = kw.value("or_equal", false) ? ">=" : ">";
    r["type"] = "compare";
  } else if (type == "expect_column_pair_values_to_be_equal") {
    r = Copy(kw, {{"column_A", "a"}, {"column_B", "b"}});
    r["op"] = "==";
    r["type"] = "compare";
  } else if (type == "expect_column_values_to_be_increasing" || type == "expect_column_values_to_be_decreasing") {
    r = col(Copy(kw, {{"strictly", "strict"}}));
    r["type"] = "monotonic";
    r["direction"] = type.find("increasing") != std::string::npos ? "increasing" : "decreasing";
  } else if (type == "expect_column_values_to_be_of_type" || type == "expect_column_values_to_be_in_type_list") {
    std::string t;
    if (kw.contains("type_") && kw["type_"].is_string()) t = kw["type_"].get<std::string>();
    else if (kw.contains("type_list") && kw["type_list"].is_array() && !kw["type_list"].empty() && kw["type_list"][0].is_string())
      t = kw["type_list"][0].get<std::string>();
    auto ours = GxType(t);
    if (!ours) return std::nullopt;
    r = col({{"type", "type"}, {"data_type", *ours}});
  } else if (type == "expect_column_values_to_match_strftime_format") {
    std::string f = kw.value("strftime_format", std::string());
    bool has_time = f.find("%H") != std::string::npos || f.find("%M") != std::string::npos;
    r = col({{"type", "type"}, {"data_type", has_time ? "datetime" : "date"}, {"format", f}});
  } else if (type == "expect_column_values_to_be_dateutil_parseable") r = col({{"type", "type"}, {"data_type", "datetime"}});
  else if (type == "expect_column_values_to_be_json_parseable") r = col({{"type", "type"}, {"data_type", "json"}});
  else if (type == "expect_column_mean_to_be_between" || type == "expect_column_min_to_be_between" ||
           type == "expect_column_max_to_be_between" || type == "expect_column_stdev_to_be_between" ||
           type == "expect_column_sum_to_be_between") {
    std::string stat = type.substr(std::string("expect_column_").size());
    stat = stat.substr(0, stat.find('_'));
    r = col(Copy(kw, {{"min_value", "min"}, {"max_value", "max"}, {"strict_min", "exclusive_min"}, {"strict_max", "exclusive_max"}}));
    r["type"] = "aggregate";
    r["stat"] = stat;
  } else if (type == "expect_compound_columns_to_be_unique") {
    r = Copy(kw, {{"column_list", "columns"}});
    r["type"] = "unique_combination";
  } else {
    return std::nullopt;
  }
  if (kw.contains("mostly")) r["mostly"] = kw["mostly"];
  r["gx"] = type;
  return r;
}

bool IsGxName(std::string_view type) { return type.substr(0, 7) == "expect_"; }

}  // namespace internal

namespace {

Status ReadConstraints(const Json* list, const std::string& path, std::vector<std::string>& out) {
  if (!list) return OkStatus();
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& c = (*list)[i];
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!c.is_object()) return Error::Field(p, p + " must be an object");
    std::string type;
    if (c.contains("type") && c["type"].is_string()) type = c["type"].get<std::string>();
    else if (c.contains("expectation_type") && c["expectation_type"].is_string()) type = c["expectation_type"].get<std::string>();
    if (type.empty()) return Error::Field(p + ".type", p + " needs a \"type\"");
    if (internal::IsGxName(type)) {
      Json kw = c.contains("kwargs") && c["kwargs"].is_object() ? c["kwargs"] : c;
      auto r = internal::FromGx(type, kw);
      if (!r) return Error::Field(p + ".type", "unsupported expectation \"" + type + "\"");
      for (const char* k : {"severity", "column"})
        if (c.contains(k) && !r->contains(k)) (*r)[k] = c[k];
      out.push_back(DumpJson(*r));
    } else {
      out.push_back(DumpJson(c));
    }
  }
  return OkStatus();
}

}  // namespace

Result<Schema> SchemaFromJson(const Json& j) {
  if (!j.is_object()) return Error::Field("schema", "the schema must be a JSON object");
  Schema s;
  FieldReader r(j, "");
  s.name = r.OptString("name").value_or("");
  if (const Json* v = r.OptValue("version")) {
    if (v->is_number_integer()) s.version = v->get<int64_t>();
    else if (v->is_string()) {
      int64_t n = 0;
      if (internal::ParseInt(v->get<std::string>(), n)) s.version = n;
    }
  }
  s.description = r.OptString("description").value_or("");
  const Json* fields = r.OptArray("fields");
  const Json* constraints = r.OptArray("constraints");
  if (const Json* m = r.OptObject("metadata")) s.metadata_json = m->dump();
  r.Allow("created_at");
  r.Allow("created_by");
  C19_TRY(r.Finish());
  if (fields) {
    std::set<std::string> names;
    for (size_t i = 0; i < fields->size(); ++i) {
      std::string p = "fields[" + std::to_string(i) + "]";
      const Json& f = (*fields)[i];
      if (!f.is_object()) return Error::Field(p, p + " must be an object");
      FieldReader fr(f, p);
      Field field;
      field.name = fr.String("name");
      field.data_type = fr.OptString("data_type").value_or(fr.OptString("type").value_or("string"));
      field.required = fr.OptBool("required").value_or(true);
      field.nullable = fr.OptBool("nullable").value_or(true);
      field.format = fr.OptString("format").value_or("");
      const Json* cs = fr.OptArray("constraints");
      fr.Allow("description");
      C19_TRY(fr.Finish());
      if (field.name.empty()) return Error::Field(p + ".name", p + ".name must not be empty");
      if (!names.insert(field.name).second) return Error::Field(p + ".name", "field \"" + field.name + "\" is listed twice");
      if (!internal::IsDataType(field.data_type)) {
        return Error::Field(p + ".data_type", p + ".data_type must be integer, float, string, boolean, date, datetime, "
                                              "categorical or json, got \"" + field.data_type + "\"");
      }
      C19_TRY(ReadConstraints(cs, p + ".constraints", field.constraints_json));
      s.fields.push_back(std::move(field));
    }
  }
  C19_TRY(ReadConstraints(constraints, "constraints", s.constraints_json));
  return s;
}

Json SchemaToJson(const Schema& s) {
  Json fields = Json::array();
  for (const auto& f : s.fields) {
    Json cs = Json::array();
    for (const auto& c : f.constraints_json) cs.push_back(Json::parse(c, nullptr, false));
    Json fj = {{"name", f.name}, {"data_type", f.data_type}, {"required", f.required}, {"nullable", f.nullable},
               {"constraints", cs}};
    if (!f.format.empty()) fj["format"] = f.format;
    fields.push_back(fj);
  }
  Json cs = Json::array();
  for (const auto& c : s.constraints_json) cs.push_back(Json::parse(c, nullptr, false));
  Json out = {{"name", s.name}, {"version", s.version}, {"description", s.description}, {"fields", fields},
              {"constraints", cs}, {"metadata", Json::parse(s.metadata_json, nullptr, false)}};
  if (s.created_at_ms) {
    out["created_at"] = FormatRfc3339(s.created_at_ms);
    out["created_by"] = s.created_by;
  }
  return out;
}

Result<Schema> ParseSchema(std::string_view json) {
  C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(json, "schema"));
  return SchemaFromJson(j);
}

std::string SchemaJson(const Schema& s) { return DumpJson(SchemaToJson(s)); }

Result<GxImport> GxSuiteFromJson(const Json& j) {
  if (!j.is_object()) return Error::Field("suite", "an expectation suite must be a JSON object");
  GxImport out;
  out.schema.name = j.value("expectation_suite_name", j.value("name", std::string()));
  const Json* list = j.contains("expectations") && j["expectations"].is_array() ? &j["expectations"] : nullptr;
  if (!list) return Error::Field("expectations", "an expectation suite needs an \"expectations\" list");
  if (j.contains("meta") && j["meta"].is_object()) out.schema.metadata_json = DumpJson(Json{{"gx_meta", j["meta"]}});
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    std::string type = e.value("expectation_type", e.value("type", std::string()));
    Json kw = e.contains("kwargs") && e["kwargs"].is_object() ? e["kwargs"] : e;
    if (type.empty()) return Error::Field("expectations[" + std::to_string(i) + "]", "an expectation has no expectation_type");
    auto r = internal::FromGx(type, kw);
    if (!r) {
      out.unsupported.push_back(type);
      continue;
    }
    out.schema.constraints_json.push_back(DumpJson(*r));
  }
  return out;
}

Result<GxImport> ImportGxSuite(std::string_view json) {
  C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(json, "suite"));
  return GxSuiteFromJson(j);
}

Json ReportToJson(const ValidationReport& r) {
  auto issues = [](const std::vector<Issue>& list) {
    Json a = Json::array();
    for (const auto& i : list) {
      Json j = {{"row", i.row > 0 ? Json(i.row) : Json(nullptr)}, {"field", i.field.empty() ? Json(nullptr) : Json(i.field)},
                {"code", i.code}, {"message", i.message}};
      j["value"] = i.has_value ? Json(i.value) : Json(nullptr);
      a.push_back(std::move(j));
    }
    return a;
  };
  Json rules = Json::array();
  for (const auto& x : r.rules) {
    Json j = {{"rule", x.rule}, {"field", x.field.empty() ? Json(nullptr) : Json(x.field)}, {"severity", x.severity},
              {"checked", x.checked}, {"failed", x.failed}, {"mostly", x.mostly}, {"passed", x.passed}};
    if (!x.observed_json.empty()) j["observed"] = Json::parse(x.observed_json, nullptr, false);
    rules.push_back(std::move(j));
  }
  Json out = {{"is_valid", r.is_valid},
              {"errors", issues(r.errors)},
              {"warnings", issues(r.warnings)},
              {"statistics",
               {{"rows", r.rows}, {"rows_with_errors", r.rows_with_errors}, {"error_count", r.error_count},
                {"warning_count", r.warning_count}, {"truncated", r.truncated}, {"rules", rules}}},
              {"quality_score", r.quality_score}};
  out["quality"] = r.quality_json.empty() ? Json(nullptr) : Json::parse(r.quality_json, nullptr, false);
  if (!r.profile_json.empty()) out["profile"] = Json::parse(r.profile_json, nullptr, false);
  return out;
}

std::string ReportJson(const ValidationReport& r) { return DumpJson(ReportToJson(r)); }

Json DatasetToJson(const Dataset& d) {
  Json cols = Json::array();
  for (const auto& c : d.columns) cols.push_back({{"name", c.name}, {"type", c.type}});
  return {{"id", d.id},
          {"name", d.name},
          {"version", d.version},
          {"format", FormatName(d.format)},
          {"delimiter", std::string(1, d.delimiter)},
          {"rows", d.rows},
          {"columns", cols},
          {"column_count", d.columns.size()},
          {"size", d.size},
          {"sha256", d.sha256},
          {"source", d.source},
          {"parent_id", d.parent_id.empty() ? Json(nullptr) : Json(d.parent_id)},
          {"description", d.description},
          {"created_by", d.created_by},
          {"created_at", FormatRfc3339(d.created_at_ms)}};
}

std::string DatasetJson(const Dataset& d) { return DumpJson(DatasetToJson(d)); }

Json RunToJson(const Run& r) {
  Json j = {{"id", r.id},
            {"dataset_id", r.dataset_id},
            {"status", r.status},
            {"progress", r.progress},
            {"schema", {{"name", r.schema_name}, {"version", r.schema_version}}},
            {"created_by", r.created_by},
            {"created_at", FormatRfc3339(r.created_at_ms)},
            {"updated_at", FormatRfc3339(r.updated_at_ms)}};
  j["report"] = r.report_json.empty() ? Json(nullptr) : Json::parse(r.report_json, nullptr, false);
  j["error"] = r.error.empty() ? Json(nullptr) : Json(r.error);
  return j;
}

std::string RunJson(const Run& r) { return DumpJson(RunToJson(r)); }

std::string_view FormatName(Format f) { return f == Format::kCsv ? "csv" : "jsonl"; }

}  // namespace c19ai::validation
