// Training routes: jobs and what they record.

#include "training/routes.h"

#include "common/clock.h"
#include "common/paging.h"

namespace c19ai::training {

namespace {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

http::Route MakeRoute(Method m, const char* path, const char* perm, const char* summary, const char* audit,
                      http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = perm;
  r.summary = summary;
  r.tag = "training";
  if (audit) r.audit = audit;
  r.exec = Exec::kBlocking;
  r.max_body = 256 << 10;
  r.handler = std::move(h);
  return r;
}

Json Time(std::optional<int64_t> ms) { return ms ? Json(FormatRfc3339(*ms)) : Json(nullptr); }

}  // namespace

Json JobJson(const Job& j) {
  Json best = nullptr;
  if (j.best_metric || j.best_epoch) {
    best = {{"metric", j.metric},
            {"value", j.best_metric ? Json(*j.best_metric) : Json(nullptr)},
            {"epoch", j.best_epoch},
            {"metrics", j.best_metrics}};
  }
  Json out = {{"id", j.id},
              {"name", j.name},
              {"experiment", j.experiment},
              {"status", j.status},
              {"spec", SpecToJson(j.spec)},
              {"dataset", {{"id", j.dataset_id}, {"sha256", j.dataset_sha256}}},
              {"epoch", j.epoch},
              {"epochs", j.epochs},
              {"progress", j.progress},
              {"best", best},
              {"model", j.model_version ? Json{{"name", j.model_name}, {"version", *j.model_version}} : Json(nullptr)},
              {"cancel_requested", j.cancel_requested},
              {"attempts", j.attempts},
              {"created_by", j.created_by},
              {"created_at", FormatRfc3339(j.created_at_ms)},
              {"started_at", Time(j.started_at_ms)},
              {"finished_at", Time(j.finished_at_ms)}};
  if (!j.error.empty()) out["error"] = j.error;
  return out;
}

Status RegisterRoutes(http::Router& router, TrainingService& service) {
  TrainingService* svc = &service;
  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/training/jobs", "training:run",
      "Submit a training job {name, experiment, dataset, target, model, optimizer, scheduler, epochs, batch_size, "
      "validation, early_stopping, checkpoint, register, preprocessing, augmentation, seed} → 202",
      "training.job.create", [svc](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        C19_ASSIGN_OR_RETURN(JobSpec spec, ParseJobSpec(body));
        C19_ASSIGN_OR_RETURN(Job job, svc->Submit(req.principal, spec));
        req.audit_resource = "training_job:" + job.id;
        return Response::Json(202, DumpJson(JobJson(job))).With("Location", "/api/v1/training/jobs/" + job.id);
      })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/jobs", "training:read",
                               "Training jobs, newest first (status, experiment, limit, page_token)", nullptr,
                               [svc](Request& req) -> Result<Response> {
                                 JobFilter f;
                                 f.status = req.Query("status").value_or("");
                                 f.experiment = req.Query("experiment").value_or("");
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
                                 f.limit = limit.value_or(kDefaultPageSize) + 1;
                                 if (auto t = req.Query("page_token"); t && !t->empty()) {
                                   C19_ASSIGN_OR_RETURN(f.offset, DecodePageToken(*t));
                                 }
                                 C19_ASSIGN_OR_RETURN(auto jobs, svc->List(f));
                                 Json items = Json::array();
                                 const int64_t n = f.limit - 1;
                                 for (int64_t i = 0; i < static_cast<int64_t>(jobs.size()) && i < n; ++i) {
                                   items.push_back(JobJson(jobs[static_cast<size_t>(i)]));
                                 }
                                 Json next = static_cast<int64_t>(jobs.size()) > n ? Json(EncodePageToken(f.offset + n))
                                                                                   : Json(nullptr);
                                 return Response::Json(200, DumpJson(Json{{"items", items}, {"next_page_token", next}}));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/jobs/{id}", "training:read",
                               "One training job: status, progress, best metrics, registered model", nullptr,
                               [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Job j, svc->Get(std::string(req.Param("id"))));
                                 return Response::Json(200, DumpJson(JobJson(j)));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/training/jobs/{id}/cancel", "training:run",
                               "Cancel a queued or running job (a running one stops within seconds)",
                               "training.job.cancel", [svc](Request& req) -> Result<Response> {
                                 std::string id(req.Param("id"));
                                 req.audit_resource = "training_job:" + id;
                                 C19_ASSIGN_OR_RETURN(Job j, svc->Cancel(req.principal, id));
                                 return Response::Json(200, DumpJson(JobJson(j)));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/training/jobs/{id}/resume", "training:run",
                               "Queue a cancelled or failed job again; it continues from its last checkpoint",
                               "training.job.resume", [svc](Request& req) -> Result<Response> {
                                 std::string id(req.Param("id"));
                                 req.audit_resource = "training_job:" + id;
                                 C19_ASSIGN_OR_RETURN(Job j, svc->Resume(req.principal, id));
                                 return Response::Json(202, DumpJson(JobJson(j)));
                               })));
  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/training/jobs/{id}/metrics", "training:read",
      "Per-epoch metrics (train_loss, val_loss, validation metrics, lr, samples_per_s) and, with log_every_steps, "
      "the training loss every N steps",
      nullptr,
      [svc](Request& req) -> Result<Response> {
        std::string id(req.Param("id"));
        C19_ASSIGN_OR_RETURN(auto points, svc->Metrics(id));
        C19_ASSIGN_OR_RETURN(auto steps, svc->Steps(id));
        Json items = Json::array();
        for (const auto& p : points) {
          items.push_back({{"epoch", p.epoch},
                           {"train_loss", p.train_loss},
                           {"val_loss", p.val_loss},
                           {"metrics", p.metrics},
                           {"lr", p.lr},
                           {"samples_per_s", p.samples_per_s},
                           {"ts", FormatRfc3339(p.ts_ms)}});
        }
        Json step_items = Json::array();
        for (const auto& s : steps) {
          step_items.push_back({{"step", s.step}, {"epoch", s.epoch}, {"train_loss", s.loss}, {"lr", s.lr},
                                {"ts", FormatRfc3339(s.ts_ms)}});
        }
        return Response::Json(200, DumpJson(Json{{"items", items}, {"steps", step_items}}));
      })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/jobs/{id}/checkpoints", "training:read",
                               "The job's kept checkpoints (epoch, object, size, sha256)", nullptr,
                               [svc](Request& req) -> Result<Response> {
                                 std::string id(req.Param("id"));
                                 C19_TRY(svc->Get(id));
                                 C19_ASSIGN_OR_RETURN(auto cps, svc->Checkpoints(id));
                                 Json items = Json::array();
                                 for (const auto& c : cps) {
                                   items.push_back({{"epoch", c.epoch},
                                                    {"object", "checkpoints/" + c.key},
                                                    {"size", c.size},
                                                    {"sha256", c.sha256},
                                                    {"created_at", FormatRfc3339(c.created_at_ms)}});
                                 }
                                 return Response::Json(200, DumpJson(Json{{"items", items}}));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/jobs/{id}/logs", "training:read",
                               "The job's log lines (after: a sequence number, limit)", nullptr,
                               [svc](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto after, req.QueryInt("after", 0, INT64_MAX));
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, 10'000));
                                 C19_ASSIGN_OR_RETURN(auto lines, svc->Logs(std::string(req.Param("id")),
                                                                            after.value_or(0), limit.value_or(1000)));
                                 Json items = Json::array();
                                 for (const auto& l : lines) {
                                   items.push_back({{"seq", l.seq},
                                                    {"ts", FormatRfc3339(l.ts_ms)},
                                                    {"level", l.level},
                                                    {"message", l.message}});
                                 }
                                 return Response::Json(200, DumpJson(Json{{"items", items}}));
                               })));
  return OkStatus();
}

}  // namespace c19ai::training
