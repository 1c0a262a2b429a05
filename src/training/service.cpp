// Training jobs: the database records, the queue handler that prepares the data and trains epoch by
// epoch (or round by round), checkpoints and resume, events and logs, and registration of the best
// model as a C19 AI bundle.

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "events/events.h"
#include "ml/train.h"
#include "registry/registry.h"
#include "training/pipeline.h"
#include "training/runner.h"
#include "training/training.h"
#include "validation/validation.h"

namespace c19ai::training {

namespace {

using storage::Namespace;

constexpr std::string_view kJobColumns =
    "id, name, experiment, status, spec, dataset_id, dataset_sha256, epoch, epochs, progress, metric, best_metric, "
    "best_epoch, best_metrics, model_name, model_version, error, cancel_requested, attempts, created_by, "
    "created_by_id, created_at, started_at, finished_at, model_object";

Job JobFromRow(const db::Row& r) {
  Job j;
  j.id = r.Text(0);
  j.name = r.Text(1);
  j.experiment = r.Text(2);
  j.status = r.Text(3);
  Json spec = Json::parse(r.Text(4), nullptr, false);
  if (auto parsed = ParseJobSpec(spec); parsed.ok()) j.spec = std::move(*parsed);
  j.dataset_id = r.Text(5);
  j.dataset_sha256 = r.Text(6);
  j.epoch = r.Int(7);
  j.epochs = r.Int(8);
  j.progress = r.Double(9);
  j.metric = r.Text(10);
  j.best_metric = r.OptDouble(11);
  j.best_epoch = r.Int(12);
  j.best_metrics = Json::parse(r.Text(13), nullptr, false);
  if (!j.best_metrics.is_object()) j.best_metrics = Json::object();
  j.model_name = r.Text(14);
  j.model_version = r.OptInt(15);
  j.error = r.Text(16);
  j.cancel_requested = r.Bool(17);
  j.attempts = r.Int(18);
  j.created_by = r.Text(19);
  j.created_by_id = r.Text(20);
  j.created_at_ms = r.Int(21);
  j.started_at_ms = r.OptInt(22);
  j.finished_at_ms = r.OptInt(23);
  j.model_object = r.Text(24);
  return j;
}

bool Terminal(const std::string& status) { return status == "succeeded" || status == "failed" || status == "cancelled"; }

// A checkpoint blob: the trainer's bytes (or the booster), the best weights so far and the pipeline's
// own state (best metric, early-stopping counter) as JSON.
std::string PackCheckpoint(const std::string& trainer, const std::string& best, const Json& state) {
  std::string out = "C19JOBC1";
  const std::string state_text = state.dump();
  for (std::string_view part : {std::string_view(trainer), std::string_view(best), std::string_view(state_text)}) {
    uint64_t n = part.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(part);
  }
  return out;
}

Result<std::tuple<std::string, std::string, Json>> UnpackCheckpoint(std::string_view in) {
  if (in.substr(0, 8) != "C19JOBC1") return Error::Unprocessable("not a training checkpoint");
  in.remove_prefix(8);
  std::string parts[3];
  for (auto& p : parts) {
    uint64_t n = 0;
    if (in.size() < sizeof n) return Error::Unprocessable("training checkpoint is truncated");
    std::memcpy(&n, in.data(), sizeof n);
    in.remove_prefix(sizeof n);
    if (in.size() < n) return Error::Unprocessable("training checkpoint is truncated");
    p.assign(in.substr(0, n));
    in.remove_prefix(n);
  }
  Json state = Json::parse(parts[2], nullptr, false);
  if (!state.is_object()) return Error::Unprocessable("training checkpoint state is not JSON");
  return std::make_tuple(std::move(parts[0]), std::move(parts[1]), std::move(state));
}

Json StatsJson(const ml::EpochStats& s) {
  return {{"epoch", s.epoch},       {"train_loss", s.train_loss}, {"val_loss", s.val_loss},
          {"metrics", s.val_metrics}, {"lr", s.lr},               {"samples_per_s", s.samples_per_s}};
}

class Service final : public TrainingService {
 public:
  Service(db::Database& db, storage::StorageService& storage, queue::Queue& queue, registry::Registry& registry,
          validation::DatasetService& datasets, Options o)
      : db_(db), storage_(storage), queue_(queue), registry_(registry), datasets_(datasets), o_(o) {}

  Result<Job> Submit(const Principal& actor, const JobSpec& spec) override {
    C19_ASSIGN_OR_RETURN(db::Rows archived, db_.Query("SELECT archived FROM training_experiments WHERE name = ?",
                                                      {spec.experiment}));
    if (!archived.empty() && archived[0].Bool(0)) {
      return Error::FailedPrecondition("experiment \"" + spec.experiment + "\" is archived; unarchive it to add runs");
    }
    C19_ASSIGN_OR_RETURN(validation::Dataset d, datasets_.Get(spec.dataset));
    bool has_target = spec.target.empty();
    for (const auto& c : d.columns) has_target = has_target || c.name == spec.target;
    if (!has_target) return Error::Field("target", "dataset " + d.name + " v" + std::to_string(d.version) +
                                                       " has no column \"" + spec.target + "\"");
    for (const auto& f : spec.features) {
      bool found = false;
      for (const auto& c : d.columns) found = found || c.name == f;
      if (!found) return Error::Field("features", "the dataset has no column \"" + f + "\"");
    }
    if (!spec.register_model.empty()) {
      if (auto m = registry_.GetModel(spec.register_model); m.ok()) {
        if (m->model_type != spec.model_type) {
          return Error::Field("register.model_name", "model " + m->name + " is a " + m->model_type + " model");
        }
      }
    }
    Job j;
    j.id = NewId();
    j.name = spec.name.empty() ? spec.architecture + "-" + d.name : spec.name;
    j.experiment = spec.experiment;
    j.status = "queued";
    j.spec = spec;
    j.dataset_id = d.id;
    j.dataset_sha256 = d.sha256;
    j.epochs = internal::PlannedEpochs(spec);
    j.metric = spec.metric;
    j.created_by = actor.username;
    j.created_by_id = actor.user_id;
    j.created_at_ms = o_.clock->NowMs();
    C19_TRY(db_.Exec("INSERT INTO training_jobs (id, name, experiment, status, spec, dataset_id, dataset_sha256, "
                     "epochs, metric, created_by, created_by_id, created_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, "
                     "?, ?, ?)",
                     {j.id, j.name, j.experiment, SpecToJson(spec).dump(), j.dataset_id, j.dataset_sha256, j.epochs,
                      j.metric, j.created_by, j.created_by_id, j.created_at_ms}));
    C19_TRY(Enqueue(j.id, 0));
    Log(j.id, "info", "queued: " + spec.architecture + " on dataset " + d.name + " v" + std::to_string(d.version) +
                          " (" + std::to_string(d.rows) + " rows)" +
                          (spec.target.empty() ? std::string() : ", target " + spec.target));
    Event(j, events::kTrainingJobQueued, Json::object());
    return j;
  }

  Result<Job> Get(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(db::Rows rows,
                         db_.Query("SELECT " + std::string(kJobColumns) + " FROM training_jobs WHERE id = ?", {id}));
    if (rows.empty()) return Error::NotFound("training job \"" + id + "\" not found");
    return JobFromRow(rows[0]);
  }

  Result<std::vector<Job>> List(const JobFilter& f) override {
    std::string sql = "SELECT " + std::string(kJobColumns) + " FROM training_jobs WHERE 1 = 1";
    db::Params p;
    if (!f.status.empty()) {
      sql += " AND status = ?";
      p.emplace_back(f.status);
    }
    if (!f.experiment.empty()) {
      sql += " AND experiment = ?";
      p.emplace_back(f.experiment);
    }
    sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
    p.emplace_back(f.limit);
    p.emplace_back(f.offset);
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query(sql, p));
    std::vector<Job> out;
    for (const auto& r : rows) out.push_back(JobFromRow(r));
    return out;
  }

  Result<Job> Cancel(const Principal& actor, const std::string& id) override {
    const int64_t now = o_.clock->NowMs();
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE training_jobs SET status = 'cancelled', cancel_requested = 1, "
                                             "finished_at = ? WHERE id = ? AND status = 'queued'",
                                             {now, id}));
    bool queued = n > 0;
    if (!queued) {
      C19_ASSIGN_OR_RETURN(n, db_.Exec("UPDATE training_jobs SET cancel_requested = 1 WHERE id = ? AND status = "
                                       "'running'",
                                       {id}));
    }
    C19_ASSIGN_OR_RETURN(Job j, Get(id));
    if (n == 0) return Error::FailedPrecondition("training job " + id + " already ended (" + j.status + ")");
    Log(id, "info", "cancel requested by " + actor.username);
    if (queued) {
      Event(j, events::kTrainingJobCancelled, Json::object());
      if (observer_) observer_->JobFinished(j);
    }
    return j;
  }

  Result<Job> Resume(const Principal& actor, const std::string& id) override {
    C19_ASSIGN_OR_RETURN(Job j, Get(id));
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE training_jobs SET status = 'queued', cancel_requested = 0, "
                                             "error = '', finished_at = NULL WHERE id = ? AND status IN ('cancelled', "
                                             "'failed')",
                                             {id}));
    if (n == 0) {
      return Error::FailedPrecondition("only a cancelled or failed job can be resumed; " + id + " is " + j.status);
    }
    C19_TRY(Enqueue(id, j.attempts + 1));
    C19_ASSIGN_OR_RETURN(auto cps, Checkpoints(id));
    Log(id, "info", "resumed by " + actor.username +
                        (cps.empty() ? std::string(" (no checkpoint: from the start)")
                                     : " from the checkpoint of epoch " + std::to_string(cps.back().epoch)));
    C19_ASSIGN_OR_RETURN(j, Get(id));
    Event(j, events::kTrainingJobQueued, Json{{"resumed", true}});
    return j;
  }

  Result<std::vector<MetricPoint>> Metrics(const std::string& id) override {
    C19_TRY(Get(id));
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT epoch, train_loss, val_loss, lr, samples_per_s, metrics, ts "
                                                  "FROM training_metrics WHERE job_id = ? ORDER BY epoch",
                                                  {id}));
    std::vector<MetricPoint> out;
    for (const auto& r : rows) {
      MetricPoint p;
      p.epoch = r.Int(0);
      p.train_loss = r.Double(1);
      p.val_loss = r.Double(2);
      p.lr = r.Double(3);
      p.samples_per_s = r.Double(4);
      p.metrics = Json::parse(r.Text(5), nullptr, false);
      p.ts_ms = r.Int(6);
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<std::vector<StepPoint>> Steps(const std::string& id) override {
    C19_TRY(Get(id));
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT step, epoch, loss, lr, ts FROM training_steps WHERE job_id = ? "
                                                  "ORDER BY step",
                                                  {id}));
    std::vector<StepPoint> out;
    for (const auto& r : rows) out.push_back({r.Int(0), r.Int(1), r.Double(2), r.Double(3), r.Int(4)});
    return out;
  }

  Result<std::vector<CheckpointInfo>> Checkpoints(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT epoch, object_key, size, sha256, created_at FROM "
                                                  "training_checkpoints WHERE job_id = ? ORDER BY epoch",
                                                  {id}));
    std::vector<CheckpointInfo> out;
    for (const auto& r : rows) out.push_back({r.Int(0), r.Text(1), r.Int(2), r.Text(3), r.Int(4)});
    return out;
  }

  Result<std::vector<LogLine>> Logs(const std::string& id, int64_t after, int64_t limit) override {
    C19_TRY(Get(id));
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT seq, ts, level, message FROM training_logs WHERE job_id = ? "
                                                  "AND seq > ? ORDER BY seq LIMIT ?",
                                                  {id, after, limit}));
    std::vector<LogLine> out;
    for (const auto& r : rows) out.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3)});
    return out;
  }

  Status Run(queue::Message& message, const std::function<bool()>& stopping) override {
    auto got = Get(message.body);
    if (!got.ok()) return got.error().code == ErrorCode::kNotFound ? OkStatus() : Status(std::move(got).error());
    Job j = std::move(*got);
    if (Terminal(j.status)) return OkStatus();  // cancelled while queued, or a stale redelivery
    const int64_t now = o_.clock->NowMs();
    const bool again = j.status == "running";  // a worker died mid-job: continue from its checkpoint
    C19_TRY(db_.Exec("UPDATE training_jobs SET status = 'running', attempts = attempts + 1, started_at = "
                     "COALESCE(started_at, ?) WHERE id = ?",
                     {now, j.id}));
    j.status = "running";
    j.attempts += 1;
    Log(j.id, "info", std::string(again ? "picked up again after an interrupted run" : "started") + " (attempt " +
                          std::to_string(j.attempts) + ")");
    Event(j, events::kTrainingJobStarted, Json{{"attempt", j.attempts}});
    std::atomic<bool> cancelled{false};
    int64_t last_poll = 0;
    auto should_stop = [&]() -> bool {
      if (stopping()) return true;
      if (StopReason(j.id)) return true;
      int64_t t = o_.clock->NowMs();
      if (t - last_poll >= 500) {
        last_poll = t;
        auto r = db_.Query("SELECT cancel_requested FROM training_jobs WHERE id = ?", {j.id});
        if (r.ok() && !r->empty() && (*r)[0].Bool(0)) cancelled = true;
      }
      return cancelled.load();
    };
    Status st = Execute(j, should_stop);
    const int64_t end = o_.clock->NowMs();
    const std::optional<std::string> stop_reason = StopReason(j.id);
    {
      std::lock_guard lock(stop_mu_);
      stop_reasons_.erase(j.id);
    }
    if (st.ok()) {
      (void)db_.Exec("UPDATE training_jobs SET status = 'succeeded', progress = 1, finished_at = ? WHERE id = ?",
                     {end, j.id});
      C19_ASSIGN_OR_RETURN(j, Get(j.id));
      Log(j.id, "info", "succeeded" + (j.model_version ? " and registered " + j.model_name + " v" +
                                                             std::to_string(*j.model_version)
                                                       : std::string()));
      Event(j, events::kTrainingJobSucceeded, Json::object());
      if (observer_) observer_->JobFinished(j);
      return OkStatus();
    }
    if (cancelled || (stop_reason && !stopping())) {
      (void)db_.Exec("UPDATE training_jobs SET status = 'cancelled', error = ?, finished_at = ? WHERE id = ?",
                     {stop_reason.value_or(""), end, j.id});
      C19_ASSIGN_OR_RETURN(j, Get(j.id));
      Log(j.id, "info", (stop_reason && !cancelled ? *stop_reason : std::string("cancelled")) + " at epoch " +
                            std::to_string(j.epoch));
      Event(j, events::kTrainingJobCancelled, stop_reason ? Json{{"reason", *stop_reason}} : Json::object());
      if (observer_) observer_->JobFinished(j);
      return OkStatus();
    }
    if (stopping()) {
      // The worker is shutting down: another (or this one, restarted) continues from the checkpoint.
      Log(j.id, "warn", "worker stopping: the job goes back to the queue");
      return Error::Unavailable("worker stopping");
    }
    (void)db_.Exec("UPDATE training_jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                   {st.error().message, end, j.id});
    C19_ASSIGN_OR_RETURN(j, Get(j.id));
    Log(j.id, "error", "failed: " + st.error().message);
    Event(j, events::kTrainingJobFailed, Json{{"error", st.error().message}});
    if (observer_) observer_->JobFinished(j);
    return OkStatus();  // the failure is the job's outcome, not a reason to redeliver
  }

 private:
  Status Enqueue(const std::string& id, int64_t attempt) {
    queue::PublishOptions po;
    po.idempotency_key = "train:" + id + ":" + std::to_string(attempt);
    po.max_attempts = 10;
    C19_TRY(queue_.Publish(std::string(kTrainingTopic), id, po));
    return OkStatus();
  }

  void Log(const std::string& id, const std::string& level, const std::string& message) {
    (void)db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(db::Rows r, tx.Query("SELECT COALESCE(MAX(seq), 0) FROM training_logs WHERE job_id = ?", {id}));
      int64_t seq = r.empty() ? 1 : r[0].Int(0) + 1;
      C19_TRY(tx.Exec("INSERT INTO training_logs (job_id, seq, ts, level, message) VALUES (?, ?, ?, ?, ?)",
                      {id, seq, o_.clock->NowMs(), level, message}));
      return OkStatus();
    });
  }

  void Event(const Job& j, std::string_view type, Json data) {
    if (!o_.bus) return;
    data["job_id"] = j.id;
    data["name"] = j.name;
    data["status"] = j.status;
    data["epoch"] = j.epoch;
    data["epochs"] = j.epochs;
    data["progress"] = j.progress;
    events::Publish(o_.bus, events::TrainingRoom(j.id), type, data.dump());
  }

  // Records one epoch (or round): metrics row, job progress and best, event and log line.
  void Record(Job& j, const ml::EpochStats& s, int64_t total, bool best) {
    const int64_t now = o_.clock->NowMs();
    (void)db_.Exec("DELETE FROM training_metrics WHERE job_id = ? AND epoch = ?", {j.id, s.epoch});
    (void)db_.Exec("INSERT INTO training_metrics (job_id, epoch, train_loss, val_loss, lr, samples_per_s, metrics, ts) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   {j.id, s.epoch, s.train_loss, s.val_loss, s.lr, s.samples_per_s, Json(s.val_metrics).dump(), now});
    j.epoch = s.epoch;
    j.epochs = total;
    j.progress = total > 0 ? std::min(1.0, static_cast<double>(s.epoch) / static_cast<double>(total)) : 0;
    if (best) {
      auto it = s.val_metrics.find(j.metric);
      j.best_metric = j.metric == "val_loss"           ? std::optional<double>(s.val_loss)
                      : it != s.val_metrics.end() ? std::optional<double>(it->second)
                                                  : std::nullopt;
      j.best_epoch = s.epoch;
      j.best_metrics = s.val_metrics;
      j.best_metrics["val_loss"] = s.val_loss;
    }
    (void)db_.Exec("UPDATE training_jobs SET epoch = ?, epochs = ?, progress = ?, best_metric = ?, best_epoch = ?, "
                   "best_metrics = ? WHERE id = ?",
                   {j.epoch, j.epochs, j.progress, j.best_metric, j.best_epoch, j.best_metrics.dump(), j.id});
    Event(j, events::kTrainingJobProgress, StatsJson(s));
    if (observer_) {
      if (auto reason = observer_->StopAfterEpoch(j, s.epoch)) {
        std::lock_guard lock(stop_mu_);
        stop_reasons_[j.id] = *reason;
      }
    }
    std::string line = "epoch " + std::to_string(s.epoch) + "/" + std::to_string(total) + " train_loss " +
                       FormatDouble(s.train_loss) + " val_loss " + FormatDouble(s.val_loss);
    for (const auto& [k, v] : s.val_metrics) line += " " + k + " " + FormatDouble(v);
    line += " lr " + FormatDouble(s.lr) + " " + std::to_string(static_cast<int64_t>(s.samples_per_s)) + " samples/s";
    Log(j.id, "info", line);
  }

  // Every log_every_steps optimizer steps: stored (a resumed epoch overwrites its steps) and published.
  void RecordSteps(const Job& j, const ml::StepStats& st) {
    (void)db_.Exec("DELETE FROM training_steps WHERE job_id = ? AND step = ?", {j.id, st.step});
    (void)db_.Exec("INSERT INTO training_steps (job_id, step, epoch, loss, lr, ts) VALUES (?, ?, ?, ?, ?, ?)",
                   {j.id, st.step, st.epoch, st.loss, st.lr, o_.clock->NowMs()});
    Event(j, events::kTrainingJobProgress, Json{{"step", st.step}, {"step_epoch", st.epoch}, {"train_loss", st.loss},
                                                {"lr", st.lr}});
  }

  static std::string FormatDouble(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.5g", v);
    return buf;
  }

  Status SaveCheckpoint(Job& j, int64_t epoch, const std::string& blob, int64_t keep_last) {
    std::string key = "training/" + j.id + "/epoch-" + std::to_string(epoch) + ".ckpt";
    auto src = storage::StringSource(blob);
    storage::PutOptions po;
    po.created_by = j.created_by;
    po.metadata = {{"training_job", j.id}, {"epoch", std::to_string(epoch)}};
    C19_ASSIGN_OR_RETURN(storage::ObjectInfo info, storage_.Put(Namespace::kCheckpoints, key, *src, po));
    (void)db_.Exec("DELETE FROM training_checkpoints WHERE job_id = ? AND epoch = ?", {j.id, epoch});
    C19_TRY(db_.Exec("INSERT INTO training_checkpoints (job_id, epoch, object_key, size, sha256, created_at) VALUES "
                     "(?, ?, ?, ?, ?, ?)",
                     {j.id, epoch, key, info.size, info.sha256, o_.clock->NowMs()}));
    // Keep the last K.
    C19_ASSIGN_OR_RETURN(auto all, Checkpoints(j.id));
    for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
      (void)storage_.Delete(Namespace::kCheckpoints, all[i].key);
      (void)db_.Exec("DELETE FROM training_checkpoints WHERE job_id = ? AND epoch = ?", {j.id, all[i].epoch});
    }
    Event(j, events::kTrainingJobCheckpoint, Json{{"checkpoint_epoch", epoch}, {"size", info.size}});
    return OkStatus();
  }

  // The newest checkpoint that reads back (an unreadable one is skipped with a log line).
  std::optional<std::pair<int64_t, std::string>> LatestCheckpoint(const Job& j) {
    auto all = Checkpoints(j.id);
    if (!all.ok()) return std::nullopt;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      auto src = storage_.Open(Namespace::kCheckpoints, it->key, {}, /*verify=*/true);
      if (src.ok()) {
        auto bytes = storage::ReadAll(**src, size_t{4} << 30);
        if (bytes.ok()) return std::make_pair(it->epoch, std::move(*bytes));
      }
      Log(j.id, "warn", "checkpoint of epoch " + std::to_string(it->epoch) + " is unreadable; trying an older one");
    }
    return std::nullopt;
  }

  Status Execute(Job& j, const std::function<bool()>& should_stop) {
    const JobSpec& spec = j.spec;
    C19_ASSIGN_OR_RETURN(validation::Dataset d, datasets_.Get(j.dataset_id));
    C19_ASSIGN_OR_RETURN(auto src, datasets_.Open(d));
    C19_ASSIGN_OR_RETURN(internal::Table table,
                         internal::ReadTable(*src, std::string(validation::FormatName(d.format)), d.delimiter, d.header));
    if (internal::IsRunnerArchitecture(spec.architecture)) return ExecuteRunner(j, table, should_stop);
    C19_ASSIGN_OR_RETURN(internal::Prepared p, internal::Prepare(spec, table));
    table = {};
    Log(j.id, "info", "data: " + std::to_string(p.train.x.rows) + " training rows, " +
                          std::to_string(p.validation.x.rows) + " validation rows, " +
                          std::to_string(p.features.size()) + " features (" + std::to_string(p.train.x.cols) +
                          " encoded columns)" +
                          (p.dropped ? ", " + std::to_string(p.dropped) + " rows without a target dropped" : ""));
    auto resume = LatestCheckpoint(j);
    const bool higher = ml::HigherIsBetter(j.metric);

    ml::BundleManifest manifest;
    ml::BundleWeights weights;
    manifest.task = spec.model_type == "classification" ? ml::Task::kClassification : ml::Task::kRegression;
    manifest.architecture = spec.architecture;
    Json params = spec.params;
    params.erase("__plateau_metric");
    manifest.params_json = params.dump();
    manifest.features = p.features;
    manifest.labels = p.labels;
    manifest.target = spec.target;
    manifest.target_mean = p.target_mean;
    manifest.target_scale = p.target_scale;

    ml::EpochStats best_stats;
    if (spec.architecture == "gbtree") {
      ml::GbtreeSpec g;
      g.task = manifest.task;
      g.classes = static_cast<int64_t>(p.labels.size());
      g.seed = spec.seed;
      g.threads = std::min(spec.threads, o_.max_threads_per_job);
      C19_TRY(ml::ParseGbtreeParams(params.dump(), g));
      std::string resume_booster;
      if (resume) {
        C19_ASSIGN_OR_RETURN(auto parts, UnpackCheckpoint(resume->second));
        resume_booster = std::get<0>(parts);
        Log(j.id, "info", "continuing from the checkpoint of round " + std::to_string(resume->first));
      }
      const int64_t every = spec.checkpoint_every;
      Status ckpt_status = OkStatus();
      C19_ASSIGN_OR_RETURN(
          ml::GbtreeResult r,
          ml::TrainGbtree(
              g, p.train, p.validation, spec.early_stopping_metric.empty() ? j.metric : spec.early_stopping_metric,
              spec.early_stopping_metric.empty() ? 0 : spec.patience, spec.min_delta, resume_booster,
              [every](int64_t round) { return every > 0 && round % every == 0; },
              [&](const ml::GbtreeRound& round) {
                auto it = round.stats.val_metrics.find(j.metric);
                bool best = it != round.stats.val_metrics.end() &&
                            (!j.best_metric || (higher ? it->second > *j.best_metric : it->second < *j.best_metric));
                Record(j, round.stats, g.num_rounds, best);
                if (!round.booster_json.empty()) {
                  Status s = SaveCheckpoint(j, round.stats.epoch, PackCheckpoint(round.booster_json, "", Json::object()),
                                            spec.keep_last);
                  if (!s.ok()) ckpt_status = s;
                }
                return ckpt_status.ok() && !should_stop();
              }));
      C19_TRY(ckpt_status);
      if (r.stopped) return Error::Aborted("stopped");
      weights.xgboost_json = r.best_booster_json;
      best_stats = r.best;
      Log(j.id, "info", "best round " + std::to_string(r.best_round) + " of " + std::to_string(r.rounds));
    } else {
      ml::MlpTrainSpec m;
      m.task = manifest.task;
      m.classes = static_cast<int64_t>(p.labels.size());
      m.params_json = manifest.params_json;
      m.optimizer = spec.optimizer;
      m.scheduler = spec.scheduler;
      m.plateau_metric = spec.params.value("__plateau_metric", std::string("val_loss"));
      m.epochs = spec.epochs;
      m.batch_size = spec.batch_size;
      m.seed = spec.seed;
      m.shuffle = spec.shuffle;
      m.noise_std = spec.noise_std;
      m.mixup_alpha = spec.mixup_alpha;
      m.target_mean = p.target_mean;
      m.target_scale = p.target_scale;
      C19_ASSIGN_OR_RETURN(auto trainer, ml::MlpTrainer::Create(m, p.train, p.validation));
      std::string best_weights;
      std::optional<double> best_value;
      int64_t since_best = 0;
      const std::string stop_metric = spec.early_stopping_metric;
      std::optional<double> stop_best;
      if (resume) {
        C19_ASSIGN_OR_RETURN(auto parts, UnpackCheckpoint(resume->second));
        C19_TRY(trainer->Restore(std::get<0>(parts)));
        best_weights = std::get<1>(parts);
        const Json& st = std::get<2>(parts);
        if (st.contains("best_value")) best_value = st["best_value"].get<double>();
        if (st.contains("stop_best")) stop_best = st["stop_best"].get<double>();
        since_best = st.value("since_best", int64_t{0});
        if (st.contains("best_stats")) {
          const Json& b = st["best_stats"];
          best_stats.epoch = b.value("epoch", int64_t{0});
          best_stats.train_loss = b.value("train_loss", 0.0);
          best_stats.val_loss = b.value("val_loss", 0.0);
          best_stats.lr = b.value("lr", 0.0);
          best_stats.val_metrics = b.value("metrics", std::map<std::string, double>{});
        }
        Log(j.id, "info", "continuing from the checkpoint of epoch " + std::to_string(trainer->epochs_done()));
      }
      for (int64_t e = trainer->epochs_done() + 1; e <= spec.epochs; ++e) {
        C19_ASSIGN_OR_RETURN(ml::EpochStats s, trainer->RunEpoch(should_stop, [&](const ml::StepStats& st) {
          RecordSteps(j, st);
        }, spec.log_every_steps));
        double v = j.metric == "val_loss" ? s.val_loss : s.val_metrics[j.metric];
        bool best = !best_value || (higher ? v > *best_value : v < *best_value);
        if (best) {
          best_value = v;
          best_weights = trainer->Weights();
          best_stats = s;
        }
        Record(j, s, spec.epochs, best);
        bool stop = false;
        if (!stop_metric.empty()) {
          double sv = stop_metric == "val_loss" ? s.val_loss : s.val_metrics[stop_metric];
          bool up = ml::HigherIsBetter(stop_metric);
          if (!stop_best || (up ? sv > *stop_best + spec.min_delta : sv < *stop_best - spec.min_delta)) {
            stop_best = sv;
            since_best = 0;
          } else if (++since_best >= spec.patience) {
            stop = true;
          }
        }
        if (spec.checkpoint_every > 0 && (e % spec.checkpoint_every == 0 || e == spec.epochs || stop)) {
          Json state = {{"since_best", since_best}, {"best_stats", StatsJson(best_stats)}};
          if (best_value) state["best_value"] = *best_value;
          if (stop_best) state["stop_best"] = *stop_best;
          C19_TRY(SaveCheckpoint(j, e, PackCheckpoint(trainer->Checkpoint(), best_weights, state), spec.keep_last));
        }
        if (stop) {
          Log(j.id, "info", "early stopping: " + stop_metric + " did not improve for " + std::to_string(spec.patience) +
                                " epochs");
          break;
        }
        if (should_stop()) return Error::Aborted("stopped");
      }
      weights.torch_state = best_weights;
    }
    return Finish(j, manifest, weights, best_stats);
  }

  // k-means, text and embedding models: the architecture's trainer with this job's services lent.
  Status ExecuteRunner(Job& j, const internal::Table& table, const std::function<bool()>& should_stop) {
    internal::RunContext ctx{j, table};
    ctx.threads = std::min(j.spec.threads, o_.max_threads_per_job);
    ctx.log = [&](const std::string& level, const std::string& message) { Log(j.id, level, message); };
    ctx.record = [&](const ml::EpochStats& s, int64_t total, bool best) { Record(j, s, total, best); };
    ctx.save_checkpoint = [&](int64_t epoch, const std::string& blob) {
      return SaveCheckpoint(j, epoch, blob, j.spec.keep_last);
    };
    ctx.resume = LatestCheckpoint(j);
    ctx.should_stop = should_stop;
    C19_ASSIGN_OR_RETURN(internal::Trained t, [&]() -> Result<internal::Trained> {
      if (j.spec.architecture == "kmeans") return internal::TrainKMeans(ctx);
      if (j.spec.architecture == "autoencoder") return internal::TrainAutoencoder(ctx);
      return internal::TrainCharModel(ctx);
    }());
    if (should_stop()) return Error::Aborted("stopped");
    return Finish(j, t.manifest, t.weights, t.best);
  }

  // The best epoch's metrics go into the bundle and, when asked, the bundle into the registry.
  Status Finish(Job& j, ml::BundleManifest& manifest, const ml::BundleWeights& weights, const ml::EpochStats& best) {
    Json metrics = best.val_metrics;
    metrics["val_loss"] = best.val_loss;
    metrics["train_loss"] = best.train_loss;
    metrics["best_epoch"] = best.epoch;
    manifest.metrics_json = metrics.dump();
    manifest.library_versions_json = Json{{"c19ai_bundle", 1}}.dump();
    std::string bytes = ml::WriteBundle(manifest, weights);
    // Kept whether or not it is registered now: a sweep (or a user) may register it later.
    const std::string key = "training/" + j.id + "/model.c19b";
    auto src = storage::StringSource(bytes);
    storage::PutOptions po;
    po.created_by = j.created_by;
    po.content_type = "application/octet-stream";
    po.metadata = {{"training_job", j.id}};
    C19_TRY(storage_.Put(Namespace::kCheckpoints, key, *src, po));
    C19_TRY(db_.Exec("UPDATE training_jobs SET model_object = ? WHERE id = ?", {key, j.id}));
    j.model_object = key;
    if (j.spec.register_model.empty()) return OkStatus();
    return Register(j, j.spec.register_model, manifest, std::move(bytes), metrics);
  }

  Result<Job> RegisterModel(const Principal& actor, const std::string& id, const std::string& model_name) override {
    C19_ASSIGN_OR_RETURN(Job j, Get(id));
    if (j.status != "succeeded" || j.model_object.empty()) {
      return Error::FailedPrecondition("training job " + id + " has no model to register (it is " + j.status + ")");
    }
    C19_ASSIGN_OR_RETURN(auto src, storage_.Open(Namespace::kCheckpoints, j.model_object, {}, /*verify=*/true));
    C19_ASSIGN_OR_RETURN(std::string bytes, storage::ReadAll(*src, size_t{4} << 30));
    C19_ASSIGN_OR_RETURN(auto bundle, ml::ReadBundle(bytes));
    Json metrics = Json::parse(bundle.first.metrics_json, nullptr, false);
    if (!metrics.is_object()) metrics = Json::object();
    j.created_by = actor.username;  // the version's author is who registers it
    j.created_by_id = actor.user_id;
    C19_TRY(Register(j, model_name, bundle.first, std::move(bytes), metrics));
    Log(j.id, "info", "registered as " + j.model_name + " v" + std::to_string(*j.model_version) + " by " +
                          actor.username);
    return Get(id);
  }

  void SetObserver(JobObserver* observer) override { observer_ = observer; }

  Status Register(Job& j, const std::string& model_name, const ml::BundleManifest& manifest, std::string bytes,
                  const Json& metrics) {
    const JobSpec& spec = j.spec;
    Principal actor;
    actor.user_id = j.created_by_id;
    actor.username = j.created_by;
    actor.internal = true;
    auto model = registry_.GetModel(model_name);
    if (!model.ok()) {
      if (model.error().code != ErrorCode::kNotFound) return std::move(model).error();
      registry::ModelSpec ms;
      ms.name = model_name;
      ms.model_type = spec.model_type;
      ms.framework = spec.framework;
      ms.description = "Trained by C19 AI (" + spec.architecture +
                       (spec.target.empty() ? std::string(")") : " on " + spec.target + ")");
      model = registry_.CreateModel(actor, ms);
      if (!model.ok() && model.error().code == ErrorCode::kAlreadyExists) model = registry_.GetModel(model_name);
      if (!model.ok()) return std::move(model).error();
    }
    if (model->model_type != spec.model_type) {
      return Error::Field("model_name", "model " + model->name + " is a " + model->model_type + " model");
    }
    registry::VersionSpec vs;
    vs.framework = spec.framework;
    vs.signature = ml::BundleSignature(manifest);
    vs.metrics_json = metrics.dump();
    Json params = SpecToJson(spec);
    vs.params_json = Json{{"architecture", spec.architecture},
                          {"params", params["model"]["params"]},
                          {"optimizer", params["optimizer"]},
                          {"scheduler", params["scheduler"]},
                          {"epochs", spec.epochs},
                          {"batch_size", spec.batch_size},
                          {"seed", spec.seed}}
                         .dump();
    vs.lineage_json = Json{{"job_id", j.id},
                           {"experiment", j.experiment},
                           {"dataset_id", j.dataset_id},
                           {"dataset_sha256", j.dataset_sha256},
                           {"target", spec.target}}
                          .dump();
    vs.description = "training job " + j.id;
    vs.source_type = "training";
    vs.source_id = j.id;
    auto src = storage::StringSource(std::move(bytes));
    C19_ASSIGN_OR_RETURN(registry::Version v, registry_.CreateVersion(actor, model->name, *src, vs));
    C19_TRY(db_.Exec("UPDATE training_jobs SET model_name = ?, model_version = ? WHERE id = ?",
                     {v.model_name, v.version, j.id}));
    j.model_name = v.model_name;
    j.model_version = v.version;
    return OkStatus();
  }

  std::optional<std::string> StopReason(const std::string& id) {
    std::lock_guard lock(stop_mu_);
    auto it = stop_reasons_.find(id);
    if (it == stop_reasons_.end()) return std::nullopt;
    return it->second;
  }

  JobObserver* observer_ = nullptr;
  std::mutex stop_mu_;
  std::map<std::string, std::string> stop_reasons_;  // job → why the observer stopped it
  db::Database& db_;
  storage::StorageService& storage_;
  queue::Queue& queue_;
  registry::Registry& registry_;
  validation::DatasetService& datasets_;
  Options o_;
};

}  // namespace

std::unique_ptr<TrainingService> TrainingService::Create(db::Database& db, storage::StorageService& storage,
                                                         queue::Queue& queue, registry::Registry& registry,
                                                         validation::DatasetService& datasets, Options options) {
  return std::make_unique<Service>(db, storage, queue, registry, datasets, options);
}

}  // namespace c19ai::training
