#pragma once
// Training on dense, already-encoded matrices (the training module fits the preprocessing and encodes
// rows with ml::Encode): a LibTorch MLP trained epoch by epoch with checkpoints, and XGBoost gradient
// boosted trees trained round by round. Pure computation: bytes in, bytes out.
//
// Determinism: with the same seed, data and settings, training gives the same weights; data order and
// dropout masks are derived from (seed, epoch), so a run restored from a checkpoint continues exactly
// as the uninterrupted run would have. One job at a time per process for dropout determinism (LibTorch's
// generator is process-wide).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ml/ml.h"
#include "ml/optim.h"

namespace c19ai::ml {

// Row-major float matrix.
struct Matrix {
  std::vector<float> values;
  int64_t rows = 0, cols = 0;
};

// Targets: class indices (classification) or values (regression, already scaled by the caller).
struct Split {
  Matrix x;
  std::vector<float> y;
};

struct MlpTrainSpec {
  Task task = Task::kClassification;  // classification | regression
  int64_t classes = 0;                // classification: number of classes
  std::string params_json = "{}";     // hidden, activation, dropout, batch_norm
  OptimizerSpec optimizer;
  SchedulerSpec scheduler;
  std::string plateau_metric = "val_loss";  // what reduce_on_plateau watches: val_loss or the val metric
  int64_t epochs = 20;
  int64_t batch_size = 32;
  uint64_t seed = 42;
  bool shuffle = true;
  double noise_std = 0;     // augmentation: Gaussian noise on the (standardised) inputs
  double mixup_alpha = 0;   // augmentation: mixup with Beta(alpha, alpha)
  double target_scale = 1, target_mean = 0;  // regression: y was standardised with these (metrics undo it)
};

// One epoch (MLP) or boosting round (gbtree).
struct EpochStats {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double val_loss = 0;
  std::map<std::string, double> val_metrics;  // accuracy, f1_macro, log_loss | r2, rmse, mae
  double lr = 0;
  double samples_per_s = 0;
};

// Every N optimizer steps of an MLP epoch.
struct StepStats {
  int64_t step = 0;  // steps since the start of training (1-based)
  int64_t epoch = 0;
  double loss = 0;   // mean training loss of the last N steps
  double lr = 0;
};

// Validation metrics of predictions: classification from class scores [rows, classes] (probabilities),
// regression from values. `scale`/`mean` undo the target scaling before regression errors.
std::map<std::string, double> ClassificationMetrics(const std::vector<float>& probabilities, int64_t classes,
                                                    const std::vector<float>& y);
std::map<std::string, double> RegressionMetrics(const std::vector<float>& predictions, const std::vector<float>& y,
                                                double scale = 1, double mean = 0);
// Whether larger is better for a metric name (accuracy, f1_macro, r2: yes; losses and errors: no).
bool HigherIsBetter(std::string_view metric);

// Checks an mlp's params (hidden, activation, dropout, batch_norm); invalid_argument naming
// "model.params.<field>".
Status ValidateMlpParams(std::string_view params_json);

class MlpTrainer {
 public:
  // invalid_argument naming the field ("model.params.hidden", "optimizer.lr", ...).
  static Result<std::unique_ptr<MlpTrainer>> Create(const MlpTrainSpec& spec, Split train, Split validation);
  virtual ~MlpTrainer() = default;

  // Trains one epoch and evaluates on the validation split. `cancelled` is polled between batches
  // (aborted when it answers true; the epoch is then not counted). `on_steps` is called after every
  // `every_steps` optimizer steps (0: never) with the mean loss of those steps.
  virtual Result<EpochStats> RunEpoch(const std::function<bool()>& cancelled,
                                      const std::function<void(const StepStats&)>& on_steps = {},
                                      int64_t every_steps = 0) = 0;
  virtual int64_t epochs_done() const = 0;
  // Everything to continue: weights, optimizer state with its learning rate, schedule, epoch.
  virtual std::string Checkpoint() = 0;
  virtual Status Restore(std::string_view checkpoint) = 0;
  // The current weights as a bundle's torch_state.
  virtual std::string Weights() = 0;
  // Predictions of the current weights on the validation split (probabilities or values).
  virtual std::vector<float> PredictValidation() = 0;
};

struct GbtreeSpec {
  Task task = Task::kClassification;
  int64_t classes = 0;
  int64_t num_rounds = 100;
  int64_t max_depth = 6;
  double eta = 0.3;
  double subsample = 1;
  double colsample_bytree = 1;
  double min_child_weight = 1;
  double lambda = 1;
  uint64_t seed = 42;
  int threads = 1;
};

// Validates a gbtree params object into a spec; invalid_argument naming "model.params.<field>".
Status ParseGbtreeParams(std::string_view params_json, GbtreeSpec& spec);

// Boosts round by round, evaluating `metric` on the validation split after each round. Stops early
// when the metric has not improved by more than `min_delta` for `patience` rounds (0: never).
// `on_round` sees each round's stats and, when `want_model(round)`, the booster so far (checkpoints);
// it answers false to stop (cancel). `resume_booster`: continue from a checkpoint's booster.
struct GbtreeRound {
  EpochStats stats;
  std::string booster_json;  // filled when want_model(round)
};
struct GbtreeResult {
  std::string best_booster_json;  // the booster cut at the best round
  int64_t best_round = 0, rounds = 0;
  EpochStats best;
  bool stopped = false;  // on_round answered false
};
Result<GbtreeResult> TrainGbtree(const GbtreeSpec& spec, const Split& train, const Split& validation,
                                 const std::string& metric, int64_t patience, double min_delta,
                                 const std::string& resume_booster, const std::function<bool(int64_t)>& want_model,
                                 const std::function<bool(const GbtreeRound&)>& on_round);

}  // namespace c19ai::ml
