#include <gtest/gtest.h>

#include <thread>

#include "cache/cache.h"

namespace c19ai::cache {
namespace {

std::unique_ptr<Cache> Make(FakeClock* clock, int64_t capacity = 1 << 20, int shards = 4) {
  MemoryOptions o;
  o.capacity_bytes = capacity;
  o.shards = shards;
  o.clock = clock;
  return NewMemoryCache(o);
}

TEST(MemoryCacheTest, GetSetDeleteWithinNamespaces) {
  FakeClock clock;
  auto c = Make(&clock);
  c->Set("perm", "u1", "models:read");
  c->Set("user", "u1", "alice");
  EXPECT_EQ(c->Get("perm", "u1"), "models:read");
  EXPECT_EQ(c->Get("user", "u1"), "alice");
  EXPECT_EQ(c->Get("perm", "u2"), std::nullopt);
  EXPECT_TRUE(c->Delete("perm", "u1"));
  EXPECT_FALSE(c->Delete("perm", "u1"));
  EXPECT_EQ(c->Get("perm", "u1"), std::nullopt);
  EXPECT_EQ(c->Get("user", "u1"), "alice");
}

TEST(MemoryCacheTest, TtlExpires) {
  FakeClock clock;
  auto c = Make(&clock);
  c->Set("s", "k", "v", 1000);
  c->Set("s", "forever", "v");
  clock.AdvanceMs(999);
  EXPECT_EQ(c->Get("s", "k"), "v");
  clock.AdvanceMs(1);
  EXPECT_EQ(c->Get("s", "k"), std::nullopt);
  clock.AdvanceMs(1'000'000);
  EXPECT_EQ(c->Get("s", "forever"), "v");
  auto st = c->GetStats();
  ASSERT_EQ(st.namespaces.size(), 1u);
  EXPECT_EQ(st.namespaces[0].expirations, 1u);
  EXPECT_EQ(st.namespaces[0].entries, 1);
}

TEST(MemoryCacheTest, ByteBudgetIsExactAndEvictsLeastRecentlyUsed) {
  FakeClock clock;
  const int64_t entry = kEntryOverhead + 1 + 4 + 100;  // ns "n", key "kNNN" (4), value 100
  auto c = Make(&clock, entry * 10, 1);
  std::string value(100, 'x');
  for (int i = 0; i < 10; ++i) c->Set("n", "k" + std::to_string(100 + i), value);
  EXPECT_EQ(c->GetStats().bytes, entry * 10);
  EXPECT_TRUE(c->Get("n", "k100"));  // k100 is now the most recent; k101 the least
  c->Set("n", "k200", value);
  EXPECT_EQ(c->Get("n", "k101"), std::nullopt);
  EXPECT_TRUE(c->Get("n", "k100"));
  auto st = c->GetStats();
  EXPECT_EQ(st.bytes, entry * 10);
  EXPECT_EQ(st.entries, 10);
  EXPECT_EQ(st.namespaces[0].evictions, 1u);
}

TEST(MemoryCacheTest, OverwriteReplacesCharge) {
  FakeClock clock;
  auto c = Make(&clock);
  c->Set("n", "k", std::string(1000, 'a'));
  c->Set("n", "k", "b");
  EXPECT_EQ(c->Get("n", "k"), "b");
  EXPECT_EQ(c->GetStats().bytes, kEntryOverhead + 1 + 1 + 1);
}

TEST(MemoryCacheTest, DeleteNamespaceAndPrefix) {
  FakeClock clock;
  auto c = Make(&clock);
  for (int i = 0; i < 20; ++i) c->Set("a", "x/" + std::to_string(i), "1");
  for (int i = 0; i < 5; ++i) c->Set("a", "y/" + std::to_string(i), "1");
  c->Set("b", "x/1", "1");
  EXPECT_EQ(c->DeletePrefix("a", "x/"), 20);
  EXPECT_EQ(c->Get("a", "y/1"), "1");
  EXPECT_EQ(c->DeleteNamespace("a"), 5);
  EXPECT_EQ(c->Get("b", "x/1"), "1");
}

TEST(MemoryCacheTest, StatsCountHitsAndMisses) {
  FakeClock clock;
  auto c = Make(&clock);
  c->Set("n", "k", "v");
  c->Get("n", "k");
  c->Get("n", "k");
  c->Get("n", "nope");
  auto ns = c->GetStats().namespaces.at(0);
  EXPECT_EQ(ns.hits, 2u);
  EXPECT_EQ(ns.misses, 1u);
  EXPECT_EQ(ns.sets, 1u);
  EXPECT_NEAR(ns.hit_ratio(), 2.0 / 3, 1e-9);
}

TEST(MemoryCacheTest, ManyOperations) {
  FakeClock clock;
  auto c = Make(&clock);
  c->SetMany("n", {{"a", "1"}, {"b", "2"}});
  auto got = c->GetMany("n", {"a", "zz", "b"});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "1");
  EXPECT_EQ(got[1], std::nullopt);
  EXPECT_EQ(got[2], "2");
}

TEST(MemoryCacheTest, ConcurrentUseKeepsAccountingConsistent) {
  FakeClock clock;
  auto c = Make(&clock, 64 << 10, 8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        std::string k = std::to_string((i * 7 + t) % 3000);
        if (i % 3 == 0) c->Set("n", k, std::string(static_cast<size_t>(i % 200), 'v'));
        else c->Get("n", k);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto st = c->GetStats();
  EXPECT_LE(st.bytes, 64 << 10);
  EXPECT_EQ(st.bytes, st.namespaces.at(0).bytes);
  EXPECT_EQ(st.entries, st.namespaces.at(0).entries);
}

}  // namespace
}  // namespace c19ai::cache
