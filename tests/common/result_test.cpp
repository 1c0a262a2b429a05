#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace c19ai {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Error::InvalidArgument("odd: " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  C19_ASSIGN_OR_RETURN(int h, Half(v));
  C19_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status Check(int v) {
  C19_TRY(Half(v));
  return OkStatus();
}

TEST(ResultTest, CarriesValueOrError) {
  auto ok = Half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "odd: 3");
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).error().message, "odd: 3");
  EXPECT_TRUE(Check(2).ok());
  EXPECT_EQ(Check(1).error().code, ErrorCode::kInvalidArgument);
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ErrorTest, FieldDetailsAndContext) {
  Error e = Error::Field("epochs", "field \"epochs\" must be positive");
  EXPECT_EQ(e.details, R"({"field":"epochs"})");
  Error c = std::move(e).Context("training spec");
  EXPECT_EQ(c.message, "training spec: field \"epochs\" must be positive");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kFailedPrecondition), "failed_precondition");
}

}  // namespace
}  // namespace c19ai
