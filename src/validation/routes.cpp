// The validation module's HTTP routes (target c19ai_validation_http).

#include "validation/routes.h"

#include "common/json.h"
#include "common/paging.h"
#include "common/text.h"
#include "http/multipart.h"
#include "validation/json.h"

namespace c19ai::validation {

namespace {

using http::Method;
using http::Request;
using http::Response;

Response JsonOk(int status, const Json& j) { return Response::Json(status, DumpJson(j)); }

http::Route MakeRoute(Method m, const char* path, const char* perm, const char* summary, const char* audit,
                      http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = perm;
  r.summary = summary;
  r.tag = "datasets";
  r.audit = audit;
  r.exec = http::Exec::kBlocking;
  r.max_body = 4 << 20;
  r.handler = std::move(h);
  return r;
}

template <typename T, typename F>
Json PageJson(const Page<T>& page, F&& to_json) {
  Json items = Json::array();
  for (const auto& item : page.items) items.push_back(to_json(item));
  return {{"items", items},
          {"next_page_token", page.next_page_token.empty() ? Json(nullptr) : Json(page.next_page_token)}};
}

// The format from ?format=, else the content type, else the file name.
Result<Format> FormatOf(const Request& req, std::string_view content_type, std::string_view filename) {
  std::string f = ToLower(req.Query("format").value_or(""));
  if (f == "csv") return Format::kCsv;
  if (f == "jsonl" || f == "ndjson" || f == "jsonlines") return Format::kJsonLines;
  if (!f.empty()) return Error::Field("format", "format must be csv or jsonl");
  std::string ct = ToLower(content_type.substr(0, content_type.find(';')));
  ct = std::string(Trim(ct));
  if (ct == "application/x-ndjson" || ct == "application/jsonl" || ct == "application/x-jsonlines" ||
      ct == "application/jsonlines" || ct == "application/ndjson") {
    return Format::kJsonLines;
  }
  std::string name = ToLower(filename);
  auto ends = [&](std::string_view s) { return name.size() >= s.size() && name.substr(name.size() - s.size()) == s; };
  if (ends(".jsonl") || ends(".ndjson")) return Format::kJsonLines;
  if (ct == "text/csv" || ct == "application/csv" || ct == "text/plain" || ct.empty() ||
      ct == "application/octet-stream" || ends(".csv") || ends(".tsv")) {
    return Format::kCsv;
  }
  return Error::Field("Content-Type", "send text/csv or application/x-ndjson (or set ?format=csv|jsonl), got \"" + ct + "\"");
}

Result<ReadOptions> ReadOptionsFromQuery(const Request& req, Format format, std::string_view filename) {
  ReadOptions o;
  o.format = format;
  std::string d = req.Query("delimiter").value_or("");
  if (d == "tab" || d == "\\t") d = "\t";
  if (d.empty()) {
    std::string name = ToLower(filename);
    d = name.size() > 4 && name.substr(name.size() - 4) == ".tsv" ? "\t" : ",";
  }
  if (d.size() != 1) return Error::Field("delimiter", "delimiter must be one character (or \"tab\")");
  o.delimiter = d[0];
  std::string header = req.Query("header").value_or("true");
  if (header != "true" && header != "false") return Error::Field("header", "header must be true or false");
  o.header = header == "true";
  return o;
}

// {schema} | {schema_name, schema_version?} | {expectation_suite}.
Result<Schema> SchemaFromBody(DatasetService& svc, FieldReader& r) {
  const Json* inline_schema = r.OptObject("schema");
  auto name = r.OptString("schema_name");
  auto version = r.OptInt("schema_version", 1);
  const Json* suite = r.OptObject("expectation_suite");
  int given = (inline_schema != nullptr) + name.has_value() + (suite != nullptr);
  if (given != 1) {
    r.Fail("schema", "give exactly one of schema, schema_name or expectation_suite");
    return Error::Field("schema", "give exactly one of schema, schema_name or expectation_suite");
  }
  if (inline_schema) {
    auto s = SchemaFromJson(*inline_schema);
    if (!s.ok()) {
      Error e = s.error();
      Json d = Json::parse(e.details.empty() ? "{}" : e.details, nullptr, false);
      std::string field = d.is_object() && d.contains("field") ? d["field"].get<std::string>() : "";
      return std::move(e).WithField(field.empty() ? "schema" : "schema." + field);
    }
    return s;
  }
  if (name) return svc.GetSchema(*name, version.value_or(0));
  C19_ASSIGN_OR_RETURN(GxImport imp, GxSuiteFromJson(*suite));
  return imp.schema;
}

}  // namespace

Status RegisterRoutes(http::Router& router, DatasetService& service, const RouteOptions& options) {
  DatasetService* svc = &service;

  http::Route upload = MakeRoute(
      Method::kPost, "/api/v1/datasets", "datasets:write",
      "Upload a dataset version (?name=; raw body with Content-Type text/csv or application/x-ndjson, or multipart "
      "part `file`; ?delimiter=, ?header=true|false, ?format=csv|jsonl). Streamed; a malformed file is a 400 naming "
      "the line",
      "dataset.create", [svc](Request& req) -> Result<Response> {
        std::string name = req.Query("name").value_or("");
        std::string_view ct = req.Header("Content-Type");
        Result<Dataset> d = Error::Internal("no upload");
        if (ToLower(ct).rfind("multipart/form-data", 0) == 0) {
          C19_ASSIGN_OR_RETURN(auto mp, http::MultipartReader::Create(*req.body_reader, ct));
          bool done = false;
          for (;;) {
            C19_ASSIGN_OR_RETURN(auto part, mp->NextPart());
            if (!part) break;
            if (part->name == "name" && !done) {
              C19_ASSIGN_OR_RETURN(std::string n, mp->ReadAll(1024));
              if (name.empty()) name = std::string(Trim(n));
              continue;
            }
            if (part->name != "file") {
              return Error::Field(part->name, "unknown multipart part \"" + part->name.substr(0, 64) + "\" (expected file and name)");
            }
            if (done) return Error::Field("file", "more than one file part");
            if (name.empty()) {
              std::string stem = part->filename.substr(0, part->filename.find('.'));
              name = stem;
            }
            if (name.empty()) return Error::Field("name", "give the dataset a name (?name=)");
            C19_ASSIGN_OR_RETURN(Format f, FormatOf(req, part->content_type, part->filename));
            C19_ASSIGN_OR_RETURN(ReadOptions ro, ReadOptionsFromQuery(req, f, part->filename));
            req.audit_resource = "dataset:" + name;
            storage::ReaderSource<http::MultipartReader> src(*mp);
            d = svc->Upload(req.principal, name, ro, src);
            if (!d.ok()) return d.error();
            done = true;
          }
          if (!done) return Error::Field("file", "the multipart body has no file part");
        } else {
          if (name.empty()) return Error::Field("name", "give the dataset a name (?name=)");
          C19_ASSIGN_OR_RETURN(Format f, FormatOf(req, ct, ""));
          C19_ASSIGN_OR_RETURN(ReadOptions ro, ReadOptionsFromQuery(req, f, ""));
          req.audit_resource = "dataset:" + name;
          storage::ReaderSource<http::BodyReader> src(*req.body_reader);
          d = svc->Upload(req.principal, name, ro, src);
          if (!d.ok()) return d.error();
        }
        req.audit_resource = "dataset:" + d->name + "@" + std::to_string(d->version);
        req.audit_details = DumpJson(Json{{"id", d->id}, {"sha256", d->sha256}, {"rows", d->rows}});
        return JsonOk(201, DatasetToJson(*d)).With("Location", "/api/v1/datasets/" + d->id);
      });
  upload.body = http::BodyMode::kStream;
  upload.max_body = options.max_upload_bytes + (1 << 20);
  C19_TRY(router.Add(std::move(upload)));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/datasets", "datasets:read",
                               "Dataset versions, by name then newest version first (?name=, paging)", "",
                               [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
                                 C19_ASSIGN_OR_RETURN(auto page, svc->List(req.Query("name").value_or(""),
                                                                           limit.value_or(kDefaultPageSize),
                                                                           req.Query("page_token").value_or("")));
                                 return JsonOk(200, PageJson(page, DatasetToJson));
                               })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/datasets/{id}", "datasets:read",
                               "One dataset version, by id, name (latest) or name@version", "",
                               [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Dataset d, svc->Get(req.Param("id")));
                                 return JsonOk(200, DatasetToJson(d));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kDelete, "/api/v1/datasets/{id}", "datasets:write",
      "Delete a dataset version (refused with 412 while a model version's lineage names it, unless force=true)",
      "dataset.delete", [svc](Request& req) -> Result<Response> {
        std::string force = req.Query("force").value_or("false");
        if (force != "true" && force != "false") return Error::Field("force", "force must be true or false");
        req.audit_resource = "dataset:" + std::string(req.Param("id"));
        C19_TRY(svc->Delete(req.principal, req.Param("id"), force == "true"));
        return Response::Empty(204);
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/datasets/{id}/content", "datasets:read",
      "Download a dataset version's bytes as uploaded (streamed; ETag and X-Content-SHA256 carry its hash)", "",
      [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Dataset d, svc->Get(req.Param("id")));
        Response r;
        r.status = 200;
        r.content_type = d.format == Format::kCsv ? "text/csv; charset=utf-8" : "application/x-ndjson";
        r.headers.emplace_back("ETag", "\"" + d.sha256 + "\"");
        r.headers.emplace_back("X-Content-SHA256", d.sha256);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + d.name + "-v" +
                                                          std::to_string(d.version) +
                                                          (d.format == Format::kCsv ? ".csv" : ".jsonl") + "\"");
        if (req.Header("If-None-Match").find(d.sha256) != std::string_view::npos) {
          r.status = 304;
          return r;
        }
        C19_ASSIGN_OR_RETURN(auto src, svc->Open(d));
        r.content_length = d.size;
        r.source = std::make_shared<http::PullBody<storage::ByteSource>>(std::move(src));
        return r;
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/datasets/{id}/profile", "datasets:read",
      "Profile: per column type, count, missing, distinct, min/max/mean/std, quantiles, histogram, top values, "
      "lengths; duplicate rows, correlations and the quality score with its breakdown",
      "", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(std::string p, svc->Profile(req.Param("id")));
        return Response::Json(200, std::move(p));
      })));

  http::Route infer = MakeRoute(
      Method::kPost, "/api/v1/datasets/{id}/infer-schema", "datasets:read",
      "Infer a schema from a dataset version {name?}; with {save: true} it is stored as the next version of the "
      "schema (needs datasets:write)",
      "schema.infer", [svc](Request& req) -> Result<Response> {
        Json body = Json::object();
        if (!Trim(req.body).empty()) {
          C19_ASSIGN_OR_RETURN(body, ParseJsonObject(req.body));
        }
        FieldReader r(body);
        std::string name = r.OptString("name").value_or("");
        bool save = r.OptBool("save").value_or(false);
        C19_TRY(r.Finish());
        C19_ASSIGN_OR_RETURN(Schema s, svc->InferSchema(req.Param("id"), name));
        if (save) {
          if (!req.principal.Has("datasets:write")) return Error::PermissionDenied("saving a schema needs datasets:write");
          C19_ASSIGN_OR_RETURN(s, svc->CreateSchema(req.principal, s));
          return JsonOk(201, SchemaToJson(s));
        }
        return JsonOk(200, SchemaToJson(s));
      });
  C19_TRY(router.Add(std::move(infer)));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/schemas", "datasets:read",
                               "Schemas (the latest version of each name)", "",
                               [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
                                 C19_ASSIGN_OR_RETURN(auto page, svc->ListSchemas(limit.value_or(kDefaultPageSize),
                                                                                  req.Query("page_token").value_or("")));
                                 return JsonOk(200, PageJson(page, SchemaToJson));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/schemas", "datasets:write",
      "Store a schema as the next version of its name {name, fields: [{name, data_type, required, nullable, "
      "constraints}], constraints, metadata}; constraints are checked (400 naming the constraint)",
      "schema.create", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        C19_ASSIGN_OR_RETURN(Schema s, SchemaFromJson(body));
        req.audit_resource = "schema:" + s.name;
        C19_ASSIGN_OR_RETURN(s, svc->CreateSchema(req.principal, s));
        return JsonOk(201, SchemaToJson(s))
            .With("Location", "/api/v1/schemas/" + PercentEncode(s.name) + "/versions/" + std::to_string(s.version));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/schemas/import", "datasets:write",
      "Import a Great Expectations expectation suite as a schema {expectation_suite_name, expectations}; "
      "?name= overrides the name. Expectations that cannot run here are listed in `unsupported`",
      "schema.import", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        C19_ASSIGN_OR_RETURN(GxImport imp, GxSuiteFromJson(body));
        if (auto n = req.Query("name")) imp.schema.name = *n;
        if (imp.schema.name.empty()) return Error::Field("expectation_suite_name", "the suite has no name (or give ?name=)");
        req.audit_resource = "schema:" + imp.schema.name;
        C19_ASSIGN_OR_RETURN(Schema s, svc->CreateSchema(req.principal, imp.schema));
        return JsonOk(201, Json{{"schema", SchemaToJson(s)}, {"unsupported", imp.unsupported}});
      })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/schemas/{name}", "datasets:read",
                               "The latest version of a schema", "", [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Schema s, svc->GetSchema(req.Param("name"), 0));
                                 return JsonOk(200, SchemaToJson(s));
                               })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/schemas/{name}/versions/{version}", "datasets:read",
                               "One version of a schema", "", [svc](Request& req) -> Result<Response> {
                                 int64_t v = 0;
                                 std::string text(req.Param("version"));
                                 char* end = nullptr;
                                 v = std::strtoll(text.c_str(), &end, 10);
                                 if (text.empty() || *end != '\0' || v < 1) {
                                   return Error::Field("version", "version must be a positive number");
                                 }
                                 C19_ASSIGN_OR_RETURN(Schema s, svc->GetSchema(req.Param("name"), v));
                                 return JsonOk(200, SchemaToJson(s));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/datasets/{id}/validate", "datasets:read",
      "Validate a dataset version against {schema | schema_name (+schema_version) | expectation_suite}; {profile: "
      "true} also profiles in the same pass. Large datasets (validation.inline_max_size) or {async: true} answer "
      "202 with a run to follow (GET /api/v1/validations/{id}, events dataset.validation.progress)",
      "dataset.validate", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader r(body);
        auto schema = SchemaFromBody(*svc, r);
        bool profile = r.OptBool("profile").value_or(false);
        auto async = r.OptBool("async");
        C19_TRY(r.Finish());
        if (!schema.ok()) return schema.error();
        C19_ASSIGN_OR_RETURN(Dataset d, svc->Get(req.Param("id")));
        req.audit_resource = "dataset:" + d.name + "@" + std::to_string(d.version);
        bool queue = async.value_or(svc->ShouldQueue(d));
        if (queue) {
          C19_ASSIGN_OR_RETURN(Run run, svc->SubmitValidation(req.principal, d.id, *schema, profile));
          return JsonOk(202, RunToJson(run)).With("Location", "/api/v1/validations/" + run.id);
        }
        C19_ASSIGN_OR_RETURN(ValidationReport rep, svc->Validate(req.principal, d.id, *schema, profile));
        Json j = ReportToJson(rep);
        j["dataset"] = {{"id", d.id}, {"name", d.name}, {"version", d.version}};
        req.audit_details = DumpJson(Json{{"is_valid", rep.is_valid}, {"error_count", rep.error_count}});
        return JsonOk(200, j);
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/validations", "datasets:read",
      "Validate several datasets against one schema {datasets: [id | name | name@version, ...] (1-100), schema | "
      "schema_name | expectation_suite, profile?}: a report per dataset (or its error) and all_valid",
      "dataset.validate_batch", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader r(body);
        auto schema = SchemaFromBody(*svc, r);
        auto refs = r.OptStringList("datasets");
        bool profile = r.OptBool("profile").value_or(false);
        C19_TRY(r.Finish());
        if (!schema.ok()) return schema.error();
        if (!refs || refs->empty() || refs->size() > 100) {
          return Error::Field("datasets", "datasets must list 1 to 100 dataset ids or names");
        }
        Json items = Json::array();
        bool all_valid = true;
        for (const auto& ref : *refs) {
          auto rep = svc->Validate(req.principal, ref, *schema, profile);
          if (!rep.ok()) {
            all_valid = false;
            items.push_back({{"dataset", ref},
                             {"error", {{"code", std::string(ErrorCodeName(rep.error().code))}, {"message", rep.error().message}}}});
            continue;
          }
          all_valid = all_valid && rep->is_valid;
          items.push_back({{"dataset", ref}, {"report", ReportToJson(*rep)}});
        }
        req.audit_details = DumpJson(Json{{"datasets", refs->size()}, {"all_valid", all_valid}});
        return JsonOk(200, Json{{"items", items}, {"all_valid", all_valid}});
      })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/validations/{id}", "datasets:read",
                               "A validation run: status (queued, running, succeeded, failed), progress and report",
                               "", [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Run run, svc->GetRun(req.Param("id")));
                                 return JsonOk(200, RunToJson(run));
                               })));

  http::Route inline_validate = MakeRoute(
      Method::kPost, "/api/v1/validate", "datasets:read",
      "Validate inline records {schema | schema_name | expectation_suite, records: [{...}, ...]} (a guard in front of "
      "inference); answers as dataset validation, rows counting records from 1",
      "", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader r(body);
        auto schema = SchemaFromBody(*svc, r);
        const Json* records = r.OptArray("records");
        C19_TRY(r.Finish());
        if (!schema.ok()) return schema.error();
        if (!records) return Error::Field("records", "records (a list of objects) is required");
        for (size_t i = 0; i < records->size(); ++i) {
          if (!(*records)[i].is_object()) {
            return Error::Field("records[" + std::to_string(i) + "]", "records[" + std::to_string(i) + "] must be an object");
          }
        }
        C19_ASSIGN_OR_RETURN(ValidationReport rep, svc->ValidateRecords(*schema, records->dump()));
        return JsonOk(200, ReportToJson(rep));
      });
  inline_validate.read_only = true;
  inline_validate.max_body = options.max_records_bytes;
  C19_TRY(router.Add(std::move(inline_validate)));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/datasets/{id}/clean", "datasets:write",
      "Clean into a new version {rules: [{op: trim|lowercase|uppercase|coerce|fill_missing|clip_outliers|"
      "drop_outliers|deduplicate|drop_invalid, ...}]}; rows dropped as invalid go to <name>.rejects",
      "dataset.clean", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader r(body);
        const Json* rules = r.OptArray("rules");
        C19_TRY(r.Finish());
        if (!rules) return Error::Field("rules", "rules (a list) is required");
        req.audit_resource = "dataset:" + std::string(req.Param("id"));
        C19_ASSIGN_OR_RETURN(auto out, svc->Clean(req.principal, req.Param("id"), rules->dump()));
        Json j = DatasetToJson(out.first);
        j["summary"] = Json::parse(out.second);
        return JsonOk(201, j).With("Location", "/api/v1/datasets/" + out.first.id);
      })));

  http::Route drift = MakeRoute(
      Method::kPost, "/api/v1/datasets/{id}/drift", "datasets:read",
      "Drift against {baseline (id, name or name@version), thresholds?: {psi, ks_pvalue, jensen_shannon, linf}}: "
      "per column KS and PSI (numeric) or Jensen-Shannon and L-infinity (categorical), with a verdict",
      "", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        FieldReader r(body);
        std::string baseline = r.String("baseline");
        const Json* th = r.OptObject("thresholds");
        C19_TRY(r.Finish());
        if (th) {
          for (const auto& [k, v] : th->items()) {
            if (k != "psi" && k != "ks_pvalue" && k != "jensen_shannon" && k != "linf" && k != "sample_size")
              return Error::Field("thresholds." + k, "unknown threshold \"" + k + "\"");
            if (!v.is_number()) return Error::Field("thresholds." + k, "thresholds." + k + " must be a number");
          }
        }
        C19_ASSIGN_OR_RETURN(std::string out, svc->Drift(req.Param("id"), baseline, th ? th->dump() : ""));
        return Response::Json(200, std::move(out));
      });
  drift.read_only = true;  // reads only: not audited as a change
  C19_TRY(router.Add(std::move(drift)));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/datasets/{id}/outliers", "datasets:read",
      "Outliers of numeric columns (?method=iqr|zscore, ?threshold= (1.5 / 3 by default), ?max_examples=)", "",
      [svc](Request& req) -> Result<Response> {
        std::string method = req.Query("method").value_or("iqr");
        double threshold = method == "zscore" ? 3.0 : 1.5;
        if (auto t = req.Query("threshold")) {
          char* end = nullptr;
          threshold = std::strtod(t->c_str(), &end);
          if (t->empty() || *end != '\0') return Error::Field("threshold", "threshold must be a number");
        }
        C19_ASSIGN_OR_RETURN(auto max_examples, req.QueryInt("max_examples", 0, 1000));
        C19_ASSIGN_OR_RETURN(std::string out, svc->Outliers(req.Param("id"), method, threshold, max_examples.value_or(20)));
        return Response::Json(200, std::move(out));
      })));

  return OkStatus();
}

}  // namespace c19ai::validation
