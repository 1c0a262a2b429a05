// Sweep specifications: sweepable paths, grid and seeded random trials, field-level errors that name
// the parameter whose value makes an invalid job; experiment params flattened to dotted paths.

#include <gtest/gtest.h>

#include "training/training.h"

namespace c19ai::training {
namespace {

Json Body(Json search) {
  Json b = Json::parse(R"({"name":"s","base":{"dataset":"iris","target":"species","experiment":"e",
    "model":{"architecture":"mlp","params":{"hidden":[8]}},"optimizer":{"type":"adam","lr":0.01}}})");
  b["search"] = std::move(search);
  return b;
}

std::string FieldOf(const Error& e) {
  Json d = Json::parse(e.details.empty() ? "{}" : e.details);
  return d.value("field", "");
}

TEST(SweepSpecTest, GridDefaultsToEveryCombinationAndInheritsTheObjective) {
  auto s = ParseSweepSpec(Body(Json::parse(R"({"method":"grid","parameters":{
      "optimizer.lr":[0.1,0.01,0.001],"model.params.hidden":[[8],[16,16]]}})")));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->max_trials, 0);  // every combination: 6
  EXPECT_EQ(s->experiment, "e");
  EXPECT_EQ(s->metric, "accuracy");
  EXPECT_TRUE(s->maximize);
  EXPECT_EQ(s->parallelism, 2);
  EXPECT_FALSE(s->median_stopping);
}

TEST(SweepSpecTest, RandomRangesNeedMethodRandomAndValidBounds) {
  auto grid_range = ParseSweepSpec(Body(Json::parse(R"({"method":"grid","parameters":{
      "optimizer.lr":{"min":0.001,"max":0.1}}})")));
  ASSERT_FALSE(grid_range.ok());
  EXPECT_EQ(FieldOf(grid_range.error()), "search.parameters.optimizer.lr");
  auto log_zero = ParseSweepSpec(Body(Json::parse(R"({"method":"random","parameters":{
      "optimizer.lr":{"min":0,"max":0.1,"scale":"log"}}})")));
  ASSERT_FALSE(log_zero.ok());
  EXPECT_EQ(FieldOf(log_zero.error()), "search.parameters.optimizer.lr.min");
  auto ok = ParseSweepSpec(Body(Json::parse(R"({"method":"random","parameters":{
      "optimizer.lr":{"min":0.0001,"max":0.1,"scale":"log"},"batch_size":{"min":8,"max":64,"type":"int"}}})")));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->max_trials, 10);  // random's default
  ASSERT_EQ(ok->parameters.size(), 2u);
  EXPECT_TRUE(ok->parameters[0].integer);  // batch_size (parameters are in name order)
}

TEST(SweepSpecTest, OnlySweepablePathsAndValuesThatMakeValidJobs) {
  auto path = ParseSweepSpec(Body(Json::parse(R"({"parameters":{"dataset":["a","b"]}})")));
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(FieldOf(path.error()), "search.parameters.dataset");
  EXPECT_NE(path.error().message.find("optimizer.lr"), std::string::npos) << path.error().message;
  auto value = ParseSweepSpec(Body(Json::parse(R"({"parameters":{"optimizer.lr":[0.1,-5]}})")));
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(FieldOf(value.error()), "search.parameters.optimizer.lr");
  EXPECT_NE(value.error().message.find("trial 2"), std::string::npos) << value.error().message;
  auto hidden = ParseSweepSpec(Body(Json::parse(R"({"parameters":{"model.params.hidden":["wide"]}})")));
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(FieldOf(hidden.error()), "search.parameters.model.params.hidden");
  Json big = Body(Json::parse(R"({"parameters":{"seed":[],"epochs":[]}})"));
  for (int i = 0; i < 30; ++i) {
    big["search"]["parameters"]["seed"].push_back(i);
    big["search"]["parameters"]["epochs"].push_back(i + 1);
  }
  auto too_many = ParseSweepSpec(big);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(FieldOf(too_many.error()), "max_trials");
  big["max_trials"] = 20;
  EXPECT_TRUE(ParseSweepSpec(big).ok());
}

TEST(SweepSpecTest, ObjectiveAndEarlyTermination) {
  Json b = Body(Json::parse(R"({"parameters":{"optimizer.lr":[0.1]}})"));
  b["objective"] = {{"metric", "log_loss"}};
  b["early_termination"] = {{"policy", "median"}, {"grace_epochs", 2}, {"min_trials", 4}};
  auto s = ParseSweepSpec(b);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->metric, "log_loss");
  EXPECT_FALSE(s->maximize);  // log_loss: lower is better
  EXPECT_TRUE(s->median_stopping);
  EXPECT_EQ(s->grace_epochs, 2);
  EXPECT_EQ(s->min_trials, 4);
  b["objective"] = {{"metric", "r2"}};  // not a classification metric
  auto bad = ParseSweepSpec(b);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(FieldOf(bad.error()), "objective.metric");
  b.erase("objective");
  b["base"].erase("dataset");
  auto base = ParseSweepSpec(b);
  ASSERT_FALSE(base.ok());
  EXPECT_EQ(FieldOf(base.error()), "base.dataset");
}

TEST(SweepSpecTest, SweepablePathsAreDocumented) {
  const auto& paths = SweepablePaths();
  ASSERT_GE(paths.size(), 8u);
  for (const auto& [p, doc] : paths) EXPECT_FALSE(doc.empty()) << p;
}

TEST(FlattenSpecTest, DottedPathsWithScalarAndListLeaves) {
  auto s = ParseJobSpec(Json::parse(R"({"dataset":"iris","target":"species","tags":{"team":"vision"},
    "model":{"architecture":"mlp","params":{"hidden":[8,4]}},"optimizer":{"type":"sgd","lr":0.5}})"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  auto flat = FlattenSpec(*s);
  EXPECT_EQ(flat["optimizer.type"], "sgd");
  EXPECT_EQ(flat["optimizer.lr"], "0.5");
  EXPECT_EQ(flat["model.params.hidden"], "[8,4]");
  EXPECT_EQ(flat["tags.team"], "vision");
  EXPECT_EQ(flat["batch_size"], "32");
}

}  // namespace
}  // namespace c19ai::training
