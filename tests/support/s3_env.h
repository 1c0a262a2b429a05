#pragma once
// The S3-compatible server CI starts (s3rver): C19AI_TEST_S3_URL and its credentials.

#include <cstdlib>
#include <string>

namespace c19ai::testing {

inline std::string S3Url() {
  const char* v = std::getenv("C19AI_TEST_S3_URL");
  return v ? v : "";
}
inline std::string S3AccessKey() {
  const char* v = std::getenv("C19AI_TEST_S3_ACCESS_KEY");
  return v ? v : "S3RVER";
}
inline std::string S3SecretKey() {
  const char* v = std::getenv("C19AI_TEST_S3_SECRET_KEY");
  return v ? v : "S3RVER";
}

}  // namespace c19ai::testing
