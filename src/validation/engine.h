#pragma once
// The validation module's streaming engine (internal): record readers over CSV and JSON Lines, value
// parsing, the compiled validator and the one-pass profiler. Everything here works one record at a
// time with bounded memory (except the exact uniqueness checks, which keep 16 bytes per distinct
// value). Not thread-safe: one engine object per pass.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "storage/storage.h"
#include "validation/validation.h"

namespace c19ai::validation::internal {

// ------------------------------------------------------------------ records

bool ParseFloat(std::string_view s, double& out);
uint64_t Hash64(std::string_view s, uint64_t seed = 0);

// Pulls records from a CSV (RFC 4180) or JSON Lines stream. Cells are views valid until the next
// call to Next(). Errors (invalid_argument, details {"line": N}) name the line where the bad record
// starts: unterminated quotes, ragged rows, invalid UTF-8, malformed JSON.
class RecordReader {
 public:
  static Result<std::unique_ptr<RecordReader>> Open(storage::ByteSource& source, const ReadOptions& options);
  virtual ~RecordReader() = default;
  // Columns known so far (CSV: the header; JSON Lines: keys in first-seen order, growing).
  virtual const std::vector<std::string>& columns() const = 0;
  // false at the end.
  virtual Result<bool> Next() = 0;
  // The current record's cell of column i ("" and null when absent or empty).
  virtual std::string_view cell(size_t i) const = 0;
  virtual bool is_null(size_t i) const = 0;
  // JSON Lines: the key was absent from the record (CSV: never).
  virtual bool absent(size_t i) const = 0;
  // 1-based data record number (header excluded) and the line the record starts on.
  virtual int64_t record() const = 0;
  virtual int64_t line() const = 0;
  virtual int64_t bytes_read() const = 0;
  // The cell's hash and numeric value (batched readers computed them already, on another thread).
  virtual uint64_t hash(size_t i) const { return Hash64(cell(i)); }
  // The current record's cells at once, when the reader holds them as views (CSV: an empty view is
  // null, nothing is absent); nullptr otherwise. Valid until the next call to Next().
  virtual const std::vector<std::string_view>* views() const { return nullptr; }
  virtual bool number(size_t i, double& out) const { return ParseFloat(cell(i), out); }
};

// Records given inline as JSON objects (POST /api/v1/validate).
std::unique_ptr<RecordReader> JsonRecordsReader(const Json& records);

// ------------------------------------------------------------------ values

bool ParseInt(std::string_view s, int64_t& out);
bool ParseBool(std::string_view s, bool& out);
// Days since 1970-01-01 for YYYY-MM-DD, or per a strftime-like format (%Y %m %d %H %M %S %y %b %j
// literals); seconds since the epoch for datetimes (RFC 3339 / ISO 8601, optional fraction and zone).
bool ParseDate(std::string_view s, std::string_view format, int64_t& days);
bool ParseDateTime(std::string_view s, std::string_view format, double& seconds);
bool IsJsonText(std::string_view s);
// UTF-8 code points.
size_t Utf8Length(std::string_view s);
bool ValidUtf8(std::string_view s);
// Does `s` satisfy data_type (integer, float, string, boolean, date, datetime, categorical, json)?
bool MatchesType(std::string_view data_type, std::string_view s, std::string_view format = {});
enum class DataType { kInteger, kFloat, kString, kBoolean, kDate, kDatetime, kCategorical, kJson };
std::optional<DataType> ParseDataType(std::string_view name);
bool MatchesType(DataType t, std::string_view s, std::string_view format = {});

// ------------------------------------------------------------------ validation

struct ValidateOptions {
  int64_t max_examples_per_rule = 20;  // failures reported per rule (counts are always complete)
  int64_t max_issues = 1000;           // errors + warnings reported in total
};

class Validator {
 public:
  // invalid_argument naming the constraint ("fields[1].constraints[0].pattern") for a bad schema.
  static Result<std::unique_ptr<Validator>> Compile(const Schema& schema, const ValidateOptions& options);
  virtual ~Validator() = default;
  // Dataset-level checks on the columns (presence, order); call once before the records (JSON Lines:
  // with the columns seen first; absent keys are then checked per record).
  virtual void Begin(const std::vector<std::string>& columns, bool per_record_presence) = 0;
  virtual void Check(const RecordReader& r) = 0;
  // Whether the last checked record failed an error-severity rule.
  virtual bool last_row_failed() const = 0;
  virtual ValidationReport Finish(int64_t rows) = 0;
};

// ------------------------------------------------------------------ profiling

class Profiler {
 public:
  static std::unique_ptr<Profiler> Create();
  virtual ~Profiler() = default;
  virtual void Add(const RecordReader& r) = 0;
  // The profile as in the API (columns, duplicates, correlations, quality).
  virtual Json Finish(const std::vector<std::string>& columns, int64_t rows) = 0;
};

// One pass over `reader`: `per_record` (validation, cleaning) runs on the calling thread and the
// profiler (when given) on a second thread, fed with batches of copied records through a bounded
// queue (4 batches of 8192 records: the reader waits when the profiler is behind). `progress` is
// called with the bytes read so far every `progress_every` bytes.
Status Scan(RecordReader& reader, Profiler* profiler, const std::function<void(const RecordReader&)>& per_record,
            const std::function<void(int64_t bytes)>& progress = {}, int64_t progress_every = 4 << 20);

// Numeric samples kept for drift and outliers: every value up to `cap`, then a uniform reservoir.
struct Sample {
  std::vector<double> values;
  int64_t seen = 0;
  void Add(double v, size_t cap, uint64_t& rng);
};

// Two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value.
struct KsResult {
  double statistic = 0, p_value = 1;
};
KsResult KolmogorovSmirnov(std::vector<double> a, std::vector<double> b);
// PSI over `bins` quantile bins of the baseline.
double PopulationStability(const std::vector<double>& baseline, const std::vector<double>& current, int bins = 10);
// Jensen-Shannon distance (base 2, as scipy.spatial.distance.jensenshannon) and L-infinity between
// two frequency tables.
double JensenShannon(const std::unordered_map<std::string, double>& p, const std::unordered_map<std::string, double>& q);
double LInfinity(const std::unordered_map<std::string, double>& p, const std::unordered_map<std::string, double>& q);

// ------------------------------------------------------------------ expressions

// A small expression language over a record's columns, parsed once and evaluated per record:
// numbers, 'strings' or "strings", column names (or `quoted names`), + - * / %, comparisons
// (== != < <= > >=), and/or/not, parentheses, and the functions is_null(x), not_null(x), len(x),
// abs(x), lower(x), upper(x), coalesce(x, y). A null operand makes arithmetic and comparisons null.
class Expression {
 public:
  // invalid_argument with the position of the problem.
  static Result<std::unique_ptr<Expression>> Parse(std::string_view text);
  virtual ~Expression() = default;
  // Resolves column names; invalid_argument naming an unknown column.
  virtual Status Bind(const std::vector<std::string>& columns) = 0;
  // true / false, or nullopt when the result is null.
  virtual std::optional<bool> Test(const RecordReader& r) const = 0;
  virtual std::vector<std::string> ColumnNames() const = 0;
};

}  // namespace c19ai::validation::internal
