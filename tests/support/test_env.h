#pragma once
// Test helpers: temporary folders and the external servers CI starts (test.sh exports their URLs).

#include <string>

namespace c19ai::testing {

// A fresh folder under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The PostgreSQL URL CI provides (C19AI_TEST_POSTGRES_URL), or "" when tests run without it.
std::string PostgresUrl();
// A fresh, empty PostgreSQL database for one test, dropped by the destructor; url() is "" without
// a server.
class PostgresDatabase {
 public:
  PostgresDatabase();
  ~PostgresDatabase();
  const std::string& url() const { return url_; }

 private:
  std::string admin_url_, name_, url_;
};

// A folder with model artifacts made by tests/ml/make_artifacts.py (Debian's python3-torch and
// python3-xgboost) and their expected outputs in expected.json; made once per test process. Aborts the
// test (fatal gtest failure) when the script fails: CI installs what it needs.
const std::string& ModelArtifacts();

// Whether tests that need an external server must fail (CI) instead of being skipped (a laptop).
bool RequireServers();

}  // namespace c19ai::testing
