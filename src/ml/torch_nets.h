#pragma once
// LibTorch networks shared by the ml module's inference and training units (internal; includes
// <torch/torch.h>, so only ml's torch .cpp files may include it — through the precompiled header).

#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace c19ai::ml::internal {

struct MlpOptions {
  std::vector<int64_t> hidden{64, 32};
  std::string activation = "relu";  // relu | tanh | gelu
  double dropout = 0.0;
  bool batch_norm = false;
};

// Reads an mlp's params ({"hidden": [..], "activation": .., "dropout": .., "batch_norm": ..}); unknown
// or out-of-range values are invalid_argument naming the field.
Result<MlpOptions> ParseMlpOptions(std::string_view params_json);

// Linear → [BatchNorm] → activation → [Dropout] for each hidden size, then a Linear to `outputs`.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t inputs, int64_t outputs, const MlpOptions& options);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Sequential layers_;
};
TORCH_MODULE(Mlp);

// An autoencoder: encoder Mlp(inputs → hidden… → embedding_dim) and decoder Mlp(embedding_dim →
// reversed hidden… → inputs). The embedding is the encoder's (linear) output.
struct AutoencoderOptions {
  MlpOptions layers;  // hidden sizes of the encoder; the decoder mirrors them
  int64_t embedding_dim = 8;
};

// Reads an autoencoder's params ({"hidden": [..] | n, "embedding_dim": n, "activation", "dropout",
// "batch_norm"}); invalid_argument naming the field ("params.embedding_dim"), unknown fields too.
Result<AutoencoderOptions> ParseAutoencoderOptions(std::string_view params_json);

class AutoencoderImpl : public torch::nn::Module {
 public:
  AutoencoderImpl(int64_t inputs, const AutoencoderOptions& options);
  torch::Tensor forward(torch::Tensor x);  // the reconstruction
  Mlp encoder{nullptr}, decoder{nullptr};
};
TORCH_MODULE(Autoencoder);

// A module's parameters and buffers as bytes (torch::save) and back. unprocessable when the bytes do
// not fit the module (names or shapes differ).
std::string SaveState(torch::nn::Module& module);
Status LoadState(torch::nn::Module& module, std::string_view bytes);

// Total bytes of a module's parameters and buffers.
int64_t StateBytes(const torch::nn::Module& module);

}  // namespace c19ai::ml::internal
