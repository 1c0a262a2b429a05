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

  // The queue handler.
  virtual Status Run(queue::Message& message, const std::function<bool()>& stopping) = 0;
};

}  // namespace c19ai::training
