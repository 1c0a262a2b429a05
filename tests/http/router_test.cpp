#include <gtest/gtest.h>

#include "http/http.h"

namespace c19ai::http {
namespace {

Route R(Method m, std::string path) {
  Route r;
  r.method = m;
  r.path = std::move(path);
  r.permission = "x:read";
  r.summary = "test";
  r.handler = [](Request&) -> Result<Response> { return Response::Empty(); };
  return r;
}

std::string Param(const Router::Match& m, const std::string& name) {
  for (auto& [k, v] : m.params) {
    if (k == name) return v;
  }
  return "<none>";
}

TEST(RouterTest, MatchesLiteralsAndParameters) {
  Router r;
  ASSERT_TRUE(r.Add(R(Method::kGet, "/api/v1/models/{name}/versions/{v}")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/api/v1/models/{name}/versions")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/api/v1/models/stats")).ok());
  auto m = r.Find(Method::kGet, "/api/v1/models/iris/versions/3");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->path, "/api/v1/models/{name}/versions/{v}");
  EXPECT_EQ(Param(m, "name"), "iris");
  EXPECT_EQ(Param(m, "v"), "3");
  EXPECT_EQ(r.Find(Method::kGet, "/api/v1/models/stats").route->path, "/api/v1/models/stats");
  EXPECT_FALSE(r.Find(Method::kGet, "/api/v1/models/iris/versions/3/x").route);
  EXPECT_FALSE(r.Find(Method::kGet, "/api/v1/models//versions").route);
}

TEST(RouterTest, GreedyRestOfPathAndActionSuffixes) {
  Router r;
  ASSERT_TRUE(r.Add(R(Method::kPut, "/api/v1/files/{key...}")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/api/v1/files/{key...}")).ok());
  ASSERT_TRUE(r.Add(R(Method::kPost, "/api/v1/files/{key...}:copy")).ok());
  ASSERT_TRUE(r.Add(R(Method::kPost, "/api/v1/queues/{topic}/dead-letters:redrive")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/api/v1/queues/{topic}/dead-letters")).ok());
  auto put = r.Find(Method::kPut, "/api/v1/files/a/b/c.bin");
  ASSERT_TRUE(put.route);
  EXPECT_EQ(Param(put, "key"), "a/b/c.bin");
  auto copy = r.Find(Method::kPost, "/api/v1/files/a/b.bin:copy");
  ASSERT_TRUE(copy.route);
  EXPECT_EQ(copy.route->path, "/api/v1/files/{key...}:copy");
  EXPECT_EQ(Param(copy, "key"), "a/b.bin");
  auto redrive = r.Find(Method::kPost, "/api/v1/queues/train/dead-letters:redrive");
  ASSERT_TRUE(redrive.route);
  EXPECT_EQ(Param(redrive, "topic"), "train");
  EXPECT_TRUE(r.Find(Method::kGet, "/api/v1/queues/train/dead-letters").route);
  EXPECT_FALSE(r.Find(Method::kGet, "/api/v1/files/").route);
}

TEST(RouterTest, WrongMethodReportsAllowedOnes) {
  Router r;
  ASSERT_TRUE(r.Add(R(Method::kGet, "/health")).ok());
  ASSERT_TRUE(r.Add(R(Method::kPost, "/things")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/things")).ok());
  auto m = r.Find(Method::kDelete, "/things");
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::kGet, Method::kPost, Method::kHead}));
  EXPECT_TRUE(r.Find(Method::kDelete, "/nothing").allowed.empty());
  EXPECT_EQ(r.Find(Method::kHead, "/health").route->method, Method::kGet);  // HEAD falls back to GET
}

TEST(RouterTest, ParameterNamesCanDifferAcrossSubtreesButNotAtOnePlace) {
  Router r;
  ASSERT_TRUE(r.Add(R(Method::kGet, "/m/{name}")).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "/m/{id}/x")).ok());
}

TEST(RouterTest, RefusesUndeclaredOrMalformedRoutes) {
  Router r;
  Route no_perm = R(Method::kGet, "/a");
  no_perm.permission.clear();
  EXPECT_FALSE(r.Add(no_perm).ok());
  Route no_summary = R(Method::kGet, "/a");
  no_summary.summary.clear();
  EXPECT_FALSE(r.Add(no_summary).ok());
  Route no_handler = R(Method::kGet, "/a");
  no_handler.handler = nullptr;
  EXPECT_FALSE(r.Add(no_handler).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "no-slash")).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "/a/{rest...}/b")).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "/a/{bad name}")).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "/a/{x")).ok());
  ASSERT_TRUE(r.Add(R(Method::kGet, "/a")).ok());
  EXPECT_FALSE(r.Add(R(Method::kGet, "/a")).ok());  // duplicate
}

}  // namespace
}  // namespace c19ai::http
