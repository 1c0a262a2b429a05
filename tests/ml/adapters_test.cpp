// Each adapter loads a real artifact made by Debian's PyTorch / XGBoost and predicts what they do.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "ml/ml.h"
#include "support/test_env.h"

namespace c19ai::ml {
namespace {

std::string Read(const std::string& name) {
  std::ifstream in(testing::ModelArtifacts() + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json Expected(const std::string& which) {
  return Json::parse(Read("expected.json")).at(which);
}

Signature Sig(std::vector<int64_t> in, std::vector<int64_t> out) {
  Signature s;
  s.inputs.push_back({"input", DataType::kFp32, std::move(in)});
  s.outputs.push_back({"output", DataType::kFp32, std::move(out)});
  return s;
}

Tensor Input(const Json& rows) {
  Tensor t{"input", DataType::kFp32, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, {}, {}};
  for (const auto& r : rows)
    for (const auto& v : r) t.values.push_back(v.get<double>());
  return t;
}

void ExpectNear(const std::vector<double>& got, const Json& want, double tol = 1e-5) {
  std::vector<double> flat;
  for (const auto& v : want) {
    if (v.is_array()) for (const auto& e : v) flat.push_back(e.get<double>());
    else flat.push_back(v.get<double>());
  }
  ASSERT_EQ(got.size(), flat.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], flat[i], tol) << "at " << i;
}

class AdaptersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Init(1); }
};

TEST_F(AdaptersTest, TorchScriptPredictsWhatPyTorchComputed) {
  auto model = LoadModel(Framework::kTorchScript, Read("mlp.pt"), Sig({-1, 4}, {-1, 3}));
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_TRUE((*model)->WarmUp().ok());
  Json e = Expected("torchscript");
  auto out = (*model)->Predict({Input(e["inputs"])});
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->outputs.size(), 1u);
  EXPECT_EQ(out->outputs[0].name, "output");
  EXPECT_EQ(out->outputs[0].shape, (std::vector<int64_t>{3, 3}));
  ExpectNear(out->outputs[0].values, e["outputs"]);
  EXPECT_GT((*model)->MemoryBytes(), 4 * 8 * 4);
}

TEST_F(AdaptersTest, TorchScriptWithTwoInputsAndATupleOfOutputs) {
  Signature s;
  s.inputs = {{"a", DataType::kFp32, {-1, 2}}, {"b", DataType::kFp32, {-1, 2}}};
  s.outputs = {{"sum", DataType::kFp32, {-1, 2}}, {"dot", DataType::kFp32, {-1, 1}}};
  auto model = LoadModel(Framework::kTorchScript, Read("two.pt"), s);
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_TRUE((*model)->WarmUp().ok());
  Tensor a{"a", DataType::kFp32, {1, 2}, {1, 2}, {}};
  Tensor b{"b", DataType::kFp32, {1, 2}, {3, 4}, {}};
  auto out = (*model)->Predict({a, b});
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->outputs.size(), 2u);
  EXPECT_EQ(out->outputs[0].values, (std::vector<double>{4, 6}));
  EXPECT_EQ(out->outputs[1].name, "dot");
  EXPECT_EQ(out->outputs[1].values, (std::vector<double>{11}));
}

TEST_F(AdaptersTest, TorchScriptNeedsASignatureAndRefusesAWrongOne) {
  auto none = LoadModel(Framework::kTorchScript, Read("mlp.pt"), {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kUnprocessable);

  // Inputs of the wrong width: the test inference fails with the library's message.
  auto wrong_in = LoadModel(Framework::kTorchScript, Read("mlp.pt"), Sig({-1, 5}, {-1, 3}));
  ASSERT_TRUE(wrong_in.ok());
  Status st = (*wrong_in)->WarmUp();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(st.error().message.find("mat1 and mat2"), std::string::npos) << st.error().message;

  // Outputs mislabelled: the model returns [1, 3], not [1, 2].
  auto wrong_out = LoadModel(Framework::kTorchScript, Read("mlp.pt"), Sig({-1, 4}, {-1, 2}));
  ASSERT_TRUE(wrong_out.ok());
  st = (*wrong_out)->WarmUp();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("[1, 3]"), std::string::npos) << st.error().message;
}

TEST_F(AdaptersTest, InputsThatDoNotMatchTheSignatureAreInvalidArguments) {
  auto model = LoadModel(Framework::kTorchScript, Read("mlp.pt"), Sig({-1, 4}, {-1, 3}));
  ASSERT_TRUE(model.ok());
  Tensor narrow{"input", DataType::kFp32, {1, 2}, {1, 2}, {}};
  auto out = (*model)->Predict({narrow});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(out.error().message.find("dimension 1 must be 4"), std::string::npos) << out.error().message;
  Tensor short_values{"input", DataType::kFp32, {2, 4}, {1, 2, 3, 4}, {}};
  EXPECT_EQ((*model)->Predict({short_values}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*model)->Predict({}).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AdaptersTest, CorruptOrMislabelledArtifactsAreRefused) {
  std::string pt = Read("mlp.pt");
  auto truncated = LoadModel(Framework::kTorchScript, pt.substr(0, pt.size() / 2), Sig({-1, 4}, {-1, 3}));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kUnprocessable);
  // An ONNX file declared as TorchScript, and the other way round.
  EXPECT_EQ(LoadModel(Framework::kTorchScript, Read("mlp.onnx"), Sig({-1, 4}, {-1, 3})).error().code,
            ErrorCode::kUnprocessable);
  EXPECT_EQ(LoadModel(Framework::kOnnx, pt, Sig({-1, 4}, {-1, 3})).error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(LoadModel(Framework::kXgboost, pt, {}).error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(LoadModel(Framework::kXgboost, "", {}).error().code, ErrorCode::kUnprocessable);
  std::string js = Read("binary.json");
  EXPECT_EQ(LoadModel(Framework::kXgboost, js.substr(0, js.size() - 100), {}).error().code, ErrorCode::kUnprocessable);
  std::string onnx = Read("mlp.onnx");
  auto bad_onnx = LoadModel(Framework::kOnnx, onnx.substr(0, onnx.size() - 40), Sig({-1, 4}, {-1, 3}));
  EXPECT_TRUE(!bad_onnx.ok() || !(*bad_onnx)->WarmUp().ok());
  // Frameworks that only come as bundles, and custom, cannot be loaded from foreign files.
  EXPECT_EQ(LoadModel(Framework::kKMeans, js, {}).error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(LoadModel(Framework::kCustom, js, {}).error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(AdaptersTest, OnnxThroughOpenCvMatchesPyTorch) {
  auto model = LoadModel(Framework::kOnnx, Read("mlp.onnx"), Sig({-1, 4}, {-1, 3}));
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_TRUE((*model)->WarmUp().ok());
  Json e = Expected("onnx");
  auto out = (*model)->Predict({Input(e["inputs"])});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->outputs[0].shape, (std::vector<int64_t>{3, 3}));
  ExpectNear(out->outputs[0].values, e["outputs"]);
}

TEST_F(AdaptersTest, XgboostJsonAndUbjsonPredictWhatPythonDid) {
  Json e = Expected("xgboost_binary");
  for (const char* file : {"binary.json", "binary.ubj"}) {
    auto model = LoadModel(Framework::kXgboost, Read(file), {});
    ASSERT_TRUE(model.ok()) << file << ": " << model.error().message;
    const Signature& sig = (*model)->signature();
    ASSERT_EQ(sig.inputs.size(), 1u);
    EXPECT_EQ(sig.inputs[0].shape, (std::vector<int64_t>{-1, 4}));
    EXPECT_EQ(sig.outputs[0].shape, (std::vector<int64_t>{-1}));
    auto out = (*model)->Predict({Input(e["inputs"])});
    ASSERT_TRUE(out.ok()) << out.error().message;
    ExpectNear(out->outputs[0].values, e["outputs"], 1e-6);
  }
  Json m = Expected("xgboost_multi");
  auto multi = LoadModel(Framework::kXgboost, Read("multi.json"), {});
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ((*multi)->signature().outputs[0].shape, (std::vector<int64_t>{-1, 3}));
  auto out = (*multi)->Predict({Input(m["inputs"])});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->outputs[0].shape, (std::vector<int64_t>{3, 3}));
  ExpectNear(out->outputs[0].values, m["outputs"], 1e-6);
}

TEST_F(AdaptersTest, XgboostChecksADeclaredSignature) {
  auto renamed = LoadModel(Framework::kXgboost, Read("binary.json"), Sig({-1, 4}, {-1}));
  ASSERT_TRUE(renamed.ok());
  auto wrong = LoadModel(Framework::kXgboost, Read("binary.json"), Sig({-1, 7}, {-1}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(wrong.error().message.find("[-1, 4]"), std::string::npos);
}

TEST_F(AdaptersTest, ConcurrentPredictionsAgree) {
  for (auto [fw, file] : {std::pair{Framework::kTorchScript, "mlp.pt"}, std::pair{Framework::kOnnx, "mlp.onnx"},
                          std::pair{Framework::kXgboost, "multi.json"}}) {
    auto model = LoadModel(fw, Read(file), fw == Framework::kXgboost ? Signature{} : Sig({-1, 4}, {-1, 3}));
    ASSERT_TRUE(model.ok());
    Json rows = Expected("torchscript")["inputs"];
    auto want = (*model)->Predict({Input(rows)});
    ASSERT_TRUE(want.ok());
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          auto got = (*model)->Predict({Input(rows)});
          if (!got.ok() || got->outputs[0].values != want->outputs[0].values) ++mismatches;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0) << FrameworkName(fw);
  }
}

// A gbtree bundle: the booster sees the encoded features; labels and probabilities come back.
TEST_F(AdaptersTest, GbtreeBundleAppliesItsPreprocessingAndLabels) {
  BundleManifest m;
  m.task = Task::kClassification;
  m.architecture = "gbtree";
  m.labels = {"low", "mid", "high"};
  for (const char* name : {"a", "b", "c", "d"}) m.features.push_back({name, false, 0, 1, 0, {}, {}});
  m.features[2].mean = 1.0;  // c is shifted: the booster sees c - 1
  BundleWeights w;
  w.xgboost_json = Read("multi.json");
  auto model = LoadModel(Framework::kXgboost, WriteBundle(m, w), {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ((*model)->FeatureNames(), (std::vector<std::string>{"a", "b", "c", "d"}));
  ASSERT_TRUE((*model)->WarmUp().ok());

  Json e = Expected("xgboost_multi");
  std::vector<Row> rows;
  for (const auto& r : e["inputs"]) {
    rows.push_back({r[0].get<double>(), r[1].get<double>(), r[2].get<double>() + 1.0, r[3].get<double>()});
  }
  auto out = (*model)->PredictRows(rows);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->probabilities.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    ExpectNear(out->probabilities[r], e["outputs"][r], 1e-5);
    size_t best = 0;
    for (size_t k = 1; k < 3; ++k)
      if (e["outputs"][r][k].get<double>() > e["outputs"][r][best].get<double>()) best = k;
    EXPECT_EQ(out->labels[r], m.labels[best]);
  }
}

TEST_F(AdaptersTest, KMeansBundleAssignsTheNearestCentroid) {
  BundleManifest m;
  m.task = Task::kClustering;
  m.architecture = "kmeans";
  m.features = {{"x", false, 10, 2, 0, {}, {}}, {"y", false, 0, 1, 0, {}, {}}};
  BundleWeights w;
  w.centroids = {0, 0, 5, 5};  // two centroids in the scaled space
  auto model = LoadModel(Framework::kKMeans, WriteBundle(m, w), {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto out = (*model)->PredictRows({{10.0, 0.0}, {20.0, 4.0}, {std::monostate{}, 1.0}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  // (10-10)/2=0 → cluster 0; (20-10)/2=5,4 → cluster 1; missing x imputed 0 → (0-10)/2=-5,1 → cluster 0.
  EXPECT_EQ(out->outputs[0].values, (std::vector<double>{0, 1, 0}));
  EXPECT_NEAR(out->distances[1][1], 1.0, 1e-6);
  EXPECT_NEAR(out->distances[2][0], std::sqrt(26.0), 1e-6);

  w.centroids = {0, 0, 5};  // does not divide by the width
  EXPECT_EQ(LoadModel(Framework::kKMeans, WriteBundle(m, w), {}).error().code, ErrorCode::kUnprocessable);
}

TEST_F(AdaptersTest, TruncatedOrTamperedBundlesAreRefused) {
  BundleManifest m;
  m.task = Task::kClustering;
  m.architecture = "kmeans";
  m.features = {{"x", false, 0, 1, 0, {}, {}}};
  BundleWeights w;
  w.centroids = {0, 1};
  std::string bytes = WriteBundle(m, w);
  for (size_t cut : {size_t{5}, size_t{20}, bytes.size() - 3}) {
    auto r = LoadModel(Framework::kKMeans, bytes.substr(0, cut), {});
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  }
  std::string bad = bytes;
  bad.replace(bad.find("\"kmeans\""), 8, "\"nonsen\"");
  EXPECT_EQ(LoadModel(Framework::kKMeans, bad, {}).error().code, ErrorCode::kUnprocessable);
}

TEST(DataTypes, NamesRoundTrip) {
  for (const char* n : {"BOOL", "INT8", "INT64", "UINT64", "FP16", "FP32", "FP64", "BYTES"}) {
    auto t = ParseDataType(n);
    ASSERT_TRUE(t.has_value()) << n;
    EXPECT_EQ(DataTypeName(*t), n);
  }
  EXPECT_FALSE(ParseDataType("FLOAT").has_value());
  EXPECT_EQ(ParseFramework("onnx"), Framework::kOnnx);
  EXPECT_FALSE(ParseFramework("tensorflow").has_value());
}

}  // namespace
}  // namespace c19ai::ml
