// Inference over HTTP (target c19ai_inference_http): native predict, deployments, and the Open
// Inference Protocol (KServe V2 / Triton REST).

#include "inference/routes.h"

#include "c19ai_version.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/paging.h"
#include "common/text.h"
#include "common/thread_pool.h"
#include "inference/codec.h"
#include "registry/registry.h"

namespace c19ai::inference {

namespace {

using http::Exec;
using http::Method;
using http::Request;
using http::Responder;
using http::Response;

// Bodies above this are parsed on a worker, not on the io thread.
constexpr size_t kInlineParseBytes = 64 << 10;

Json SpecJson(const DeploymentSpec& s) {
  return {{"selector", s.selector},
          {"batching",
           {{"enabled", s.batching.enabled},
            {"max_batch_size", s.batching.max_batch_size},
            {"max_queue_delay_us", s.batching.max_queue_delay_us},
            {"preferred_batch_sizes", s.batching.preferred_batch_sizes},
            {"max_queue_size", s.batching.max_queue_size}}},
          {"instances", s.instances},
          {"warmup", s.warmup},
          {"result_cache", {{"enabled", s.result_cache.enabled}, {"ttl_ms", s.result_cache.ttl_ms}}}};
}

Json ToJson(const DeploymentInfo& d) {
  Json versions = Json::array();
  for (const auto& v : d.versions) {
    Json j = {{"version", v.version}, {"state", v.state}};
    if (v.state == "ready") {
      j["memory_bytes"] = v.memory_bytes;
      j["queued"] = v.queued;
      j["instances"] = v.instances;
      j["requests"] = v.requests;
      j["last_used_at"] = FormatRfc3339(v.last_used_ms);
    }
    if (!v.error.empty()) j["error"] = v.error;
    versions.push_back(j);
  }
  return {{"model", d.spec.model},
          {"explicit", d.explicit_deployment},
          {"served_version", d.served_version ? Json(*d.served_version) : Json(nullptr)},
          {"spec", SpecJson(d.spec)},
          {"versions", versions},
          {"created_by", d.created_by},
          {"updated_at", d.updated_at_ms ? Json(FormatRfc3339(d.updated_at_ms)) : Json(nullptr)}};
}

// The V2 protocol's error body: {"error": "<message>"}.
Response V2Error(const Error& e) {
  Response r = Response::Json(http::StatusFor(e.code), DumpJson(Json{{"error", e.message}}));
  if (e.code == ErrorCode::kResourceExhausted || e.code == ErrorCode::kUnavailable) r.With("Retry-After", "1");
  return r;
}

struct Call {
  std::string model, version, request_id;
  std::string body;
  int64_t start_us = 0;
  bool v2 = false;
};

// Parses the body, submits, and answers through `respond` (from whichever thread finishes).
void Run(InferenceService* svc, std::shared_ptr<Call> call, Responder respond) {
  auto fail = [call, respond](const Error& e) {
    if (call->v2) respond(V2Error(e));
    else respond(e);
  };
  auto parsed = ParseJsonObject(call->body);
  if (!parsed.ok()) return fail(parsed.error());
  auto body = std::make_shared<Json>(std::move(*parsed));
  auto options = call->v2 ? V2Options(*body) : NativeOptions(*body);
  if (!options.ok()) return fail(options.error());
  options->version = call->version;
  Decoder decode = [body, v2 = call->v2](const ServedModel& m) {
    return v2 ? DecodeV2(*body, m) : DecodeNative(*body, m);
  };
  svc->Submit(call->model, *options, std::move(decode),
              [call, body, respond, fail](const ServedModel& m, Result<PredictResult> r) {
                if (!r.ok()) return fail(r.error());
                const double latency_ms = static_cast<double>(SteadyNowUs() - call->start_us) / 1000.0;
                if (call->v2) {
                  auto out = EncodeV2(*body, m, *r);
                  if (!out.ok()) return fail(out.error());
                  return respond(Response::Json(200, DumpJson(*out)));
                }
                Json j = EncodeNative(m, *r);
                j["model"] = m.name;
                j["version"] = m.version;
                j["latency_ms"] = latency_ms;
                j["cached"] = r->cached;
                Response res = Response::Json(200, DumpJson(j));
                res.With("X-Model-Version", std::to_string(m.version));
                respond(std::move(res));
              });
}

http::AsyncHandler PredictHandler(InferenceService* svc, ThreadPool* pool, bool v2) {
  return [svc, pool, v2](Request& req, Responder respond) {
    auto call = std::make_shared<Call>();
    call->model = std::string(req.Param("name"));
    call->version = std::string(req.Param("version"));
    call->body = std::move(req.body);
    call->start_us = req.start_us ? req.start_us : SteadyNowUs();
    call->v2 = v2;
    req.audit_resource = "model:" + call->model;
    if (call->body.size() <= kInlineParseBytes) return Run(svc, call, respond);
    if (!pool->TrySubmit([svc, call, respond] { Run(svc, call, respond); })) {
      Error busy = Error::Unavailable("the server is overloaded; retry");
      respond(v2 ? Result<Response>(V2Error(busy)) : Result<Response>(busy));
    }
  };
}

http::Route Make(Method m, const char* path, const char* perm, const char* summary, const char* tag,
                 http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = perm;
  r.summary = summary;
  r.tag = tag;
  r.exec = Exec::kBlocking;
  r.max_body = 64 << 10;
  r.handler = std::move(h);
  return r;
}

http::Route MakeAsync(const char* path, const char* summary, const char* tag, http::AsyncHandler h,
                      int64_t max_body) {
  http::Route r;
  r.method = Method::kPost;
  r.path = path;
  r.permission = "inference:predict";
  r.summary = summary;
  r.tag = tag;
  r.read_only = true;  // predictions change nothing: not audited
  r.exec = Exec::kAsync;
  r.max_body = max_body;
  r.async_handler = std::move(h);
  return r;
}

// V2 handlers answer errors in the protocol's format.
http::Handler V2(std::function<Result<Response>(Request&)> f) {
  return [f = std::move(f)](Request& req) -> Result<Response> {
    auto r = f(req);
    if (!r.ok()) return V2Error(r.error());
    return r;
  };
}

Result<DeploymentSpec> ParseDeploy(const std::string& model, const Json& body, const DeploymentSpec& defaults) {
  DeploymentSpec s = defaults;
  s.model = model;
  FieldReader r(body);
  auto version = r.OptInt("version", 1);
  auto stage = r.OptString("stage");
  auto alias = r.OptString("alias");
  int given = (version ? 1 : 0) + (stage ? 1 : 0) + (alias ? 1 : 0);
  if (given > 1) r.Fail("version", "give one of version, stage or alias");
  if (version) s.selector = std::to_string(*version);
  if (stage) {
    if (*stage != "production" && *stage != "staging") r.Fail("stage", "stage must be production or staging");
    s.selector = *stage;
  }
  if (alias) s.selector = *alias;
  if (auto w = r.OptBool("warmup")) s.warmup = *w;
  if (auto n = r.OptInt("instances", 1, 64)) s.instances = static_cast<int>(*n);
  if (const Json* b = r.OptObject("batching")) {
    FieldReader br(*b, "batching");
    if (auto v = br.OptBool("enabled")) s.batching.enabled = *v;
    if (auto v = br.OptInt("max_batch_size", 1, 4096)) s.batching.max_batch_size = static_cast<int>(*v);
    if (auto v = br.OptInt("max_queue_delay_us", 0, 10'000'000)) s.batching.max_queue_delay_us = *v;
    if (auto v = br.OptInt("max_queue_size", 1, 1'000'000)) s.batching.max_queue_size = static_cast<int>(*v);
    if (const Json* p = br.OptArray("preferred_batch_sizes")) {
      s.batching.preferred_batch_sizes.clear();
      for (const auto& e : *p) {
        if (!e.is_number_integer()) {
          br.Fail("preferred_batch_sizes", "preferred_batch_sizes must be integers");
          break;
        }
        s.batching.preferred_batch_sizes.push_back(e.get<int>());
      }
    }
    C19_TRY(br.Finish());
  }
  if (const Json* c = r.OptObject("result_cache")) {
    FieldReader cr(*c, "result_cache");
    if (auto v = cr.OptBool("enabled")) s.result_cache.enabled = *v;
    if (auto v = cr.OptInt("ttl_s", 1, 30LL * 86400)) s.result_cache.ttl_ms = *v * 1000;
    C19_TRY(cr.Finish());
  }
  C19_TRY(r.Finish());
  C19_TRY(ValidateSpec(s));
  return s;
}

Json ToJson(const BatchJob& j) {
  const BatchRequest& r = j.request;
  Json in = {{"object", j.input}, {"format", r.format}};
  if (!r.file.empty()) in["file"] = r.file;
  if (!r.dataset.empty()) {
    in["dataset"] = r.dataset;
    in["dataset_version"] = r.dataset_version;
  }
  if (r.format == "csv") {
    in["delimiter"] = std::string(1, r.delimiter);
    in["columns"] = r.columns;
    if (!r.id_column.empty()) in["id_column"] = r.id_column;
  }
  auto time = [](std::optional<int64_t> ms) { return ms ? Json(FormatRfc3339(*ms)) : Json(nullptr); };
  Json out = {{"id", j.id},
              {"model", r.model},
              {"selector", r.version.empty() ? "production" : r.version},
              {"version", j.served_version ? Json(*j.served_version) : Json(nullptr)},
              {"input", in},
              {"chunk_rows", r.chunk_rows},
              {"max_failed_rows", r.max_failed_rows},
              {"status", j.status},
              {"rows_done", j.rows_done},
              {"rows_failed", j.rows_failed},
              {"bytes_done", j.bytes_done},
              {"bytes_total", j.bytes_total},
              {"progress", j.bytes_total > 0 ? static_cast<double>(j.bytes_done) / static_cast<double>(j.bytes_total)
                                             : (j.status == "succeeded" ? 1.0 : 0.0)},
              {"cancel_requested", j.cancel_requested},
              {"created_by", j.created_by},
              {"created_at", FormatRfc3339(j.created_at_ms)},
              {"started_at", time(j.started_at_ms)},
              {"finished_at", time(j.finished_at_ms)}};
  if (j.status == "succeeded") {
    out["result"] = {{"object", "results/" + j.output_key}, {"size", j.output_size}, {"sha256", j.output_sha256}};
  }
  if (!j.error.empty()) out["error"] = j.error;
  return out;
}

Result<BatchRequest> ParseBatch(const std::string& model, const Json& body) {
  BatchRequest b;
  b.model = model;
  FieldReader r(body);
  if (auto v = r.OptString("version")) b.version = *v;
  if (auto v = r.OptString("file")) b.file = *v;
  if (auto v = r.OptString("dataset")) b.dataset = *v;
  if (const Json* v = r.OptValue("dataset_version")) {
    if (v->is_number_integer()) b.dataset_version = std::to_string(v->get<int64_t>());
    else if (v->is_string()) b.dataset_version = v->get<std::string>();
    else r.Fail("dataset_version", "dataset_version must be a number or a string");
  }
  if (auto v = r.OptString("format")) b.format = *v;
  if (auto v = r.OptString("delimiter")) {
    if (v->size() != 1) r.Fail("delimiter", "delimiter must be one character");
    else b.delimiter = (*v)[0];
  }
  if (auto v = r.OptStringList("columns")) b.columns = *v;
  if (auto v = r.OptString("id_column")) b.id_column = *v;
  if (auto v = r.OptInt("chunk_rows", 1, 4096)) b.chunk_rows = *v;
  if (auto v = r.OptInt("max_failed_rows", 0)) b.max_failed_rows = *v;
  C19_TRY(r.Finish());
  return b;
}

}  // namespace

Status RegisterBatchRoutes(http::Router& router, BatchPredictions& batches) {
  BatchPredictions* b = &batches;
  http::Route submit = Make(
      Method::kPost, "/api/v1/models/{name}/batch-predictions", "inference:predict",
      "Batch prediction over a stored CSV/JSON Lines file or dataset, as a queue job: {file | dataset, "
      "dataset_version?, version?, format?, delimiter?, columns?, id_column?, chunk_rows?, max_failed_rows?} → 202",
      "inference", [b](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        std::string name(req.Param("name"));
        C19_ASSIGN_OR_RETURN(BatchRequest br, ParseBatch(name, body));
        req.audit_resource = "model:" + name;
        C19_ASSIGN_OR_RETURN(BatchJob job, b->Submit(req.principal, std::move(br)));
        req.audit_details = DumpJson(Json{{"job", job.id}, {"input", job.input}});
        return Response::Json(202, DumpJson(ToJson(job))).With("Location", "/api/v1/batch-predictions/" + job.id);
      });
  submit.audit = "batch_prediction.create";
  C19_TRY(router.Add(std::move(submit)));
  C19_TRY(router.Add(Make(Method::kGet, "/api/v1/batch-predictions", "models:read",
                          "Batch prediction jobs, newest first (model?, limit, page_token)", "inference",
                          [b](Request& req) -> Result<Response> {
                            C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
                            int64_t n = limit.value_or(kDefaultPageSize);
                            int64_t offset = 0;
                            if (auto t = req.Query("page_token"); t && !t->empty()) {
                              C19_ASSIGN_OR_RETURN(offset, DecodePageToken(*t));
                            }
                            C19_ASSIGN_OR_RETURN(auto jobs, b->List(req.Query("model").value_or(""), n + 1, offset));
                            Json items = Json::array();
                            for (size_t i = 0; i < jobs.size() && static_cast<int64_t>(i) < n; ++i)
                              items.push_back(ToJson(jobs[i]));
                            Json next = static_cast<int64_t>(jobs.size()) > n ? Json(EncodePageToken(offset + n))
                                                                              : Json(nullptr);
                            return Response::Json(200, DumpJson(Json{{"items", items}, {"next_page_token", next}}));
                          })));
  C19_TRY(router.Add(Make(Method::kGet, "/api/v1/batch-predictions/{id}", "models:read",
                          "One batch prediction job with its progress", "inference",
                          [b](Request& req) -> Result<Response> {
                            C19_ASSIGN_OR_RETURN(BatchJob j, b->Get(std::string(req.Param("id"))));
                            return Response::Json(200, DumpJson(ToJson(j)));
                          })));
  http::Route cancel = Make(Method::kPost, "/api/v1/batch-predictions/{id}:cancel", "inference:predict",
                            "Cancel a queued or running batch prediction", "inference",
                            [b](Request& req) -> Result<Response> {
                              std::string id(req.Param("id"));
                              req.audit_resource = "batch_prediction:" + id;
                              C19_ASSIGN_OR_RETURN(BatchJob j, b->Cancel(req.principal, id));
                              return Response::Json(200, DumpJson(ToJson(j)));
                            });
  cancel.audit = "batch_prediction.cancel";
  C19_TRY(router.Add(std::move(cancel)));
  http::Route result = Make(Method::kGet, "/api/v1/batch-predictions/{id}/result", "models:read",
                            "The result lines of a finished job (JSON Lines: row, id?, output, label?, "
                            "probabilities?, error?)",
                            "inference", [b](Request& req) -> Result<Response> {
                              C19_ASSIGN_OR_RETURN(auto opened, b->OpenResult(std::string(req.Param("id"))));
                              Response r;
                              r.status = 200;
                              r.content_type = "application/x-ndjson";
                              r.content_length = opened.first.size;
                              r.headers.emplace_back("X-Content-SHA256", opened.first.sha256);
                              r.source = std::make_shared<http::PullBody<storage::ByteSource>>(std::move(opened.second));
                              return r;
                            });
  result.read_only = true;
  C19_TRY(router.Add(std::move(result)));
  return OkStatus();
}

namespace {

// The version an embed or search request names: {"version": n | "<selector>"} or {"stage": ...}.
Result<std::string> Selector(const Json& body) {
  std::string selector;
  if (body.contains("version")) {
    const Json& v = body["version"];
    if (v.is_number_integer() && v.get<int64_t>() >= 1) selector = std::to_string(v.get<int64_t>());
    else if (v.is_string() && !v.get<std::string>().empty()) selector = v.get<std::string>();
    else return Error::Field("version", "version must be a version number or a selector (alias, stage, latest)");
  }
  if (body.contains("stage")) {
    if (!selector.empty()) return Error::Field("stage", "give one of version or stage");
    if (body["stage"] != "production" && body["stage"] != "staging") {
      return Error::Field("stage", "stage must be production or staging");
    }
    selector = body["stage"].get<std::string>();
  }
  return selector;
}

Json EmbeddingsJson(const std::vector<std::vector<float>>& vectors) {
  Json out = Json::array();
  for (const auto& v : vectors) out.push_back(v);
  return out;
}

// {"vectors": [[...], ...]}: numbers only, one length.
Result<std::vector<std::vector<float>>> Vectors(const Json& value) {
  if (!value.is_array() || value.empty() || value.size() > 1000) {
    return Error::Field("vectors", "vectors must be a list of 1 to 1000 vectors");
  }
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& v = value[i];
    const std::string at = "vectors[" + std::to_string(i) + "]";
    if (!v.is_array() || v.empty()) return Error::Field(at, at + " must be a non-empty list of numbers");
    std::vector<float> vec;
    for (const auto& x : v) {
      if (!x.is_number()) return Error::Field(at, at + " must hold numbers only");
      vec.push_back(x.get<float>());
    }
    if (!out.empty() && vec.size() != out[0].size()) return Error::Field(at, "every vector must have the same length");
    out.push_back(std::move(vec));
  }
  return out;
}

Json SearchJson(const SearchResult& r, const SearchRequest& q) {
  Json results = Json::array();
  for (const auto& hits : r.hits) {
    Json list = Json::array();
    for (const auto& h : hits) {
      Json j = {{"row", h.row}, {"distance", h.distance}};
      if (q.include_rows) j["record"] = Json::parse(h.record_json, nullptr, false);
      list.push_back(std::move(j));
    }
    results.push_back(std::move(list));
  }
  return {{"model", r.model},   {"model_version", r.version}, {"dataset", q.dataset}, {"k", q.k},
          {"rows", r.rows},     {"dim", r.dim},               {"results", results}};
}

// Runs `f` on the pool when the body is large (parsing it would hold an io thread).
void Offload(ThreadPool* pool, size_t body_bytes, std::function<void()> f, const Responder& respond) {
  if (body_bytes <= kInlineParseBytes) return f();
  if (!pool->TrySubmit(std::move(f))) respond(Error::Unavailable("the server is overloaded; retry"));
}

// A parsed embed request: the rows (as /predict takes them) and how to submit them.
struct EmbedCall {
  Json rows;  // {"inputs" | "instances": ...}
  SubmitOptions options;
};

Result<EmbedCall> ParseEmbed(const std::string& text) {
  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(text));
  EmbedCall c;
  C19_ASSIGN_OR_RETURN(c.options, NativeOptions(body));
  C19_ASSIGN_OR_RETURN(c.options.version, Selector(body));
  c.rows = Json::object();
  for (const char* key : {"inputs", "instances"}) {
    if (body.contains(key)) c.rows[key] = std::move(body[key]);
  }
  if (c.rows.empty()) return Error::Field("instances", "give the rows to embed as instances (or inputs)");
  return c;
}

// Embeds the rows through the model's batcher; `then` gets the vectors and the version that made them.
void EmbedRows(InferenceService* svc, const std::string& model, EmbedCall call, const Responder& respond,
               std::function<void(const ServedModel&, std::vector<std::vector<float>>)> then) {
  auto rows = std::make_shared<Json>(std::move(call.rows));
  svc->Submit(model, call.options, [rows](const ServedModel& m) { return DecodeEmbedding(*rows, m); },
              [respond, then = std::move(then)](const ServedModel& m, Result<PredictResult> r) {
                if (!r.ok()) return respond(r.error());
                auto vectors = Embeddings(*r);
                if (!vectors.ok()) return respond(vectors.error());
                then(m, std::move(*vectors));
              });
}

http::AsyncHandler EmbedHandler(InferenceService* svc, ThreadPool* pool) {
  return [svc, pool](Request& req, Responder respond) {
    std::string model(req.Param("name"));
    req.audit_resource = "model:" + model;
    auto text = std::make_shared<std::string>(std::move(req.body));
    const int64_t start_us = req.start_us ? req.start_us : SteadyNowUs();
    Offload(pool, text->size(), [svc, model, text, start_us, respond] {
      auto call = ParseEmbed(*text);
      if (!call.ok()) return respond(call.error());
      EmbedRows(svc, model, std::move(*call), respond,
                [respond, start_us](const ServedModel& m, std::vector<std::vector<float>> vectors) {
                  const int64_t dim = vectors.empty() ? 0 : static_cast<int64_t>(vectors[0].size());
                  Json j = {{"embeddings", EmbeddingsJson(vectors)},
                            {"dim", dim},
                            {"model", m.name},
                            {"model_version", m.version},
                            {"latency_ms", static_cast<double>(SteadyNowUs() - start_us) / 1000.0}};
                  respond(Response::Json(200, DumpJson(j)).With("X-Model-Version", std::to_string(m.version)));
                });
    }, respond);
  };
}

Result<std::pair<SearchRequest, std::optional<EmbedCall>>> ParseSearch(const std::string& model,
                                                                      const std::string& text) {
  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(text));
  SearchRequest q;
  q.model = model;
  C19_ASSIGN_OR_RETURN(q.selector, Selector(body));
  FieldReader r(body);
  (void)r.OptValue("version");
  (void)r.OptValue("stage");
  if (auto d = r.OptString("dataset")) q.dataset = *d;
  if (const Json* v = r.OptValue("dataset_version")) {
    if (v->is_number_integer()) q.dataset_version = std::to_string(v->get<int64_t>());
    else if (v->is_string()) q.dataset_version = v->get<std::string>();
    else r.Fail("dataset_version", "dataset_version must be a number or a string");
  }
  if (auto k = r.OptInt("k", 1, 1000)) q.k = *k;
  if (auto ef = r.OptInt("ef", 1, 10000)) q.ef = *ef;
  if (auto b = r.OptBool("include_rows")) q.include_rows = *b;
  const Json* vectors = r.OptValue("vectors");
  const Json* instances = r.OptValue("instances");
  const Json* inputs = r.OptValue("inputs");
  (void)r.OptValue("priority");
  (void)r.OptValue("timeout_ms");
  C19_TRY(r.Finish());
  if (q.dataset.empty()) return Error::Field("dataset", "dataset is required (a dataset id or name)");
  const int given = (vectors ? 1 : 0) + (instances ? 1 : 0) + (inputs ? 1 : 0);
  if (given != 1) return Error::Field("instances", "give exactly one of instances, inputs or vectors");
  std::optional<EmbedCall> embed;
  if (vectors) {
    C19_ASSIGN_OR_RETURN(q.queries, Vectors(*vectors));
  } else {
    C19_ASSIGN_OR_RETURN(embed, ParseEmbed(text));
  }
  return std::make_pair(std::move(q), std::move(embed));
}

http::AsyncHandler SearchHandler(InferenceService* svc, EmbeddingSearch* search, ThreadPool* pool) {
  return [svc, search, pool](Request& req, Responder respond) {
    std::string model(req.Param("name"));
    req.audit_resource = "model:" + model;
    if (!req.principal.Has("datasets:read")) {
      return respond(Error::PermissionDenied("searching a dataset needs datasets:read"));
    }
    auto text = std::make_shared<std::string>(std::move(req.body));
    Offload(pool, text->size(), [svc, search, model, text, respond] {
      auto parsed = ParseSearch(model, *text);
      if (!parsed.ok()) return respond(parsed.error());
      auto run = [search, respond](SearchRequest q) {
        auto shared = std::make_shared<SearchRequest>(q);
        search->Search(std::move(q), [shared, respond](Result<SearchResult> r) {
          if (!r.ok()) return respond(r.error());
          respond(Response::Json(200, DumpJson(SearchJson(*r, *shared))).With("X-Model-Version",
                                                                                std::to_string(r->version)));
        });
      };
      auto& [q, embed] = *parsed;
      if (!embed) return run(std::move(q));
      EmbedRows(svc, model, std::move(*embed), respond,
                [run, q](const ServedModel& m, std::vector<std::vector<float>> vectors) mutable {
                  q.version = m.version;  // the index must come from the version that embedded the queries
                  q.queries = std::move(vectors);
                  run(std::move(q));
                });
    }, respond);
  };
}

}  // namespace

Status RegisterEmbeddingRoutes(http::Router& router, InferenceService& service, EmbeddingSearch& search,
                               ThreadPool& pool, const RouteOptions& options) {
  C19_TRY(router.Add(MakeAsync("/api/v1/models/{name}/embed",
                               "Embed rows with an embedding model (autoencoder): {instances | inputs, version? | "
                               "stage?} → {embeddings, dim, model, model_version}",
                               "inference", EmbedHandler(&service, &pool), options.max_request_bytes)));
  C19_TRY(router.Add(MakeAsync("/api/v1/models/{name}/search",
                               "Nearest rows of a dataset version in an embedding model's space (HNSW index built "
                               "on first use): {dataset, dataset_version?, instances | inputs | vectors, k?, ef?, "
                               "include_rows?, version? | stage?} → {results: [[{row, distance, record?}]]}",
                               "inference", SearchHandler(&service, &search, &pool), options.max_request_bytes)));
  return OkStatus();
}

namespace {

// {prompt?, max_tokens?, temperature?, top_k?, seed?, version? | stage?} → the selector and the request;
// the model checks the ranges (naming the field).
Result<std::pair<std::string, ml::GenerateRequest>> ParseGenerate(const std::string& text) {
  C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(text));
  C19_ASSIGN_OR_RETURN(std::string selector, Selector(body));
  FieldReader r(body);
  r.Allow("version");
  r.Allow("stage");
  ml::GenerateRequest g;
  g.prompt = r.OptString("prompt").value_or("");
  if (auto v = r.OptInt("max_tokens")) g.max_tokens = *v;
  if (auto v = r.OptNumber("temperature")) g.temperature = *v;
  if (auto v = r.OptInt("top_k")) g.top_k = *v;
  if (auto v = r.OptInt("seed", 0)) g.seed = static_cast<uint64_t>(*v);
  C19_TRY(r.Finish());
  return std::make_pair(std::move(selector), std::move(g));
}

// Generation runs on the blocking pool: it is one sequential loop per request, not a batch.
http::Route GenerateRoute(InferenceService* svc) {
  http::Route route = Make(
      Method::kPost, "/api/v1/models/{name}/generate", "inference:predict",
      "Continue a prompt with a generation model (char_rnn, char_transformer): {prompt, max_tokens?, temperature?, "
      "top_k?, seed?, version? | stage?} → {text, tokens, model, version, latency_ms}",
      "inference", [svc](Request& req) -> Result<Response> {
        const int64_t start_us = req.start_us ? req.start_us : SteadyNowUs();
        std::string name(req.Param("name"));
        req.audit_resource = "model:" + name;
        C19_ASSIGN_OR_RETURN(auto parsed, ParseGenerate(req.body));
        C19_ASSIGN_OR_RETURN(auto done, svc->Generate(name, parsed.first, parsed.second));
        const auto& [served, out] = done;
        Json j = {{"text", out.text},
                  {"tokens", out.tokens},
                  {"model", served.name},
                  {"version", served.version},
                  {"latency_ms", static_cast<double>(SteadyNowUs() - start_us) / 1000.0}};
        Response res = Response::Json(200, DumpJson(j));
        res.With("X-Model-Version", std::to_string(served.version));
        return res;
      });
  route.read_only = true;  // generation changes nothing: not audited
  route.max_body = 256 << 10;
  return route;
}

}  // namespace

Status RegisterRoutes(http::Router& router, InferenceService& service, registry::Registry& registry,
                      ThreadPool& pool, const RouteOptions& options) {
  InferenceService* svc = &service;
  registry::Registry* reg = &registry;
  ThreadPool* workers = &pool;
  const DeploymentSpec defaults = options.defaults;

  C19_TRY(router.Add(MakeAsync("/api/v1/models/{name}/predict",
                               "Predict with the served (production) version: {inputs | instances, priority?, "
                               "timeout_ms?} → {outputs, model, version, latency_ms, cached}",
                               "inference", PredictHandler(svc, workers, false), options.max_request_bytes)));
  C19_TRY(router.Add(MakeAsync("/api/v1/models/{name}/versions/{version}/predict",
                               "Predict with one version (number, alias, latest, staging, production)", "inference",
                               PredictHandler(svc, workers, false), options.max_request_bytes)));
  C19_TRY(router.Add(GenerateRoute(svc)));

  C19_TRY(router.Add(Make(Method::kGet, "/api/v1/deployments", "models:read",
                          "Deployments and models loaded for serving, with their versions, memory and queues",
                          "inference", [svc](Request&) -> Result<Response> {
                            C19_ASSIGN_OR_RETURN(auto list, svc->ListDeployments());
                            Json items = Json::array();
                            for (const auto& d : list) items.push_back(ToJson(d));
                            return Response::Json(200, DumpJson(Json{{"items", items}, {"loaded_bytes", svc->LoadedBytes()}}));
                          })));
  C19_TRY(router.Add(Make(Method::kGet, "/api/v1/deployments/{name}", "models:read", "One deployment", "inference",
                          [svc](Request& req) -> Result<Response> {
                            C19_ASSIGN_OR_RETURN(auto d, svc->GetDeployment(std::string(req.Param("name"))));
                            return Response::Json(200, DumpJson(ToJson(d)));
                          })));
  http::Route deploy = Make(
      Method::kPost, "/api/v1/models/{name}/deploy", "models:deploy",
      "Deploy a model {version | stage | alias, warmup, instances, batching: {enabled, max_batch_size, "
      "max_queue_delay_us, preferred_batch_sizes, max_queue_size}, result_cache: {enabled, ttl_s}}",
      "inference", [svc, defaults](Request& req) -> Result<Response> {
        Json body = Json::object();
        if (!Trim(req.body).empty()) {
          C19_ASSIGN_OR_RETURN(body, ParseJsonObject(req.body));
        }
        std::string name(req.Param("name"));
        C19_ASSIGN_OR_RETURN(DeploymentSpec spec, ParseDeploy(name, body, defaults));
        req.audit_resource = "deployment:" + name;
        req.audit_details = DumpJson(SpecJson(spec));
        C19_ASSIGN_OR_RETURN(DeploymentInfo info, svc->Deploy(req.principal, spec));
        return Response::Json(200, DumpJson(ToJson(info)));
      });
  deploy.audit = "deployment.create";
  C19_TRY(router.Add(std::move(deploy)));
  http::Route undeploy = Make(Method::kDelete, "/api/v1/deployments/{name}", "models:deploy",
                              "Undeploy: unload the model and drop its options (it is then served on demand again)",
                              "inference", [svc](Request& req) -> Result<Response> {
                                std::string name(req.Param("name"));
                                req.audit_resource = "deployment:" + name;
                                C19_TRY(svc->Undeploy(req.principal, name));
                                return Response::Empty(204);
                              });
  undeploy.audit = "deployment.delete";
  C19_TRY(router.Add(std::move(undeploy)));

  // ---------------------------------------------------------------- Open Inference Protocol

  auto live = Make(Method::kGet, "/v2/health/live", std::string(http::kPublic).c_str(),
                   "V2: the server is live", "v2", [](Request&) -> Result<Response> {
                     return Response::Json(200, R"({"live":true})");
                   });
  live.permission = std::string(http::kPublic);
  live.exec = Exec::kInline;
  C19_TRY(router.Add(std::move(live)));
  auto ready = Make(Method::kGet, "/v2/health/ready", "", "V2: the server is ready", "v2",
                    [](Request&) -> Result<Response> { return Response::Json(200, R"({"ready":true})"); });
  ready.permission = std::string(http::kPublic);
  ready.exec = Exec::kInline;
  C19_TRY(router.Add(std::move(ready)));
  auto server_meta = Make(Method::kGet, "/v2", "models:read", "V2: server metadata", "v2",
                          [](Request&) -> Result<Response> {
                            return Response::Json(200, DumpJson(Json{{"name", "c19ai"},
                                                                     {"version", C19AI_VERSION},
                                                                     {"extensions", {"model_repository"}}}));
                          });
  server_meta.exec = Exec::kInline;
  C19_TRY(router.Add(std::move(server_meta)));

  auto metadata = V2([svc](Request& req) -> Result<Response> {
    C19_ASSIGN_OR_RETURN(ServedModel m, svc->Describe(std::string(req.Param("name")), std::string(req.Param("version"))));
    return Response::Json(200, DumpJson(V2Metadata(m)));
  });
  C19_TRY(router.Add(Make(Method::kGet, "/v2/models/{name}", "models:read",
                          "V2: model metadata (the served version's inputs and outputs)", "v2", metadata)));
  C19_TRY(router.Add(Make(Method::kGet, "/v2/models/{name}/versions/{version}", "models:read",
                          "V2: metadata of one version", "v2", metadata)));
  auto model_ready = V2([svc](Request& req) -> Result<Response> {
    std::string name(req.Param("name"));
    C19_ASSIGN_OR_RETURN(bool ok, svc->Ready(name, std::string(req.Param("version"))));
    Response r = Response::Json(ok ? 200 : 400, DumpJson(Json{{"name", name}, {"ready", ok}}));
    return r;
  });
  C19_TRY(router.Add(Make(Method::kGet, "/v2/models/{name}/ready", "models:read",
                          "V2: whether the model can serve (200) or not (400)", "v2", model_ready)));
  C19_TRY(router.Add(Make(Method::kGet, "/v2/models/{name}/versions/{version}/ready", "models:read",
                          "V2: whether a version can serve", "v2", model_ready)));
  C19_TRY(router.Add(MakeAsync("/v2/models/{name}/infer", "V2: inference with typed tensors", "v2",
                               PredictHandler(svc, workers, true), options.max_request_bytes)));
  C19_TRY(router.Add(MakeAsync("/v2/models/{name}/versions/{version}/infer", "V2: inference with one version", "v2",
                               PredictHandler(svc, workers, true), options.max_request_bytes)));

  auto index = Make(Method::kPost, "/v2/repository/index", "models:read",
                    "V2 repository: every registered model with its served version and state", "v2",
                    V2([svc, reg](Request& req) -> Result<Response> {
                      bool ready_only = false;
                      if (!Trim(req.body).empty()) {
                        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                        ready_only = body.value("ready", false);
                      }
                      std::map<std::string, DeploymentInfo> loaded;
                      C19_ASSIGN_OR_RETURN(auto deployments, svc->ListDeployments());
                      for (auto& d : deployments) loaded[ToLower(d.spec.model)] = d;
                      Json out = Json::array();
                      registry::SearchQuery q;
                      q.limit = kMaxPageSize;
                      for (;;) {
                        C19_ASSIGN_OR_RETURN(auto page, reg->SearchModels(q));
                        for (const auto& m : page.items) {
                          auto it = loaded.find(ToLower(m.name));
                          bool is_ready = false;
                          Json entry = {{"name", m.name}};
                          if (m.production_version) entry["version"] = std::to_string(*m.production_version);
                          if (it != loaded.end()) {
                            for (const auto& v : it->second.versions) is_ready |= v.state == "ready";
                          }
                          entry["state"] = is_ready ? "READY" : "UNAVAILABLE";
                          if (!is_ready) entry["reason"] = m.production_version ? "not loaded (loads on first request)"
                                                                                : "no production version";
                          if (!ready_only || is_ready) out.push_back(entry);
                        }
                        if (page.next_page_token.empty()) break;
                        q.page_token = page.next_page_token;
                      }
                      return Response::Json(200, DumpJson(out));
                    }));
  index.read_only = true;
  C19_TRY(router.Add(std::move(index)));
  auto load = Make(Method::kPost, "/v2/repository/models/{name}/load", "models:deploy",
                   "V2 repository: load the served version now", "v2", V2([svc](Request& req) -> Result<Response> {
                     std::string name(req.Param("name"));
                     req.audit_resource = "deployment:" + name;
                     auto loaded = svc->Load(name, "");
                     if (!loaded.ok()) return std::move(loaded).error();
                     return Response::Json(200, "{}");
                   }));
  C19_TRY(router.Add(std::move(load)));
  auto unload = Make(Method::kPost, "/v2/repository/models/{name}/unload", "models:deploy",
                     "V2 repository: unload every loaded version (they reload on demand)", "v2",
                     V2([svc](Request& req) -> Result<Response> {
                       std::string name(req.Param("name"));
                       req.audit_resource = "deployment:" + name;
                       C19_TRY(svc->Unload(name));
                       return Response::Json(200, "{}");
                     }));
  C19_TRY(router.Add(std::move(unload)));
  return OkStatus();
}

}  // namespace c19ai::inference
