#pragma once
// Training jobs: a validated job specification, a queue job that a worker runs (in-process in embedded
// mode, `c19ai worker` otherwise) through queued → running → succeeded | failed | cancelled, per-epoch
// metrics and logs in the database, progress events in the room `training.<job>`, checkpoints under
// checkpoints/training/<job>/ with resume, and the best model written as a C19 AI bundle and
// registered as a new version with metrics, params, signature and lineage.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/principal.h"
#include "common/result.h"
#include "db/db.h"
#include "ml/optim.h"
#include "queue/queue.h"
#include "storage/storage.h"

namespace c19ai::events {
class EventBus;
}
namespace c19ai::registry {
class Registry;
}
namespace c19ai::validation {
class DatasetService;
}

namespace c19ai::training {

std::vector<db::MigrationFile> Migrations();

inline constexpr std::string_view kTrainingTopic = "training.jobs";

// The job specification (API.md's training fields, plus preprocessing, split, augmentation and seed).
struct JobSpec {
  std::string name, experiment = "default", dataset, target;
  std::vector<std::string> features;  // empty: every column but the target and `exclude`
  std::vector<std::string> exclude;
  std::string model_type = "classification";  // classification | regression
  std::string framework = "torch";            // torch (mlp) | xgboost (gbtree)
  std::string architecture = "mlp";           // mlp | gbtree
  Json params = Json::object();
  ml::OptimizerSpec optimizer;
  ml::SchedulerSpec scheduler;
  int64_t epochs = 20;  // gbtree: rounds come from params.num_rounds
  int64_t batch_size = 32;
  double validation_split = 0.2;
  bool split_shuffle = true;  // validation.shuffle: false takes the last rows as the validation split
  std::string metric;  // default accuracy (classification) or r2 (regression)
  uint64_t seed = 42;
  bool shuffle = true;
  bool standardize = true;
  std::string impute = "mean";  // numeric: mean | median; categoricals take the most frequent value
  int64_t max_categories = 50;
  double noise_std = 0, mixup_alpha = 0;
  std::string early_stopping_metric;  // empty: no early stopping
  int64_t patience = 10;
  double min_delta = 0;
  int64_t log_every_steps = 0;   // mlp: also record the training loss every N optimizer steps (0: off)
  int64_t checkpoint_every = 1;  // epochs (rounds for gbtree); 0: never
  int64_t keep_last = 3;
  std::string register_model;  // model name to register the best model under; empty: not registered
  int threads = 1;
  std::map<std::string, std::string> tags;
};

// Parses a request body; invalid_argument naming the field ("optimizer.momentum"); unknown fields
// are refused.
Result<JobSpec> ParseJobSpec(const Json& body);
Json SpecToJson(const JobSpec& spec);

struct Job {
  std::string id, name, experiment, status;  // queued | running | succeeded | failed | cancelled
  JobSpec spec;
  std::string dataset_id, dataset_sha256;
  int64_t epoch = 0, epochs = 0;  // done / planned
  double progress = 0;
  std::string metric;
  std::optional<double> best_metric;
  int64_t best_epoch = 0;
  Json best_metrics = Json::object();
  std::string model_name;
  std::optional<int64_t> model_version;
  std::string model_object;  // the best model's bundle under checkpoints/ (once succeeded)
  std::string error;
  bool cancel_requested = false;
  int64_t attempts = 0;
  std::string created_by, created_by_id;
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms, finished_at_ms;
};

struct MetricPoint {
  int64_t epoch = 0;
  double train_loss = 0, val_loss = 0, lr = 0, samples_per_s = 0;
  Json metrics = Json::object();
  int64_t ts_ms = 0;
};

struct StepPoint {
  int64_t step = 0, epoch = 0;
  double loss = 0, lr = 0;
  int64_t ts_ms = 0;
};

struct CheckpointInfo {
  int64_t epoch = 0;
  std::string key;  // within checkpoints/
  int64_t size = 0;
  std::string sha256;
  int64_t created_at_ms = 0;
};

struct LogLine {
  int64_t seq = 0, ts_ms = 0;
  std::string level, message;
};

struct JobFilter {
  std::string status, experiment;
  int64_t limit = 50, offset = 0;
};

struct Options {
  events::EventBus* bus = nullptr;
  const Clock* clock = &Clock::System();
  int max_threads_per_job = 2;
};

// What sweeps hear of the jobs they launched.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // After each recorded epoch (round, iteration); a reason stops the job: it ends cancelled, with the
  // reason as its error.
  virtual std::optional<std::string> StopAfterEpoch(const Job& job, int64_t epoch) = 0;
  // After the job reached succeeded, failed or cancelled.
  virtual void JobFinished(const Job& job) = 0;
};

class TrainingService {
 public:
  static std::unique_ptr<TrainingService> Create(db::Database& db, storage::StorageService& storage,
                                                 queue::Queue& queue, registry::Registry& registry,
                                                 validation::DatasetService& datasets, Options options);
  virtual ~TrainingService() = default;

  // Checks the dataset and target now (not_found, invalid_argument) and queues the job.
  virtual Result<Job> Submit(const Principal& actor, const JobSpec& spec) = 0;
  virtual Result<Job> Get(const std::string& id) = 0;
  virtual Result<std::vector<Job>> List(const JobFilter& filter) = 0;
  // Queued jobs end at once; running ones stop within a few seconds (between batches).
  virtual Result<Job> Cancel(const Principal& actor, const std::string& id) = 0;
  // A cancelled or failed job is queued again and continues from its last checkpoint.
  virtual Result<Job> Resume(const Principal& actor, const std::string& id) = 0;
  virtual Result<std::vector<MetricPoint>> Metrics(const std::string& id) = 0;
  virtual Result<std::vector<StepPoint>> Steps(const std::string& id) = 0;
  virtual Result<std::vector<CheckpointInfo>> Checkpoints(const std::string& id) = 0;
  virtual Result<std::vector<LogLine>> Logs(const std::string& id, int64_t after_seq, int64_t limit) = 0;

  // Registers a succeeded job's best model (every job keeps it) as a new version of `model_name`,
  // created when missing; failed_precondition for a job that has no model.
  virtual Result<Job> RegisterModel(const Principal& actor, const std::string& id, const std::string& model_name) = 0;
  // At most one observer (the sweeps); set before jobs run.
  virtual void SetObserver(JobObserver* observer) = 0;

  // The queue handler.
  virtual Status Run(queue::Message& message, const std::function<bool()>& stopping) = 0;
};

// ---------------------------------------------------------------- experiments

struct ExperimentSummary {
  std::string name, description;
  bool archived = false;
  int64_t runs = 0;
  std::map<std::string, int64_t> by_status;
  std::string metric;                 // of the newest run; the best run is ranked by it
  std::optional<double> best_value;
  std::string best_job_id;
  int64_t created_at_ms = 0, last_run_at_ms = 0;
};

// Filters over an experiment's runs: `params` and `tags` match the canonical spec flattened to dotted
// paths ("optimizer.lr" → "0.01"); metric bounds apply to the best metrics.
struct RunQuery {
  std::string status;
  std::map<std::string, std::string> params, tags;
  std::map<std::string, double> min_metric, max_metric;
  std::string sort_metric;  // empty: newest first
  bool descending = true;
  int64_t limit = 100;
};

class ExperimentService {
 public:
  static std::unique_ptr<ExperimentService> Create(db::Database& db, TrainingService& jobs, const Clock& clock);
  virtual ~ExperimentService() = default;
  virtual Result<std::vector<ExperimentSummary>> List(bool include_archived) = 0;
  virtual Result<ExperimentSummary> Get(const std::string& name) = 0;
  virtual Result<std::vector<Job>> Runs(const std::string& name, const RunQuery& query) = 0;
  // Side by side: flattened params (and which differ), final and best metrics, and every metric's
  // curve on the common epoch axis (null where a run has no point). 2 to 10 runs of the experiment.
  virtual Result<Json> Compare(const std::string& name, const std::vector<std::string>& job_ids) = 0;
  virtual Result<ExperimentSummary> SetArchived(const std::string& name, bool archived) = 0;
};

// The canonical spec as dotted paths → JSON text of the leaf ("optimizer.lr" → "0.01").
std::map<std::string, std::string> FlattenSpec(const JobSpec& spec);

// ---------------------------------------------------------------- sweeps

inline constexpr int64_t kMaxSweepTrials = 500;

struct SweepParameter {
  std::string path;            // a sweepable spec path (SweepablePaths())
  std::vector<Json> values;    // a list; or a range:
  std::optional<double> min, max;
  std::string scale = "linear";  // linear | log
  bool integer = false;
};

struct SweepSpec {
  std::string name, experiment;
  Json base = Json::object();  // a job specification (as POST /training/jobs takes it)
  std::string method = "grid";  // grid | random
  std::vector<SweepParameter> parameters;
  int64_t max_trials = 0;  // grid: 0 = every combination
  int64_t parallelism = 2;
  std::string metric;             // objective; default the base job's validation metric
  bool maximize = true;
  bool median_stopping = false;   // early termination: the median stopping rule
  int64_t grace_epochs = 3, min_trials = 3;
  std::string register_model;     // register the best trial's model under this name
  uint64_t seed = 0;
};

// The spec paths a sweep may vary, with a sentence each (documented in docs and the API).
const std::vector<std::pair<std::string, std::string>>& SweepablePaths();

// Parses POST /training/sweeps; every trial's job spec is checked now (invalid_argument naming
// "search.parameters.<path>" when a value makes an invalid job).
Result<SweepSpec> ParseSweepSpec(const Json& body);

struct SweepTrial {
  int64_t trial = 0;
  Json params = Json::object();  // path → value
  std::string status;            // pending | running | succeeded | failed | cancelled | pruned
  std::string job_id;
  std::optional<double> value;   // the objective (best over the run's epochs)
};

struct Sweep {
  std::string id, name, experiment, status;  // running | succeeded | failed | cancelled
  SweepSpec spec;
  std::vector<SweepTrial> trials;
  std::string best_job_id;
  std::optional<double> best_value;
  std::optional<int64_t> best_trial;
  std::string model_name;
  std::optional<int64_t> model_version;
  std::string error, created_by;
  int64_t created_at_ms = 0;
  std::optional<int64_t> finished_at_ms;
};

class SweepService : public JobObserver {
 public:
  // Observes `jobs` (SetObserver) from creation.
  static std::unique_ptr<SweepService> Create(db::Database& db, TrainingService& jobs, Options options);
  virtual Result<Sweep> Submit(const Principal& actor, const SweepSpec& spec) = 0;
  virtual Result<Sweep> Get(const std::string& id) = 0;
  virtual Result<std::vector<Sweep>> List(int64_t limit) = 0;
  virtual Result<Sweep> Cancel(const Principal& actor, const std::string& id) = 0;
};

}  // namespace c19ai::training
