#pragma once
// Models: one Model interface over TorchScript (LibTorch), ONNX (OpenCV DNN), XGBoost boosters and the
// C19 AI bundle (a manifest with the fitted preprocessing, labels and signature, plus the weights of a
// LibTorch MLP, an XGBoost booster or k-means centroids). Pure computation: artifacts come in as bytes
// and go out as bytes; no files, no network, no database.
//
// Threads: call Init() once per process (intra-op threads, OpenBLAS at one thread). A loaded Model's
// Predict is safe to call from several threads (each adapter serialises what its library needs).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace c19ai::ml {

// Sets the threads LibTorch and OpenCV may use for one inference or training step, and OpenBLAS to
// one thread (two pools on two cores oversubscribe them). Idempotent.
void Init(int intra_op_threads);

// ---------------------------------------------------------------- tensors and signatures

// The datatypes of the Open Inference Protocol.
enum class DataType { kBool, kInt8, kInt16, kInt32, kInt64, kUint8, kUint16, kUint32, kUint64, kFp16, kFp32, kFp64,
                      kBytes };
std::string_view DataTypeName(DataType t);
std::optional<DataType> ParseDataType(std::string_view s);

struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1: any size (the batch dimension)
};

struct Signature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  bool empty() const { return inputs.empty(); }
};

// The contract's signature JSON: {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}.
// invalid_argument naming the field ("signature.inputs[0].datatype") when malformed.
Result<Signature> ParseSignature(std::string_view json);
std::string SignatureJson(const Signature& signature);

enum class Framework { kTorch, kTorchScript, kOnnx, kXgboost, kKMeans, kCustom };
std::string_view FrameworkName(Framework f);
std::optional<Framework> ParseFramework(std::string_view s);

// A dense tensor. Numbers are held as double whatever the datatype (exact for every integer type up
// to 2^53 and for FP16/FP32); BYTES tensors use `strings`.
struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::vector<double> values;
  std::vector<std::string> strings;
  int64_t elements() const;
};

// What a bundle's model does.
enum class Task { kClassification, kRegression, kClustering, kGeneration, kEmbedding };
std::string_view TaskName(Task t);

// ---------------------------------------------------------------- raw rows (bundles)

// One cell of a raw feature row: a number, a string (categories) or missing.
using Cell = std::variant<std::monostate, double, std::string>;
using Row = std::vector<Cell>;

struct PredictOutput {
  std::vector<Tensor> outputs;
  std::vector<std::string> labels;                 // classification bundles: the predicted class per row
  std::vector<std::vector<double>> probabilities;  // classification bundles: per class, per row
  std::vector<std::vector<double>> distances;      // k-means: to each centroid, per row
};

// Text generation by a character-level bundle (char_rnn, char_transformer).
struct GenerateRequest {
  std::string prompt;
  int64_t max_tokens = 200;
  double temperature = 1.0;       // 0: greedy
  int64_t top_k = 0;              // 0: the whole vocabulary
  std::optional<uint64_t> seed;   // the same seed, prompt and model give the same text
};
struct GenerateOutput {
  std::string text;    // the generated continuation (without the prompt)
  int64_t tokens = 0;  // characters generated
};

class Model {
 public:
  virtual ~Model() = default;
  virtual Framework framework() const = 0;
  virtual const Signature& signature() const = 0;
  // Runs a batch. invalid_argument when inputs do not match the signature (naming what differs).
  virtual Result<PredictOutput> Predict(const std::vector<Tensor>& inputs) = 0;
  // Bundles take raw rows (features in manifest order; strings for categories) and apply their own
  // preprocessing; other models answer failed_precondition.
  virtual Result<PredictOutput> PredictRows(const std::vector<Row>& rows);
  // Generation bundles continue a prompt; other models answer failed_precondition.
  virtual Result<GenerateOutput> Generate(const GenerateRequest& request);
  // Embedding bundles map raw rows to vectors [rows][dim]; other models answer failed_precondition.
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<Row>& rows);
  // Feature names of raw rows, in order (bundles); empty otherwise.
  virtual std::vector<std::string> FeatureNames() const { return {}; }
  // Class names of classification bundles, in output order; empty otherwise.
  virtual std::vector<std::string> ClassNames() const { return {}; }
  // The task of a bundle (classification answers labels and probabilities, ...); nullopt otherwise.
  virtual std::optional<Task> BundleTask() const { return std::nullopt; }
  // One inference on zeros of the signature (also what upload validation runs).
  virtual Status WarmUp();
  // Resident memory the loaded model holds (weights and runtime state), approximately.
  virtual int64_t MemoryBytes() const = 0;
};

// Checks tensors against a signature: count, ranks, fixed dimensions and value counts;
// invalid_argument naming the input.
Status CheckInputs(const Signature& signature, const std::vector<Tensor>& inputs);

// Loads an artifact. `declared` is the signature given at upload (required for TorchScript and ONNX,
// which do not describe their inputs; others derive theirs and check a declared one against it).
// unprocessable with the library's message when the bytes do not load.
Result<std::unique_ptr<Model>> LoadModel(Framework framework, std::string_view artifact, const Signature& declared);

// ---------------------------------------------------------------- bundles


// How one raw feature becomes model inputs.
struct FeatureSpec {
  std::string name;
  bool categorical = false;
  // numeric: (x - mean) / scale after imputing missing with `impute`
  double mean = 0, scale = 1, impute = 0;
  // categorical: one-hot over `vocabulary` (unknown values: all zeros), missing imputed with `impute_category`
  std::vector<std::string> vocabulary;
  std::string impute_category;
};

struct BundleManifest {
  int format_version = 1;
  Task task = Task::kClassification;
  std::string architecture;  // mlp | gbtree | kmeans | char_rnn | char_transformer | autoencoder
  std::string params_json = "{}";
  std::vector<FeatureSpec> features;
  std::vector<std::string> labels;  // class names (classification)
  std::string target;               // the column it predicts
  double target_mean = 0, target_scale = 1;  // regression: prediction = output * scale + mean
  std::string metrics_json = "{}";
  std::string library_versions_json = "{}";
};

// Width of the preprocessed input (numeric features: 1 each; categorical: vocabulary size).
int64_t EncodedWidth(const std::vector<FeatureSpec>& features);
// Applies the preprocessing to raw rows: a row-major [rows, EncodedWidth] matrix.
Result<std::vector<float>> Encode(const std::vector<FeatureSpec>& features, const std::vector<Row>& rows);

// The weights a bundle carries, by architecture:
//   mlp / autoencoder: LibTorch parameters (state dict) as written by the training module
//   gbtree: an XGBoost booster (JSON)
//   kmeans: centroids [k, width] row-major
//   char_rnn / char_transformer: LibTorch parameters, and the vocabulary in `extra`
//     ({"encoding": "utf8_codepoints", "unknown": 0, "characters": "<the characters of indices 1..>"})
struct BundleWeights {
  std::string torch_state;        // serialised named tensors
  std::string xgboost_json;
  std::vector<float> centroids;
  std::string extra;              // architecture-specific (vocabularies of text models, ...)
};

std::string WriteBundle(const BundleManifest& manifest, const BundleWeights& weights);
Result<std::pair<BundleManifest, BundleWeights>> ReadBundle(std::string_view bytes);
// The signature a bundle serves (raw feature columns in, predictions out).
Signature BundleSignature(const BundleManifest& manifest);

}  // namespace c19ai::ml
