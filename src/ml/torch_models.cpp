// LibTorch: the TorchScript adapter, the MLP network of bundles, and thread settings.

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "common/json.h"
#include "ml/internal.h"
#include "ml/torch_nets.h"

namespace c19ai::ml::internal {

namespace {

torch::Dtype TorchType(DataType t) {
  switch (t) {
    case DataType::kBool: return torch::kBool;
    case DataType::kInt8: return torch::kInt8;
    case DataType::kInt16: return torch::kInt16;
    case DataType::kInt32: return torch::kInt32;
    case DataType::kInt64: return torch::kInt64;
    case DataType::kUint8: return torch::kUInt8;
    case DataType::kFp16: return torch::kHalf;
    case DataType::kFp64: return torch::kFloat64;
    default: return torch::kFloat32;  // FP32, and unsigned types torch lacks (UINT16..UINT64) go through float
  }
}

DataType FromTorchType(torch::Dtype t) {
  switch (t) {
    case torch::kBool: return DataType::kBool;
    case torch::kInt8: return DataType::kInt8;
    case torch::kInt16: return DataType::kInt16;
    case torch::kInt32: return DataType::kInt32;
    case torch::kInt64: return DataType::kInt64;
    case torch::kUInt8: return DataType::kUint8;
    case torch::kHalf: return DataType::kFp16;
    case torch::kFloat64: return DataType::kFp64;
    default: return DataType::kFp32;
  }
}

torch::Tensor ToTorch(const Tensor& t, DataType as) {
  auto doubles = torch::from_blob(const_cast<double*>(t.values.data()), t.shape, torch::kFloat64);
  return doubles.to(TorchType(as));  // a copy: the result owns its memory
}

// The TorchScript interpreter's messages carry a traceback of the model's Python source; the cause is
// its last line ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5 and 4x8)").
std::string Cause(const c10::Error& e) {
  std::string text = e.what_without_backtrace();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto nl = text.rfind('\n');
  std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
  for (std::string_view prefix : {"RuntimeError: ", "ValueError: ", "TypeError: "}) {
    if (last.starts_with(prefix)) return last.substr(prefix.size());
  }
  return last.size() > 20 ? last : text.substr(0, 2000);
}

Tensor FromTorch(const torch::Tensor& value, std::string name) {
  Tensor out;
  out.name = std::move(name);
  out.datatype = FromTorchType(value.scalar_type());
  torch::Tensor d = value.detach().to(torch::kFloat64).contiguous();
  out.shape.assign(d.sizes().begin(), d.sizes().end());
  const double* p = d.data_ptr<double>();
  out.values.assign(p, p + d.numel());
  return out;
}

// TorchScript files as saved by torch.jit.save / torch::jit::save; served as they are.
class TorchScriptModel final : public Model {
 public:
  TorchScriptModel(torch::jit::Module module, Signature sig) : module_(std::move(module)), sig_(std::move(sig)) {
    module_.eval();
    for (const auto& p : module_.parameters()) bytes_ += static_cast<int64_t>(p.nbytes());
    for (const auto& b : module_.buffers()) bytes_ += static_cast<int64_t>(b.nbytes());
  }

  Framework framework() const override { return Framework::kTorchScript; }
  const Signature& signature() const override { return sig_; }
  int64_t MemoryBytes() const override { return bytes_ + 64 * 1024; }

  Result<PredictOutput> Predict(const std::vector<Tensor>& inputs) override {
    C19_TRY(internal::CheckInputs(sig_, inputs));
    try {
      c10::InferenceMode guard;
      std::vector<torch::jit::IValue> args;
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (sig_.inputs[i].datatype == DataType::kBytes) {
          return Error::InvalidArgument("TorchScript models take numeric tensors; input \"" + sig_.inputs[i].name +
                                        "\" is BYTES");
        }
        args.emplace_back(ToTorch(inputs[i], sig_.inputs[i].datatype));
      }
      // A jit::Module's forward may run on several threads at once (it holds no per-call state).
      torch::jit::IValue result = const_cast<torch::jit::Module&>(module_).forward(std::move(args));
      std::vector<torch::Tensor> tensors;
      if (result.isTensor()) {
        tensors.push_back(result.toTensor());
      } else if (result.isTuple()) {
        for (const auto& e : result.toTuple()->elements()) {
          if (!e.isTensor()) return Error::Unprocessable("the model returned a tuple with a non-tensor element");
          tensors.push_back(e.toTensor());
        }
      } else if (result.isTensorList()) {
        for (const auto& t : result.toTensorVector()) tensors.push_back(t);
      } else {
        return Error::Unprocessable("the model returned " + result.tagKind() + ", not tensors");
      }
      PredictOutput out;
      for (size_t i = 0; i < tensors.size(); ++i) {
        std::string name = i < sig_.outputs.size() ? sig_.outputs[i].name : "output_" + std::to_string(i);
        out.outputs.push_back(FromTorch(tensors[i], std::move(name)));
      }
      return out;
    } catch (const c10::Error& e) {
      return Error::InvalidArgument("the model rejected the input: " + Cause(e));
    } catch (const std::exception& e) {
      return Error::InvalidArgument(std::string("the model rejected the input: ") + e.what());
    }
  }

 private:
  torch::jit::Module module_;
  Signature sig_;
  int64_t bytes_ = 0;
};

// An MLP of a bundle, on a [rows, width] float matrix.
class TorchDense final : public DenseModel {
 public:
  explicit TorchDense(Mlp net) : net_(std::move(net)) { net_->eval(); }

  Result<std::vector<float>> Run(const std::vector<float>& x, int64_t rows, int64_t width,
                                 int64_t& out_width) override {
    try {
      c10::InferenceMode guard;
      auto in = torch::from_blob(const_cast<float*>(x.data()), {rows, width}, torch::kFloat32);
      torch::Tensor y = net_->forward(in).contiguous();
      out_width = y.size(1);
      const float* p = y.data_ptr<float>();
      return std::vector<float>(p, p + y.numel());
    } catch (const c10::Error& e) {
      return Error::Internal(std::string("MLP forward failed: ") + e.what_without_backtrace());
    }
  }
  int64_t MemoryBytes() const override { return StateBytes(*net_); }
  bool OutputsProbabilities() const override { return false; }

 private:
  Mlp net_;
};

}  // namespace

// ---------------------------------------------------------------- MLP

Result<MlpOptions> ParseMlpOptions(std::string_view params_json) {
  MlpOptions o;
  Json p = Json::parse(params_json, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return Error::Field("params", "model.params must be an object");
  if (p.contains("hidden")) {
    const Json& h = p["hidden"];
    if (!h.is_array() || h.size() > 16) {
      return Error::Field("params.hidden", "hidden must be a list of at most 16 layer sizes");
    }
    o.hidden.clear();
    for (const auto& v : h) {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 65536) {
        return Error::Field("params.hidden", "hidden sizes must be integers from 1 to 65536");
      }
      o.hidden.push_back(v.get<int64_t>());
    }
  }
  if (p.contains("activation")) {
    if (!p["activation"].is_string()) return Error::Field("params.activation", "activation must be a string");
    o.activation = p["activation"].get<std::string>();
    if (o.activation != "relu" && o.activation != "tanh" && o.activation != "gelu") {
      return Error::Field("params.activation", "activation must be relu, tanh or gelu");
    }
  }
  if (p.contains("dropout")) {
    if (!p["dropout"].is_number() || p["dropout"].get<double>() < 0 || p["dropout"].get<double>() >= 1) {
      return Error::Field("params.dropout", "dropout must be a number in [0, 1)");
    }
    o.dropout = p["dropout"].get<double>();
  }
  if (p.contains("batch_norm")) {
    if (!p["batch_norm"].is_boolean()) return Error::Field("params.batch_norm", "batch_norm must be true or false");
    o.batch_norm = p["batch_norm"].get<bool>();
  }
  return o;
}

MlpImpl::MlpImpl(int64_t inputs, int64_t outputs, const MlpOptions& options) {
  int64_t width = inputs;
  for (int64_t h : options.hidden) {
    layers_->push_back(torch::nn::Linear(width, h));
    if (options.batch_norm) layers_->push_back(torch::nn::BatchNorm1d(h));
    if (options.activation == "tanh") layers_->push_back(torch::nn::Tanh());
    else if (options.activation == "gelu") layers_->push_back(torch::nn::GELU());
    else layers_->push_back(torch::nn::ReLU());
    if (options.dropout > 0) layers_->push_back(torch::nn::Dropout(options.dropout));
    width = h;
  }
  layers_->push_back(torch::nn::Linear(width, outputs));
  register_module("layers", layers_);
}

torch::Tensor MlpImpl::forward(torch::Tensor x) { return layers_->forward(x); }

Result<AutoencoderOptions> ParseAutoencoderOptions(std::string_view params_json) {
  Json p = Json::parse(params_json, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return Error::Field("params", "model.params must be an object");
  AutoencoderOptions o;
  for (const auto& [key, value] : p.items()) {
    if (key != "hidden" && key != "embedding_dim" && key != "activation" && key != "dropout" && key != "batch_norm" &&
        key != "__plateau_metric") {
      return Error::Field("params." + key, "unknown field params." + key +
                                               " (autoencoder takes hidden, embedding_dim, activation, dropout, "
                                               "batch_norm)");
    }
  }
  if (p.contains("embedding_dim")) {
    const Json& e = p["embedding_dim"];
    if (!e.is_number_integer() || e.get<int64_t>() < 1 || e.get<int64_t>() > 4096) {
      return Error::Field("params.embedding_dim", "embedding_dim must be an integer from 1 to 4096");
    }
    o.embedding_dim = e.get<int64_t>();
    p.erase("embedding_dim");
  }
  if (p.contains("hidden") && p["hidden"].is_number_integer()) p["hidden"] = Json::array({p["hidden"]});
  C19_ASSIGN_OR_RETURN(o.layers, ParseMlpOptions(p.dump()));
  return o;
}

AutoencoderImpl::AutoencoderImpl(int64_t inputs, const AutoencoderOptions& options) {
  MlpOptions mirrored = options.layers;
  std::reverse(mirrored.hidden.begin(), mirrored.hidden.end());
  encoder = register_module("encoder", Mlp(inputs, options.embedding_dim, options.layers));
  decoder = register_module("decoder", Mlp(options.embedding_dim, inputs, mirrored));
}

torch::Tensor AutoencoderImpl::forward(torch::Tensor x) { return decoder->forward(encoder->forward(x)); }

std::string SaveState(torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return std::move(out).str();
}

Status LoadState(torch::nn::Module& module, std::string_view bytes) {
  try {
    std::istringstream in{std::string(bytes)};
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    // Module::load replaces tensors whatever their shape: compare against the network's own shapes.
    std::vector<std::pair<std::string, std::vector<int64_t>>> before;
    for (const auto& p : module.named_parameters()) before.emplace_back(p.key(), p.value().sizes().vec());
    for (const auto& b : module.named_buffers()) before.emplace_back(b.key(), b.value().sizes().vec());
    module.load(archive);
    size_t i = 0;
    for (const auto& p : module.named_parameters()) {
      if (p.value().sizes().vec() != before[i++].second) {
        return Error::Unprocessable("the weights do not fit the network: \"" + p.key() + "\" has another shape");
      }
    }
    for (const auto& b : module.named_buffers()) {
      if (b.value().sizes().vec() != before[i++].second) {
        return Error::Unprocessable("the weights do not fit the network: \"" + b.key() + "\" has another shape");
      }
    }
    return OkStatus();
  } catch (const c10::Error& e) {
    return Error::Unprocessable(std::string("the weights do not fit the network: ") + e.what_without_backtrace());
  }
}

int64_t StateBytes(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += static_cast<int64_t>(p.nbytes());
  for (const auto& b : module.buffers()) n += static_cast<int64_t>(b.nbytes());
  return n;
}

Result<std::unique_ptr<DenseModel>> MakeTorchMlp(const BundleManifest& m, const BundleWeights& w, int64_t inputs,
                                                 int64_t outputs) {
  auto options = ParseMlpOptions(m.params_json);
  if (!options.ok()) return Error::Unprocessable("bundle params: " + options.error().message);
  if (w.torch_state.empty()) return Error::Unprocessable("mlp bundle has no weights");
  try {
    Mlp net(inputs, outputs, *options);
    C19_TRY(LoadState(*net, w.torch_state));
    return std::unique_ptr<DenseModel>(new TorchDense(std::move(net)));
  } catch (const c10::Error& e) {
    return Error::Unprocessable(std::string("mlp bundle: ") + e.what_without_backtrace());
  }
}

Result<std::unique_ptr<DenseModel>> MakeTorchEncoder(const BundleManifest& m, const BundleWeights& w, int64_t inputs) {
  auto options = ParseAutoencoderOptions(m.params_json);
  if (!options.ok()) return Error::Unprocessable("bundle params: " + options.error().message);
  if (w.torch_state.empty()) return Error::Unprocessable("autoencoder bundle has no weights");
  try {
    Autoencoder net(inputs, *options);
    C19_TRY(LoadState(*net, w.torch_state));
    return std::unique_ptr<DenseModel>(new TorchDense(net->encoder));  // the decoder is not served
  } catch (const c10::Error& e) {
    return Error::Unprocessable(std::string("autoencoder bundle: ") + e.what_without_backtrace());
  }
}

// ---------------------------------------------------------------- TorchScript

Result<std::unique_ptr<Model>> LoadTorchScript(std::string_view bytes, const Signature& declared) {
  if (declared.inputs.empty()) {
    return Error::Unprocessable("a TorchScript model needs a signature with its inputs (metadata.signature)")
        .WithField("signature");
  }
  try {
    std::istringstream in{std::string(bytes)};
    torch::jit::Module module = torch::jit::load(in, torch::kCPU);
    if (!module.find_method("forward")) return Error::Unprocessable("the TorchScript module has no forward method");
    return std::unique_ptr<Model>(new TorchScriptModel(std::move(module), declared));
  } catch (const c10::Error& e) {
    return Error::Unprocessable(std::string("not a loadable TorchScript file: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Error::Unprocessable(std::string("not a loadable TorchScript file: ") + e.what());
  }
}

void InitTorch(int threads) {
  at::set_num_threads(threads);
  try {
    at::set_num_interop_threads(1);
  } catch (const c10::Error&) {
    // Already set (it may be called once per process); the first setting stands.
  }
}

}  // namespace c19ai::ml::internal
