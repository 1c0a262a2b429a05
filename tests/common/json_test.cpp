#include "common/json.h"

#include <gtest/gtest.h>

namespace c19ai {
namespace {

TEST(JsonTest, ParseErrorsNameThePosition) {
  auto r = ParseJson(R"({"a": 1,, })");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("byte 9"), std::string::npos) << r.error().message;
  EXPECT_EQ(Json::parse(r.error().details)["position"], 9);
}

TEST(JsonTest, ObjectRequired) {
  EXPECT_FALSE(ParseJsonObject("[1,2]").ok());
  EXPECT_FALSE(ParseJsonObject("   ").ok());
  EXPECT_TRUE(ParseJsonObject("{}").ok());
}

TEST(FieldReaderTest, ReadsTypedFieldsAndRefusesUnknownOnes) {
  Json j = Json::parse(R"({"name":"x","epochs":10,"lr":0.1,"on":true,"tags":["a","b"],"extra":1})");
  FieldReader r(j);
  EXPECT_EQ(r.String("name"), "x");
  EXPECT_EQ(r.OptInt("epochs", 1, 100), 10);
  EXPECT_DOUBLE_EQ(*r.OptNumber("lr"), 0.1);
  EXPECT_EQ(r.OptBool("on"), true);
  EXPECT_EQ(r.OptStringList("tags")->size(), 2u);
  Status st = r.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "unknown field \"extra\"");
  EXPECT_EQ(Json::parse(st.error().details)["field"], "extra");
}

TEST(FieldReaderTest, FirstErrorNamesNestedPath) {
  Json j = Json::parse(R"({"lr":"fast","epochs":0})");
  FieldReader r(j, "optimizer");
  r.OptNumber("lr");
  r.OptInt("epochs", 1, 10);
  Status st = r.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "field \"optimizer.lr\" must be a number, got \"fast\"");
}

TEST(FieldReaderTest, RequiredAndRange) {
  Json j = Json::parse(R"({"epochs":0})");
  FieldReader r(j);
  r.String("name");
  EXPECT_EQ(r.Finish().error().message, "field \"name\" is required");
  FieldReader r2(j);
  r2.OptInt("epochs", 1, 100000);
  EXPECT_EQ(r2.Finish().error().message, "field \"epochs\" must be between 1 and 100000, got 0");
}

}  // namespace
}  // namespace c19ai
