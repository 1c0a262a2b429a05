#pragma once
// JSON mapping of the validation module's types (internal: brings nlohmann through common/json.h).

#include <optional>
#include <string>

#include "common/json.h"
#include "validation/validation.h"

namespace c19ai::validation {

Result<Schema> SchemaFromJson(const Json& j);
Json SchemaToJson(const Schema& s);
Result<GxImport> GxSuiteFromJson(const Json& j);
Json ReportToJson(const ValidationReport& r);
Json DatasetToJson(const Dataset& d);
Json RunToJson(const Run& r);

namespace internal {
// A Great Expectations expectation (type and kwargs) as a canonical rule; nullopt when unsupported.
std::optional<Json> FromGx(const std::string& type, const Json& kwargs);
bool IsGxName(std::string_view type);
}  // namespace internal

}  // namespace c19ai::validation
