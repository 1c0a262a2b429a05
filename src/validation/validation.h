#pragma once
// Datasets, schemas, validation, profiling, drift and cleaning.
//
// Datasets are immutable numbered versions by name (v1, v2, ...): CSV (RFC 4180) or JSON Lines,
// streamed into storage under datasets/sha256/<hash>, their metadata (rows, columns, inferred types,
// size, SHA-256) in the database. Cleaning writes a new version; nothing ever edits one. Schemas are
// versioned too. Every pass over a dataset streams it: memory does not grow with its size (except
// exact uniqueness checks: 16 bytes per distinct value).
//
// Changes publish events in the room "datasets" (dataset.created, dataset.validated,
// dataset.validation.progress). Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit.h"
#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "db/db.h"
#include "storage/storage.h"

namespace c19ai::events {
class EventBus;
}
namespace c19ai::queue {
class Queue;
}

namespace c19ai::validation {

std::vector<db::MigrationFile> Migrations();

enum class Format { kCsv, kJsonLines };
std::string_view FormatName(Format f);  // "csv" | "jsonl"

struct ReadOptions {
  Format format = Format::kCsv;
  char delimiter = ',';
  bool header = true;  // false: columns are named column_1, column_2, ...
  int64_t max_record_bytes = 64 << 20;
};

// A schema: fields with a data_type (integer, float, string, boolean, date, datetime, categorical,
// json), required (the column must exist), nullable, constraints; dataset-level constraints. Rules
// are kept as the JSON objects the user wrote; the validator compiles them (see docs in README).
struct Field {
  std::string name, data_type = "string";
  bool required = true, nullable = true;
  std::string format;                         // dates: strftime-like, default ISO 8601
  std::vector<std::string> constraints_json;  // one JSON object each
};

struct Schema {
  std::string name;
  int64_t version = 0;  // 0 until stored
  std::string description;
  std::vector<Field> fields;
  std::vector<std::string> constraints_json;  // dataset-level
  std::string metadata_json = "{}";
  std::string created_by;
  int64_t created_at_ms = 0;
};

// Parses a schema object; invalid_argument naming the field ("fields[2].data_type").
Result<Schema> ParseSchema(std::string_view json);
std::string SchemaJson(const Schema& s);
// Imports a Great Expectations expectation suite ({"expectation_suite_name", "expectations": [...]}).
// Expectations this validator cannot run are listed by name in `unsupported`.
struct GxImport {
  Schema schema;
  std::vector<std::string> unsupported;
};
Result<GxImport> ImportGxSuite(std::string_view json);

struct Issue {
  int64_t row = 0;  // data record from 1; 0 for dataset-level problems
  std::string field, code, message, value;
  bool has_value = false;
};

struct RuleResult {
  std::string rule, field, severity;  // severity: error | warning
  int64_t checked = 0, failed = 0;
  double mostly = 1.0;
  bool passed = true;
  std::string observed_json;  // aggregates: the observed value
};

struct ValidationReport {
  bool is_valid = true;
  std::vector<Issue> errors, warnings;
  std::vector<RuleResult> rules;
  int64_t rows = 0, rows_with_errors = 0, error_count = 0, warning_count = 0;
  bool truncated = false;  // more failures than reported
  double quality_score = 100;  // 0-100
  std::string quality_json;    // its breakdown
  std::string profile_json;    // when asked for in the same pass
};
std::string ReportJson(const ValidationReport& r);  // the API's validation result

struct ColumnInfo {
  std::string name, type;
};

struct Dataset {
  std::string id, name;
  int64_t version = 0;
  Format format = Format::kCsv;
  char delimiter = ',';
  bool header = true;
  int64_t rows = 0, size = 0;
  std::string sha256, storage_key;
  std::vector<ColumnInfo> columns;
  std::string source = "upload", parent_id, description;  // source: upload | clean
  std::string created_by;
  int64_t created_at_ms = 0;
};
std::string DatasetJson(const Dataset& d);

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;
};

// A validation run (inline answers and queue jobs alike).
struct Run {
  std::string id, dataset_id, status;  // queued | running | succeeded | failed
  double progress = 0;                 // 0..1
  std::string schema_name;
  int64_t schema_version = 0;
  std::string report_json, error;
  std::string created_by;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};
std::string RunJson(const Run& r);

struct Options {
  std::string spool_dir;                 // uploads are spooled here before they are checked (required)
  int64_t max_upload_bytes = int64_t{8} << 30;
  int64_t inline_max_bytes = 64 << 20;   // larger datasets validate as queue jobs
  int64_t max_examples_per_rule = 20;
  int64_t max_issues = 1000;
  const Clock* clock = &Clock::System();
  AuditLog* audit = nullptr;        // changes by internal principals
  events::EventBus* bus = nullptr;  // optional
  queue::Queue* queue = nullptr;    // optional: without it every validation runs inline
  // Model versions whose lineage names a dataset id (deletion is refused while any does).
  std::function<Result<std::vector<std::string>>(const std::string& dataset_id)> lineage_users;
};

inline constexpr std::string_view kValidationTopic = "validation";

class DatasetService {
 public:
  static Result<std::unique_ptr<DatasetService>> Create(db::Database& db, storage::StorageService& storage,
                                                        Options options);
  virtual ~DatasetService() = default;

  // Streams, checks and stores a new version of `name`. invalid_argument (name, options; a malformed
  // file names the line), payload_too_large.
  virtual Result<Dataset> Upload(const Principal& actor, const std::string& name, const ReadOptions& options,
                                 storage::ByteSource& body) = 0;
  // `ref`: an id, a name (its latest version) or name@version. not_found.
  virtual Result<Dataset> Get(std::string_view ref) = 0;
  virtual Result<Page<Dataset>> List(const std::string& name, int64_t limit, const std::string& page_token) = 0;
  virtual Result<std::unique_ptr<storage::ByteSource>> Open(const Dataset& d) = 0;
  // failed_precondition while a model version's lineage names it, unless forced.
  virtual Status Delete(const Principal& actor, std::string_view ref, bool force) = 0;

  // The profile (JSON text), computed once per version and kept.
  virtual Result<std::string> Profile(std::string_view ref) = 0;
  virtual Result<Schema> InferSchema(std::string_view ref, const std::string& name) = 0;

  virtual Result<Schema> CreateSchema(const Principal& actor, Schema schema) = 0;
  // version 0: the latest. not_found.
  virtual Result<Schema> GetSchema(std::string_view name, int64_t version) = 0;
  virtual Result<Page<Schema>> ListSchemas(int64_t limit, const std::string& page_token) = 0;

  // Validates a stored dataset now, on the calling thread. With `profile` the same pass profiles.
  virtual Result<ValidationReport> Validate(const Principal& actor, std::string_view ref, const Schema& schema,
                                            bool profile, const std::function<void(double)>& progress = {}) = 0;
  // Validates inline records (a JSON array of objects, as text).
  virtual Result<ValidationReport> ValidateRecords(const Schema& schema, std::string_view records_json) = 0;
  // Queues a validation (when a queue is configured) and returns the run; the job answers with
  // progress events and the stored report.
  virtual Result<Run> SubmitValidation(const Principal& actor, std::string_view ref, const Schema& schema,
                                       bool profile) = 0;
  virtual Result<Run> GetRun(std::string_view id) = 0;
  // The queue job: runs the validation a message names. OK when the run finished (even invalid data).
  virtual Status RunJob(const std::string& message_body) = 0;
  // Whether a dataset is large enough to be validated as a job.
  virtual bool ShouldQueue(const Dataset& d) const = 0;

  // Applies cleaning rules (a JSON array) and stores the result as the next version of the name;
  // rows dropped as invalid go to "<name>.rejects". Returns the new version and a summary (JSON).
  virtual Result<std::pair<Dataset, std::string>> Clean(const Principal& actor, std::string_view ref,
                                                         std::string_view rules_json) = 0;
  // Per-column drift of `ref` against `baseline` (JSON text of options: thresholds).
  virtual Result<std::string> Drift(std::string_view ref, std::string_view baseline, std::string_view options_json) = 0;
  // Outliers of numeric columns by z-score or IQR (two passes). method: zscore | iqr.
  virtual Result<std::string> Outliers(std::string_view ref, const std::string& method, double threshold,
                                       int64_t max_examples) = 0;
};

}  // namespace c19ai::validation
