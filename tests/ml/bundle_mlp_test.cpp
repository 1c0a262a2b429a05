// An MLP bundle written from C++ (scaler, one-hot vocabulary, labels) predicts on raw rows exactly what
// the same pipeline computed by hand does.

#include <gtest/gtest.h>

#include <cmath>

#include "ml/ml.h"
#include "ml/torch_nets.h"

namespace c19ai::ml {
namespace {

using internal::Mlp;
using internal::MlpOptions;

std::vector<FeatureSpec> Features() {
  FeatureSpec age{"age", false, 40, 10, 35, {}, {}};
  FeatureSpec color{"color", true, 0, 1, 0, {"red", "green", "blue"}, "green"};
  FeatureSpec height{"height", false, 170, 5, 170, {}, {}};
  return {age, color, height};
}

// Weights chosen so every unit matters: w = sin(seed + 3i + 7j) / 2.
std::vector<std::vector<float>> Fill(torch::Tensor t, int seed) {
  torch::NoGradGuard guard;
  std::vector<std::vector<float>> m;
  if (t.dim() == 1) {
    m.emplace_back();
    for (int64_t i = 0; i < t.size(0); ++i) {
      float v = static_cast<float>(std::sin(seed + 3.0 * i) / 2);
      t[i] = v;
      m[0].push_back(v);
    }
    return m;
  }
  for (int64_t i = 0; i < t.size(0); ++i) {
    m.emplace_back();
    for (int64_t j = 0; j < t.size(1); ++j) {
      float v = static_cast<float>(std::sin(seed + 3.0 * i + 7.0 * j) / 2);
      t[i][j] = v;
      m.back().push_back(v);
    }
  }
  return m;
}

std::vector<double> Affine(const std::vector<std::vector<float>>& w, const std::vector<float>& b,
                           const std::vector<double>& x) {
  std::vector<double> y(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    double s = b[i];
    for (size_t j = 0; j < x.size(); ++j) s += static_cast<double>(w[i][j]) * x[j];
    y[i] = s;
  }
  return y;
}

TEST(BundleMlp, RawRowsGoThroughScalerOneHotNetworkAndSoftmax) {
  Init(1);
  MlpOptions options;
  options.hidden = {4};
  options.activation = "tanh";
  Mlp net(EncodedWidth(Features()), 3, options);
  auto params = net->named_parameters();
  auto w1 = Fill(params["layers.0.weight"], 1);
  auto b1 = Fill(params["layers.0.bias"], 2)[0];
  auto w2 = Fill(params["layers.2.weight"], 3);
  auto b2 = Fill(params["layers.2.bias"], 4)[0];

  BundleManifest m;
  m.task = Task::kClassification;
  m.architecture = "mlp";
  m.params_json = R"({"hidden":[4],"activation":"tanh"})";
  m.features = Features();
  m.labels = {"cat", "dog", "bird"};
  m.target = "species";
  BundleWeights w;
  w.torch_state = internal::SaveState(*net);
  std::string bytes = WriteBundle(m, w);

  auto model = LoadModel(Framework::kTorch, bytes, {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_TRUE((*model)->WarmUp().ok());
  EXPECT_EQ((*model)->FeatureNames(), (std::vector<std::string>{"age", "color", "height"}));
  EXPECT_EQ((*model)->framework(), Framework::kTorch);

  std::vector<Row> rows = {{55.0, std::string("blue"), 180.0},
                           {std::monostate{}, std::string("red"), 160.0},    // age imputed 35
                           {20.0, std::monostate{}, std::string("171.5")},   // color imputed green; numeric text
                           {40.0, std::string("purple"), 170.0}};            // unknown category: all zeros
  // The pipeline by hand.
  std::vector<std::vector<double>> encoded = {{1.5, 0, 0, 1, 2.0},
                                              {-0.5, 1, 0, 0, -2.0},
                                              {-2.0, 0, 1, 0, 0.3},
                                              {0.0, 0, 0, 0, 0.0}};
  auto out = (*model)->PredictRows(rows);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->labels.size(), rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<double> h = Affine(w1, b1, encoded[r]);
    for (double& v : h) v = std::tanh(v);
    std::vector<double> logits = Affine(w2, b2, h);
    double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (double l : logits) sum += std::exp(l - mx);
    size_t best = 0;
    for (size_t k = 0; k < 3; ++k) {
      double p = std::exp(logits[k] - mx) / sum;
      EXPECT_NEAR(out->probabilities[r][k], p, 1e-5) << "row " << r << " class " << k;
      if (logits[k] > logits[best]) best = k;
    }
    EXPECT_EQ(out->labels[r], m.labels[best]) << "row " << r;
  }

  // The same rows as named columns through the tensor interface.
  Tensor age{"age", DataType::kFp64, {4}, {55, NAN, 20, 40}, {}};
  Tensor color{"color", DataType::kBytes, {4}, {}, {"blue", "red", "green", "purple"}};
  Tensor height{"height", DataType::kFp64, {4}, {180, 160, 171.5, 170}, {}};
  auto by_tensor = (*model)->Predict({age, color, height});
  ASSERT_TRUE(by_tensor.ok()) << by_tensor.error().message;
  EXPECT_EQ(by_tensor->labels, out->labels);

  // Bad raw rows name the feature.
  auto bad = (*model)->PredictRows({{std::string("old"), std::string("red"), 1.0}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("\"age\""), std::string::npos);
  EXPECT_EQ((*model)->PredictRows({{1.0, 2.0}}).error().code, ErrorCode::kInvalidArgument);
}

TEST(BundleMlp, RegressionAndMismatchedWeights) {
  Init(1);
  MlpOptions options;
  options.hidden = {3};
  Mlp net(1, 1, options);
  BundleManifest m;
  m.task = Task::kRegression;
  m.architecture = "mlp";
  m.params_json = R"({"hidden":[3]})";
  m.features = {{"x", false, 0, 1, 0, {}, {}}};
  BundleWeights w;
  w.torch_state = internal::SaveState(*net);
  auto model = LoadModel(Framework::kTorch, WriteBundle(m, w), {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto out = (*model)->PredictRows({{1.0}, {2.0}});
  ASSERT_TRUE(out.ok());
  torch::NoGradGuard guard;
  auto want = net->forward(torch::tensor({{1.0f}, {2.0f}}));
  EXPECT_NEAR(out->outputs[0].values[0], want[0][0].item<float>(), 1e-6);
  EXPECT_NEAR(out->outputs[0].values[1], want[1][0].item<float>(), 1e-6);

  // Weights of another shape (the manifest says 5 hidden units): refused whole.
  m.params_json = R"({"hidden":[5]})";
  auto wrong = LoadModel(Framework::kTorch, WriteBundle(m, w), {});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnprocessable);
  m.params_json = R"({"hidden":[3],"activation":"swish"})";
  EXPECT_EQ(LoadModel(Framework::kTorch, WriteBundle(m, w), {}).error().code, ErrorCode::kUnprocessable);
}

}  // namespace
}  // namespace c19ai::ml
