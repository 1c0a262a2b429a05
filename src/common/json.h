#pragma once
// JSON helpers for mapping code (json.cpp / routes.cpp files). This header brings nlohmann::json, so
// public module headers must not include it.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace c19ai {

using Json = nlohmann::json;

// Parses text as JSON. invalid_argument "invalid JSON at byte N: ..." with details {"position": N}.
Result<Json> ParseJson(std::string_view text);
// Parses text that must be a JSON object (an empty text is refused too).
Result<Json> ParseJsonObject(std::string_view text, std::string_view what = "request body");

// Dumps without throwing on invalid UTF-8 (replaces it).
std::string DumpJson(const Json& j);

// Reads the fields of one JSON object with field-level errors, and refuses fields it was not asked
// for. Keys are reported with their path ("optimizer.lr"). The first problem wins; Finish() returns it.
//   FieldReader r(body);
//   auto name = r.String("name");            // required
//   auto epochs = r.OptInt("epochs", 1, 100000);
//   C19_TRY(r.Finish());
class FieldReader {
 public:
  explicit FieldReader(const Json& object, std::string path = {});

  std::string String(std::string_view key);  // required non-empty-typed string
  std::optional<std::string> OptString(std::string_view key);
  std::optional<int64_t> OptInt(std::string_view key, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  int64_t Int(std::string_view key, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  std::optional<double> OptNumber(std::string_view key, double min = -1e308, double max = 1e308);
  std::optional<bool> OptBool(std::string_view key);
  // Any JSON value (object, array, scalar); nullptr when absent.
  const Json* OptValue(std::string_view key);
  const Json* OptObject(std::string_view key);
  const Json* OptArray(std::string_view key);
  std::optional<std::vector<std::string>> OptStringList(std::string_view key);
  // Marks a key as known without reading it.
  void Allow(std::string_view key);

  // Records an error for key (if none was recorded yet).
  void Fail(std::string_view key, std::string message);
  bool ok() const { return !error_.has_value(); }
  std::string Path(std::string_view key) const;
  // The first error, else invalid_argument for the first unknown field (when refuse_unknown).
  Status Finish(bool refuse_unknown = true);

 private:
  const Json* Find(std::string_view key);
  const Json& object_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
  std::optional<Error> error_;
};

// A short rendering of a JSON value for error messages (truncated to ~60 characters).
std::string Preview(const Json& value);

}  // namespace c19ai
