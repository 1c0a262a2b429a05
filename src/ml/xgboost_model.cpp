// XGBoost boosters through the C API: uploaded models (JSON, UBJSON or the legacy binary format) and
// the gbtree inside bundles.

#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "common/json.h"
#include "ml/internal.h"

namespace c19ai::ml::internal {

namespace {

std::string LastError() { return XGBGetLastError(); }

// One booster handle; prediction is serialised (the handle's prediction cache is shared state).
class Booster {
 public:
  ~Booster() {
    if (handle_) XGBoosterFree(handle_);
  }

  Status Load(std::string_view bytes) {
    if (XGBoosterCreate(nullptr, 0, &handle_) != 0) return Error::Internal("XGBoosterCreate: " + LastError());
    if (bytes.empty()) return Error::Unprocessable("the XGBoost model is empty");
    if (XGBoosterLoadModelFromBuffer(handle_, bytes.data(), bytes.size()) != 0) {
      return Error::Unprocessable("not a loadable XGBoost model: " + LastError());
    }
    XGBoosterSetParam(handle_, "nthread", "1");
    bst_ulong features = 0;
    if (XGBoosterGetNumFeature(handle_, &features) != 0) {
      return Error::Unprocessable("XGBoost model has no feature count: " + LastError());
    }
    features_ = static_cast<int64_t>(features);
    bytes_ = static_cast<int64_t>(bytes.size()) * 2;  // trees in memory are about the size of their JSON
    return OkStatus();
  }

  int64_t features() const { return features_; }
  int64_t bytes() const { return bytes_; }

  // Predicts [rows, features] float32; the output's shape is returned in `shape`.
  Result<std::vector<float>> Predict(const float* x, int64_t rows, int64_t width, std::vector<int64_t>& shape) {
    if (width != features_) {
      return Error::InvalidArgument("the booster takes " + std::to_string(features_) + " features per row, got " +
                                    std::to_string(width));
    }
    Json array = {{"data", {reinterpret_cast<uintptr_t>(x), true}},
                  {"shape", {rows, width}},
                  {"typestr", "<f4"},
                  {"version", 3}};
    // "missing" must be NaN so zeros stay values; "cache_id":0 is required by in-place prediction.
    static const std::string config =
        R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";
    std::lock_guard lock(mu_);
    const bst_ulong* out_shape = nullptr;
    bst_ulong out_dim = 0;
    const float* out = nullptr;
    if (XGBoosterPredictFromDense(handle_, array.dump().c_str(), config.c_str(), nullptr, &out_shape, &out_dim, &out) !=
        0) {
      return Error::InvalidArgument("XGBoost prediction failed: " + LastError());
    }
    shape.assign(out_shape, out_shape + out_dim);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return std::vector<float>(out, out + n);
  }

 private:
  BoosterHandle handle_ = nullptr;
  int64_t features_ = 0;
  int64_t bytes_ = 0;
  std::mutex mu_;
};

class XgboostModel final : public Model {
 public:
  XgboostModel(std::unique_ptr<Booster> booster, Signature sig) : booster_(std::move(booster)), sig_(std::move(sig)) {}

  Framework framework() const override { return Framework::kXgboost; }
  const Signature& signature() const override { return sig_; }
  int64_t MemoryBytes() const override { return booster_->bytes() + 64 * 1024; }

  Result<PredictOutput> Predict(const std::vector<Tensor>& inputs) override {
    C19_TRY(internal::CheckInputs(sig_, inputs));
    const Tensor& in = inputs[0];
    std::vector<float> x(in.values.begin(), in.values.end());
    std::vector<int64_t> shape;
    C19_ASSIGN_OR_RETURN(std::vector<float> y, booster_->Predict(x.data(), in.shape[0], in.shape[1], shape));
    Tensor out{sig_.outputs.empty() ? "output" : sig_.outputs[0].name, DataType::kFp32, shape,
               std::vector<double>(y.begin(), y.end()), {}};
    PredictOutput result;
    result.outputs.push_back(std::move(out));
    return result;
  }

 private:
  std::unique_ptr<Booster> booster_;
  Signature sig_;
};

class XgboostDense final : public DenseModel {
 public:
  explicit XgboostDense(std::unique_ptr<Booster> booster) : booster_(std::move(booster)) {}

  Result<std::vector<float>> Run(const std::vector<float>& x, int64_t rows, int64_t width,
                                 int64_t& out_width) override {
    std::vector<int64_t> shape;
    C19_ASSIGN_OR_RETURN(std::vector<float> y, booster_->Predict(x.data(), rows, width, shape));
    out_width = shape.size() >= 2 ? shape[1] : 1;
    return y;
  }
  int64_t MemoryBytes() const override { return booster_->bytes(); }
  bool OutputsProbabilities() const override { return true; }

 private:
  std::unique_ptr<Booster> booster_;
};

}  // namespace

Result<std::unique_ptr<Model>> LoadXgboost(std::string_view bytes, const Signature& declared) {
  auto booster = std::make_unique<Booster>();
  C19_TRY(booster->Load(bytes));
  const int64_t features = booster->features();
  if (features <= 0) return Error::Unprocessable("the XGBoost model reports no features");

  // What the booster answers for one row tells the output's shape.
  std::vector<float> zeros(static_cast<size_t>(features), 0.0f);
  std::vector<int64_t> shape;
  auto probe = booster->Predict(zeros.data(), 1, features, shape);
  if (!probe.ok()) return Error::Unprocessable(probe.error().message);

  Signature sig;
  sig.inputs.push_back({"input", DataType::kFp32, {-1, features}});
  TensorSpec output{"output", DataType::kFp32, {-1}};
  if (shape.size() >= 2) output.shape = {-1, shape[1]};
  sig.outputs.push_back(output);
  if (!declared.inputs.empty()) {
    // A declared signature may rename the tensors but must agree with the booster.
    if (declared.inputs.size() != 1 || declared.inputs[0].shape.size() != 2 ||
        (declared.inputs[0].shape[1] >= 0 && declared.inputs[0].shape[1] != features)) {
      return Error::Unprocessable("the signature does not match the booster, which takes one input of shape [-1, " +
                                  std::to_string(features) + "]")
          .WithField("signature.inputs");
    }
    sig.inputs[0].name = declared.inputs[0].name;
    if (!declared.outputs.empty()) sig.outputs[0].name = declared.outputs[0].name;
  }
  return std::unique_ptr<Model>(new XgboostModel(std::move(booster), std::move(sig)));
}

Result<std::unique_ptr<DenseModel>> MakeXgboostDense(const std::string& booster_json, bool) {
  auto booster = std::make_unique<Booster>();
  C19_TRY(booster->Load(booster_json));
  return std::unique_ptr<DenseModel>(new XgboostDense(std::move(booster)));
}

}  // namespace c19ai::ml::internal
