#pragma once
// The trainers of the architectures beyond the tabular mlp/gbtree path (internal): k-means,
// character-level language models and autoencoders. Each reads the job's table, trains through the
// ml module and hands back the bundle to register; the service owns the job row, metrics, events,
// checkpoints and registration and lends them through RunContext.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "ml/ml.h"
#include "ml/train.h"
#include "training/pipeline.h"
#include "training/training.h"

namespace c19ai::training::internal {

struct RunContext {
  const Job& job;
  const Table& table;  // the dataset version, read whole
  int threads = 1;     // intra-op threads this job may use
  std::function<void(const std::string& level, const std::string& message)> log;
  // Records one epoch (iteration for k-means): metrics row, progress, event, log line. `best` marks
  // the best epoch so far by the job's metric.
  std::function<void(const ml::EpochStats& stats, int64_t total, bool best)> record;
  std::function<Status(int64_t epoch, const std::string& blob)> save_checkpoint;
  std::optional<std::pair<int64_t, std::string>> resume;  // the newest readable checkpoint
  std::function<bool()> should_stop;                       // cancel, worker shutdown or sweep pruning
};

struct Trained {
  ml::BundleManifest manifest;  // task, architecture, params, features; metrics are filled by the service
  ml::BundleWeights weights;
  ml::EpochStats best;          // the metrics the registered version carries
};

// Whether the architecture is trained here rather than by the tabular mlp/gbtree path.
bool IsRunnerArchitecture(const std::string& architecture);

// Model parameters of an architecture: invalid_argument naming "model.params.<field>".
Status CheckKMeansParams(const Json& params);
Status CheckCharModelParams(const std::string& architecture, const Json& params);
Status CheckAutoencoderParams(const Json& params);

// Epochs the progress bar counts (k-means: max_iter × n_init iterations).
int64_t PlannedEpochs(const JobSpec& spec);

// aborted("stopped") when should_stop() turned true.
Result<Trained> TrainKMeans(RunContext& ctx);
Result<Trained> TrainCharModel(RunContext& ctx);
Result<Trained> TrainAutoencoder(RunContext& ctx);

}  // namespace c19ai::training::internal
