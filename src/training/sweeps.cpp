// Hyper-parameter sweeps: trials generated up front (grid or seeded random), launched as training jobs
// up to the parallelism limit as earlier ones finish, pruned by the median stopping rule, and the best
// trial highlighted and optionally registered. Everything lives in the database, so whichever process
// hears a trial finish (serve in embedded mode, any `c19ai worker`) advances the sweep.

#include <algorithm>
#include <cmath>
#include <random>

#include "events/events.h"
#include "common/ids.h"
#include "ml/train.h"
#include "training/training.h"

namespace c19ai::training {

const std::vector<std::pair<std::string, std::string>>& SweepablePaths() {
  static const std::vector<std::pair<std::string, std::string>> paths = {
      {"optimizer.lr", "learning rate"},
      {"optimizer.type", "sgd, adam, adamw, rmsprop, adagrad, adadelta"},
      {"optimizer.*", "any field of the optimizer: momentum, weight_decay, betas, eps, nesterov, ..."},
      {"scheduler.type", "the learning-rate schedule"},
      {"scheduler.*", "any field of the schedule: gamma, step_size, t_max, max_lr, ..."},
      {"batch_size", "examples per optimizer step"},
      {"epochs", "training epochs"},
      {"seed", "the random seed (split, initialisation, shuffling)"},
      {"model.params.*", "architecture parameters: hidden, dropout, activation (mlp); num_rounds, max_depth, eta, "
                         "subsample, colsample_bytree (gbtree); k, init, max_iter (kmeans); hidden, layers, seq_len, "
                         "heads (char models); hidden, embedding_dim (autoencoder)"},
      {"augmentation.*", "gaussian_noise, mixup_alpha"},
      {"preprocessing.*", "standardize, impute, max_categories"},
      {"early_stopping.*", "patience, min_delta"},
  };
  return paths;
}

namespace {

bool Sweepable(const std::string& path) {
  for (const auto& [p, _] : SweepablePaths()) {
    if (p.ends_with(".*") ? path.starts_with(p.substr(0, p.size() - 1)) && path.size() > p.size() - 1 : path == p) {
      return true;
    }
  }
  return false;
}

void SetPath(Json& j, const std::string& path, const Json& value) {
  Json* at = &j;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) *at = Json::object();
    if (dot == std::string::npos) {
      (*at)[key] = value;
      return;
    }
    at = &(*at)[key];
    start = dot + 1;
  }
}

std::string FieldOf(const Error& e) {
  Json d = Json::parse(e.details.empty() ? "{}" : e.details, nullptr, false);
  return d.is_object() ? d.value("field", "") : "";
}

Json ParameterJson(const SweepParameter& p) {
  if (!p.values.empty()) return Json{{"values", p.values}};
  return Json{{"min", *p.min}, {"max", *p.max}, {"scale", p.scale}, {"type", p.integer ? "int" : "float"}};
}

// Every trial's parameters, in launch order; deterministic for the spec (and its seed).
std::vector<Json> GenerateTrials(const SweepSpec& s) {
  std::vector<Json> out;
  if (s.method == "grid") {
    std::vector<size_t> index(s.parameters.size(), 0);
    for (;;) {
      Json t = Json::object();
      for (size_t i = 0; i < s.parameters.size(); ++i) t[s.parameters[i].path] = s.parameters[i].values[index[i]];
      out.push_back(std::move(t));
      if (s.max_trials > 0 && static_cast<int64_t>(out.size()) >= s.max_trials) break;
      size_t i = s.parameters.size();
      while (i > 0) {  // the last parameter varies fastest
        --i;
        if (++index[i] < s.parameters[i].values.size()) break;
        index[i] = 0;
        if (i == 0) return out;
      }
      if (s.parameters.empty()) break;
    }
    return out;
  }
  std::mt19937_64 rng(s.seed);
  for (int64_t n = 0; n < s.max_trials; ++n) {
    Json t = Json::object();
    for (const auto& p : s.parameters) {
      if (!p.values.empty()) {
        t[p.path] = p.values[std::uniform_int_distribution<size_t>(0, p.values.size() - 1)(rng)];
        continue;
      }
      double u = std::uniform_real_distribution<double>(0, 1)(rng);
      double v = p.scale == "log" ? std::exp(std::log(*p.min) + u * (std::log(*p.max) - std::log(*p.min)))
                                  : *p.min + u * (*p.max - *p.min);
      if (p.integer) t[p.path] = static_cast<int64_t>(std::clamp(std::llround(v), std::llround(*p.min), std::llround(*p.max)));
      else t[p.path] = v;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// The job a trial runs: the base with the trial's values, in the sweep's experiment, never registered
// on its own (the sweep registers its best trial).
Result<JobSpec> TrialSpec(const SweepSpec& s, const Json& params, int64_t trial, const std::string& sweep_id) {
  Json body = s.base;
  for (const auto& [path, value] : params.items()) SetPath(body, path, value);
  body["experiment"] = s.experiment;
  body["name"] = s.name + " #" + std::to_string(trial);
  body.erase("register");
  if (s.metric != "val_loss" && s.metric != "inertia") SetPath(body, "validation.metric", s.metric);
  Json tags = body.value("tags", Json::object());
  if (!sweep_id.empty()) tags["sweep"] = sweep_id;
  tags["trial"] = std::to_string(trial);
  body["tags"] = tags;
  return ParseJobSpec(body);
}

}  // namespace

Result<SweepSpec> ParseSweepSpec(const Json& body) {
  SweepSpec s;
  FieldReader r(body);
  s.name = r.OptString("name").value_or("sweep");
  if (s.name.empty() || s.name.size() > 200) r.Fail("name", "name is 1 to 200 characters");
  const Json* base = r.OptObject("base");
  if (!base) r.Fail("base", "base is required: the job specification the trials vary (or base_job: a job id)");
  r.Allow("base_job");
  if (auto v = r.OptInt("max_trials", 1, kMaxSweepTrials)) s.max_trials = *v;
  if (auto v = r.OptInt("parallelism", 1, 64)) s.parallelism = *v;
  if (auto v = r.OptInt("seed", 0)) s.seed = static_cast<uint64_t>(*v);
  else s.seed = std::random_device{}();
  const Json* search = r.OptObject("search");
  if (!search) r.Fail("search", "search is required: {method: grid|random, parameters}");
  const Json* objective = r.OptObject("objective");
  const Json* early = r.OptObject("early_termination");
  const Json* reg = r.OptObject("register");
  std::optional<std::string> experiment = r.OptString("experiment");
  C19_TRY(r.Finish());

  s.base = *base;
  C19_ASSIGN_OR_RETURN(JobSpec base_spec, [&]() -> Result<JobSpec> {
    auto parsed = ParseJobSpec(s.base);
    if (!parsed.ok()) {
      std::string field = FieldOf(parsed.error());
      return Error::Field("base" + (field.empty() ? std::string() : "." + field), parsed.error().message);
    }
    return parsed;
  }());
  s.experiment = experiment.value_or(base_spec.experiment);
  if (s.experiment.empty() || s.experiment.size() > 200) return Error::Field("experiment", "experiment is 1 to 200 characters");

  {
    FieldReader f(*search, "search");
    s.method = f.OptString("method").value_or("grid");
    if (s.method != "grid" && s.method != "random") f.Fail("method", "method must be grid or random");
    const Json* params = f.OptObject("parameters");
    if (!params || params->empty()) f.Fail("parameters", "parameters is required: {\"optimizer.lr\": [0.01, 0.1], ...}");
    C19_TRY(f.Finish());
    for (const auto& [path, spec] : params->items()) {
      const std::string field = "search.parameters." + path;
      if (!Sweepable(path)) {
        std::string list;
        for (const auto& [p, _] : SweepablePaths()) list += (list.empty() ? "" : ", ") + p;
        return Error::Field(field, "\"" + path + "\" is not a sweepable path; sweepable: " + list);
      }
      SweepParameter p;
      p.path = path;
      if (spec.is_array()) {
        p.values.assign(spec.begin(), spec.end());
      } else if (spec.is_object()) {
        FieldReader g(spec, field);
        if (const Json* v = g.OptArray("values")) p.values.assign(v->begin(), v->end());
        p.min = g.OptNumber("min");
        p.max = g.OptNumber("max");
        p.scale = g.OptString("scale").value_or("linear");
        std::string type = g.OptString("type").value_or("float");
        if (p.scale != "linear" && p.scale != "log") g.Fail("scale", "scale must be linear or log");
        if (type != "float" && type != "int") g.Fail("type", "type must be float or int");
        p.integer = type == "int";
        C19_TRY(g.Finish());
        if (p.values.empty()) {
          if (!p.min || !p.max) return Error::Field(field, "give values: [...] or a range {min, max}");
          if (*p.min > *p.max) return Error::Field(field + ".min", "min is above max");
          if (p.scale == "log" && *p.min <= 0) return Error::Field(field + ".min", "a log scale needs min > 0");
          if (s.method == "grid") {
            return Error::Field(field, "grid search takes lists of values; ranges need method random");
          }
        } else if (p.min || p.max) {
          return Error::Field(field, "give values or a range, not both");
        }
      } else {
        return Error::Field(field, "a list of values or a range {min, max, scale, type}");
      }
      if (p.values.empty() && !p.min) return Error::Field(field, "no values");
      if (p.values.size() > 1000) return Error::Field(field, "at most 1000 values");
      s.parameters.push_back(std::move(p));
    }
  }
  if (s.method == "random" && s.max_trials == 0) s.max_trials = 10;
  if (s.method == "grid" && s.max_trials == 0) {
    double combos = 1;
    for (const auto& p : s.parameters) combos *= static_cast<double>(p.values.size());
    if (combos > kMaxSweepTrials) {
      return Error::Field("max_trials", "the grid has " + std::to_string(static_cast<int64_t>(combos)) +
                                            " combinations; set max_trials (at most " +
                                            std::to_string(kMaxSweepTrials) + ")");
    }
  }
  if (s.parallelism > s.max_trials && s.max_trials > 0) s.parallelism = s.max_trials;

  s.metric = base_spec.metric;
  if (objective) {
    FieldReader f(*objective, "objective");
    if (auto m = f.OptString("metric")) s.metric = *m;
    std::string direction = f.OptString("direction").value_or(ml::HigherIsBetter(s.metric) ? "maximize" : "minimize");
    if (direction != "maximize" && direction != "minimize") f.Fail("direction", "direction must be maximize or minimize");
    s.maximize = direction == "maximize";
    C19_TRY(f.Finish());
  } else {
    s.maximize = ml::HigherIsBetter(s.metric);
  }
  if (early) {
    FieldReader f(*early, "early_termination");
    std::string policy = f.OptString("policy").value_or("median");
    if (policy != "median" && policy != "none") f.Fail("policy", "policy must be median or none");
    s.median_stopping = policy == "median";
    if (auto v = f.OptInt("grace_epochs", 1, 100'000)) s.grace_epochs = *v;
    if (auto v = f.OptInt("min_trials", 1, 1000)) s.min_trials = *v;
    C19_TRY(f.Finish());
  }
  if (reg) {
    FieldReader f(*reg, "register");
    s.register_model = f.String("model_name");
    C19_TRY(f.Finish());
  }
  // Every trial must be a valid job now, not when it is launched.
  const auto trials = GenerateTrials(s);
  for (size_t i = 0; i < trials.size(); ++i) {
    auto t = TrialSpec(s, trials[i], static_cast<int64_t>(i + 1), "");
    if (!t.ok()) {
      std::string which = trials[i].dump();
      Error e = std::move(t).error();
      std::string field = FieldOf(e);
      for (const auto& p : s.parameters) {
        if (field == p.path || field.starts_with(p.path + ".")) field = "search.parameters." + p.path;
      }
      if (field == "validation.metric") field = "objective.metric";
      return Error::Field(field.empty() ? "search.parameters" : field, "trial " + std::to_string(i + 1) + " " +
                                                                          which + ": " + e.message);
    }
  }
  return s;
}

namespace {

Json SweepSpecJson(const SweepSpec& s) {
  Json params = Json::object();
  for (const auto& p : s.parameters) params[p.path] = ParameterJson(p);
  Json j = {{"name", s.name},
            {"experiment", s.experiment},
            {"base", s.base},
            {"search", {{"method", s.method}, {"parameters", params}}},
            {"max_trials", s.max_trials},
            {"parallelism", s.parallelism},
            {"seed", s.seed},
            {"objective", {{"metric", s.metric}, {"direction", s.maximize ? "maximize" : "minimize"}}},
            {"early_termination",
             {{"policy", s.median_stopping ? "median" : "none"},
              {"grace_epochs", s.grace_epochs},
              {"min_trials", s.min_trials}}}};
  if (!s.register_model.empty()) j["register"] = {{"model_name", s.register_model}};
  return j;
}

// A run's objective at each epoch, from its metrics rows.
double ObjectiveOf(const MetricPoint& p, const std::string& metric) {
  if (metric == "val_loss") return p.val_loss;
  if (metric == "train_loss") return p.train_loss;
  auto it = p.metrics.find(metric);
  return it != p.metrics.end() && it->is_number() ? it->get<double>() : std::nan("");
}

class Sweeps final : public SweepService {
 public:
  Sweeps(db::Database& db, TrainingService& jobs, Options o) : db_(db), jobs_(jobs), o_(o) { jobs_.SetObserver(this); }
  ~Sweeps() override { jobs_.SetObserver(nullptr); }

  Result<Sweep> Submit(const Principal& actor, const SweepSpec& spec) override {
    C19_ASSIGN_OR_RETURN(db::Rows archived, db_.Query("SELECT archived FROM training_experiments WHERE name = ?",
                                                      {spec.experiment}));
    if (!archived.empty() && archived[0].Bool(0)) {
      return Error::FailedPrecondition("experiment \"" + spec.experiment + "\" is archived; unarchive it to add runs");
    }
    const std::string id = NewId();
    const int64_t now = o_.clock->NowMs();
    const auto trials = GenerateTrials(spec);
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(tx.Exec("INSERT INTO training_sweeps (id, name, experiment, status, spec, objective_metric, direction, "
                      "created_by, created_by_id, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                      {id, spec.name, spec.experiment, SweepSpecJson(spec).dump(), spec.metric,
                       spec.maximize ? "maximize" : "minimize", actor.username, actor.user_id, now, now}));
      for (size_t i = 0; i < trials.size(); ++i) {
        C19_TRY(tx.Exec("INSERT INTO training_sweep_trials (sweep_id, trial, params, status, updated_at) VALUES (?, ?, "
                        "?, 'pending', ?)",
                        {id, static_cast<int64_t>(i + 1), trials[i].dump(), now}));
      }
      return OkStatus();
    }));
    C19_TRY(Advance(id));
    return Get(id);
  }

  Result<Sweep> Get(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT id, name, experiment, status, spec, best_job_id, best_value, "
                                                  "model_name, model_version, error, created_by, created_at, finished_at "
                                                  "FROM training_sweeps WHERE id = ?",
                                                  {id}));
    if (rows.empty()) return Error::NotFound("sweep \"" + id + "\" not found");
    return FromRow(rows[0]);
  }

  Result<std::vector<Sweep>> List(int64_t limit) override {
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT id, name, experiment, status, spec, best_job_id, best_value, "
                                                  "model_name, model_version, error, created_by, created_at, finished_at "
                                                  "FROM training_sweeps ORDER BY created_at DESC, id DESC LIMIT ?",
                                                  {limit}));
    std::vector<Sweep> out;
    for (const auto& r : rows) {
      C19_ASSIGN_OR_RETURN(Sweep s, FromRow(r));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<Sweep> Cancel(const Principal& actor, const std::string& id) override {
    const int64_t now = o_.clock->NowMs();
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE training_sweeps SET status = 'cancelled', finished_at = ?, "
                                             "updated_at = ? WHERE id = ? AND status = 'running'",
                                             {now, now, id}));
    if (n == 0) {
      C19_ASSIGN_OR_RETURN(Sweep s, Get(id));
      return Error::FailedPrecondition("sweep " + id + " already ended (" + s.status + ")");
    }
    C19_TRY(db_.Exec("UPDATE training_sweep_trials SET status = 'cancelled', updated_at = ? WHERE sweep_id = ? AND "
                     "status = 'pending'",
                     {now, id}));
    C19_ASSIGN_OR_RETURN(db::Rows running, db_.Query("SELECT job_id FROM training_sweep_trials WHERE sweep_id = ? AND "
                                                     "status = 'running'",
                                                     {id}));
    for (const auto& r : running) (void)jobs_.Cancel(actor, r.Text(0));
    C19_ASSIGN_OR_RETURN(Sweep s, Get(id));
    Publish(s, events::kSweepFinished, Json::object());
    return s;
  }

  std::optional<std::string> StopAfterEpoch(const Job& job, int64_t epoch) override {
    auto trial = TrialOf(job.id);
    if (!trial) return std::nullopt;
    auto sweep = Get(trial->first);
    if (!sweep.ok() || !sweep->spec.median_stopping || epoch < sweep->spec.grace_epochs) return std::nullopt;
    const SweepSpec& spec = sweep->spec;
    // Running averages of the objective up to this epoch of the other trials that got this far: one
    // query over the sweep's trials' metrics rows.
    auto rows = db_.Query("SELECT m.job_id, m.epoch, m.train_loss, m.val_loss, m.metrics FROM training_metrics m JOIN "
                          "training_sweep_trials t ON t.job_id = m.job_id WHERE t.sweep_id = ? AND m.epoch <= ? "
                          "ORDER BY m.job_id, m.epoch",
                          {sweep->id, epoch});
    if (!rows.ok()) return std::nullopt;
    std::vector<double> averages;
    std::optional<double> mine;
    size_t i = 0;
    while (i < rows->size()) {
      const std::string run = (*rows)[i].Text(0);
      double sum = 0, best = spec.maximize ? -INFINITY : INFINITY;
      int64_t n = 0;
      bool reached = false;
      for (; i < rows->size() && (*rows)[i].Text(0) == run; ++i) {
        const db::Row& r = (*rows)[i];
        MetricPoint p;
        p.epoch = r.Int(1);
        p.train_loss = r.Double(2);
        p.val_loss = r.Double(3);
        p.metrics = Json::parse(r.Text(4), nullptr, false);
        if (!p.metrics.is_object()) p.metrics = Json::object();
        double v = ObjectiveOf(p, spec.metric);
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
        best = spec.maximize ? std::max(best, v) : std::min(best, v);
        reached = reached || p.epoch == epoch;
      }
      if (!reached || n == 0) continue;
      if (run == job.id) mine = best;
      else averages.push_back(sum / static_cast<double>(n));
    }
    if (!mine || static_cast<int64_t>(averages.size()) < spec.min_trials) return std::nullopt;
    std::sort(averages.begin(), averages.end());
    const size_t m = averages.size() / 2;
    const double median = averages.size() % 2 ? averages[m] : (averages[m - 1] + averages[m]) / 2;
    const bool worse = spec.maximize ? *mine < median : *mine > median;
    if (!worse) return std::nullopt;
    char buf[160];
    std::snprintf(buf, sizeof buf, "stopped by the median stopping rule: best %s %.5g after %lld epochs, median %.5g",
                  spec.metric.c_str(), *mine, static_cast<long long>(epoch), median);
    return std::string(buf);
  }

  void JobFinished(const Job& job) override {
    auto trial = TrialOf(job.id);
    if (!trial) return;
    const auto& [sweep_id, number] = *trial;
    auto sweep = Get(sweep_id);
    if (!sweep.ok()) return;
    std::optional<double> value;
    if (auto points = jobs_.Metrics(job.id); points.ok()) {
      for (const auto& p : *points) {
        double v = ObjectiveOf(p, sweep->spec.metric);
        if (std::isnan(v)) continue;
        value = !value ? v : sweep->spec.maximize ? std::max(*value, v) : std::min(*value, v);
      }
    }
    std::string status = job.status;
    if (status == "cancelled" && job.error.starts_with("stopped by the median stopping rule")) status = "pruned";
    (void)db_.Exec("UPDATE training_sweep_trials SET status = ?, value = ?, updated_at = ? WHERE sweep_id = ? AND "
                   "trial = ?",
                   {status, value, o_.clock->NowMs(), sweep_id, number});
    Publish(*sweep, events::kSweepTrialFinished,
            Json{{"trial", number}, {"job_id", job.id}, {"trial_status", status},
                 {"value", value ? Json(*value) : Json(nullptr)}});
    if (auto st = Advance(sweep_id); !st.ok()) {
      (void)db_.Exec("UPDATE training_sweeps SET error = ? WHERE id = ?", {st.error().message, sweep_id});
    }
  }

 private:
  std::optional<std::pair<std::string, int64_t>> TrialOf(const std::string& job_id) {
    auto rows = db_.Query("SELECT sweep_id, trial FROM training_sweep_trials WHERE job_id = ?", {job_id});
    if (!rows.ok() || rows->empty()) return std::nullopt;
    return std::make_pair((*rows)[0].Text(0), (*rows)[0].Int(1));
  }

  // Launches pending trials up to the parallelism limit; completes the sweep when nothing is left.
  Status Advance(const std::string& id) {
    for (int round = 0; round < 1000; ++round) {
      C19_ASSIGN_OR_RETURN(Sweep s, Get(id));
      if (s.status != "running") return OkStatus();
      // Claim trials in a transaction that first writes the sweep's row: concurrent advances (another
      // worker's trial finishing) queue behind it on PostgreSQL and SQLite alike.
      std::vector<std::pair<int64_t, Json>> claimed;
      int64_t active = 0, pending = 0;
      C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
        claimed.clear();
        const int64_t now = o_.clock->NowMs();
        C19_TRY(tx.Exec("UPDATE training_sweeps SET updated_at = ? WHERE id = ?", {now, id}));
        C19_ASSIGN_OR_RETURN(db::Rows rows, tx.Query("SELECT trial, params, status FROM training_sweep_trials WHERE "
                                                     "sweep_id = ? ORDER BY trial",
                                                     {id}));
        active = 0;
        pending = 0;
        for (const auto& r : rows) {
          std::string st = r.Text(2);
          if (st == "running" || st == "launching") ++active;
          if (st == "pending") ++pending;
        }
        for (const auto& r : rows) {
          if (active >= s.spec.parallelism) break;
          if (r.Text(2) != "pending") continue;
          C19_TRY(tx.Exec("UPDATE training_sweep_trials SET status = 'launching', updated_at = ? WHERE sweep_id = ? "
                          "AND trial = ?",
                          {now, id, r.Int(0)}));
          claimed.emplace_back(r.Int(0), Json::parse(r.Text(1), nullptr, false));
          ++active;
          --pending;
        }
        return OkStatus();
      }));
      if (claimed.empty()) {
        if (active == 0 && pending == 0) return Complete(id);
        return OkStatus();
      }
      bool failed_launch = false;
      for (const auto& [trial, params] : claimed) {
        Principal actor = Creator(id);
        auto spec = TrialSpec(s.spec, params, trial, id);
        Result<Job> job = spec.ok() ? jobs_.Submit(actor, *spec) : Result<Job>(std::move(spec).error());
        const int64_t now = o_.clock->NowMs();
        if (!job.ok()) {
          failed_launch = true;
          (void)db_.Exec("UPDATE training_sweep_trials SET status = 'failed', updated_at = ? WHERE sweep_id = ? AND "
                         "trial = ?",
                         {now, id, trial});
          Publish(s, events::kSweepTrialFinished,
                  Json{{"trial", trial}, {"trial_status", "failed"}, {"error", job.error().message}});
          continue;
        }
        C19_TRY(db_.Exec("UPDATE training_sweep_trials SET status = 'running', job_id = ?, updated_at = ? WHERE "
                         "sweep_id = ? AND trial = ?",
                         {job->id, now, id, trial}));
        Publish(s, events::kSweepTrialStarted, Json{{"trial", trial}, {"job_id", job->id}, {"params", params}});
      }
      if (!failed_launch) return OkStatus();
      // A launch failed: its slot is free again, go round.
    }
    return OkStatus();
  }

  Status Complete(const std::string& id) {
    const int64_t now = o_.clock->NowMs();
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE training_sweeps SET status = 'finishing', updated_at = ? WHERE "
                                             "id = ? AND status = 'running'",
                                             {now, id}));
    if (n == 0) return OkStatus();  // another process completes it
    C19_ASSIGN_OR_RETURN(Sweep s, Get(id));
    std::string status = s.best_job_id.empty() ? "failed" : "succeeded";
    std::string error = s.best_job_id.empty() ? "no trial succeeded" : "";
    db::Value version;
    std::string model_name;
    if (!s.best_job_id.empty() && !s.spec.register_model.empty()) {
      auto job = jobs_.RegisterModel(Creator(id), s.best_job_id, s.spec.register_model);
      if (job.ok()) {
        model_name = job->model_name;
        version = job->model_version;
      } else {
        error = "registering the best trial failed: " + job.error().message;
      }
    }
    C19_TRY(db_.Exec("UPDATE training_sweeps SET status = ?, error = ?, best_job_id = ?, best_value = ?, model_name = ?, "
                     "model_version = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                     {status, error, s.best_job_id.empty() ? db::Value() : db::Value(s.best_job_id), s.best_value,
                      model_name, version, now, now, id}));
    C19_ASSIGN_OR_RETURN(s, Get(id));
    Publish(s, events::kSweepFinished, Json::object());
    return OkStatus();
  }

  Principal Creator(const std::string& id) {
    Principal p;
    p.internal = true;
    auto rows = db_.Query("SELECT created_by, created_by_id FROM training_sweeps WHERE id = ?", {id});
    if (rows.ok() && !rows->empty()) {
      p.username = (*rows)[0].Text(0);
      p.user_id = (*rows)[0].Text(1);
    }
    return p;
  }

  Result<Sweep> FromRow(const db::Row& r) {
    Sweep s;
    s.id = r.Text(0);
    s.name = r.Text(1);
    s.experiment = r.Text(2);
    s.status = r.Text(3);
    Json spec = Json::parse(r.Text(4), nullptr, false);
    auto parsed = ParseStoredSpec(spec);
    if (!parsed.ok()) return std::move(parsed).error();
    s.spec = std::move(*parsed);
    s.error = r.Text(9);
    s.created_by = r.Text(10);
    s.created_at_ms = r.Int(11);
    s.finished_at_ms = r.OptInt(12);
    s.model_name = r.Text(7);
    s.model_version = r.OptInt(8);
    C19_ASSIGN_OR_RETURN(db::Rows trials, db_.Query("SELECT trial, params, status, job_id, value FROM "
                                                    "training_sweep_trials WHERE sweep_id = ? ORDER BY trial",
                                                    {s.id}));
    for (const auto& t : trials) {
      SweepTrial x;
      x.trial = t.Int(0);
      x.params = Json::parse(t.Text(1), nullptr, false);
      x.status = t.Text(2);
      x.job_id = t.OptText(3).value_or("");
      x.value = t.OptDouble(4);
      // The best trial so far: succeeded, ranked by the objective.
      if (x.status == "succeeded" && x.value &&
          (!s.best_value || (s.spec.maximize ? *x.value > *s.best_value : *x.value < *s.best_value))) {
        s.best_value = x.value;
        s.best_job_id = x.job_id;
        s.best_trial = x.trial;
      }
      s.trials.push_back(std::move(x));
    }
    return s;
  }

  // The stored spec was checked at submission; re-reading it skips the per-trial checks.
  static Result<SweepSpec> ParseStoredSpec(const Json& j) {
    if (!j.is_object()) return Error::Internal("a stored sweep specification is not JSON");
    SweepSpec s;
    s.name = j.value("name", "");
    s.experiment = j.value("experiment", "");
    s.base = j.value("base", Json::object());
    s.max_trials = j.value("max_trials", int64_t{0});
    s.parallelism = j.value("parallelism", int64_t{1});
    s.seed = j.value("seed", uint64_t{0});
    const Json& search = j.at("search");
    s.method = search.value("method", "grid");
    for (const auto& [path, p] : search.at("parameters").items()) {
      SweepParameter x;
      x.path = path;
      if (p.contains("values")) x.values.assign(p["values"].begin(), p["values"].end());
      if (p.contains("min")) x.min = p["min"].get<double>();
      if (p.contains("max")) x.max = p["max"].get<double>();
      x.scale = p.value("scale", "linear");
      x.integer = p.value("type", "float") == "int";
      s.parameters.push_back(std::move(x));
    }
    s.metric = j.at("objective").value("metric", "");
    s.maximize = j.at("objective").value("direction", "maximize") == "maximize";
    const Json& e = j.at("early_termination");
    s.median_stopping = e.value("policy", "none") == "median";
    s.grace_epochs = e.value("grace_epochs", int64_t{3});
    s.min_trials = e.value("min_trials", int64_t{3});
    if (j.contains("register")) s.register_model = j["register"].value("model_name", "");
    return s;
  }

  void Publish(const Sweep& s, std::string_view type, Json data) {
    if (!o_.bus) return;
    int64_t done = 0;
    for (const auto& t : s.trials) done += t.status != "pending" && t.status != "running" && t.status != "launching";
    data["sweep_id"] = s.id;
    data["name"] = s.name;
    data["status"] = s.status;
    data["trials"] = static_cast<int64_t>(s.trials.size());
    data["trials_done"] = done;
    data["best_job_id"] = s.best_job_id.empty() ? Json(nullptr) : Json(s.best_job_id);
    data["best_value"] = s.best_value ? Json(*s.best_value) : Json(nullptr);
    events::Publish(o_.bus, events::TrainingRoom(s.id), type, data.dump());
  }

  db::Database& db_;
  TrainingService& jobs_;
  Options o_;
};

}  // namespace

std::unique_ptr<SweepService> SweepService::Create(db::Database& db, TrainingService& jobs, Options options) {
  return std::make_unique<Sweeps>(db, jobs, options);
}

}  // namespace c19ai::training
