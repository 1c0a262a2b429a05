// The registry's HTTP routes (target c19ai_registry_http).

#include "registry/routes.h"

#include "common/clock.h"
#include "common/json.h"
#include "common/paging.h"
#include "common/text.h"
#include "http/multipart.h"

namespace c19ai::registry {

namespace {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

Json OptTime(const std::optional<int64_t>& ms) { return ms ? Json(FormatRfc3339(*ms)) : Json(nullptr); }
Json OptInt(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

Json ToJson(const Model& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"description", m.description},
          {"model_type", m.model_type},
          {"framework", m.framework},
          {"tags", m.tags},
          {"owner", m.owner_name},
          {"owner_id", m.owner_id},
          {"created_at", FormatRfc3339(m.created_at_ms)},
          {"updated_at", FormatRfc3339(m.updated_at_ms)},
          {"version_count", m.version_count},
          {"latest_version", OptInt(m.latest_version)},
          {"production_version", OptInt(m.production_version)},
          {"aliases", m.aliases}};
}

Json ToJson(const Version& v) {
  return {{"id", v.id},
          {"model", v.model_name},
          {"version", v.version},
          {"framework", v.framework},
          {"stage", StageName(v.stage)},
          {"signature", Json::parse(ml::SignatureJson(v.signature))},
          {"metrics", Json::parse(v.metrics_json, nullptr, false)},
          {"params", Json::parse(v.params_json, nullptr, false)},
          {"lineage", Json::parse(v.lineage_json, nullptr, false)},
          {"description", v.description},
          {"tags", v.tags},
          {"source", v.source_type},
          {"source_id", v.source_id.empty() ? Json(nullptr) : Json(v.source_id)},
          {"sha256", v.sha256},
          {"size", v.size},
          {"artifact_present", !v.artifact_removed_at_ms.has_value()},
          {"artifact_removed_at", OptTime(v.artifact_removed_at_ms)},
          {"aliases", v.aliases},
          {"created_by", v.created_by_name},
          {"created_at", FormatRfc3339(v.created_at_ms)},
          {"stage_changed_at", FormatRfc3339(v.stage_changed_at_ms)},
          {"verified_at", OptTime(v.verified_at_ms)},
          {"verified_ok", v.verified_ok ? Json(*v.verified_ok) : Json(nullptr)}};
}

Json ToJson(const Transition& t) {
  return {{"id", t.id},
          {"version", t.version},
          {"from", t.from_stage},
          {"to", t.to_stage},
          {"actor", t.actor_name},
          {"actor_id", t.actor_id},
          {"reason", t.reason},
          {"at", FormatRfc3339(t.at_ms)}};
}

template <typename T>
Json PageJson(const Page<T>& page) {
  Json items = Json::array();
  for (const auto& item : page.items) items.push_back(ToJson(item));
  return {{"items", items}, {"next_page_token", page.next_page_token.empty() ? Json(nullptr) : Json(page.next_page_token)}};
}

Response JsonOk(int status, const Json& j) { return Response::Json(status, DumpJson(j)); }

// Tags as {"key": "value"} or ["key", ...] (values "").
std::optional<Tags> ReadTags(FieldReader& r, std::string_view key) {
  const Json* v = r.OptValue(key);
  if (!v) return std::nullopt;
  Tags tags;
  if (v->is_object()) {
    for (const auto& [k, value] : v->items()) {
      if (!value.is_string()) {
        r.Fail(key, "tag \"" + k + "\" must have a string value");
        return std::nullopt;
      }
      tags[k] = value.get<std::string>();
    }
  } else if (v->is_array()) {
    for (const auto& item : *v) {
      if (!item.is_string()) {
        r.Fail(key, "tags must be an object of strings or a list of strings");
        return std::nullopt;
      }
      tags[item.get<std::string>()] = "";
    }
  } else {
    r.Fail(key, "tags must be an object of strings or a list of strings");
    return std::nullopt;
  }
  return tags;
}

Result<VersionSpec> ParseMetadata(std::string_view text) {
  VersionSpec spec;
  if (Trim(text).empty()) return spec;
  C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "metadata"));
  FieldReader r(j, "metadata");
  if (const Json* sig = r.OptObject("signature")) {
    auto parsed = ml::ParseSignature(sig->dump());
    if (!parsed.ok()) {
      Error e = parsed.error();
      Json d = Json::parse(e.details, nullptr, false);
      std::string field = d.is_object() && d.contains("field") ? "metadata." + d["field"].get<std::string>() : "metadata.signature";
      return std::move(e).WithField(field);
    }
    spec.signature = std::move(*parsed);
  }
  if (const Json* metrics = r.OptObject("metrics")) {
    for (const auto& [k, v] : metrics->items()) {
      if (!v.is_number()) r.Fail("metrics", "metric \"" + k + "\" must be a number");
    }
    spec.metrics_json = metrics->dump();
  }
  if (const Json* params = r.OptObject("params")) spec.params_json = params->dump();
  if (const Json* lineage = r.OptObject("lineage")) spec.lineage_json = lineage->dump();
  spec.description = r.OptString("description").value_or("");
  spec.framework = r.OptString("framework").value_or("");
  if (auto tags = ReadTags(r, "tags")) spec.tags = std::move(*tags);
  C19_TRY(r.Finish());
  return spec;
}

http::Route MakeRoute(Method m, const char* path, const char* perm, const char* summary, const char* audit,
                      http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = perm;
  r.summary = summary;
  r.tag = "registry";
  r.audit = audit;
  r.exec = Exec::kBlocking;
  r.max_body = 256 << 10;
  r.handler = std::move(h);
  return r;
}

Result<Json> Body(const Request& req) { return ParseJsonObject(req.body); }

}  // namespace

Status RegisterRoutes(http::Router& router, Registry& registry, const RouteOptions& options) {
  Registry* reg = &registry;

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/models", "models:read",
      "Search registered models (q, model_type, framework, tag=key[:value], owner, stage, sort, order, paging)", "",
      [reg](Request& req) -> Result<Response> {
        SearchQuery q;
        q.name_contains = req.Query("q").value_or(req.Query("name").value_or(""));
        q.model_type = req.Query("model_type").value_or("");
        q.framework = req.Query("framework").value_or("");
        q.tag = req.Query("tag").value_or("");
        q.owner = req.Query("owner").value_or("");
        q.stage = req.Query("stage").value_or("");
        q.sort = req.Query("sort").value_or("name");
        std::string order = req.Query("order").value_or(q.sort == "name" ? "asc" : "desc");
        if (order != "asc" && order != "desc") return Error::Field("order", "order must be asc or desc");
        q.descending = order == "desc";
        C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
        q.limit = limit.value_or(kDefaultPageSize);
        q.page_token = req.Query("page_token").value_or("");
        C19_ASSIGN_OR_RETURN(auto page, reg->SearchModels(q));
        return JsonOk(200, PageJson(page));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/models", "models:write",
      "Register a model {name, description, model_type, framework, tags}", "model.create",
      [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, Body(req));
        FieldReader r(body);
        ModelSpec spec;
        spec.name = r.String("name");
        spec.description = r.OptString("description").value_or("");
        spec.model_type = r.OptString("model_type").value_or("custom");
        spec.framework = r.OptString("framework").value_or("custom");
        if (auto tags = ReadTags(r, "tags")) spec.tags = std::move(*tags);
        C19_TRY(r.Finish());
        req.audit_resource = "model:" + spec.name;
        C19_ASSIGN_OR_RETURN(Model m, reg->CreateModel(req.principal, spec));
        return JsonOk(201, ToJson(m)).With("Location", "/api/v1/models/" + PercentEncode(m.name));
      })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/models/{name}", "models:read",
                               "A registered model with its latest and production versions and aliases", "",
                               [reg](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Model m, reg->GetModel(req.Param("name")));
                                 return JsonOk(200, ToJson(m));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPatch, "/api/v1/models/{name}", "models:write",
      "Update a model's description or tags, or rename it {name?, description?, tags?}", "model.update",
      [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, Body(req));
        FieldReader r(body);
        ModelPatch patch;
        patch.name = r.OptString("name");
        patch.description = r.OptString("description");
        patch.tags = ReadTags(r, "tags");
        C19_TRY(r.Finish());
        req.audit_resource = "model:" + std::string(req.Param("name"));
        req.audit_details = DumpJson(body);
        C19_ASSIGN_OR_RETURN(Model m, reg->UpdateModel(req.principal, req.Param("name"), patch));
        return JsonOk(200, ToJson(m));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kDelete, "/api/v1/models/{name}", "models:write",
      "Delete a model, its versions and unused artifacts (refused while a version is in production unless "
      "force=true)",
      "model.delete", [reg](Request& req) -> Result<Response> {
        std::string force = req.Query("force").value_or("false");
        if (force != "true" && force != "false") return Error::Field("force", "force must be true or false");
        req.audit_resource = "model:" + std::string(req.Param("name"));
        req.audit_details = DumpJson(Json{{"force", force == "true"}});
        C19_TRY(reg->DeleteModel(req.principal, req.Param("name"), force == "true"));
        return Response::Empty(204);
      })));

  http::Route upload = MakeRoute(
      Method::kPost, "/api/v1/models/{name}/versions", "models:write",
      "Upload a version: multipart with part `artifact` (the file, streamed) and part `metadata` (JSON: signature, "
      "metrics, params, lineage, description, tags, framework). The artifact must load and answer one inference, "
      "else 422.",
      "model.version.create", [reg](Request& req) -> Result<Response> {
        std::string name(req.Param("name"));
        req.audit_resource = "model:" + name;
        // Fail fast for an unknown model, before reading the upload.
        C19_TRY(reg->GetModel(name));
        C19_ASSIGN_OR_RETURN(auto mp, http::MultipartReader::Create(*req.body_reader, req.Header("Content-Type")));
        std::optional<StagedArtifact> staged;
        std::optional<VersionSpec> spec;
        for (;;) {
          C19_ASSIGN_OR_RETURN(auto part, mp->NextPart());
          if (!part) break;
          if (part->name == "artifact" || part->name == "file") {
            if (staged) return Error::Field("artifact", "more than one artifact part");
            storage::ReaderSource<http::MultipartReader> src(*mp);
            C19_ASSIGN_OR_RETURN(StagedArtifact a, reg->StageArtifact(src));
            staged = std::move(a);
          } else if (part->name == "metadata") {
            if (spec) return Error::Field("metadata", "more than one metadata part");
            C19_ASSIGN_OR_RETURN(std::string text, mp->ReadAll(1 << 20));
            C19_ASSIGN_OR_RETURN(VersionSpec parsed, ParseMetadata(text));
            spec = std::move(parsed);
          } else {
            return Error::Field(part->name, "unknown multipart part \"" + part->name.substr(0, 64) +
                                                "\" (expected artifact and metadata)");
          }
        }
        if (!staged) return Error::Field("artifact", "the multipart body has no artifact part");
        VersionSpec s = spec ? std::move(*spec) : VersionSpec{};
        s.source_type = "upload";
        req.audit_details = DumpJson(Json{{"sha256", staged->sha256}, {"size", staged->size}});
        C19_ASSIGN_OR_RETURN(Version v, reg->CreateVersion(req.principal, name, std::move(*staged), s));
        req.audit_resource = "model:" + v.model_name + "/" + std::to_string(v.version);
        return JsonOk(201, ToJson(v))
            .With("Location", "/api/v1/models/" + PercentEncode(v.model_name) + "/versions/" + std::to_string(v.version));
      });
  upload.body = http::BodyMode::kStream;
  upload.max_body = options.max_artifact_bytes + (1 << 20);
  C19_TRY(router.Add(std::move(upload)));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/models/{name}/versions", "models:read", "A model's versions, newest first (stage filter)",
      "", [reg](Request& req) -> Result<Response> {
        std::optional<Stage> stage;
        if (auto s = req.Query("stage")) {
          stage = ParseStage(*s);
          if (!stage) return Error::Field("stage", "stage must be none, staging, production or archived");
        }
        C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
        C19_ASSIGN_OR_RETURN(auto page, reg->ListVersions(req.Param("name"), stage, limit.value_or(kDefaultPageSize),
                                                          req.Query("page_token").value_or("")));
        return JsonOk(200, PageJson(page));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/models/{name}/versions/{version}", "models:read",
      "One version, by number, alias, or latest | production | staging", "", [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Version v, reg->GetVersion(req.Param("name"), req.Param("version")));
        return JsonOk(200, ToJson(v));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/models/{name}/versions/{version}/artifact", "models:read",
      "Download a version's artifact (streamed; ETag and X-Content-SHA256 carry its hash)", "",
      [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Version v, reg->GetVersion(req.Param("name"), req.Param("version")));
        std::string etag = "\"" + v.sha256 + "\"";
        Response r;
        r.status = 200;
        r.content_type = "application/octet-stream";
        r.headers.emplace_back("ETag", etag);
        r.headers.emplace_back("X-Content-SHA256", v.sha256);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + v.model_name + "-v" +
                                                          std::to_string(v.version) + ".bin\"");
        if (req.Header("If-None-Match").find(v.sha256) != std::string_view::npos) {
          r.status = 304;
          return r;
        }
        C19_ASSIGN_OR_RETURN(auto src, reg->OpenArtifact(v));
        r.content_length = v.size;
        r.source = std::make_shared<http::PullBody<storage::ByteSource>>(std::move(src));
        return r;
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/models/{name}/versions/{version}/stage", "models:deploy",
      "Move a version to none | staging | production | archived {stage, archive_existing?, reason?}; production "
      "archives the previous production version unless archive_existing is false",
      "model.version.stage", [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, Body(req));
        FieldReader r(body);
        std::string stage_text = r.String("stage");
        StageChange change;
        change.archive_existing = r.OptBool("archive_existing").value_or(true);
        change.reason = r.OptString("reason").value_or("");
        C19_TRY(r.Finish());
        auto stage = ParseStage(stage_text);
        if (!stage) return Error::Field("stage", "stage must be none, staging, production or archived");
        change.stage = *stage;
        req.audit_resource = "model:" + std::string(req.Param("name")) + "/" + std::string(req.Param("version"));
        req.audit_details = DumpJson(body);
        C19_ASSIGN_OR_RETURN(Version v, reg->SetStage(req.principal, req.Param("name"), req.Param("version"), change));
        return JsonOk(200, ToJson(v));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/models/{name}/rollback", "models:deploy",
      "Roll back: promote {version}, or else the version that was in production before the current one", "model.rollback",
      [reg](Request& req) -> Result<Response> {
        Json body = Json::object();
        if (!Trim(req.body).empty()) {
          C19_ASSIGN_OR_RETURN(body, Body(req));
        }
        FieldReader r(body);
        auto version = r.OptInt("version", 1);
        std::string reason = r.OptString("reason").value_or("");
        C19_TRY(r.Finish());
        req.audit_resource = "model:" + std::string(req.Param("name"));
        C19_ASSIGN_OR_RETURN(Version v, reg->Rollback(req.principal, req.Param("name"), version, reason));
        req.audit_details = DumpJson(Json{{"to_version", v.version}});
        return JsonOk(200, ToJson(v));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPut, "/api/v1/models/{name}/aliases/{alias}", "models:deploy", "Point an alias at a version {version}",
      "model.alias.set", [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, Body(req));
        FieldReader r(body);
        int64_t version = r.Int("version", 1);
        C19_TRY(r.Finish());
        req.audit_resource = "model:" + std::string(req.Param("name")) + "@" + std::string(req.Param("alias"));
        req.audit_details = DumpJson(body);
        C19_ASSIGN_OR_RETURN(Version v, reg->SetAlias(req.principal, req.Param("name"), req.Param("alias"), version));
        return JsonOk(200, ToJson(v));
      })));

  C19_TRY(router.Add(MakeRoute(Method::kDelete, "/api/v1/models/{name}/aliases/{alias}", "models:deploy",
                               "Remove an alias", "model.alias.delete", [reg](Request& req) -> Result<Response> {
                                 req.audit_resource =
                                     "model:" + std::string(req.Param("name")) + "@" + std::string(req.Param("alias"));
                                 C19_TRY(reg->DeleteAlias(req.principal, req.Param("name"), req.Param("alias")));
                                 return Response::Empty(204);
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/models/{name}/transitions", "models:read",
      "History of stage and alias changes, newest first (who, when, from, to, why)", "",
      [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
        C19_ASSIGN_OR_RETURN(auto page, reg->Transitions(req.Param("name"), limit.value_or(kDefaultPageSize),
                                                         req.Query("page_token").value_or("")));
        return JsonOk(200, PageJson(page));
      })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/models/{name}/versions/{version}/verify", "models:write",
      "Integrity check: recompute the artifact's SHA-256 on every copy and load it with its framework", "model.verify",
      [reg](Request& req) -> Result<Response> {
        req.audit_resource = "model:" + std::string(req.Param("name")) + "/" + std::string(req.Param("version"));
        C19_ASSIGN_OR_RETURN(VerifyReport rep, reg->Verify(req.principal, req.Param("name"), req.Param("version")));
        req.audit_details = DumpJson(Json{{"ok", rep.ok}});
        return JsonOk(200, Json{{"ok", rep.ok},
                                {"expected_sha256", rep.expected_sha256},
                                {"actual_sha256", rep.actual_sha256},
                                {"loads", rep.loads},
                                {"problem", rep.problem.empty() ? Json(nullptr) : Json(rep.problem)},
                                {"checked_at", FormatRfc3339(rep.checked_at_ms)}});
      })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/registry/stats", "models:read",
                               "Registry statistics: models per type and framework, versions per stage, bytes", "",
                               [reg](Request&) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Stats s, reg->GetStats());
                                 return JsonOk(200, Json{{"models", s.models},
                                                         {"versions", s.versions},
                                                         {"bytes", s.bytes},
                                                         {"artifacts_removed", s.artifacts_removed},
                                                         {"by_type", s.by_type},
                                                         {"by_framework", s.by_framework},
                                                         {"by_stage", s.by_stage}});
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/registry/retention", "system:admin",
      "Remove the artifacts of versions archived longer than {older_than} (e.g. \"90d\"); metadata is kept. "
      "dry_run (default true) only lists them",
      "model.retention", [reg](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, Body(req));
        FieldReader r(body);
        std::string older = r.String("older_than");
        bool dry_run = r.OptBool("dry_run").value_or(true);
        C19_TRY(r.Finish());
        int64_t ms = 0;
        if (!ParseDurationMs(older, ms)) return Error::Field("older_than", "older_than must be a duration like 90d or 12h");
        req.audit_resource = "registry";
        req.audit_details = DumpJson(body);
        C19_ASSIGN_OR_RETURN(RetentionReport rep, reg->ApplyRetention(req.principal, ms, dry_run));
        Json versions = Json::array();
        for (const auto& [model, version] : rep.versions) versions.push_back({{"model", model}, {"version", version}});
        return JsonOk(200, Json{{"dry_run", rep.dry_run}, {"versions", versions}, {"bytes", rep.bytes}});
      })));

  return OkStatus();
}

}  // namespace c19ai::registry
