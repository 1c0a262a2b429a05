#include "support/test_env.h"

#include <cstdlib>
#include <filesystem>
#include <random>

namespace c19ai::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::random_device rd;
  std::filesystem::path p = std::filesystem::path(base ? base : "/tmp") /
                            ("c19ai-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(p);
  path_ = p.string();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string PostgresUrl() {
  const char* v = std::getenv("C19AI_TEST_POSTGRES_URL");
  return v ? v : "";
}

bool RequireServers() {
  const char* v = std::getenv("C19AI_TEST_REQUIRE_SERVERS");
  return v && std::string(v) == "1";
}

}  // namespace c19ai::testing

#include <gtest/gtest.h>

#include "db/db.h"

namespace c19ai::testing {

PostgresDatabase::PostgresDatabase() {
  admin_url_ = PostgresUrl();
  if (admin_url_.empty()) return;
  std::random_device rd;
  name_ = "c19ai_t" + std::to_string(rd() % 100000000) + std::to_string(rd() % 1000);
  auto admin = db::Open({.url = admin_url_, .pool_size = 1});
  if (!admin.ok()) {
    ADD_FAILURE() << "cannot reach " << admin_url_ << ": " << admin.error().message;
    return;
  }
  if (Status st = (*admin)->ExecScript("CREATE DATABASE " + name_); !st.ok()) {
    ADD_FAILURE() << "cannot create database " << name_ << ": " << st.error().message;
    return;
  }
  // Replace the database name: the URL's path after the authority.
  auto scheme = admin_url_.find("://");
  auto slash = admin_url_.find('/', scheme + 3);
  auto query = admin_url_.find('?', scheme + 3);
  std::string tail = query == std::string::npos ? "" : admin_url_.substr(query);
  url_ = admin_url_.substr(0, slash == std::string::npos ? query : slash) + "/" + name_ + tail;
}

PostgresDatabase::~PostgresDatabase() {
  if (url_.empty()) return;
  auto admin = db::Open({.url = admin_url_, .pool_size = 1});
  if (admin.ok()) (void)(*admin)->ExecScript("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

}  // namespace c19ai::testing

namespace c19ai::testing {

const std::string& ModelArtifacts() {
  // Made once per process and left for the OS's temp cleaner only if the process dies: the static
  // TempDir removes it at exit.
  static TempDir dir;
  static bool made = [] {
    std::string cmd = "/usr/bin/python3 " C19AI_SOURCE_DIR "/tests/ml/make_artifacts.py " + dir.path() + " 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  if (!made) {
    ADD_FAILURE() << "tests/ml/make_artifacts.py failed: install python3-torch and python3-xgboost (scripts/install-deps.sh)";
  }
  return dir.path();
}

}  // namespace c19ai::testing
