// Framework-independent parts: datatypes, signature checks, loading by framework, the bundle format
// and its preprocessing.

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "common/json.h"
#include "ml/internal.h"

namespace c19ai::ml {

namespace {
constexpr std::string_view kBundleMagic = "C19AIBUNDLE1\n";
}  // namespace

void Init(int intra_op_threads) {
  static std::once_flag once;
  std::call_once(once, [intra_op_threads] {
    // OpenBLAS's own threads on top of LibTorch's oversubscribe a small machine.
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
    internal::InitTorch(std::max(1, intra_op_threads));
    internal::InitOpenCv(1);
  });
}

std::string_view DataTypeName(DataType t) {
  switch (t) {
    case DataType::kBool: return "BOOL";
    case DataType::kInt8: return "INT8";
    case DataType::kInt16: return "INT16";
    case DataType::kInt32: return "INT32";
    case DataType::kInt64: return "INT64";
    case DataType::kUint8: return "UINT8";
    case DataType::kUint16: return "UINT16";
    case DataType::kUint32: return "UINT32";
    case DataType::kUint64: return "UINT64";
    case DataType::kFp16: return "FP16";
    case DataType::kFp32: return "FP32";
    case DataType::kFp64: return "FP64";
    case DataType::kBytes: return "BYTES";
  }
  return "FP32";
}

std::optional<DataType> ParseDataType(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(DataType::kBytes); ++i) {
    if (DataTypeName(static_cast<DataType>(i)) == s) return static_cast<DataType>(i);
  }
  return std::nullopt;
}

Result<Signature> ParseSignature(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::Field("signature", "signature must be a JSON object");
  Signature sig;
  for (const char* side : {"inputs", "outputs"}) {
    std::string where = std::string("signature.") + side;
    if (!j.contains(side)) {
      if (std::string_view(side) == "inputs") return Error::Field(where, "signature needs inputs");
      continue;
    }
    const Json& list = j[side];
    if (!list.is_array() || list.size() > 256) return Error::Field(where, where + " must be a list of tensors");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string at = where + "[" + std::to_string(i) + "]";
      const Json& t = list[i];
      if (!t.is_object()) return Error::Field(at, at + " must be an object");
      TensorSpec spec;
      if (!t.contains("name") || !t["name"].is_string() || t["name"].get<std::string>().empty() ||
          t["name"].get<std::string>().size() > 128) {
        return Error::Field(at + ".name", at + ".name must be a string of 1 to 128 characters");
      }
      spec.name = t["name"].get<std::string>();
      auto dt = t.contains("datatype") && t["datatype"].is_string() ? ParseDataType(t["datatype"].get<std::string>())
                                                                      : std::nullopt;
      if (!dt) {
        return Error::Field(at + ".datatype", at + ".datatype must be one of BOOL, INT8..INT64, UINT8..UINT64, FP16, "
                                              "FP32, FP64, BYTES");
      }
      spec.datatype = *dt;
      if (!t.contains("shape") || !t["shape"].is_array() || t["shape"].size() > 8) {
        return Error::Field(at + ".shape", at + ".shape must be a list of at most 8 dimensions");
      }
      for (const auto& d : t["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < -1 || d.get<int64_t>() == 0 || d.get<int64_t>() > (1 << 24)) {
          return Error::Field(at + ".shape", at + ".shape dimensions must be positive integers or -1");
        }
        spec.shape.push_back(d.get<int64_t>());
      }
      (std::string_view(side) == "inputs" ? sig.inputs : sig.outputs).push_back(std::move(spec));
    }
  }
  for (const auto& k : j.items()) {
    if (k.key() != "inputs" && k.key() != "outputs") {
      return Error::Field("signature." + k.key(), "unknown field signature." + k.key());
    }
  }
  return sig;
}

std::string SignatureJson(const Signature& sig) {
  auto side = [](const std::vector<TensorSpec>& specs) {
    Json list = Json::array();
    for (const auto& s : specs) list.push_back({{"name", s.name}, {"datatype", DataTypeName(s.datatype)}, {"shape", s.shape}});
    return list;
  };
  return DumpJson(Json{{"inputs", side(sig.inputs)}, {"outputs", side(sig.outputs)}});
}

std::string_view FrameworkName(Framework f) {
  switch (f) {
    case Framework::kTorch: return "torch";
    case Framework::kTorchScript: return "torchscript";
    case Framework::kOnnx: return "onnx";
    case Framework::kXgboost: return "xgboost";
    case Framework::kKMeans: return "kmeans";
    case Framework::kCustom: return "custom";
  }
  return "custom";
}

std::optional<Framework> ParseFramework(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(Framework::kCustom); ++i) {
    if (FrameworkName(static_cast<Framework>(i)) == s) return static_cast<Framework>(i);
  }
  return std::nullopt;
}

std::string_view TaskName(Task t) {
  switch (t) {
    case Task::kClassification: return "classification";
    case Task::kRegression: return "regression";
    case Task::kClustering: return "clustering";
    case Task::kGeneration: return "generation";
    case Task::kEmbedding: return "embedding";
  }
  return "classification";
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<PredictOutput> Model::PredictRows(const std::vector<Row>&) {
  return Error::FailedPrecondition("this model takes tensors, not raw feature rows");
}

Result<GenerateOutput> Model::Generate(const GenerateRequest&) {
  return Error::FailedPrecondition("this model does not generate text (train a char_rnn or char_transformer)");
}

Result<std::vector<std::vector<float>>> Model::Embed(const std::vector<Row>&) {
  return Error::FailedPrecondition("this model does not embed rows (train an autoencoder)");
}

namespace {
std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

Status Model::WarmUp() {
  const Signature& sig = signature();
  auto out = Predict(internal::ZeroInputs(sig));
  if (!out.ok()) return Error::Unprocessable("a test inference on zeros of the signature failed: " + out.error().message);
  // The outputs must be what the signature promises (names aside): a mislabelled model is refused.
  if (out->outputs.size() < sig.outputs.size()) {
    return Error::Unprocessable("the signature declares " + std::to_string(sig.outputs.size()) +
                                " output(s); the model returns " + std::to_string(out->outputs.size()))
        .WithField("signature.outputs");
  }
  for (size_t i = 0; i < sig.outputs.size(); ++i) {
    const TensorSpec& spec = sig.outputs[i];
    const std::vector<int64_t>& got = out->outputs[i].shape;
    bool fits = got.size() == spec.shape.size();
    for (size_t d = 0; fits && d < got.size(); ++d) fits = spec.shape[d] < 0 || spec.shape[d] == got[d];
    if (!fits) {
      return Error::Unprocessable("signature output \"" + spec.name + "\" has shape " + ShapeText(spec.shape) +
                                  " but the model returns " + ShapeText(got) + " for a batch of one")
          .WithField("signature.outputs");
    }
  }
  return OkStatus();
}

Status CheckInputs(const Signature& signature, const std::vector<Tensor>& inputs) {
  return internal::CheckInputs(signature, inputs);
}

namespace internal {

Status CheckInputs(const Signature& sig, const std::vector<Tensor>& inputs) {
  if (inputs.size() != sig.inputs.size()) {
    return Error::InvalidArgument("the model takes " + std::to_string(sig.inputs.size()) + " input(s), got " +
                                  std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& spec = sig.inputs[i];
    const Tensor& t = inputs[i];
    std::string which = "input \"" + spec.name + "\"";
    if (t.shape.size() != spec.shape.size()) {
      return Error::InvalidArgument(which + " must have " + std::to_string(spec.shape.size()) + " dimension(s), got " +
                                    std::to_string(t.shape.size()));
    }
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      if (spec.shape[d] >= 0 && t.shape[d] != spec.shape[d]) {
        return Error::InvalidArgument(which + " dimension " + std::to_string(d) + " must be " +
                                      std::to_string(spec.shape[d]) + ", got " + std::to_string(t.shape[d]));
      }
      if (t.shape[d] < 0) return Error::InvalidArgument(which + " has a negative dimension");
    }
    bool bytes = spec.datatype == DataType::kBytes;
    int64_t have = bytes ? static_cast<int64_t>(t.strings.size()) : static_cast<int64_t>(t.values.size());
    if (have != t.elements()) {
      return Error::InvalidArgument(which + " has " + std::to_string(have) + " values for shape of " +
                                    std::to_string(t.elements()));
    }
  }
  return OkStatus();
}

std::vector<Tensor> ZeroInputs(const Signature& sig) {
  std::vector<Tensor> out;
  for (const auto& spec : sig.inputs) {
    Tensor t;
    t.name = spec.name;
    t.datatype = spec.datatype;
    for (int64_t d : spec.shape) t.shape.push_back(d < 0 ? 1 : d);
    if (spec.datatype == DataType::kBytes) t.strings.assign(static_cast<size_t>(t.elements()), "");
    else t.values.assign(static_cast<size_t>(t.elements()), 0.0);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace internal

Result<std::unique_ptr<Model>> LoadModel(Framework framework, std::string_view artifact, const Signature& declared) {
  if (artifact.starts_with(kBundleMagic)) return internal::LoadBundle(artifact);
  switch (framework) {
    case Framework::kTorchScript: return internal::LoadTorchScript(artifact, declared);
    case Framework::kOnnx: return internal::LoadOnnx(artifact, declared);
    case Framework::kXgboost: return internal::LoadXgboost(artifact, declared);
    case Framework::kTorch:
    case Framework::kKMeans:
      return Error::Unprocessable("a " + std::string(FrameworkName(framework)) +
                                  " model must be a C19 AI bundle (as training writes it)");
    case Framework::kCustom: return Error::FailedPrecondition("custom models cannot be loaded for serving");
  }
  return Error::Unprocessable("unknown framework");
}

// ---------------------------------------------------------------- preprocessing

int64_t EncodedWidth(const std::vector<FeatureSpec>& features) {
  int64_t w = 0;
  for (const auto& f : features) w += f.categorical ? static_cast<int64_t>(f.vocabulary.size()) : 1;
  return w;
}

Result<std::vector<float>> Encode(const std::vector<FeatureSpec>& features, const std::vector<Row>& rows) {
  const int64_t width = EncodedWidth(features);
  std::vector<float> out(static_cast<size_t>(width) * rows.size(), 0.0f);
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.size() != features.size()) {
      return Error::InvalidArgument("row " + std::to_string(r + 1) + " has " + std::to_string(row.size()) +
                                    " values; the model takes " + std::to_string(features.size()) + " features");
    }
    float* dst = out.data() + r * static_cast<size_t>(width);
    size_t col = 0;
    for (size_t f = 0; f < features.size(); ++f) {
      const FeatureSpec& spec = features[f];
      const Cell& cell = row[f];
      if (!spec.categorical) {
        double v;
        if (std::holds_alternative<double>(cell)) {
          v = std::get<double>(cell);
          if (std::isnan(v)) v = spec.impute;
        } else if (std::holds_alternative<std::monostate>(cell)) {
          v = spec.impute;
        } else {
          const std::string& s = std::get<std::string>(cell);
          char* end = nullptr;
          v = std::strtod(s.c_str(), &end);
          if (s.empty() || *end != '\0') {
            return Error::InvalidArgument("row " + std::to_string(r + 1) + ", feature \"" + spec.name +
                                          "\": expected a number, got \"" + s.substr(0, 40) + "\"");
          }
        }
        dst[col++] = static_cast<float>((v - spec.mean) / (spec.scale == 0 ? 1 : spec.scale));
      } else {
        std::string value;
        if (std::holds_alternative<std::string>(cell)) {
          value = std::get<std::string>(cell);
        } else if (std::holds_alternative<double>(cell)) {
          double d = std::get<double>(cell);
          value = d == std::floor(d) && std::abs(d) < 1e15 ? std::to_string(static_cast<int64_t>(d)) : std::to_string(d);
        } else {
          value = spec.impute_category;
        }
        auto it = std::find(spec.vocabulary.begin(), spec.vocabulary.end(), value);
        if (it != spec.vocabulary.end()) dst[col + static_cast<size_t>(it - spec.vocabulary.begin())] = 1.0f;
        col += spec.vocabulary.size();
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- the bundle file
//
// "C19AIBUNDLE1\n" then sections: <name>\n<decimal length>\n<bytes>, in any order:
// manifest (JSON), torch_state, xgboost_json, centroids (little-endian float32), extra.

namespace {

Json ManifestToJson(const BundleManifest& m) {
  Json features = Json::array();
  for (const auto& f : m.features) {
    Json j = {{"name", f.name}, {"categorical", f.categorical}};
    if (f.categorical) {
      j["vocabulary"] = f.vocabulary;
      j["impute"] = f.impute_category;
    } else {
      j["mean"] = f.mean;
      j["scale"] = f.scale;
      j["impute"] = f.impute;
    }
    features.push_back(j);
  }
  return {{"format_version", m.format_version},
          {"task", TaskName(m.task)},
          {"architecture", m.architecture},
          {"params", Json::parse(m.params_json, nullptr, false)},
          {"features", features},
          {"labels", m.labels},
          {"target", m.target},
          {"target_scaling", {{"mean", m.target_mean}, {"scale", m.target_scale}}},
          {"metrics", Json::parse(m.metrics_json, nullptr, false)},
          {"library_versions", Json::parse(m.library_versions_json, nullptr, false)}};
}

Result<BundleManifest> ManifestFromJson(const Json& j) {
  BundleManifest m;
  try {
    m.format_version = j.at("format_version").get<int>();
    std::string task = j.at("task").get<std::string>();
    bool found = false;
    for (int t = 0; t <= static_cast<int>(Task::kEmbedding); ++t) {
      if (TaskName(static_cast<Task>(t)) == task) {
        m.task = static_cast<Task>(t);
        found = true;
      }
    }
    if (!found) return Error::Unprocessable("bundle manifest: unknown task \"" + task + "\"");
    m.architecture = j.at("architecture").get<std::string>();
    m.params_json = j.value("params", Json::object()).dump();
    if (j.contains("target_scaling")) {
      m.target_mean = j["target_scaling"].value("mean", 0.0);
      m.target_scale = j["target_scaling"].value("scale", 1.0);
    }
    for (const auto& f : j.at("features")) {
      FeatureSpec s;
      s.name = f.at("name").get<std::string>();
      s.categorical = f.at("categorical").get<bool>();
      if (s.categorical) {
        s.vocabulary = f.at("vocabulary").get<std::vector<std::string>>();
        s.impute_category = f.value("impute", "");
      } else {
        s.mean = f.at("mean").get<double>();
        s.scale = f.at("scale").get<double>();
        s.impute = f.at("impute").get<double>();
      }
      m.features.push_back(std::move(s));
    }
    m.labels = j.value("labels", std::vector<std::string>{});
    m.target = j.value("target", "");
    m.metrics_json = j.value("metrics", Json::object()).dump();
    m.library_versions_json = j.value("library_versions", Json::object()).dump();
  } catch (const Json::exception& e) {
    return Error::Unprocessable(std::string("bundle manifest is malformed: ") + e.what());
  }
  return m;
}

void AppendSection(std::string& out, std::string_view name, std::string_view bytes) {
  out += name;
  out += '\n';
  out += std::to_string(bytes.size());
  out += '\n';
  out += bytes;
}

}  // namespace

std::string WriteBundle(const BundleManifest& manifest, const BundleWeights& weights) {
  std::string out(kBundleMagic);
  AppendSection(out, "manifest", ManifestToJson(manifest).dump());
  if (!weights.torch_state.empty()) AppendSection(out, "torch_state", weights.torch_state);
  if (!weights.xgboost_json.empty()) AppendSection(out, "xgboost_json", weights.xgboost_json);
  if (!weights.centroids.empty()) {
    AppendSection(out, "centroids",
                  std::string_view(reinterpret_cast<const char*>(weights.centroids.data()),
                                   weights.centroids.size() * sizeof(float)));
  }
  if (!weights.extra.empty()) AppendSection(out, "extra", weights.extra);
  return out;
}

Result<std::pair<BundleManifest, BundleWeights>> ReadBundle(std::string_view bytes) {
  if (!bytes.starts_with(kBundleMagic)) return Error::Unprocessable("not a C19 AI bundle (bad magic)");
  bytes.remove_prefix(kBundleMagic.size());
  std::optional<BundleManifest> manifest;
  BundleWeights w;
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) return Error::Unprocessable("bundle is truncated (section name)");
    std::string_view name = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    nl = bytes.find('\n');
    if (nl == std::string_view::npos || nl > 20) return Error::Unprocessable("bundle is truncated (section length)");
    char* end = nullptr;
    std::string len_text(bytes.substr(0, nl));
    uint64_t len = std::strtoull(len_text.c_str(), &end, 10);
    if (*end != '\0') return Error::Unprocessable("bundle has a malformed section length");
    bytes.remove_prefix(nl + 1);
    if (len > bytes.size()) return Error::Unprocessable("bundle is truncated (section \"" + std::string(name) + "\")");
    std::string_view body = bytes.substr(0, len);
    bytes.remove_prefix(len);
    if (name == "manifest") {
      Json j = Json::parse(body, nullptr, false);
      if (j.is_discarded()) return Error::Unprocessable("bundle manifest is not JSON");
      C19_ASSIGN_OR_RETURN(manifest, ManifestFromJson(j));
    } else if (name == "torch_state") {
      w.torch_state = std::string(body);
    } else if (name == "xgboost_json") {
      w.xgboost_json = std::string(body);
    } else if (name == "centroids") {
      if (body.size() % sizeof(float)) return Error::Unprocessable("bundle centroids are malformed");
      w.centroids.resize(body.size() / sizeof(float));
      std::memcpy(w.centroids.data(), body.data(), body.size());
    } else if (name == "extra") {
      w.extra = std::string(body);
    }
  }
  if (!manifest) return Error::Unprocessable("bundle has no manifest");
  return std::make_pair(std::move(*manifest), std::move(w));
}

Signature BundleSignature(const BundleManifest& m) {
  Signature s;
  for (const auto& f : m.features) {
    s.inputs.push_back({f.name, f.categorical ? DataType::kBytes : DataType::kFp64, {-1}});
  }
  switch (m.task) {
    case Task::kClassification:
      s.outputs.push_back({"label", DataType::kBytes, {-1}});
      s.outputs.push_back({"probabilities", DataType::kFp32, {-1, static_cast<int64_t>(m.labels.size())}});
      break;
    case Task::kRegression: s.outputs.push_back({"prediction", DataType::kFp32, {-1}}); break;
    case Task::kClustering:
      s.outputs.push_back({"cluster", DataType::kInt64, {-1}});
      s.outputs.push_back({"distances", DataType::kFp32, {-1, -1}});
      break;
    case Task::kGeneration:  // a prompt in, its continuation out (POST .../generate)
      s.inputs.push_back({"prompt", DataType::kBytes, {-1}});
      s.outputs.push_back({"text", DataType::kBytes, {-1}});
      break;
    case Task::kEmbedding: s.outputs.push_back({"output", DataType::kFp32, {-1, -1}}); break;
  }
  return s;
}

// ---------------------------------------------------------------- the bundle model

namespace {

class BundleModel final : public Model {
 public:
  BundleModel(BundleManifest m, BundleWeights w, std::unique_ptr<internal::DenseModel> dense)
      : m_(std::move(m)), w_(std::move(w)), dense_(std::move(dense)), sig_(BundleSignature(m_)) {
    for (const auto& f : m_.features) names_.push_back(f.name);
  }

  Framework framework() const override {
    if (m_.architecture == "gbtree") return Framework::kXgboost;
    if (m_.architecture == "kmeans") return Framework::kKMeans;
    return Framework::kTorch;
  }
  const Signature& signature() const override { return sig_; }
  std::vector<std::string> FeatureNames() const override { return names_; }
  std::vector<std::string> ClassNames() const override { return m_.labels; }
  std::optional<Task> BundleTask() const override { return m_.task; }
  int64_t MemoryBytes() const override {
    return (dense_ ? dense_->MemoryBytes() : 0) + static_cast<int64_t>(w_.centroids.size() * sizeof(float)) + 4096;
  }

  // Tensors in: one column per feature (the V2 protocol's view of a bundle).
  Result<PredictOutput> Predict(const std::vector<Tensor>& inputs) override {
    C19_TRY(internal::CheckInputs(sig_, inputs));
    size_t rows = inputs.empty() ? 0 : static_cast<size_t>(inputs[0].shape[0]);
    std::vector<Row> table(rows, Row(inputs.size()));
    for (size_t c = 0; c < inputs.size(); ++c) {
      if (static_cast<size_t>(inputs[c].shape[0]) != rows) {
        return Error::InvalidArgument("every input column must have the same number of rows");
      }
      for (size_t r = 0; r < rows; ++r) {
        if (sig_.inputs[c].datatype == DataType::kBytes) table[r][c] = inputs[c].strings[r];
        else table[r][c] = inputs[c].values[r];
      }
    }
    return PredictRows(table);
  }

  Result<PredictOutput> PredictRows(const std::vector<Row>& rows) override {
    C19_ASSIGN_OR_RETURN(std::vector<float> x, Encode(m_.features, rows));
    const int64_t n = static_cast<int64_t>(rows.size());
    const int64_t width = EncodedWidth(m_.features);
    PredictOutput out;
    if (m_.architecture == "kmeans") return Clusters(x, n, width);
    int64_t out_width = 0;
    C19_ASSIGN_OR_RETURN(std::vector<float> y, dense_->Run(x, n, width, out_width));
    switch (m_.task) {
      case Task::kClassification: {
        Tensor labels{"label", DataType::kBytes, {n}, {}, {}};
        Tensor probs{"probabilities", DataType::kFp32, {n, static_cast<int64_t>(m_.labels.size())}, {}, {}};
        for (int64_t r = 0; r < n; ++r) {
          std::vector<double> p = ClassProbabilities(y.data() + r * out_width, out_width);
          size_t best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
          std::string label = best < m_.labels.size() ? m_.labels[best] : std::to_string(best);
          labels.strings.push_back(label);
          out.labels.push_back(label);
          probs.values.insert(probs.values.end(), p.begin(), p.end());
          out.probabilities.push_back(std::move(p));
        }
        out.outputs.push_back(std::move(labels));
        out.outputs.push_back(std::move(probs));
        break;
      }
      case Task::kRegression: {
        Tensor t{"prediction", DataType::kFp32, {n}, {}, {}};
        for (int64_t r = 0; r < n; ++r) {
          t.values.push_back(y[static_cast<size_t>(r * out_width)] * m_.target_scale + m_.target_mean);
        }
        out.outputs.push_back(std::move(t));
        break;
      }
      default: {
        Tensor t{"output", DataType::kFp32, {n, out_width}, std::vector<double>(y.begin(), y.end()), {}};
        out.outputs.push_back(std::move(t));
      }
    }
    return out;
  }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<Row>& rows) override {
    if (m_.task != Task::kEmbedding) return Model::Embed(rows);
    C19_ASSIGN_OR_RETURN(std::vector<float> x, Encode(m_.features, rows));
    int64_t dim = 0;
    C19_ASSIGN_OR_RETURN(std::vector<float> y,
                         dense_->Run(x, static_cast<int64_t>(rows.size()), EncodedWidth(m_.features), dim));
    std::vector<std::vector<float>> out(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      out[r].assign(y.begin() + static_cast<int64_t>(r) * dim, y.begin() + static_cast<int64_t>(r + 1) * dim);
    }
    return out;
  }

 private:
  // Softmax of logits, or the booster's probabilities (a single value is P(class 1)).
  std::vector<double> ClassProbabilities(const float* v, int64_t width) const {
    std::vector<double> p;
    if (width == 1) return {1.0 - v[0], static_cast<double>(v[0])};
    if (dense_->OutputsProbabilities()) return std::vector<double>(v, v + width);
    double mx = *std::max_element(v, v + width), sum = 0;
    for (int64_t i = 0; i < width; ++i) sum += std::exp(v[i] - mx);
    for (int64_t i = 0; i < width; ++i) p.push_back(std::exp(v[i] - mx) / sum);
    return p;
  }

  Result<PredictOutput> Clusters(const std::vector<float>& x, int64_t n, int64_t width) {
    const int64_t k = static_cast<int64_t>(w_.centroids.size()) / std::max<int64_t>(width, 1);
    if (k <= 0 || k * width != static_cast<int64_t>(w_.centroids.size())) {
      return Error::Internal("k-means centroids do not match the feature width");
    }
    PredictOutput out;
    Tensor cluster{"cluster", DataType::kInt64, {n}, {}, {}};
    Tensor dist{"distances", DataType::kFp32, {n, k}, {}, {}};
    for (int64_t r = 0; r < n; ++r) {
      std::vector<double> d(static_cast<size_t>(k));
      for (int64_t c = 0; c < k; ++c) {
        double s = 0;
        for (int64_t j = 0; j < width; ++j) {
          double diff = x[static_cast<size_t>(r * width + j)] - w_.centroids[static_cast<size_t>(c * width + j)];
          s += diff * diff;
        }
        d[static_cast<size_t>(c)] = std::sqrt(s);
      }
      int64_t best = std::min_element(d.begin(), d.end()) - d.begin();
      cluster.values.push_back(static_cast<double>(best));
      out.labels.push_back(m_.labels.size() > static_cast<size_t>(best) ? m_.labels[static_cast<size_t>(best)]
                                                                         : std::to_string(best));
      dist.values.insert(dist.values.end(), d.begin(), d.end());
      out.distances.push_back(std::move(d));
    }
    out.outputs.push_back(std::move(cluster));
    out.outputs.push_back(std::move(dist));
    return out;
  }

  BundleManifest m_;
  BundleWeights w_;
  std::unique_ptr<internal::DenseModel> dense_;
  Signature sig_;
  std::vector<std::string> names_;
};

}  // namespace

namespace internal {

Result<std::unique_ptr<Model>> LoadBundle(std::string_view bytes) {
  C19_ASSIGN_OR_RETURN(auto parts, ReadBundle(bytes));
  auto& [m, w] = parts;
  // Text models read characters, not feature rows.
  if (m.architecture == "char_rnn" || m.architecture == "char_transformer") {
    return LoadCharModel(std::move(m), std::move(w));
  }
  const int64_t width = EncodedWidth(m.features);
  if (m.features.empty()) return Error::Unprocessable("bundle has no features");
  std::unique_ptr<DenseModel> dense;
  if (m.architecture == "mlp") {
    int64_t outputs = m.task == Task::kClassification ? static_cast<int64_t>(m.labels.size()) : 1;
    if (m.task == Task::kClassification && outputs < 2) {
      return Error::Unprocessable("classification bundle needs at least two labels");
    }
    C19_ASSIGN_OR_RETURN(dense, MakeTorchMlp(m, w, width, outputs));
  } else if (m.architecture == "gbtree") {
    C19_ASSIGN_OR_RETURN(dense, MakeXgboostDense(w.xgboost_json, m.task == Task::kClassification));
  } else if (m.architecture == "autoencoder") {
    if (m.task != Task::kEmbedding) return Error::Unprocessable("an autoencoder bundle must have task embedding");
    C19_ASSIGN_OR_RETURN(dense, MakeTorchEncoder(m, w, width));
  } else if (m.architecture == "kmeans") {
    if (w.centroids.empty() || w.centroids.size() % static_cast<size_t>(width) != 0) {
      return Error::Unprocessable("k-means bundle centroids do not match its features");
    }
  } else {
    return Error::Unprocessable("bundle architecture \"" + m.architecture + "\" is not supported for serving");
  }
  return std::unique_ptr<Model>(new BundleModel(std::move(m), std::move(w), std::move(dense)));
}

}  // namespace internal

}  // namespace c19ai::ml
