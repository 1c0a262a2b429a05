#include "common/text.h"

#include <gtest/gtest.h>

namespace c19ai {
namespace {

TEST(TextTest, PercentDecoding) {
  std::string out;
  EXPECT_TRUE(PercentDecode("..%2F..%2Fetc%2Fpasswd", out));
  EXPECT_EQ(out, "../../etc/passwd");
  EXPECT_TRUE(PercentDecode("a+b%20c", out, true));
  EXPECT_EQ(out, "a b c");
  EXPECT_TRUE(PercentDecode("a+b", out));
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(PercentDecode("%4", out));
  EXPECT_FALSE(PercentDecode("%zz", out));
  EXPECT_FALSE(PercentDecode("abc%", out));
}

TEST(TextTest, JsonQuoting) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
}

TEST(TextTest, SizesAndDurations) {
  int64_t v;
  ASSERT_TRUE(ParseByteSize("16MiB", v));
  EXPECT_EQ(v, 16 << 20);
  ASSERT_TRUE(ParseByteSize("512", v));
  EXPECT_EQ(v, 512);
  ASSERT_TRUE(ParseByteSize("1.5 GB", v));
  EXPECT_EQ(v, 1'500'000'000);
  EXPECT_FALSE(ParseByteSize("lots", v));
  EXPECT_FALSE(ParseByteSize("5 parsecs", v));
  ASSERT_TRUE(ParseDurationMs("250ms", v));
  EXPECT_EQ(v, 250);
  ASSERT_TRUE(ParseDurationMs("30", v));
  EXPECT_EQ(v, 30000);
  ASSERT_TRUE(ParseDurationMs("2h", v));
  EXPECT_EQ(v, 7'200'000);
  EXPECT_FALSE(ParseDurationMs("soon", v));
}

TEST(TextTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(TextTest, SplitJoinLower) {
  EXPECT_EQ(Split("a,,b", ',').size(), 3u);
  EXPECT_EQ(Split("a,,b", ',', true).size(), 2u);
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
  EXPECT_EQ(ToLower("AbC"), "abc");
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_EQ(Trim("  x \n"), "x");
}

}  // namespace
}  // namespace c19ai
