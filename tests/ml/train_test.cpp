// The MLP trainer and XGBoost boosting on a small synthetic problem: they learn, the metrics are
// sklearn's, checkpoints restore the exact continuation, and bad settings name their field.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/json.h"
#include "ml/train.h"

namespace c19ai::ml {
namespace {

// Three Gaussian blobs in 4 dimensions (classification), or y = 3 x0 - 2 x1 + noise (regression).
Split Blobs(int n, uint64_t seed, bool regression = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0, 0.5f);
  Split s;
  s.x.rows = n;
  s.x.cols = 4;
  for (int i = 0; i < n; ++i) {
    int c = i % 3;
    for (int j = 0; j < 4; ++j) s.x.values.push_back(static_cast<float>(c * (j % 2 ? 2 : -2)) + noise(rng));
    const float* x = &s.x.values[static_cast<size_t>(i) * 4];
    s.y.push_back(regression ? 3 * x[0] - 2 * x[1] + noise(rng) * 0.1f : static_cast<float>(c));
  }
  return s;
}

MlpTrainSpec Classifier() {
  MlpTrainSpec s;
  s.classes = 3;
  s.params_json = R"({"hidden":[16],"dropout":0.1})";
  s.optimizer.type = "adam";
  s.optimizer.lr = 0.01;
  s.scheduler.type = "step";
  s.scheduler.step_size = 3;
  s.scheduler.gamma = 0.5;
  s.epochs = 8;
  s.batch_size = 8;
  s.seed = 3;
  return s;
}

TEST(MetricsTest, MatchSklearnDefinitions) {
  // y = [0, 1, 2, 1], predictions argmax = [0, 2, 2, 1]
  std::vector<float> p = {0.8f, 0.1f, 0.1f, 0.1f, 0.3f, 0.6f, 0.2f, 0.2f, 0.6f, 0.1f, 0.7f, 0.2f};
  auto m = ClassificationMetrics(p, 3, {0, 1, 2, 1});
  EXPECT_DOUBLE_EQ(m["accuracy"], 0.75);
  // per class F1: c0 1.0, c1 2/3, c2 2/3 → macro 7/9 (sklearn.metrics.f1_score average="macro")
  EXPECT_NEAR(m["f1_macro"], 7.0 / 9.0, 1e-12);
  EXPECT_NEAR(m["log_loss"], -(std::log(0.8) + std::log(0.3) + std::log(0.6) + std::log(0.7)) / 4, 1e-6);
  auto r = RegressionMetrics({1, 2, 3}, {1, 2, 4});
  EXPECT_NEAR(r["rmse"], std::sqrt(1.0 / 3), 1e-12);
  EXPECT_NEAR(r["mae"], 1.0 / 3, 1e-12);
  EXPECT_NEAR(r["r2"], 1 - 1.0 / (42.0 / 9.0), 1e-12);  // ss_res 1, ss_tot 42/9
  EXPECT_TRUE(HigherIsBetter("accuracy"));
  EXPECT_FALSE(HigherIsBetter("rmse"));
}

TEST(MlpTrainerTest, LearnsAndReportsEachEpoch) {
  auto t = MlpTrainer::Create(Classifier(), Blobs(300, 1), Blobs(60, 2));
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EpochStats first, last;
  for (int e = 1; e <= 8; ++e) {
    auto s = (*t)->RunEpoch({});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    EXPECT_EQ(s->epoch, e);
    if (e == 1) first = *s;
    last = *s;
  }
  EXPECT_LT(last.train_loss, first.train_loss);
  EXPECT_GE(last.val_metrics["accuracy"], 0.95);
  EXPECT_DOUBLE_EQ(first.lr, 0.01);
  EXPECT_DOUBLE_EQ(last.lr, 0.0025);  // StepLR(3, 0.5): epochs 7-8 run at 0.01 / 4
  EXPECT_GT(last.samples_per_s, 0);
  EXPECT_EQ((*t)->PredictValidation().size(), 60u * 3);
}

TEST(MlpTrainerTest, ACheckpointContinuesExactlyLikeTheUninterruptedRun) {
  auto straight = MlpTrainer::Create(Classifier(), Blobs(300, 1), Blobs(60, 2));
  ASSERT_TRUE(straight.ok());
  for (int e = 0; e < 8; ++e) ASSERT_TRUE((*straight)->RunEpoch({}).ok());

  auto first = MlpTrainer::Create(Classifier(), Blobs(300, 1), Blobs(60, 2));
  ASSERT_TRUE(first.ok());
  for (int e = 0; e < 4; ++e) ASSERT_TRUE((*first)->RunEpoch({}).ok());
  std::string ckpt = (*first)->Checkpoint();
  // Something else trains in between (the process-wide generator moves on).
  for (int e = 0; e < 2; ++e) ASSERT_TRUE((*first)->RunEpoch({}).ok());

  auto resumed = MlpTrainer::Create(Classifier(), Blobs(300, 1), Blobs(60, 2));
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->Restore(ckpt).ok());
  EXPECT_EQ((*resumed)->epochs_done(), 4);
  for (int e = 0; e < 4; ++e) ASSERT_TRUE((*resumed)->RunEpoch({}).ok());
  EXPECT_EQ((*resumed)->Weights(), (*straight)->Weights());
  EXPECT_FALSE((*resumed)->Restore("garbage").ok());
}

TEST(MlpTrainerTest, ReportsTheLossEveryNSteps) {
  auto t = MlpTrainer::Create(Classifier(), Blobs(300, 1), Blobs(60, 2));  // batch 8: 38 steps an epoch
  ASSERT_TRUE(t.ok());
  std::vector<StepStats> seen;
  auto collect = [&](const StepStats& s) { seen.push_back(s); };
  ASSERT_TRUE((*t)->RunEpoch({}, collect, 10).ok());
  ASSERT_TRUE((*t)->RunEpoch({}, collect, 10).ok());
  ASSERT_EQ(seen.size(), 7u);  // steps 10, 20, ... 70 of 76, counted across epochs
  EXPECT_EQ(seen[0].step, 10);
  EXPECT_EQ(seen[0].epoch, 1);
  EXPECT_EQ(seen[3].step, 40);
  EXPECT_EQ(seen[3].epoch, 2);
  EXPECT_GT(seen[0].loss, seen[6].loss);
  EXPECT_DOUBLE_EQ(seen[0].lr, 0.01);
}

TEST(MlpTrainerTest, CancelAbortsTheEpochAndAugmentationStillLearns) {
  MlpTrainSpec spec = Classifier();
  spec.noise_std = 0.1;
  spec.mixup_alpha = 0.2;
  auto t = MlpTrainer::Create(spec, Blobs(300, 1), Blobs(60, 2));
  ASSERT_TRUE(t.ok());
  int calls = 0;
  auto r = (*t)->RunEpoch([&] { return ++calls > 3; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAborted);
  EXPECT_EQ((*t)->epochs_done(), 0);
  for (int e = 0; e < 8; ++e) ASSERT_TRUE((*t)->RunEpoch({}).ok());
  auto s = (*t)->RunEpoch({});
  ASSERT_TRUE(s.ok());
  EXPECT_GE(s->val_metrics["accuracy"], 0.9);
}

TEST(MlpTrainerTest, RegressionReportsMetricsInTheOriginalUnits) {
  MlpTrainSpec spec;
  spec.task = Task::kRegression;
  spec.params_json = R"({"hidden":[16]})";
  spec.optimizer.lr = 0.01;
  spec.epochs = 30;
  spec.batch_size = 16;
  spec.target_scale = 10;  // the targets below are in units of 10
  spec.target_mean = 5;
  auto t = MlpTrainer::Create(spec, Blobs(300, 1, true), Blobs(60, 2, true));
  ASSERT_TRUE(t.ok());
  EpochStats s;
  for (int e = 0; e < 30; ++e) s = *(*t)->RunEpoch({});
  EXPECT_GT(s.val_metrics["r2"], 0.95);
  EXPECT_LT(s.val_metrics["rmse"], 10.0);  // scaled back: a plain-unit RMSE would be < 1
  EXPECT_GT(s.val_metrics["rmse"], s.val_metrics["mae"]);
}

TEST(MlpTrainerTest, BadSettingsNameTheirField) {
  MlpTrainSpec spec = Classifier();
  spec.params_json = R"({"hidden":[0]})";
  auto t = MlpTrainer::Create(spec, Blobs(30, 1), Blobs(9, 2));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().details.find("model.params.hidden"), std::string::npos) << t.error().details;
  EXPECT_FALSE(ValidateMlpParams(R"({"activation":"swish"})").ok());
  EXPECT_TRUE(ValidateMlpParams(R"({"hidden":[8,8],"activation":"gelu","batch_norm":true})").ok());
  spec = Classifier();
  spec.classes = 1;
  EXPECT_FALSE(MlpTrainer::Create(spec, Blobs(30, 1), Blobs(9, 2)).ok());
}

TEST(GbtreeTest, BoostsStopsEarlyAndKeepsTheBestRound) {
  GbtreeSpec spec;
  spec.classes = 3;
  spec.num_rounds = 200;
  spec.max_depth = 2;
  spec.eta = 0.3;
  int rounds_seen = 0, models = 0;
  auto r = TrainGbtree(
      spec, Blobs(300, 1), Blobs(60, 2), "log_loss", 5, 1e-4, "", [](int64_t round) { return round % 10 == 0; },
      [&](const GbtreeRound& g) {
        ++rounds_seen;
        models += g.booster_json.empty() ? 0 : 1;
        return true;
      });
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_LT(r->rounds, 200);  // stopped early
  EXPECT_EQ(rounds_seen, r->rounds);
  EXPECT_EQ(models, r->rounds / 10);
  EXPECT_LE(r->best_round, r->rounds);
  EXPECT_GE(r->best.val_metrics["accuracy"], 0.95);
  // The saved booster is a loadable model cut at the best round.
  auto model = LoadModel(Framework::kXgboost, r->best_booster_json, {});
  ASSERT_TRUE(model.ok()) << model.error().ToString();
}

TEST(GbtreeTest, CancelStopsAndParamsAreChecked) {
  GbtreeSpec spec;
  spec.classes = 3;
  auto r = TrainGbtree(spec, Blobs(90, 1), Blobs(30, 2), "accuracy", 0, 0, "", {},
                       [](const GbtreeRound& g) { return g.stats.epoch < 3; });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->rounds, 3);
  GbtreeSpec parsed;
  EXPECT_TRUE(ParseGbtreeParams(R"({"num_rounds":50,"max_depth":4,"eta":0.1,"subsample":0.8})", parsed).ok());
  EXPECT_EQ(parsed.num_rounds, 50);
  auto bad = ParseGbtreeParams(R"({"depth":4})", parsed);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().details.find("model.params.depth"), std::string::npos);
}

}  // namespace
}  // namespace c19ai::ml
