// Experiments: the runs that share an experiment name, filtered, ranked and compared; archiving.

#include <algorithm>
#include <set>

#include "ml/train.h"
#include "training/training.h"

namespace c19ai::training {

namespace {

void Flatten(const Json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
}

// The value a run is ranked by: its best epoch's metric (val_loss included).
std::optional<double> BestOf(const Job& j, const std::string& metric) {
  if (metric == j.metric && j.best_metric) return j.best_metric;
  auto it = j.best_metrics.find(metric);
  if (it == j.best_metrics.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

class Experiments final : public ExperimentService {
 public:
  Experiments(db::Database& db, TrainingService& jobs, const Clock& clock) : db_(db), jobs_(jobs), clock_(clock) {}

  Result<std::vector<ExperimentSummary>> List(bool include_archived) override {
    C19_ASSIGN_OR_RETURN(db::Rows names, db_.Query("SELECT DISTINCT experiment FROM training_jobs UNION SELECT name "
                                                   "FROM training_experiments"));
    std::vector<ExperimentSummary> out;
    for (const auto& r : names) {
      C19_ASSIGN_OR_RETURN(ExperimentSummary e, Summarize(r.Text(0)));
      if (e.archived && !include_archived) continue;
      out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.last_run_at_ms != b.last_run_at_ms ? a.last_run_at_ms > b.last_run_at_ms : a.name < b.name;
    });
    return out;
  }

  Result<ExperimentSummary> Get(const std::string& name) override {
    C19_ASSIGN_OR_RETURN(ExperimentSummary e, Summarize(name));
    if (e.runs == 0 && e.created_at_ms == 0) return Error::NotFound("experiment \"" + name + "\" not found");
    return e;
  }

  Result<std::vector<Job>> Runs(const std::string& name, const RunQuery& q) override {
    C19_TRY(Get(name));
    C19_ASSIGN_OR_RETURN(std::vector<Job> all, AllRuns(name, q.status));
    std::vector<Job> out;
    for (auto& j : all) {
      if (Matches(j, q)) out.push_back(std::move(j));
    }
    if (!q.sort_metric.empty()) {
      // Runs without the metric go last whatever the order.
      std::stable_sort(out.begin(), out.end(), [&](const Job& a, const Job& b) {
        auto va = BestOf(a, q.sort_metric), vb = BestOf(b, q.sort_metric);
        if (!va || !vb) return va.has_value() && !vb.has_value();
        return q.descending ? *va > *vb : *va < *vb;
      });
    }
    if (static_cast<int64_t>(out.size()) > q.limit) out.resize(static_cast<size_t>(q.limit));
    return out;
  }

  Result<Json> Compare(const std::string& name, const std::vector<std::string>& ids) override {
    if (ids.size() < 2 || ids.size() > 10) return Error::Field("jobs", "compare 2 to 10 runs (jobs=a,b,...)");
    std::set<std::string> seen;
    std::vector<Job> runs;
    for (const auto& id : ids) {
      if (!seen.insert(id).second) return Error::Field("jobs", "run " + id + " is listed twice");
      auto j = jobs_.Get(id);
      if (!j.ok()) return Error::Field("jobs", j.error().message);
      if (j->experiment != name) {
        return Error::Field("jobs", "run " + id + " belongs to experiment \"" + j->experiment + "\", not \"" + name + "\"");
      }
      runs.push_back(std::move(*j));
    }
    // Params: every flattened path, and those whose values differ across the runs.
    std::vector<std::map<std::string, std::string>> flat;
    std::set<std::string> paths;
    for (const auto& j : runs) {
      flat.push_back(FlattenSpec(j.spec));
      for (const auto& [k, v] : flat.back()) paths.insert(k);
    }
    Json differing = Json::array();
    for (const auto& p : paths) {
      std::set<std::string> values;
      for (const auto& f : flat) {
        auto it = f.find(p);
        values.insert(it == f.end() ? std::string("\x01missing") : it->second);
      }
      if (values.size() > 1) differing.push_back(p);
    }
    // Curves on the common epoch axis.
    int64_t max_epoch = 0;
    std::vector<std::vector<MetricPoint>> points;
    std::set<std::string> metric_names = {"train_loss", "val_loss", "lr"};
    for (const auto& j : runs) {
      C19_ASSIGN_OR_RETURN(auto m, jobs_.Metrics(j.id));
      for (const auto& p : m) {
        max_epoch = std::max(max_epoch, p.epoch);
        for (const auto& [k, v] : p.metrics.items()) metric_names.insert(k);
      }
      points.push_back(std::move(m));
    }
    Json axis = Json::array();
    for (int64_t e = 1; e <= max_epoch; ++e) axis.push_back(e);
    Json curves = Json::object();
    for (const auto& metric : metric_names) {
      Json per_run = Json::object();
      for (size_t i = 0; i < runs.size(); ++i) {
        Json series = Json::array();
        for (int64_t e = 1; e <= max_epoch; ++e) series.push_back(nullptr);
        for (const auto& p : points[i]) {
          if (p.epoch < 1 || p.epoch > max_epoch) continue;
          Json v = nullptr;
          if (metric == "train_loss") v = p.train_loss;
          else if (metric == "val_loss") v = p.val_loss;
          else if (metric == "lr") v = p.lr;
          else if (auto it = p.metrics.find(metric); it != p.metrics.end()) v = *it;
          series[static_cast<size_t>(p.epoch - 1)] = v;
        }
        per_run[runs[i].id] = std::move(series);
      }
      curves[metric] = std::move(per_run);
    }
    Json items = Json::array();
    for (size_t i = 0; i < runs.size(); ++i) {
      const Job& j = runs[i];
      Json final_metrics = nullptr;
      if (!points[i].empty()) {
        const auto& last = points[i].back();
        final_metrics = last.metrics;
        final_metrics["train_loss"] = last.train_loss;
        final_metrics["val_loss"] = last.val_loss;
        final_metrics["epoch"] = last.epoch;
      }
      Json best = j.best_metrics;
      if (j.best_epoch) best["epoch"] = j.best_epoch;
      items.push_back({{"id", j.id},
                       {"name", j.name},
                       {"status", j.status},
                       {"metric", j.metric},
                       {"params", flat[i]},
                       {"final_metrics", final_metrics},
                       {"best_metrics", best},
                       {"model", j.model_version ? Json{{"name", j.model_name}, {"version", *j.model_version}}
                                                 : Json(nullptr)}});
    }
    return Json{{"experiment", name},
                {"runs", items},
                {"differing_params", differing},
                {"axis", "epoch"},
                {"epochs", axis},
                {"curves", curves}};
  }

  Result<ExperimentSummary> SetArchived(const std::string& name, bool archived) override {
    C19_TRY(Get(name));
    const int64_t now = clock_.NowMs();
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE training_experiments SET archived = ?, archived_at = ? WHERE "
                                              "name = ?",
                                              {int64_t{archived}, archived ? db::Value(now) : db::Value(), name}));
      if (n == 0) {
        C19_TRY(tx.Exec("INSERT INTO training_experiments (name, archived, archived_at, created_at) VALUES (?, ?, ?, ?)",
                        {name, int64_t{archived}, archived ? db::Value(now) : db::Value(), now}));
      }
      return OkStatus();
    }));
    return Get(name);
  }

 private:
  Result<std::vector<Job>> AllRuns(const std::string& name, const std::string& status) {
    std::vector<Job> out;
    JobFilter f;
    f.experiment = name;
    f.status = status;
    f.limit = 500;
    for (;;) {
      C19_ASSIGN_OR_RETURN(auto page, jobs_.List(f));
      const bool more = static_cast<int64_t>(page.size()) == f.limit;
      for (auto& j : page) out.push_back(std::move(j));
      if (!more || out.size() >= 20'000) break;
      f.offset += f.limit;
    }
    return out;
  }

  static bool Matches(const Job& j, const RunQuery& q) {
    if (!q.params.empty()) {
      auto flat = FlattenSpec(j.spec);
      for (const auto& [path, value] : q.params) {
        auto it = flat.find(path);
        if (it == flat.end() || it->second != value) return false;
      }
    }
    for (const auto& [k, v] : q.tags) {
      auto it = j.spec.tags.find(k);
      if (it == j.spec.tags.end() || it->second != v) return false;
    }
    for (const auto& [m, bound] : q.min_metric) {
      auto v = BestOf(j, m);
      if (!v || *v < bound) return false;
    }
    for (const auto& [m, bound] : q.max_metric) {
      auto v = BestOf(j, m);
      if (!v || *v > bound) return false;
    }
    return true;
  }

  Result<ExperimentSummary> Summarize(const std::string& name) {
    ExperimentSummary e;
    e.name = name;
    C19_ASSIGN_OR_RETURN(db::Rows meta, db_.Query("SELECT description, archived, created_at FROM training_experiments "
                                                  "WHERE name = ?",
                                                  {name}));
    if (!meta.empty()) {
      e.description = meta[0].Text(0);
      e.archived = meta[0].Bool(1);
      e.created_at_ms = meta[0].Int(2);
    }
    C19_ASSIGN_OR_RETURN(db::Rows counts, db_.Query("SELECT status, COUNT(*), MIN(created_at), MAX(created_at) FROM "
                                                    "training_jobs WHERE experiment = ? GROUP BY status",
                                                    {name}));
    int64_t first = 0;
    for (const auto& r : counts) {
      e.by_status[r.Text(0)] = r.Int(1);
      e.runs += r.Int(1);
      first = first == 0 ? r.Int(2) : std::min(first, r.Int(2));
      e.last_run_at_ms = std::max(e.last_run_at_ms, r.Int(3));
    }
    if (e.created_at_ms == 0 || (first && first < e.created_at_ms)) e.created_at_ms = first;
    if (e.runs == 0) return e;
    C19_ASSIGN_OR_RETURN(db::Rows newest, db_.Query("SELECT metric FROM training_jobs WHERE experiment = ? ORDER BY "
                                                    "created_at DESC, id DESC LIMIT 1",
                                                    {name}));
    e.metric = newest.empty() ? "" : newest[0].Text(0);
    const bool higher = ml::HigherIsBetter(e.metric);
    C19_ASSIGN_OR_RETURN(db::Rows best, db_.Query(std::string("SELECT id, best_metric FROM training_jobs WHERE "
                                                              "experiment = ? AND metric = ? AND status = 'succeeded' "
                                                              "AND best_metric IS NOT NULL ORDER BY best_metric ") +
                                                      (higher ? "DESC" : "ASC") + ", created_at LIMIT 1",
                                                  {name, e.metric}));
    if (!best.empty()) {
      e.best_job_id = best[0].Text(0);
      e.best_value = best[0].Double(1);
    }
    return e;
  }

  db::Database& db_;
  TrainingService& jobs_;
  const Clock& clock_;
};

}  // namespace

std::map<std::string, std::string> FlattenSpec(const JobSpec& spec) {
  std::map<std::string, std::string> out;
  Flatten(SpecToJson(spec), "", out);
  return out;
}

std::unique_ptr<ExperimentService> ExperimentService::Create(db::Database& db, TrainingService& jobs,
                                                             const Clock& clock) {
  return std::make_unique<Experiments>(db, jobs, clock);
}

}  // namespace c19ai::training
