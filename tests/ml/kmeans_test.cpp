// k-means against Debian's python3-sklearn on real data (wine, breast cancer): inertia within a few
// percent of KMeans(n_init=10) for several k, silhouette equal to silhouette_score on the same labels;
// parameters name their field. And the autoencoder trainer: it learns to reconstruct, and its bundle
// embeds rows.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "common/json.h"
#include "ml/ml.h"
#include "ml/train.h"

#ifndef C19AI_SOURCE_DIR
#error "tests/ml/CMakeLists.txt defines C19AI_SOURCE_DIR"
#endif

namespace c19ai::ml {
namespace {

const Json& Reference() {
  static const Json ref = [] {
    std::string text;
    const std::string cmd = std::string("/usr/bin/python3 ") + C19AI_SOURCE_DIR + "/tests/ml/kmeans_reference.py";
    if (FILE* pipe = popen(cmd.c_str(), "r")) {
      char buf[65536];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
      pclose(pipe);
    }
    return Json::parse(text, nullptr, false);
  }();
  return ref;
}

Matrix Data(const Json& d) {
  Matrix m;
  m.rows = d["rows"].get<int64_t>();
  m.cols = d["cols"].get<int64_t>();
  m.values = d["x"].get<std::vector<float>>();
  return m;
}

TEST(KMeans, InertiaMatchesScikitLearnOnRealData) {
  ASSERT_FALSE(Reference().is_discarded()) << "tests/ml/kmeans_reference.py failed: install python3-sklearn";
  for (const char* name : {"wine", "breast_cancer"}) {
    const Json& d = Reference()[name];
    Matrix x = Data(d);
    for (const Json& c : d["cases"]) {
      KMeansSpec spec;
      spec.k = c["k"].get<int64_t>();
      spec.n_init = 10;
      spec.seed = 1;
      spec.threads = 2;
      auto t0 = std::chrono::steady_clock::now();
      auto r = TrainKMeans(spec, x);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_TRUE(r.ok()) << r.error().message;
      const double ref = c["inertia"].get<double>();
      std::printf("%s k=%lld: inertia %.2f, scikit-learn %.2f (%+.2f %%), %.1f ms\n", name,
                  static_cast<long long>(spec.k), r->inertia, ref, 100 * (r->inertia - ref) / ref, ms);
      EXPECT_LT(r->inertia, ref * 1.03) << name << " k=" << spec.k;
      EXPECT_GT(r->inertia, ref * 0.97) << name << " k=" << spec.k;
      // The labels are the nearest centroids, and the inertia is theirs.
      double inertia = 0;
      EXPECT_EQ(NearestCentroids(x, r->centroids, 1, &inertia), r->labels);
      EXPECT_NEAR(inertia, r->inertia, 1e-6 * r->inertia);
    }
  }
}

TEST(KMeans, RandomInitAndOneRunStayClose) {
  ASSERT_FALSE(Reference().is_discarded());
  const Json& d = Reference()["wine"];
  Matrix x = Data(d);
  KMeansSpec spec;
  spec.k = 3;
  spec.init = "random";
  spec.n_init = 3;
  auto r = TrainKMeans(spec, x);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(r->inertia, d["cases"][1]["inertia"].get<double>() * 1.05);
}

TEST(KMeans, SilhouetteEqualsScikitLearn) {
  ASSERT_FALSE(Reference().is_discarded());
  for (const char* name : {"wine", "breast_cancer"}) {
    const Json& d = Reference()[name];
    Matrix x = Data(d);
    for (const Json& c : d["cases"]) {
      auto labels = c["labels"].get<std::vector<int32_t>>();
      EXPECT_NEAR(Silhouette(x, labels, 0, 1, 2), c["silhouette"].get<double>(), 1e-4) << name << " k=" << c["k"];
    }
  }
}

TEST(KMeans, SameSeedSameCentroids) {
  const Json& d = Reference()["wine"];
  Matrix x = Data(d);
  KMeansSpec spec;
  spec.k = 4;
  auto a = TrainKMeans(spec, x), b = TrainKMeans(spec, x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->centroids, b->centroids);
}

TEST(KMeans, StopsWhenAsked) {
  const Json& d = Reference()["wine"];
  int seen = 0;
  auto r = TrainKMeans(KMeansSpec{.k = 3}, Data(d), [&](const KMeansIteration&) { return ++seen < 2; });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(seen, 2);
}

TEST(KMeans, ParamsNameTheirField) {
  KMeansSpec s;
  auto field = [&](const char* json) {
    Status st = ParseKMeansParams(json, s);
    return st.ok() ? std::string() : Json::parse(st.error().details)["field"].get<std::string>();
  };
  EXPECT_EQ(field(R"({"k": 0})"), "model.params.k");
  EXPECT_EQ(field(R"({"init": "kmeans||"})"), "model.params.init");
  EXPECT_EQ(field(R"({"max_iter": 0})"), "model.params.max_iter");
  EXPECT_EQ(field(R"({"tol": -1})"), "model.params.tol");
  EXPECT_EQ(field(R"({"n_init": 0})"), "model.params.n_init");
  EXPECT_EQ(field(R"({"clusters": 3})"), "model.params.clusters");
  EXPECT_EQ(field(R"({"k": 5, "init": "random", "max_iter": 50, "tol": 0.001, "n_init": 2})"), "");
  EXPECT_EQ(s.k, 5);
  Matrix tiny{{0, 1, 2}, 3, 1};
  auto r = TrainKMeans(KMeansSpec{.k = 4}, tiny);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Json::parse(r.error().details)["field"], "model.params.k");
}

// Points on a 2-d plane embedded in 6 dimensions: a 2-d bottleneck can reconstruct them.
Split Plane(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  Split s;
  s.x.rows = n;
  s.x.cols = 6;
  for (int i = 0; i < n; ++i) {
    float a = g(rng), b = g(rng);
    for (float v : {a, b, a + b, a - b, 0.5f * a, -b}) s.x.values.push_back(v);
  }
  return s;
}

TEST(Autoencoder, LearnsToReconstructAndItsBundleEmbeds) {
  MlpTrainSpec spec;
  spec.task = Task::kEmbedding;
  spec.params_json = R"({"hidden": 16, "embedding_dim": 2, "activation": "tanh"})";
  spec.optimizer.type = "adam";
  spec.optimizer.lr = 0.01;
  spec.epochs = 40;
  spec.batch_size = 32;
  auto t = MlpTrainer::Create(spec, Plane(512, 1), Plane(128, 2));
  ASSERT_TRUE(t.ok()) << t.error().message;
  double first = 0, last = 0;
  for (int e = 1; e <= spec.epochs; ++e) {
    auto s = (*t)->RunEpoch({});
    ASSERT_TRUE(s.ok()) << s.error().message;
    if (e == 1) first = s->val_loss;
    last = s->val_loss;
    EXPECT_TRUE(s->val_metrics.empty());
  }
  EXPECT_LT(last, 0.05);
  EXPECT_LT(last, first / 5);

  BundleManifest m;
  m.task = Task::kEmbedding;
  m.architecture = "autoencoder";
  m.params_json = spec.params_json;
  for (int i = 0; i < 6; ++i) m.features.push_back({.name = "f" + std::to_string(i)});
  BundleWeights w;
  w.torch_state = (*t)->Weights();
  auto model = LoadModel(Framework::kTorch, WriteBundle(m, w), {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  std::vector<Row> rows = {{1.0, 2.0, 3.0, -1.0, 0.5, -2.0}, {0.0, 0.0, 0.0, 0.0, 0.0, 0.0}};
  auto e = (*model)->Embed(rows);
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].size(), 2u);
  EXPECT_NE((*e)[0], (*e)[1]);
  // PredictRows answers the same embedding as its output tensor.
  auto p = (*model)->PredictRows(rows);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->outputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(static_cast<float>(p->outputs[0].values[1]), (*e)[0][1]);
  // A checkpoint restores the exact continuation.
  std::string ckpt = (*t)->Checkpoint();
  auto again = MlpTrainer::Create(spec, Plane(512, 1), Plane(128, 2));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Restore(ckpt).ok());
  EXPECT_EQ((*again)->Weights(), (*t)->Weights());
}

TEST(Autoencoder, ParamsNameTheirField) {
  auto field = [](const char* json) {
    Status st = ValidateAutoencoderParams(json);
    return st.ok() ? std::string() : Json::parse(st.error().details)["field"].get<std::string>();
  };
  EXPECT_EQ(field(R"({"embedding_dim": 0})"), "model.params.embedding_dim");
  EXPECT_EQ(field(R"({"hidden": "big"})"), "model.params.hidden");
  EXPECT_EQ(field(R"({"activation": "swish"})"), "model.params.activation");
  EXPECT_EQ(field(R"({"layers": 2})"), "model.params.layers");
  EXPECT_EQ(field(R"({"hidden": [32, 16], "embedding_dim": 4, "dropout": 0.1})"), "");
}

TEST(KMeansBundle, ClusteringModelsDoNotEmbed) {
  BundleManifest m;
  m.task = Task::kClustering;
  m.architecture = "kmeans";
  m.features = {{.name = "a"}, {.name = "b"}};
  BundleWeights w;
  w.centroids = {0, 0, 5, 5};
  auto model = LoadModel(Framework::kKMeans, WriteBundle(m, w), {});
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto e = (*model)->Embed({{1.0, 1.0}});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace c19ai::ml
