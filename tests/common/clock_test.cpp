#include "common/clock.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace c19ai {
namespace {

TEST(ClockTest, Rfc3339RoundTrip) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1795746811123), "2026-11-27T02:33:31.123Z");
  EXPECT_EQ(ParseRfc3339("2026-11-27T02:33:31.123Z"), 1795746811123);
  EXPECT_EQ(ParseRfc3339("2026-11-27T04:33:31.123+02:00"), 1795746811123);
  EXPECT_EQ(ParseRfc3339("2026-11-27"), 1795737600000);
  EXPECT_EQ(ParseRfc3339("2026-13-27"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-27T02:33"), std::nullopt);
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock c(1000);
  EXPECT_EQ(c.NowMs(), 1000);
  c.AdvanceMs(500);
  EXPECT_EQ(c.NowMs(), 1500);
}

TEST(IdsTest, UuidV7IsTimeOrderedAndWellFormed) {
  std::string a = NewIdAt(1000), b = NewIdAt(2000);
  EXPECT_TRUE(LooksLikeId(a));
  EXPECT_EQ(a[14], '7');
  EXPECT_LT(a, b);
  EXPECT_NE(NewId(), NewId());
  EXPECT_FALSE(LooksLikeId("not-an-id"));
}

}  // namespace
}  // namespace c19ai
