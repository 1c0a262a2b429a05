// Training routes: jobs and what they record.

#include "training/routes.h"

#include <cmath>
#include <cstdlib>

#include "common/clock.h"
#include "common/paging.h"
#include "common/text.h"

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

Json SweepJson(const Sweep& s) {
  Json trials = Json::array();
  int64_t done = 0;
  for (const auto& t : s.trials) {
    done += t.status != "pending" && t.status != "running" && t.status != "launching";
    trials.push_back({{"trial", t.trial},
                      {"params", t.params},
                      {"status", t.status},
                      {"job_id", t.job_id.empty() ? Json(nullptr) : Json(t.job_id)},
                      {"value", t.value ? Json(*t.value) : Json(nullptr)},
                      {"best", s.best_trial && *s.best_trial == t.trial}});
  }
  Json params = Json::object();
  for (const auto& p : s.spec.parameters) {
    params[p.path] = p.values.empty() ? Json{{"min", *p.min}, {"max", *p.max}, {"scale", p.scale},
                                             {"type", p.integer ? "int" : "float"}}
                                      : Json{{"values", p.values}};
  }
  Json out = {{"id", s.id},
              {"name", s.name},
              {"experiment", s.experiment},
              {"status", s.status},
              {"search", {{"method", s.spec.method}, {"parameters", params}}},
              {"objective", {{"metric", s.spec.metric}, {"direction", s.spec.maximize ? "maximize" : "minimize"}}},
              {"early_termination", {{"policy", s.spec.median_stopping ? "median" : "none"},
                                     {"grace_epochs", s.spec.grace_epochs},
                                     {"min_trials", s.spec.min_trials}}},
              {"max_trials", static_cast<int64_t>(s.trials.size())},
              {"parallelism", s.spec.parallelism},
              {"seed", s.spec.seed},
              {"base", s.spec.base},
              {"trials_done", done},
              {"trials", trials},
              {"best", s.best_trial ? Json{{"trial", *s.best_trial}, {"job_id", s.best_job_id},
                                           {"value", *s.best_value}}
                                    : Json(nullptr)},
              {"model", s.model_version ? Json{{"name", s.model_name}, {"version", *s.model_version}} : Json(nullptr)},
              {"created_by", s.created_by},
              {"created_at", FormatRfc3339(s.created_at_ms)},
              {"finished_at", Time(s.finished_at_ms)}};
  if (!s.spec.register_model.empty()) out["register"] = {{"model_name", s.spec.register_model}};
  if (!s.error.empty()) out["error"] = s.error;
  return out;
}

namespace {

Json ExperimentJson(const ExperimentSummary& e) {
  return {{"name", e.name},
          {"description", e.description},
          {"archived", e.archived},
          {"runs", e.runs},
          {"by_status", e.by_status},
          {"metric", e.metric},
          {"best", e.best_value ? Json{{"job_id", e.best_job_id}, {"value", *e.best_value}} : Json(nullptr)},
          {"created_at", e.created_at_ms ? Json(FormatRfc3339(e.created_at_ms)) : Json(nullptr)},
          {"last_run_at", e.last_run_at_ms ? Json(FormatRfc3339(e.last_run_at_ms)) : Json(nullptr)}};
}

// ?status=&param.<path>=&tag.<key>=&min.<metric>=&max.<metric>=&sort=<metric>&order=asc|desc&limit=
Result<RunQuery> ParseRunQuery(const Request& req) {
  RunQuery q;
  for (const auto& pair : Split(req.query, '&', true)) {
    const size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), key, true) ||
        !PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1), value, true)) {
      return Error::InvalidArgument("the query string is not valid percent-encoding");
    }
    auto number = [&](const std::string& name) -> Result<double> {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !std::isfinite(v)) return Error::Field(name, name + " takes a number");
      return v;
    };
    if (key.starts_with("param.") && key.size() > 6) q.params[key.substr(6)] = value;
    else if (key.starts_with("tag.") && key.size() > 4) q.tags[key.substr(4)] = value;
    else if (key.starts_with("min.") && key.size() > 4) { C19_ASSIGN_OR_RETURN(q.min_metric[key.substr(4)], number(key)); }
    else if (key.starts_with("max.") && key.size() > 4) { C19_ASSIGN_OR_RETURN(q.max_metric[key.substr(4)], number(key)); }
    else if (key == "status") q.status = value;
    else if (key == "sort") q.sort_metric = value;
    else if (key == "order") {
      if (value != "asc" && value != "desc") return Error::Field("order", "order is asc or desc");
      q.descending = value == "desc";
    } else if (key == "limit") {
      C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, 1000));
      q.limit = limit.value_or(100);
    } else {
      return Error::Field(key, "unknown filter \"" + key + "\"; use status, param.<path>, tag.<key>, min.<metric>, "
                               "max.<metric>, sort, order, limit");
    }
  }
  return q;
}

}  // namespace

Status RegisterRoutes(http::Router& router, TrainingService& service, ExperimentService& experiments,
                      SweepService& sweeps) {
  TrainingService* svc = &service;
  ExperimentService* exps = &experiments;
  SweepService* sw = &sweeps;
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
  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/training/jobs/{id}/register", "models:write",
                               "Register a succeeded job's best model as a new version {model_name}",
                               "training.job.register", [svc](Request& req) -> Result<Response> {
                                 std::string id(req.Param("id"));
                                 req.audit_resource = "training_job:" + id;
                                 C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                                 FieldReader r(body);
                                 std::string name = r.String("model_name");
                                 C19_TRY(r.Finish());
                                 C19_ASSIGN_OR_RETURN(Job j, svc->RegisterModel(req.principal, id, name));
                                 return Response::Json(201, DumpJson(JobJson(j)));
                               })));

  // ------------------------------------------------------------ experiments
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/experiments", "training:read",
                               "Experiments with run counts by status and the best run (archived=true includes "
                               "archived ones)",
                               nullptr, [exps](Request& req) -> Result<Response> {
                                 const bool archived = req.Query("archived").value_or("false") == "true";
                                 C19_ASSIGN_OR_RETURN(auto list, exps->List(archived));
                                 Json items = Json::array();
                                 for (const auto& e : list) items.push_back(ExperimentJson(e));
                                 return Response::Json(200, DumpJson(Json{{"items", items}}));
                               })));
  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/experiments/{name}", "training:read",
      "An experiment and its runs, filtered (status, param.<path>=, tag.<key>=, min.<metric>=, max.<metric>=) and "
      "ranked (sort=<metric>, order=asc|desc, limit)",
      nullptr, [exps](Request& req) -> Result<Response> {
        std::string name(req.Param("name"));
        C19_ASSIGN_OR_RETURN(RunQuery q, ParseRunQuery(req));
        C19_ASSIGN_OR_RETURN(ExperimentSummary e, exps->Get(name));
        C19_ASSIGN_OR_RETURN(auto runs, exps->Runs(name, q));
        Json items = Json::array();
        for (const auto& j : runs) items.push_back(JobJson(j));
        Json out = ExperimentJson(e);
        out["items"] = items;
        return Response::Json(200, DumpJson(out));
      })));
  C19_TRY(router.Add(MakeRoute(
      Method::kGet, "/api/v1/experiments/{name}/compare", "training:read",
      "Runs side by side (jobs=a,b,...): params and which differ, final and best metrics, metric curves on a common "
      "epoch axis",
      nullptr, [exps](Request& req) -> Result<Response> {
        auto jobs = req.Query("jobs");
        if (!jobs || jobs->empty()) return Error::Field("jobs", "jobs is required: jobs=<id>,<id>");
        C19_ASSIGN_OR_RETURN(Json out, exps->Compare(std::string(req.Param("name")), Split(*jobs, ',', true)));
        return Response::Json(200, DumpJson(out));
      })));
  for (bool archive : {true, false}) {
    C19_TRY(router.Add(MakeRoute(
        Method::kPost, archive ? "/api/v1/experiments/{name}/archive" : "/api/v1/experiments/{name}/unarchive",
        "training:run",
        archive ? "Archive an experiment: hidden from the list, no new runs" : "Bring an archived experiment back",
        archive ? "training.experiment.archive" : "training.experiment.unarchive",
        [exps, archive](Request& req) -> Result<Response> {
          std::string name(req.Param("name"));
          req.audit_resource = "experiment:" + name;
          C19_ASSIGN_OR_RETURN(ExperimentSummary e, exps->SetArchived(name, archive));
          return Response::Json(200, DumpJson(ExperimentJson(e)));
        })));
  }

  // ------------------------------------------------------------ sweeps
  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/training/sweeps", "training:run",
      "Start a hyper-parameter sweep {name, experiment, base | base_job, search: {method: grid|random, parameters}, "
      "max_trials, parallelism, objective: {metric, direction}, early_termination: {policy: median, grace_epochs, "
      "min_trials}, register: {model_name}, seed} → 202",
      "training.sweep.create", [svc, sw](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
        if (auto base_job = body.find("base_job"); base_job != body.end()) {
          if (body.contains("base")) return Error::Field("base_job", "give base or base_job, not both");
          if (!base_job->is_string()) return Error::Field("base_job", "base_job is a training job id");
          auto job = svc->Get(base_job->get<std::string>());
          if (!job.ok()) return Error::Field("base_job", job.error().message);
          Json base = SpecToJson(job->spec);
          base.erase("name");
          base.erase("register");
          body["base"] = base;
        }
        C19_ASSIGN_OR_RETURN(SweepSpec spec, ParseSweepSpec(body));
        C19_ASSIGN_OR_RETURN(Sweep s, sw->Submit(req.principal, spec));
        req.audit_resource = "training_sweep:" + s.id;
        return Response::Json(202, DumpJson(SweepJson(s))).With("Location", "/api/v1/training/sweeps/" + s.id);
      })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/sweeps", "training:read", "Sweeps, newest first (limit)",
                               nullptr, [sw](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, 500));
                                 C19_ASSIGN_OR_RETURN(auto list, sw->List(limit.value_or(50)));
                                 Json items = Json::array();
                                 for (const auto& s : list) items.push_back(SweepJson(s));
                                 return Response::Json(200, DumpJson(Json{{"items", items}}));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/training/sweeps/{id}", "training:read",
                               "One sweep: trials with their params, status, objective value, and the best trial",
                               nullptr, [sw](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(Sweep s, sw->Get(std::string(req.Param("id"))));
                                 return Response::Json(200, DumpJson(SweepJson(s)));
                               })));
  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/training/sweeps/{id}/cancel", "training:run",
                               "Cancel a sweep: pending trials are dropped, running ones cancelled",
                               "training.sweep.cancel", [sw](Request& req) -> Result<Response> {
                                 std::string id(req.Param("id"));
                                 req.audit_resource = "training_sweep:" + id;
                                 C19_ASSIGN_OR_RETURN(Sweep s, sw->Cancel(req.principal, id));
                                 return Response::Json(200, DumpJson(SweepJson(s)));
                               })));
  return OkStatus();
}

}  // namespace c19ai::training
