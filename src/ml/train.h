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

// Task kEmbedding trains an autoencoder instead: encoder MLP → embedding_dim → mirrored decoder, with
// the inputs as targets (MSE reconstruction; the splits carry no y). Everything else is shared.
struct MlpTrainSpec {
  Task task = Task::kClassification;  // classification | regression | embedding (autoencoder)
  int64_t classes = 0;                // classification: number of classes
  std::string params_json = "{}";     // hidden, activation, dropout, batch_norm (+ embedding_dim)
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
// The same for an autoencoder's params (hidden as a list or one size, embedding_dim, activation,
// dropout, batch_norm); unknown fields are refused.
Status ValidateAutoencoderParams(std::string_view params_json);

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

// ---------------------------------------------------------------- character-level language models

// The text of a char_rnn (GRU) or char_transformer (causal Transformer encoder) model. The vocabulary
// is the set of Unicode code points of the training text (UTF-8; an invalid byte reads as U+FFFD),
// sorted, after index 0, the unknown symbol that characters outside it map to.
struct CharTrainSpec {
  std::string architecture = "char_rnn";  // char_rnn | char_transformer
  std::string params_json = "{}";         // hidden, layers, seq_len, heads, dropout, embedding_dim
  OptimizerSpec optimizer;
  SchedulerSpec scheduler;
  int64_t epochs = 20;
  int64_t batch_size = 32;  // windows of seq_len characters per step
  uint64_t seed = 42;
  bool shuffle = true;
};

// Checks a char model's params and fills in the defaults: the params the bundle records.
// invalid_argument naming "model.params.<field>" (unknown fields too).
Result<std::string> ResolveCharModelParams(std::string_view architecture, std::string_view params_json);

// Trains next-character prediction (cross-entropy) on windows of seq_len characters: an epoch is
// (characters / seq_len) windows starting at positions drawn from (seed, epoch) (shuffle off: the
// consecutive windows in order). Gradients are clipped at norm 1. The validation text is read in
// consecutive windows; val_metrics carry "perplexity" = exp(val_loss).
class CharTrainer {
 public:
  // invalid_argument naming the field (model.params.*, optimizer.*, target when the text is too short).
  static Result<std::unique_ptr<CharTrainer>> Create(const CharTrainSpec& spec, std::string_view train_text,
                                                     std::string_view validation_text);
  virtual ~CharTrainer() = default;

  // One epoch, then the validation loss (the training text's when the validation text has fewer than
  // two characters). `cancelled` is polled between batches: aborted, the epoch not counted.
  virtual Result<EpochStats> RunEpoch(const std::function<bool()>& cancelled) = 0;
  virtual int64_t epochs_done() const = 0;
  // Weights, optimizer state, schedule, epoch and vocabulary; Restore refuses another vocabulary
  // (failed_precondition) or bytes that are not a checkpoint (unprocessable).
  virtual std::string Checkpoint() = 0;
  virtual Status Restore(std::string_view checkpoint) = 0;
  // The bundle's parts: torch_state, extra (the vocabulary) and params_json (defaults filled in).
  virtual std::string Weights() = 0;
  virtual std::string Vocabulary() const = 0;
  virtual std::string ParamsJson() const = 0;
  virtual int64_t vocabulary_size() const = 0;  // with the unknown symbol
};

// ---------------------------------------------------------------- k-means (Lloyd's algorithm)

struct KMeansSpec {
  int64_t k = 8;
  std::string init = "k-means++";  // k-means++ (greedy, as scikit-learn) | random (k distinct rows)
  int64_t max_iter = 300;          // per run
  double tol = 1e-4;  // stop when the squared centroid shift is below tol × the mean feature variance
  int64_t n_init = 1;  // runs from different seeds; the lowest inertia wins
  uint64_t seed = 42;
  int threads = 1;     // threads of the assignment step
};

// Validates a kmeans params object ({k, init, max_iter, tol, n_init}) into a spec; invalid_argument
// naming "model.params.<field>".
Status ParseKMeansParams(std::string_view params_json, KMeansSpec& spec);

struct KMeansIteration {
  int64_t run = 0, iteration = 0;  // 1-based
  double inertia = 0;              // of the assignment to the centroids before this iteration's update
  double shift = 0;                // squared centroid shift of the update
};
struct KMeansResult {
  std::vector<float> centroids;  // [k, cols] row-major
  std::vector<int32_t> labels;   // per training row
  double inertia = 0;            // sum of squared distances to the nearest centroid
  int64_t iterations = 0;        // of the best run
  int64_t best_run = 0;
  bool stopped = false;          // on_iteration answered false
};

// invalid_argument when k exceeds the rows (naming "model.params.k"). `on_iteration` sees every
// iteration of every run and answers false to stop.
Result<KMeansResult> TrainKMeans(const KMeansSpec& spec, const Matrix& x,
                                 const std::function<bool(const KMeansIteration&)>& on_iteration = {});
// Nearest centroid of each row; `inertia` (optional) receives the sum of squared distances.
std::vector<int32_t> NearestCentroids(const Matrix& x, const std::vector<float>& centroids, int threads = 1,
                                      double* inertia = nullptr);
// Mean silhouette coefficient (Euclidean, as scikit-learn's silhouette_score) over at most `max_rows`
// rows sampled with `seed` (all rows when fewer). 0 when fewer than two clusters are present.
double Silhouette(const Matrix& x, const std::vector<int32_t>& labels, int64_t max_rows = 5000, uint64_t seed = 42,
                  int threads = 1);

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
