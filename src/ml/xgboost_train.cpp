// Gradient-boosted trees with the XGBoost C API, one round at a time so that the training module can
// report, checkpoint, cancel and stop early between rounds.

#include <xgboost/c_api.h>

#include <chrono>
#include <cmath>

#include "common/json.h"
#include "ml/train.h"

namespace c19ai::ml {

namespace {

std::string LastError() { return XGBGetLastError(); }

class DMatrix {
 public:
  ~DMatrix() {
    if (h_) XGDMatrixFree(h_);
  }
  Status Create(const Split& s) {
    if (XGDMatrixCreateFromMat(s.x.values.data(), static_cast<bst_ulong>(s.x.rows), static_cast<bst_ulong>(s.x.cols),
                               std::nanf(""), &h_) != 0) {
      return Error::Internal("XGDMatrixCreateFromMat: " + LastError());
    }
    if (XGDMatrixSetFloatInfo(h_, "label", s.y.data(), static_cast<bst_ulong>(s.y.size())) != 0) {
      return Error::Internal("XGDMatrixSetFloatInfo: " + LastError());
    }
    return OkStatus();
  }
  DMatrixHandle get() const { return h_; }

 private:
  DMatrixHandle h_ = nullptr;
};

class Booster {
 public:
  ~Booster() {
    if (h_) XGBoosterFree(h_);
  }
  Status Create(DMatrixHandle train) {
    DMatrixHandle cache[] = {train};
    if (XGBoosterCreate(cache, 1, &h_) != 0) return Error::Internal("XGBoosterCreate: " + LastError());
    return OkStatus();
  }
  Status Set(const std::string& k, const std::string& v) {
    if (XGBoosterSetParam(h_, k.c_str(), v.c_str()) != 0) {
      return Error::Field("model.params." + k, "XGBoost refused " + k + "=" + v + ": " + LastError());
    }
    return OkStatus();
  }
  Status Load(const std::string& json) {
    if (XGBoosterLoadModelFromBuffer(h_, json.data(), json.size()) != 0) {
      return Error::Unprocessable("the checkpoint's booster does not load: " + LastError());
    }
    return OkStatus();
  }
  Result<int> Rounds() const {
    int n = 0;
    if (XGBoosterBoostedRounds(h_, &n) != 0) return Error::Internal("XGBoosterBoostedRounds: " + LastError());
    return n;
  }
  Status Update(int iter, DMatrixHandle train) {
    if (XGBoosterUpdateOneIter(h_, iter, train) != 0) return Error::Internal("XGBoost round failed: " + LastError());
    return OkStatus();
  }
  Result<std::string> Save(BoosterHandle h = nullptr) const {
    bst_ulong len = 0;
    const char* out = nullptr;
    if (XGBoosterSaveModelToBuffer(h ? h : h_, R"({"format":"json"})", &len, &out) != 0) {
      return Error::Internal("XGBoosterSaveModelToBuffer: " + LastError());
    }
    return std::string(out, len);
  }
  // The model cut to its first `rounds` rounds.
  Result<std::string> SaveFirst(int rounds) const {
    BoosterHandle sliced = nullptr;
    if (XGBoosterSlice(h_, 0, rounds, 1, &sliced) != 0) return Error::Internal("XGBoosterSlice: " + LastError());
    auto out = Save(sliced);
    XGBoosterFree(sliced);
    return out;
  }
  // Training-mode-off predictions for a matrix: [rows] or [rows, classes].
  Result<std::vector<float>> Predict(DMatrixHandle m) const {
    static const char* config =
        R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    if (XGBoosterPredictFromDMatrix(h_, m, config, &shape, &dim, &out) != 0) {
      return Error::Internal("XGBoost prediction failed: " + LastError());
    }
    bst_ulong n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(out, out + n);
  }

 private:
  BoosterHandle h_ = nullptr;
};

// Probabilities [rows, classes] from what the objective predicts ([rows] for binary:logistic).
std::vector<float> AsProbabilities(const std::vector<float>& p, int64_t classes, int64_t rows) {
  if (classes > 2 || static_cast<int64_t>(p.size()) == rows * classes) return p;
  std::vector<float> out;
  out.reserve(static_cast<size_t>(rows) * 2);
  for (float v : p) {
    out.push_back(1.0f - v);
    out.push_back(v);
  }
  return out;
}

std::string Num(double v) {
  std::string s = std::to_string(v);
  return s;
}

}  // namespace

Status ParseGbtreeParams(std::string_view params_json, GbtreeSpec& spec) {
  Json j = Json::parse(params_json, nullptr, false);
  if (!j.is_object()) return Error::Field("model.params", "params must be an object");
  FieldReader r(j, "model.params");
  if (auto v = r.OptInt("num_rounds", 1, 100'000)) spec.num_rounds = *v;
  if (auto v = r.OptInt("max_depth", 0, 64)) spec.max_depth = *v;
  if (auto v = r.OptNumber("eta", 1e-6, 10)) spec.eta = *v;
  if (auto v = r.OptNumber("subsample", 1e-6, 1)) spec.subsample = *v;
  if (auto v = r.OptNumber("colsample_bytree", 1e-6, 1)) spec.colsample_bytree = *v;
  if (auto v = r.OptNumber("min_child_weight", 0, 1e9)) spec.min_child_weight = *v;
  if (auto v = r.OptNumber("lambda", 0, 1e9)) spec.lambda = *v;
  return r.Finish();
}

Result<GbtreeResult> TrainGbtree(const GbtreeSpec& spec, const Split& train, const Split& validation,
                                 const std::string& metric, int64_t patience, double min_delta,
                                 const std::string& resume_booster, const std::function<bool(int64_t)>& want_model,
                                 const std::function<bool(const GbtreeRound&)>& on_round) {
  if (train.x.rows == 0) return Error::InvalidArgument("the training split is empty");
  DMatrix dtrain, dval;
  C19_TRY(dtrain.Create(train));
  if (validation.x.rows > 0) C19_TRY(dval.Create(validation));
  Booster b;
  C19_TRY(b.Create(dtrain.get()));
  const bool classify = spec.task == Task::kClassification;
  if (classify && spec.classes > 2) {
    C19_TRY(b.Set("objective", "multi:softprob"));
    C19_TRY(b.Set("num_class", std::to_string(spec.classes)));
  } else if (classify) {
    C19_TRY(b.Set("objective", "binary:logistic"));
  } else {
    C19_TRY(b.Set("objective", "reg:squarederror"));
  }
  C19_TRY(b.Set("max_depth", std::to_string(spec.max_depth)));
  C19_TRY(b.Set("eta", Num(spec.eta)));
  C19_TRY(b.Set("subsample", Num(spec.subsample)));
  C19_TRY(b.Set("colsample_bytree", Num(spec.colsample_bytree)));
  C19_TRY(b.Set("min_child_weight", Num(spec.min_child_weight)));
  C19_TRY(b.Set("lambda", Num(spec.lambda)));
  C19_TRY(b.Set("seed", std::to_string(spec.seed % 2147483647)));
  C19_TRY(b.Set("nthread", std::to_string(std::max(1, spec.threads))));
  C19_TRY(b.Set("tree_method", "hist"));
  if (!resume_booster.empty()) C19_TRY(b.Load(resume_booster));
  C19_ASSIGN_OR_RETURN(int done, b.Rounds());

  GbtreeResult result;
  const bool higher = HigherIsBetter(metric);
  double best = higher ? -INFINITY : INFINITY;
  int64_t since_best = 0;
  for (int64_t round = done + 1; round <= spec.num_rounds; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    C19_TRY(b.Update(static_cast<int>(round - 1), dtrain.get()));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    GbtreeRound r;
    r.stats.epoch = round;
    r.stats.lr = spec.eta;
    r.stats.samples_per_s = secs > 0 ? static_cast<double>(train.x.rows) / secs : 0;
    C19_ASSIGN_OR_RETURN(std::vector<float> ptrain, b.Predict(dtrain.get()));
    auto train_metrics = classify ? ClassificationMetrics(AsProbabilities(ptrain, spec.classes, train.x.rows),
                                                          std::max<int64_t>(spec.classes, 2), train.y)
                                  : RegressionMetrics(ptrain, train.y);
    r.stats.train_loss = classify ? train_metrics["log_loss"] : std::pow(train_metrics["rmse"], 2);
    if (validation.x.rows > 0) {
      C19_ASSIGN_OR_RETURN(std::vector<float> pval, b.Predict(dval.get()));
      r.stats.val_metrics = classify ? ClassificationMetrics(AsProbabilities(pval, spec.classes, validation.x.rows),
                                                             std::max<int64_t>(spec.classes, 2), validation.y)
                                     : RegressionMetrics(pval, validation.y);
      r.stats.val_loss = classify ? r.stats.val_metrics["log_loss"] : std::pow(r.stats.val_metrics["rmse"], 2);
    } else {
      r.stats.val_metrics = train_metrics;
      r.stats.val_loss = r.stats.train_loss;
    }
    if (want_model && want_model(round)) {
      C19_ASSIGN_OR_RETURN(r.booster_json, b.Save());
    }
    result.rounds = round;
    auto it = r.stats.val_metrics.find(metric);
    if (it == r.stats.val_metrics.end()) return Error::Field("validation.metric", "unknown metric \"" + metric + "\"");
    double v = it->second;
    bool improved = higher ? v > best + min_delta : v < best - min_delta;
    if (improved || result.best_round == 0) {
      if (improved) best = v;
      result.best_round = round;
      result.best = r.stats;
      since_best = 0;
    } else {
      ++since_best;
    }
    if (!on_round(r)) {
      result.stopped = true;
      break;
    }
    if (patience > 0 && since_best >= patience) break;
  }
  if (result.best_round == 0) {
    result.best_round = done;
    result.rounds = done;
  }
  C19_ASSIGN_OR_RETURN(result.best_booster_json, b.SaveFirst(static_cast<int>(result.best_round)));
  return result;
}

}  // namespace c19ai::ml
