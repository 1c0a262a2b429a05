#include "common/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_env.h"

namespace c19ai {
namespace {

const char* const kNoEnv[] = {nullptr};

TEST(ConfigTest, DefaultsKeepDataUnderTheDataFolder) {
  auto c = LoadConfig({.environ = kNoEnv});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->data_dir, "./c19ai-data");
  EXPECT_EQ(c->database.url, "sqlite://./c19ai-data/c19ai.db");
  EXPECT_EQ(c->storage_url, "file://./c19ai-data/blobs");
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_EQ(c->server.max_body_bytes, 16 << 20);
  EXPECT_EQ(c->server.header_timeout_ms, 30000);
}

TEST(ConfigTest, LayersFileThenEnvironmentThenFlags) {
  testing::TempDir dir;
  std::string file = dir.path() + "/c.toml";
  std::ofstream(file) << "data_dir = \"/srv/c19\"\n[server]\nport = 9000\nworker_threads = 4\n[log]\nlevel = \"debug\"\n";
  const char* env[] = {"C19AI_SERVER_PORT=9100", "C19AI_LOG_LEVEL=warn", nullptr};
  auto c = LoadConfig({.file = file, .flags = {{"log.level", "error"}}, .environ = env});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server.port, 9100);          // env beats file
  EXPECT_EQ(c->server.worker_threads, 4);  // file beats default
  EXPECT_EQ(c->log.level, "error");        // flag beats env
  EXPECT_EQ(c->database.url, "sqlite:///srv/c19/c19ai.db");
  for (const auto& e : c->entries) {
    if (e.key == "server.port") {
      EXPECT_EQ(e.source, "env C19AI_SERVER_PORT");
    }
    if (e.key == "server.worker_threads") {
      EXPECT_EQ(e.source, "file " + file);
    }
  }
}

TEST(ConfigTest, InvalidValueNamesKeyAndSource) {
  const char* env[] = {"C19AI_SERVER_PORT=eighty", nullptr};
  auto c = LoadConfig({.environ = env});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("\"server.port\""), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("C19AI_SERVER_PORT"), std::string::npos);
  auto d = LoadConfig({.flags = {{"server.header_timeout", "soon"}}, .environ = kNoEnv});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("server.header_timeout"), std::string::npos);
}

TEST(ConfigTest, UnknownFileKeyAndBadTomlAreRefused) {
  testing::TempDir dir;
  std::string file = dir.path() + "/c.toml";
  std::ofstream(file) << "[server]\nprot = 1\n";
  auto c = LoadConfig({.file = file, .environ = kNoEnv});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unknown configuration key \"server.prot\""), std::string::npos);
  std::ofstream(file) << "[server\n";
  auto d = LoadConfig({.file = file, .environ = kNoEnv});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("not valid TOML"), std::string::npos);
}

TEST(ConfigTest, SecretsAreMaskedButBackendsStayVisible) {
  auto c = LoadConfig({.flags = {{"database.url", "postgresql://app:hunter2@db:5432/c19"},
                                 {"server.tls_cert", "/c.pem"},
                                 {"server.tls_key", "/k.pem"}},
                       .environ = kNoEnv});
  ASSERT_TRUE(c.ok());
  for (const auto& e : c->Describe(true)) {
    EXPECT_EQ(e.value.find("hunter2"), std::string::npos) << e.key;
    if (e.key == "database.url") {
      EXPECT_EQ(e.value, "postgresql://****@db:5432/c19");
    }
    if (e.key == "server.tls_key") {
      EXPECT_EQ(e.value, "****");
    }
  }
}

TEST(ConfigTest, TlsCertAndKeyGoTogether) {
  auto c = LoadConfig({.flags = {{"server.tls_cert", "/c.pem"}}, .environ = kNoEnv});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("server.tls_key"), std::string::npos);
}

TEST(ConfigTest, WarnsAboutUnknownEnvironmentVariables) {
  const char* env[] = {"C19AI_SERVR_PORT=1", nullptr};
  auto c = LoadConfig({.environ = env});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("C19AI_SERVR_PORT"), std::string::npos);
}

}  // namespace
}  // namespace c19ai
