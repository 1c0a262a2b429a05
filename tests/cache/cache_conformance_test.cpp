// One suite for every cache: memory, Redis alone and Redis behind an in-process L1 (tiered).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cache/cache.h"
#include "common/ids.h"
#include "support/test_env.h"

namespace c19ai::cache {
namespace {

std::string RedisUrl() {
  const char* v = std::getenv("C19AI_TEST_REDIS_URL");
  return v ? v : "";
}

class CacheTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      cache_ = NewMemoryCache({});
    } else {
      if (RedisUrl().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_REDIS_URL is not set";
        GTEST_SKIP() << "no Redis server (set C19AI_TEST_REDIS_URL)";
      }
      RedisOptions r;
      r.l1_ttl_ms = GetParam() == "tiered" ? 5000 : 0;
      auto c = Open(RedisUrl(), {}, r);
      ASSERT_TRUE(c.ok()) << c.error().message;
      cache_ = std::move(c).value();
    }
    ns_ = "t" + NewRequestId();  // isolates runs sharing one Redis
  }
  void TearDown() override {
    if (cache_) cache_->DeleteNamespace(ns_);
  }
  std::unique_ptr<Cache> cache_;
  std::string ns_;
};

TEST_P(CacheTest, SetGetDelete) {
  EXPECT_EQ(cache_->Get(ns_, "k"), std::nullopt);
  cache_->Set(ns_, "k", std::string("bin\0ary", 7));
  EXPECT_EQ(cache_->Get(ns_, "k"), std::string("bin\0ary", 7));
  cache_->Set(ns_, "k", "v2");
  EXPECT_EQ(cache_->Get(ns_, "k"), "v2");
  EXPECT_TRUE(cache_->Delete(ns_, "k"));
  EXPECT_EQ(cache_->Get(ns_, "k"), std::nullopt);
  EXPECT_EQ(cache_->Get(ns_ + "other", "k"), std::nullopt);
}

TEST_P(CacheTest, TtlExpires) {
  cache_->Set(ns_, "short", "v", 150);
  EXPECT_EQ(cache_->Get(ns_, "short"), "v");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(cache_->Get(ns_, "short"), std::nullopt);
}

TEST_P(CacheTest, ManyAtOnce) {
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 200; ++i) items.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
  cache_->SetMany(ns_, items, 60'000);
  std::vector<std::string> keys = {"k0", "missing", "k199"};
  auto got = cache_->GetMany(ns_, keys);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "v0");
  EXPECT_EQ(got[1], std::nullopt);
  EXPECT_EQ(got[2], "v199");
}

TEST_P(CacheTest, DeleteByPrefixAndNamespaceTreatsGlobCharactersLiterally) {
  cache_->Set(ns_, "user:1:a", "x");
  cache_->Set(ns_, "user:1:b", "x");
  cache_->Set(ns_, "user:2:a", "x");
  cache_->Set(ns_, "u*er", "x");
  EXPECT_EQ(cache_->DeletePrefix(ns_, "user:1:"), 2);
  EXPECT_EQ(cache_->Get(ns_, "user:2:a"), "x");
  EXPECT_EQ(cache_->DeletePrefix(ns_, "u*"), 1);  // only the key that starts with "u*"
  EXPECT_EQ(cache_->Get(ns_, "user:2:a"), "x");
  EXPECT_EQ(cache_->DeleteNamespace(ns_), 1);
  EXPECT_EQ(cache_->Get(ns_, "user:2:a"), std::nullopt);
}

TEST_P(CacheTest, StatsCountHitsAndMisses) {
  cache_->Set(ns_, "k", "v");
  cache_->Get(ns_, "k");
  cache_->Get(ns_, "nope");
  auto st = cache_->GetStats();
  bool found = false;
  for (const auto& n : st.namespaces) {
    if (n.name != ns_) continue;
    found = true;
    EXPECT_GE(n.hits, 1u);
    EXPECT_GE(n.misses, 1u);
  }
  EXPECT_TRUE(found);
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheTest, ::testing::Values("memory", "redis", "tiered"),
                         [](const auto& info) { return info.param; });

TEST(RedisCacheTest, AnUnreachableServerDegradesToMissesQuickly) {
  RedisOptions r;
  r.l1_ttl_ms = 0;
  r.timeout_ms = 100;
  auto c = Open("redis://127.0.0.1:1", {}, r);
  ASSERT_TRUE(c.ok()) << c.error().message;  // not an error: the cache just misses
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    (*c)->Set("n", "k", "v");
    EXPECT_EQ((*c)->Get("n", "k"), std::nullopt);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));  // the breaker skips Redis
}

TEST(RedisCacheTest, TieredCachesInvalidateEachOthersMemory) {
  if (RedisUrl().empty()) {
    if (testing::RequireServers()) FAIL() << "C19AI_TEST_REDIS_URL is not set";
    GTEST_SKIP() << "no Redis server";
  }
  RedisOptions r;
  r.l1_ttl_ms = 60'000;
  auto a = std::move(Open(RedisUrl(), {}, r)).value();  // two replicas
  auto b = std::move(Open(RedisUrl(), {}, r)).value();
  std::string ns = "inv" + NewRequestId();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both subscribed
  a->Set(ns, "perm", "old");
  EXPECT_EQ(b->Get(ns, "perm"), "old");  // now in b's memory for up to a minute
  a->Set(ns, "perm", "new");
  std::optional<std::string> seen;
  for (int i = 0; i < 50 && seen != "new"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = b->Get(ns, "perm");
  }
  EXPECT_EQ(seen, "new");
  a->Delete(ns, "perm");
  for (int i = 0; i < 50 && seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = b->Get(ns, "perm");
  }
  EXPECT_EQ(seen, std::nullopt);
  a->DeleteNamespace(ns);
}

TEST(CacheOpenTest, RefusesUnknownSchemes) {
  EXPECT_FALSE(Open("memcached://x", {}).ok());
  EXPECT_FALSE(Open("redis://host:99999", {}).ok());
}

TEST(WarmupsTest, RunsEveryHookAndSurvivesFailures) {
  auto c = NewMemoryCache({});
  Warmups w;
  int runs = 0;
  w.Add("fails", [&](Cache&) -> Status {
    ++runs;
    return Error::Unavailable("db down");
  });
  w.Add("fills", [&](Cache& cache) -> Status {
    ++runs;
    cache.Set("warm", "k", "v");
    return OkStatus();
  });
  w.RunAll(*c);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(c->Get("warm", "k"), "v");
}

}  // namespace
}  // namespace c19ai::cache
