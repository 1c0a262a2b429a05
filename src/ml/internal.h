#pragma once
// Pieces shared by the ml module's translation units (internal). No third-party headers here: each
// library stays in its own .cpp file.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ml/ml.h"

namespace c19ai::ml::internal {

// A model that maps a dense float matrix [rows, in] to [rows, out] (the inner part of a bundle).
class DenseModel {
 public:
  virtual ~DenseModel() = default;
  virtual Result<std::vector<float>> Run(const std::vector<float>& x, int64_t rows, int64_t width,
                                         int64_t& out_width) = 0;
  virtual int64_t MemoryBytes() const = 0;
  // What the raw outputs mean for classification: logits (softmax them) or probabilities.
  virtual bool OutputsProbabilities() const = 0;
};

Result<std::unique_ptr<Model>> LoadTorchScript(std::string_view bytes, const Signature& declared);
Result<std::unique_ptr<Model>> LoadOnnx(std::string_view bytes, const Signature& declared);
Result<std::unique_ptr<Model>> LoadXgboost(std::string_view bytes, const Signature& declared);
Result<std::unique_ptr<Model>> LoadBundle(std::string_view bytes);
// char_rnn / char_transformer bundles (a Model that generates text).
Result<std::unique_ptr<Model>> LoadCharModel(BundleManifest m, BundleWeights w);

// Bundle inner models.
Result<std::unique_ptr<DenseModel>> MakeTorchMlp(const BundleManifest& m, const BundleWeights& w, int64_t inputs,
                                                 int64_t outputs);
// The encoder of an autoencoder bundle: [rows, inputs] → [rows, embedding_dim].
Result<std::unique_ptr<DenseModel>> MakeTorchEncoder(const BundleManifest& m, const BundleWeights& w, int64_t inputs);
Result<std::unique_ptr<DenseModel>> MakeXgboostDense(const std::string& booster_json, bool classifier);

// Checks tensors against a signature: count, names (when given), datatypes and fixed dimensions.
Status CheckInputs(const Signature& sig, const std::vector<Tensor>& inputs);
// Zeros matching a signature's inputs, with every -1 dimension set to 1.
std::vector<Tensor> ZeroInputs(const Signature& sig);

// Length-prefixed byte strings, how checkpoints concatenate their parts; TakeBlob consumes one from
// the front of `in` (unprocessable when truncated).
void PutBlob(std::string& out, std::string_view blob);
Result<std::string_view> TakeBlob(std::string_view& in);

void InitTorch(int threads);
void InitOpenCv(int threads);

}  // namespace c19ai::ml::internal
