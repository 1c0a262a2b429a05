// Job specs (field-level errors, round trips of the stored form) and data preparation (split,
// preprocessing fitted on the training rows only, labels, target scaling).

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "training/pipeline.h"
#include "training/training.h"

namespace c19ai::training {
namespace {

Json Base() {
  return Json::parse(R"({"dataset":"iris","target":"species",
    "model":{"model_type":"classification","architecture":"mlp","params":{"hidden":[8]}}})");
}

std::string FieldOf(const Result<JobSpec>& r) {
  if (r.ok()) return "(ok)";
  Json d = Json::parse(r.error().details.empty() ? "{}" : r.error().details);
  return d.value("field", "");
}

TEST(JobSpecTest, DefaultsAndRoundTrip) {
  Json body = Base();
  body["optimizer"] = {{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}};
  body["scheduler"] = {{"type", "reduce_on_plateau"}, {"patience", 2}, {"metric", "accuracy"}, {"mode", "max"}};
  body["early_stopping"] = {{"patience", 4}};
  body["register"] = {{"model_name", "iris"}};
  auto s = ParseJobSpec(body);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->metric, "accuracy");
  EXPECT_EQ(s->early_stopping_metric, "accuracy");
  EXPECT_EQ(s->optimizer.momentum, 0.9);
  EXPECT_EQ(s->epochs, 20);
  // The stored form parses back to the same spec.
  Json stored = SpecToJson(*s);
  auto again = ParseJobSpec(stored);
  ASSERT_TRUE(again.ok()) << again.error().ToString() << "\n" << stored.dump();
  EXPECT_EQ(SpecToJson(*again), stored);
  EXPECT_EQ(stored["scheduler"]["metric"], "accuracy");
  EXPECT_FALSE(stored["model"]["params"].contains("__plateau_metric"));
}

TEST(JobSpecTest, PyTorchDefaultsPerOptimizer) {
  Json body = Base();
  body["optimizer"] = {{"type", "adadelta"}};
  auto s = ParseJobSpec(body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->optimizer.lr, 1.0);
  EXPECT_EQ(s->optimizer.eps, 1e-6);
  body["optimizer"] = {{"type", "adamw"}};
  EXPECT_EQ(ParseJobSpec(body)->optimizer.weight_decay, 0.01);
  body["optimizer"] = {{"type", "adagrad"}};
  EXPECT_EQ(ParseJobSpec(body)->optimizer.eps, 1e-10);
}

TEST(JobSpecTest, ErrorsNameTheField) {
  struct Case {
    const char* patch;
    const char* field;
  } cases[] = {
      {R"({"colour":1})", "colour"},
      {R"({"epochs":0})", "epochs"},
      {R"({"dataset":null})", "dataset"},
      {R"({"optimizer":{"type":"adam","momentum":0.9}})", "optimizer.momentum"},
      {R"({"optimizer":{"type":"rmsprop","alpha":2}})", "optimizer.alpha"},
      {R"({"scheduler":{"type":"multi_step","milestones":[0]}})", "scheduler.milestones"},
      {R"({"scheduler":{"type":"exponential","step_size":2}})", "scheduler.step_size"},
      {R"({"validation":{"metric":"rmse"}})", "validation.metric"},
      {R"({"early_stopping":{"metric":"r2"}})", "early_stopping.metric"},
      {R"({"model":{"architecture":"gbtree","framework":"torch"}})", "model.framework"},
      {R"({"model":{"architecture":"gbtree","params":{"hidden":null,"rounds":3}}})", "model.params.rounds"},
      {R"({"model":{"architecture":"mlp","params":{"dropout":1.5}}})", "model.params.dropout"},
      {R"({"augmentation":{"mixup_alpha":-1}})", "augmentation.mixup_alpha"},
      {R"({"register":{}})", "register.model_name"},
      {R"({"features":["species"]})", "features"},
  };
  for (const auto& c : cases) {
    Json body = Base();
    body.merge_patch(Json::parse(c.patch));
    EXPECT_EQ(FieldOf(ParseJobSpec(body)), c.field) << c.patch;
  }
}

internal::Table Iris() {
  internal::Table t;
  t.columns = {"x", "colour", "species"};
  const char* colours[] = {"red", "blue", "red", ""};
  for (int i = 0; i < 40; ++i) {
    std::optional<std::string> x = i == 5 ? std::nullopt : std::optional<std::string>(std::to_string(i));
    std::optional<std::string> colour = colours[i % 4][0] ? std::optional<std::string>(colours[i % 4]) : std::nullopt;
    std::optional<std::string> y = i == 7 ? std::nullopt : std::optional<std::string>(i % 2 ? "1.0" : "0");
    t.rows.push_back({x, colour, y});
  }
  return t;
}

TEST(PipelineTest, SplitsFitsOnTrainingRowsAndEncodes) {
  JobSpec spec = *ParseJobSpec(Base());
  auto p = internal::Prepare(spec, Iris());
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->dropped, 1);
  EXPECT_EQ(p->labels, (std::vector<std::string>{"0", "1"}));  // "1.0" and "1" are one class
  EXPECT_EQ(p->validation.x.rows, 8);                          // round(0.2 * 39)
  EXPECT_EQ(p->train.x.rows, 31);
  ASSERT_EQ(p->features.size(), 2u);
  EXPECT_FALSE(p->features[0].categorical);
  EXPECT_TRUE(p->features[1].categorical);
  EXPECT_EQ(p->features[1].vocabulary, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(p->train.x.cols, 3);
  // Standardised with the training rows' statistics: their encoded column has mean 0.
  double sum = 0;
  for (int64_t r = 0; r < p->train.x.rows; ++r) sum += p->train.x.values[static_cast<size_t>(r * 3)];
  EXPECT_NEAR(sum / static_cast<double>(p->train.x.rows), 0.0, 1e-5);
  // The same seed gives the same split; another seed another one.
  auto same = internal::Prepare(spec, Iris());
  EXPECT_EQ(same->validation.x.values, p->validation.x.values);
  spec.seed = 99;
  EXPECT_NE(internal::Prepare(spec, Iris())->validation.x.values, p->validation.x.values);
}

TEST(PipelineTest, RegressionScalesTheTargetAndRefusesText) {
  Json body = Base();
  body["model"]["model_type"] = "regression";
  JobSpec spec = *ParseJobSpec(body);
  internal::Table t = Iris();
  auto p = internal::Prepare(spec, t);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_GT(p->target_scale, 0.4);
  double mean = 0;
  for (float v : p->train.y) mean += v;
  EXPECT_NEAR(mean / static_cast<double>(p->train.y.size()), 0.0, 1e-5);
  t.rows[3][2] = "tall";
  auto bad = internal::Prepare(spec, t);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("tall"), std::string::npos);
  spec.target = "nope";
  EXPECT_FALSE(internal::Prepare(spec, t).ok());
}

TEST(PipelineTest, ReadsCsvAndJsonLines) {
  auto csv = storage::StringSource("a,b\n1,\"x, y\"\n2,\n");
  auto t = internal::ReadTable(*csv, "csv", ',', true);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(*t->rows[0][1], "x, y");
  EXPECT_FALSE(t->rows[1][1].has_value() && !t->rows[1][1]->empty());
  auto jsonl = storage::StringSource("{\"a\":1}\n{\"a\":2,\"b\":\"z\"}\n");
  auto j = internal::ReadTable(*jsonl, "jsonl", ',', true);
  ASSERT_TRUE(j.ok()) << j.error().ToString();
  EXPECT_EQ(j->columns.size(), 2u);
  EXPECT_EQ(j->rows[0].size(), 2u);
  auto broken = storage::StringSource("a,b\n1,\"open\n");
  EXPECT_FALSE(internal::ReadTable(*broken, "csv", ',', true).ok());
}

}  // namespace
}  // namespace c19ai::training
