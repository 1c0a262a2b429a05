// The OpenAPI document (docs/openapi.json) and the registered routes must agree: every route is
// documented with its permission, and every documented operation is registered.

#include <gtest/gtest.h>

#include <set>

#include "app/app.h"
#include "common/json.h"
#include "http/http.h"
#include "support/test_env.h"

namespace c19ai::app {
namespace {

std::string Normalize(std::string path) {
  // Router syntax {key...} is {key} in OpenAPI.
  size_t pos;
  while ((pos = path.find("...}")) != std::string::npos) path.erase(pos, 3);
  return path;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* const env[] = {nullptr};
    auto config = LoadConfig({.flags = {{"data_dir", dir_.path()}}, .environ = env});
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto app = App::Create(*config);
    ASSERT_TRUE(app.ok()) << app.error().message;
    app_ = std::move(app).value();
    auto doc = ParseJson(OpenApiDocument());
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    doc_ = std::move(doc).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<App> app_;
  Json doc_;
};

TEST_F(OpenApiTest, IsOpenApi31) { EXPECT_EQ(doc_["openapi"], "3.1.0"); }

TEST_F(OpenApiTest, EveryRegisteredRouteIsDocumentedWithItsPermission) {
  const Json& paths = doc_["paths"];
  for (const auto& route : app_->router().routes()) {
    std::string path = Normalize(route->path);
    std::string method = Lower(http::MethodName(route->method));
    ASSERT_TRUE(paths.contains(path)) << "docs/openapi.json lacks path " << path;
    ASSERT_TRUE(paths[path].contains(method)) << "docs/openapi.json lacks " << method << " " << path;
    const Json& op = paths[path][method];
    EXPECT_EQ(op.value("x-permission", ""), route->permission) << method << " " << path;
    EXPECT_FALSE(op.value("summary", "").empty()) << method << " " << path;
    if (route->permission == http::kPublic) {
      EXPECT_TRUE(op.contains("security") && op["security"].empty()) << method << " " << path << " is public";
    }
  }
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsRegistered) {
  std::set<std::pair<std::string, std::string>> registered;
  for (const auto& route : app_->router().routes()) {
    registered.emplace(Lower(http::MethodName(route->method)), Normalize(route->path));
  }
  for (auto& [path, item] : doc_["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(registered.contains({method, path})) << "documented but not registered: " << method << " " << path;
    }
  }
}

}  // namespace
}  // namespace c19ai::app
