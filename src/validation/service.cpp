// The dataset service over db, storage, queue and events: uploads, versions, schemas, validation
// runs (inline and queued), profiles, drift, outliers and cleaning.

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_set>

#include "common/ids.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/text.h"
#include "events/events.h"
#include "queue/queue.h"
#include "validation/engine.h"
#include "validation/json.h"

namespace c19ai::validation {

namespace {

using internal::RecordReader;

Status ValidateName(const std::string& name) {
  if (name.empty() || name.size() > 128) return Error::Field("name", "name must be 1-128 characters");
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return Error::Field("name", "name must start with a letter or digit");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return Error::Field("name", "name may hold letters, digits, '.', '_' and '-' only");
    }
  }
  return OkStatus();
}

class FileSource final : public storage::ByteSource {
 public:
  explicit FileSource(const std::string& path) : in_(path, std::ios::binary) {}
  Result<size_t> Read(char* data, size_t size) override {
    if (!in_) return size_t{0};
    in_.read(data, static_cast<std::streamsize>(size));
    return static_cast<size_t>(in_.gcount());
  }

 private:
  std::ifstream in_;
};

// A spooled file removed when it goes out of scope.
struct Spool {
  std::string path;
  explicit Spool(std::string p) : path(std::move(p)) {}
  ~Spool() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

// Buffered CSV output.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, char delimiter) : out_(path, std::ios::binary | std::ios::trunc), d_(delimiter) {}
  bool ok() const { return static_cast<bool>(out_); }
  void Row(const std::vector<std::string>& cells, const std::vector<bool>& nulls) {
    buf_.clear();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) buf_.push_back(d_);
      if (!nulls.empty() && nulls[i]) continue;
      const std::string& c = cells[i];
      bool quote = c.find_first_of(std::string("\"\r\n") + d_) != std::string::npos || c.empty() ||
                   c.front() == ' ' || c.back() == ' ';
      if (!quote) {
        buf_ += c;
        continue;
      }
      buf_.push_back('"');
      for (char ch : c) {
        if (ch == '"') buf_.push_back('"');
        buf_.push_back(ch);
      }
      buf_.push_back('"');
    }
    buf_.push_back('\n');
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    ++rows_;
  }
  Status Close() {
    out_.flush();
    if (!out_) return Error::Internal("writing a spool file failed (disk full?)");
    out_.close();
    return OkStatus();
  }
  int64_t rows() const { return rows_; }

 private:
  std::ofstream out_;
  char d_;
  std::string buf_;
  int64_t rows_ = 0;
};

std::string DatasetColumns() {
  return "id, name, version, format, delimiter, has_header, row_count, column_list, size, sha256, storage_key, source, "
         "parent_id, description, created_by, created_at";
}

Dataset DatasetFromRow(const db::Row& r) {
  Dataset d;
  d.id = r.Text(0);
  d.name = r.Text(1);
  d.version = r.Int(2);
  d.format = r.Text(3) == "jsonl" ? Format::kJsonLines : Format::kCsv;
  std::string delim = r.Text(4);
  d.delimiter = delim.empty() ? ',' : delim[0];
  d.header = r.Int(5) != 0;
  d.rows = r.Int(6);
  Json cols = Json::parse(r.Text(7), nullptr, false);
  if (cols.is_array()) {
    for (const auto& c : cols) d.columns.push_back({c.value("name", std::string()), c.value("type", std::string("string"))});
  }
  d.size = r.Int(8);
  d.sha256 = r.Text(9);
  d.storage_key = r.Text(10);
  d.source = r.Text(11);
  d.parent_id = r.Text(12);
  d.description = r.Text(13);
  d.created_by = r.Text(14);
  d.created_at_ms = r.Int(15);
  return d;
}

std::string RunColumns() {
  return "id, dataset_id, status, progress, schema_name, schema_version, report, error, created_by, created_at, updated_at";
}

Run RunFromRow(const db::Row& r) {
  Run x;
  x.id = r.Text(0);
  x.dataset_id = r.Text(1);
  x.status = r.Text(2);
  x.progress = r.Double(3);
  x.schema_name = r.Text(4);
  x.schema_version = r.Int(5);
  x.report_json = r.Text(6);
  x.error = r.Text(7);
  x.created_by = r.Text(8);
  x.created_at_ms = r.Int(9);
  x.updated_at_ms = r.Int(10);
  return x;
}

ReadOptions ReadOptionsOf(const Dataset& d) {
  ReadOptions o;
  o.format = d.format;
  o.delimiter = d.delimiter;
  o.header = d.header;
  return o;
}

std::vector<std::string> ColumnNames(const Dataset& d) {
  std::vector<std::string> out;
  for (const auto& c : d.columns) out.push_back(c.name);
  return out;
}

// What one pass over a dataset collects for drift.
struct DriftColumn {
  internal::Sample sample;
  std::unordered_map<std::string, double> freq;
  bool freq_exact = true;
  int64_t missing = 0, count = 0;
};

class DatasetServiceImpl final : public DatasetService {
 public:
  DatasetServiceImpl(db::Database& db, storage::StorageService& storage, Options o)
      : db_(db), storage_(storage), o_(std::move(o)), clock_(o_.clock ? o_.clock : &Clock::System()) {}

  // ---------------------------------------------------------------- datasets

  Result<Dataset> Upload(const Principal& actor, const std::string& name, const ReadOptions& options,
                         storage::ByteSource& body) override {
    C19_TRY(ValidateName(name));
    Spool spool(o_.spool_dir + "/dataset-" + NewId());
    {
      std::ofstream out(spool.path, std::ios::binary | std::ios::trunc);
      if (!out) return Error::Internal("cannot write the upload spool in " + o_.spool_dir);
      std::string buf(1 << 20, '\0');
      int64_t size = 0;
      for (;;) {
        C19_ASSIGN_OR_RETURN(size_t n, body.Read(buf.data(), buf.size()));
        if (n == 0) break;
        size += static_cast<int64_t>(n);
        if (size > o_.max_upload_bytes) {
          return Error::PayloadTooLarge("the dataset is larger than " + std::to_string(o_.max_upload_bytes) +
                                        " bytes (validation.max_upload_size)");
        }
        out.write(buf.data(), static_cast<std::streamsize>(n));
      }
      out.flush();
      if (!out) return Error::Internal("writing the upload spool failed (disk full?)");
      if (size == 0) return Error::Field("file", "the dataset is empty");
    }
    Dataset d;
    d.name = name;
    d.format = options.format;
    d.delimiter = options.delimiter;
    d.header = options.header;
    d.source = "upload";
    return Ingest(actor, spool.path, d);
  }

  // Parses and profiles a spooled file, stores it and records the next version of d.name.
  Result<Dataset> Ingest(const Principal& actor, const std::string& path, Dataset d) {
    ReadOptions ro = ReadOptionsOf(d);
    std::string profile;
    {
      FileSource src(path);
      C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(src, ro));
      auto profiler = internal::Profiler::Create();
      C19_TRY(internal::Scan(*reader, profiler.get(), {}));
      if (reader->columns().empty()) return Error::Field("file", "the dataset has no columns");
      d.rows = reader->record();
      Json p = profiler->Finish(reader->columns(), d.rows);
      for (const auto& c : p["columns"]) d.columns.push_back({c["name"].get<std::string>(), c["type"].get<std::string>()});
      profile = DumpJson(p);
    }
    FileSource src(path);
    storage::PutOptions po;
    po.content_type = d.format == Format::kCsv ? "text/csv" : "application/x-ndjson";
    po.created_by = actor.username;
    C19_ASSIGN_OR_RETURN(storage::ObjectInfo info, storage_.PutContent(storage::Namespace::kDatasets, src, po));
    d.sha256 = info.sha256;
    d.size = info.size;
    d.storage_key = info.key;
    d.id = NewId();
    d.created_by = actor.username;
    d.created_at_ms = clock_->NowMs();
    Json cols = Json::array();
    for (const auto& c : d.columns) cols.push_back({{"name", c.name}, {"type", c.type}});
    Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
        C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT MAX(version) FROM validation_datasets WHERE name_key = ?",
                                                 {ToLower(d.name)}));
        d.version = (rows.empty() || rows[0].IsNull(0) ? 0 : rows[0].Int(0)) + 1;
        C19_TRY(tx.Exec("INSERT INTO validation_datasets (id, name, name_key, version, format, delimiter, has_header, "
                        "row_count, column_list, size, sha256, storage_key, source, parent_id, description, created_by, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        {d.id, d.name, ToLower(d.name), d.version, std::string(FormatName(d.format)),
                         std::string(1, d.delimiter), d.header, d.rows, DumpJson(cols), d.size, d.sha256,
                         d.storage_key, d.source, d.parent_id, d.description, d.created_by, d.created_at_ms}));
        C19_TRY(tx.Exec("INSERT INTO validation_profiles (dataset_id, body, created_at) VALUES (?, ?, ?)",
                        {d.id, profile, d.created_at_ms}));
        return OkStatus();
      });
      if (st.ok() || st.error().code != ErrorCode::kAlreadyExists) break;
    }
    C19_TRY(st);
    Publish(events::kDatasetCreated, {{"id", d.id}, {"name", d.name}, {"version", d.version}, {"rows", d.rows},
                                      {"source", d.source}});
    Audit(actor, "dataset.create", d.name + "@" + std::to_string(d.version), {{"id", d.id}, {"source", d.source}});
    return d;
  }

  Result<Dataset> Get(std::string_view ref) override {
    std::string r(ref);
    db::Rows rows;
    if (LooksLikeId(r)) {
      C19_ASSIGN_OR_RETURN(rows, db_.Query("SELECT " + DatasetColumns() + " FROM validation_datasets WHERE id = ?", {r}));
    } else {
      auto at = r.rfind('@');
      if (at != std::string::npos) {
        int64_t v = 0;
        if (!internal::ParseInt(r.substr(at + 1), v)) return Error::Field("dataset", "a version after '@' must be a number");
        C19_ASSIGN_OR_RETURN(rows, db_.Query("SELECT " + DatasetColumns() +
                                                 " FROM validation_datasets WHERE name_key = ? AND version = ?",
                                             {ToLower(r.substr(0, at)), v}));
      } else {
        C19_ASSIGN_OR_RETURN(rows, db_.Query("SELECT " + DatasetColumns() +
                                                 " FROM validation_datasets WHERE name_key = ? ORDER BY version DESC LIMIT 1",
                                             {ToLower(r)}));
      }
    }
    if (rows.empty()) return Error::NotFound("dataset \"" + r + "\" does not exist");
    return DatasetFromRow(rows[0]);
  }

  Result<Page<Dataset>> List(const std::string& name, int64_t limit, const std::string& page_token) override {
    if (limit < 1 || limit > kMaxPageSize) return Error::Field("limit", "limit must be 1 to 1000");
    int64_t offset = 0;
    if (!page_token.empty()) {
      C19_ASSIGN_OR_RETURN(offset, DecodePageToken(page_token));
    }
    db::Select sel("SELECT " + DatasetColumns() + " FROM validation_datasets");
    if (!name.empty()) sel.Where("name_key = ?", {ToLower(name)});
    sel.OrderBy("name_key ASC, version DESC").Limit(limit + 1).Offset(offset);
    C19_ASSIGN_OR_RETURN(auto rows, sel.Run(db_));
    Page<Dataset> page;
    for (const auto& r : rows) page.items.push_back(DatasetFromRow(r));
    if (static_cast<int64_t>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken(offset + limit);
    }
    return page;
  }

  Result<std::unique_ptr<storage::ByteSource>> Open(const Dataset& d) override {
    return storage_.Open(storage::Namespace::kDatasets, d.storage_key);
  }

  Status Delete(const Principal& actor, std::string_view ref, bool force) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    if (!force && o_.lineage_users) {
      C19_ASSIGN_OR_RETURN(auto users, o_.lineage_users(d.id));
      if (!users.empty()) {
        return Error::FailedPrecondition("dataset " + d.name + "@" + std::to_string(d.version) +
                                         " is in the lineage of model version(s) " + Join(users, ", ") +
                                         "; delete with force=true to remove it anyway");
      }
    }
    bool last_user = false;
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(tx.Exec("DELETE FROM validation_profiles WHERE dataset_id = ?", {d.id}));
      C19_TRY(tx.Exec("DELETE FROM validation_datasets WHERE id = ?", {d.id}));
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM validation_datasets WHERE storage_key = ?", {d.storage_key}));
      last_user = rows[0].Int(0) == 0;
      return OkStatus();
    }));
    if (last_user) {
      Status st = storage_.Delete(storage::Namespace::kDatasets, d.storage_key);
      if (!st.ok()) log::Warn("removing a dataset's blob failed", {{"key", d.storage_key}, {"error", st.error().message}});
    }
    Publish("dataset.deleted", {{"id", d.id}, {"name", d.name}, {"version", d.version}, {"force", force}});
    Audit(actor, "dataset.delete", d.name + "@" + std::to_string(d.version), {{"force", force}});
    return OkStatus();
  }

  // ---------------------------------------------------------------- profiles and schemas

  Result<std::string> Profile(std::string_view ref) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    return ProfileOf(d);
  }

  Result<std::string> ProfileOf(const Dataset& d) {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT body FROM validation_profiles WHERE dataset_id = ?", {d.id}));
    if (!rows.empty()) return rows[0].Text(0);
    C19_ASSIGN_OR_RETURN(auto src, Open(d));
    C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(*src, ReadOptionsOf(d)));
    auto profiler = internal::Profiler::Create();
    C19_TRY(internal::Scan(*reader, profiler.get(), {}));
    std::string body = DumpJson(profiler->Finish(reader->columns(), reader->record()));
    auto st = db_.Exec("INSERT INTO validation_profiles (dataset_id, body, created_at) VALUES (?, ?, ?)",
                       {d.id, body, clock_->NowMs()});
    if (!st.ok() && st.error().code != ErrorCode::kAlreadyExists) return std::move(st).error();
    return body;
  }

  Result<Schema> InferSchema(std::string_view ref, const std::string& name) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    C19_ASSIGN_OR_RETURN(std::string text, ProfileOf(d));
    Json p = Json::parse(text);
    Schema s;
    s.name = name.empty() ? d.name : name;
    s.description = "inferred from dataset " + d.name + "@" + std::to_string(d.version);
    s.metadata_json = DumpJson(Json{{"inferred_from", d.id}});
    for (const auto& c : p["columns"]) {
      Field f;
      f.name = c["name"].get<std::string>();
      f.data_type = c["type"].get<std::string>();
      f.required = true;
      f.nullable = c["missing"].get<int64_t>() > 0;
      if (f.data_type == "categorical" && c.value("distinct_exact", false)) {
        Json values = Json::array();
        for (const auto& t : c["top_values"]) values.push_back(t["value"]);
        if (c["distinct"].get<int64_t>() <= static_cast<int64_t>(values.size())) {
          f.constraints_json.push_back(DumpJson(Json{{"type", "enum"}, {"values", values}}));
        }
      }
      if ((f.data_type == "integer" || f.data_type == "float") && c.contains("min")) {
        f.constraints_json.push_back(DumpJson(Json{{"type", "range"}, {"min", c["min"]}, {"max", c["max"]},
                                                   {"severity", "warning"}}));
      }
      s.fields.push_back(std::move(f));
    }
    return s;
  }

  Result<Schema> CreateSchema(const Principal& actor, Schema s) override {
    C19_TRY(ValidateName(s.name));
    // Compiling catches bad constraints before anything is stored.
    C19_TRY(internal::Validator::Compile(s, {}));
    s.created_by = actor.username;
    s.created_at_ms = clock_->NowMs();
    std::string id = NewId();
    Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
        C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT MAX(version) FROM validation_schemas WHERE name_key = ?",
                                                 {ToLower(s.name)}));
        s.version = (rows.empty() || rows[0].IsNull(0) ? 0 : rows[0].Int(0)) + 1;
        return tx.Exec("INSERT INTO validation_schemas (id, name, name_key, version, body, created_by, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       {id, s.name, ToLower(s.name), s.version, SchemaJson(s), s.created_by, s.created_at_ms})
            .ok()
                   ? OkStatus()
                   : Status(Error::AlreadyExists("schema version taken"));
      });
      if (st.ok() || st.error().code != ErrorCode::kAlreadyExists) break;
    }
    C19_TRY(st);
    Audit(actor, "schema.create", s.name + "@" + std::to_string(s.version), {});
    return s;
  }

  Result<Schema> GetSchema(std::string_view name, int64_t version) override {
    db::Rows rows;
    if (version > 0) {
      C19_ASSIGN_OR_RETURN(rows, db_.Query("SELECT body FROM validation_schemas WHERE name_key = ? AND version = ?",
                                           {ToLower(name), version}));
    } else {
      C19_ASSIGN_OR_RETURN(rows, db_.Query("SELECT body FROM validation_schemas WHERE name_key = ? ORDER BY version DESC LIMIT 1",
                                           {ToLower(name)}));
    }
    if (rows.empty()) {
      return Error::NotFound("schema \"" + std::string(name) + "\"" +
                             (version > 0 ? " version " + std::to_string(version) : std::string()) + " does not exist");
    }
    return ParseSchema(rows[0].Text(0));
  }

  Result<Page<Schema>> ListSchemas(int64_t limit, const std::string& page_token) override {
    if (limit < 1 || limit > kMaxPageSize) return Error::Field("limit", "limit must be 1 to 1000");
    int64_t offset = 0;
    if (!page_token.empty()) {
      C19_ASSIGN_OR_RETURN(offset, DecodePageToken(page_token));
    }
    // The latest version of each name.
    db::Select sel("SELECT s.body FROM validation_schemas s WHERE s.version = (SELECT MAX(t.version) FROM "
                   "validation_schemas t WHERE t.name_key = s.name_key)");
    sel.OrderBy("s.name_key ASC").Limit(limit + 1).Offset(offset);
    C19_ASSIGN_OR_RETURN(auto rows, sel.Run(db_));
    Page<Schema> page;
    for (const auto& r : rows) {
      C19_ASSIGN_OR_RETURN(Schema s, ParseSchema(r.Text(0)));
      page.items.push_back(std::move(s));
    }
    if (static_cast<int64_t>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken(offset + limit);
    }
    return page;
  }

  // ---------------------------------------------------------------- validation

  internal::ValidateOptions VOptions() const {
    internal::ValidateOptions v;
    v.max_examples_per_rule = o_.max_examples_per_rule;
    v.max_issues = o_.max_issues;
    return v;
  }

  Result<ValidationReport> ValidateDataset(const Dataset& d, const Schema& schema, bool profile,
                                           const std::function<void(double)>& progress) {
    C19_ASSIGN_OR_RETURN(auto validator, internal::Validator::Compile(schema, VOptions()));
    C19_ASSIGN_OR_RETURN(auto src, Open(d));
    C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(*src, ReadOptionsOf(d)));
    const bool jsonl = d.format == Format::kJsonLines;
    validator->Begin(jsonl ? ColumnNames(d) : reader->columns(), jsonl);
    std::unique_ptr<internal::Profiler> profiler;
    if (profile) profiler = internal::Profiler::Create();
    internal::Validator* v = validator.get();
    C19_TRY(internal::Scan(*reader, profiler.get(), [v](const RecordReader& r) { v->Check(r); },
                           [&](int64_t bytes) {
                             if (progress && d.size > 0) progress(static_cast<double>(bytes) / static_cast<double>(d.size));
                           },
                           d.size / 100));
    ValidationReport rep = validator->Finish(reader->record());
    if (profiler) {
      rep.profile_json = DumpJson(profiler->Finish(reader->columns(), reader->record()));
      (void)db_.Exec("INSERT INTO validation_profiles (dataset_id, body, created_at) SELECT ?, ?, ? WHERE NOT EXISTS "
                     "(SELECT 1 FROM validation_profiles WHERE dataset_id = ?)",
                     {d.id, rep.profile_json, clock_->NowMs(), d.id});
    }
    return rep;
  }

  Result<ValidationReport> Validate(const Principal& actor, std::string_view ref, const Schema& schema, bool profile,
                                    const std::function<void(double)>& progress) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    int64_t started = clock_->NowMs();
    C19_ASSIGN_OR_RETURN(ValidationReport rep, ValidateDataset(d, schema, profile, progress));
    Run run;
    run.id = NewId();
    run.dataset_id = d.id;
    run.status = "succeeded";
    run.progress = 1;
    run.schema_name = schema.name;
    run.schema_version = schema.version;
    run.created_by = actor.username;
    run.created_at_ms = started;
    run.updated_at_ms = clock_->NowMs();
    ValidationReport stored = rep;
    stored.profile_json.clear();
    run.report_json = ReportJson(stored);
    C19_TRY(db_.Exec("INSERT INTO validation_runs (id, dataset_id, status, progress, schema_name, schema_version, "
                     "schema_body, with_profile, report, error, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
                     "?, ?, ?, ?, '', ?, ?, ?)",
                     {run.id, d.id, run.status, 1.0, schema.name, schema.version, SchemaJson(schema), profile,
                      run.report_json, run.created_by, run.created_at_ms, run.updated_at_ms}));
    PublishValidated(d, run.id, rep);
    return rep;
  }

  Result<ValidationReport> ValidateRecords(const Schema& schema, std::string_view records_json) override {
    C19_ASSIGN_OR_RETURN(Json records, ParseJson(records_json));
    if (!records.is_array()) return Error::Field("records", "records must be a list of objects");
    C19_ASSIGN_OR_RETURN(auto validator, internal::Validator::Compile(schema, VOptions()));
    auto reader = internal::JsonRecordsReader(records);
    validator->Begin(reader->columns(), /*per_record=*/true);
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool got, reader->Next());
      if (!got) break;
      validator->Check(*reader);
    }
    return validator->Finish(reader->record());
  }

  bool ShouldQueue(const Dataset& d) const override { return o_.queue && d.size > o_.inline_max_bytes; }

  Result<Run> SubmitValidation(const Principal& actor, std::string_view ref, const Schema& schema, bool profile) override {
    if (!o_.queue) return Error::FailedPrecondition("no queue is configured for validation jobs");
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    C19_TRY(internal::Validator::Compile(schema, VOptions()));
    Run run;
    run.id = NewId();
    run.dataset_id = d.id;
    run.status = "queued";
    run.schema_name = schema.name;
    run.schema_version = schema.version;
    run.created_by = actor.username;
    run.created_at_ms = run.updated_at_ms = clock_->NowMs();
    C19_TRY(db_.Exec("INSERT INTO validation_runs (id, dataset_id, status, progress, schema_name, schema_version, "
                     "schema_body, with_profile, report, error, created_by, created_at, updated_at) VALUES (?, ?, ?, 0, ?, "
                     "?, ?, ?, '', '', ?, ?, ?)",
                     {run.id, d.id, run.status, schema.name, schema.version, SchemaJson(schema), profile,
                      run.created_by, run.created_at_ms, run.updated_at_ms}));
    queue::PublishOptions po;
    po.idempotency_key = "validation:" + run.id;
    po.max_attempts = 3;
    C19_TRY(o_.queue->Publish(std::string(kValidationTopic), DumpJson(Json{{"run_id", run.id}}), po));
    Publish("dataset.validation.queued", {{"run_id", run.id}, {"dataset_id", d.id}, {"name", d.name}});
    return run;
  }

  Result<Run> GetRun(std::string_view id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT " + RunColumns() + " FROM validation_runs WHERE id = ?", {std::string(id)}));
    if (rows.empty()) return Error::NotFound("validation run \"" + std::string(id) + "\" does not exist");
    return RunFromRow(rows[0]);
  }

  Status RunJob(const std::string& body) override {
    Json j = Json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("run_id") || !j["run_id"].is_string()) {
      return Error::InvalidArgument("a validation job needs a run_id");
    }
    std::string id = j["run_id"].get<std::string>();
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT dataset_id, schema_body, with_profile, status FROM validation_runs "
                                              "WHERE id = ?",
                                              {id}));
    if (rows.empty()) return OkStatus();  // deleted meanwhile: nothing to do
    if (rows[0].Text(3) == "succeeded") return OkStatus();
    std::string dataset_id = rows[0].Text(0);
    bool profile = rows[0].Int(2) != 0;
    C19_TRY(db_.Exec("UPDATE validation_runs SET status = 'running', updated_at = ? WHERE id = ?", {clock_->NowMs(), id}));
    auto fail = [&](const Error& e) -> Status {
      C19_TRY(db_.Exec("UPDATE validation_runs SET status = 'failed', error = ?, updated_at = ? WHERE id = ?",
                       {e.message, clock_->NowMs(), id}));
      Publish("dataset.validation.failed", {{"run_id", id}, {"dataset_id", dataset_id}, {"error", e.message}});
      return OkStatus();
    };
    auto schema = ParseSchema(rows[0].Text(1));
    if (!schema.ok()) return fail(schema.error());
    auto d = Get(dataset_id);
    if (!d.ok()) return fail(d.error());
    int64_t last_ms = 0;
    double last_progress = 0;
    auto progress = [&](double p) {
      int64_t now = clock_->NowMs();
      if (p - last_progress < 0.02 && now - last_ms < 1000) return;
      last_ms = now;
      last_progress = p;
      (void)db_.Exec("UPDATE validation_runs SET progress = ?, updated_at = ? WHERE id = ?", {p, now, id});
      Publish("dataset.validation.progress", {{"run_id", id}, {"dataset_id", dataset_id}, {"progress", p}});
    };
    auto rep = ValidateDataset(*d, *schema, profile, progress);
    if (!rep.ok()) {
      if (rep.error().code == ErrorCode::kUnavailable) return rep.error();  // retried by the queue
      return fail(rep.error());
    }
    ValidationReport stored = *rep;
    stored.profile_json.clear();
    C19_TRY(db_.Exec("UPDATE validation_runs SET status = 'succeeded', progress = 1, report = ?, updated_at = ? WHERE id = ?",
                     {ReportJson(stored), clock_->NowMs(), id}));
    PublishValidated(*d, id, *rep);
    return OkStatus();
  }

  // ---------------------------------------------------------------- cleaning

  Result<std::pair<Dataset, std::string>> Clean(const Principal& actor, std::string_view ref,
                                                std::string_view rules_json) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    C19_ASSIGN_OR_RETURN(Json rules, ParseJson(rules_json));
    if (!rules.is_array() || rules.empty()) return Error::Field("rules", "rules must be a non-empty list");
    C19_ASSIGN_OR_RETURN(std::string ptext, ProfileOf(d));
    Json profile = Json::parse(ptext);
    std::vector<std::string> cols = ColumnNames(d);
    auto index = [&](const std::string& c) -> int {
      for (size_t i = 0; i < cols.size(); ++i)
        if (cols[i] == c) return static_cast<int>(i);
      return -1;
    };
    auto col_profile = [&](int i) -> const Json& { return profile["columns"][static_cast<size_t>(i)]; };

    struct Step {
      std::string op;
      std::vector<int> cols;  // empty: all
      std::string to, strategy, fill, method;
      double threshold = 0;
      std::vector<double> lo, hi;  // per column fences (outliers)
      std::vector<std::string> fills;
      std::unique_ptr<internal::Validator> validator;
      std::unordered_set<uint64_t> seen;
      int64_t affected = 0;
    };
    std::vector<std::unique_ptr<Step>> steps;
    for (size_t k = 0; k < rules.size(); ++k) {
      const Json& r = rules[k];
      std::string p = "rules[" + std::to_string(k) + "]";
      if (!r.is_object()) return Error::Field(p, p + " must be an object");
      auto s = std::make_unique<Step>();
      s->op = r.value("op", r.value("type", std::string()));
      std::vector<std::string> names;
      if (r.contains("column") && r["column"].is_string()) names.push_back(r["column"].get<std::string>());
      if (r.contains("columns") && r["columns"].is_array())
        for (const auto& c : r["columns"]) names.push_back(c.is_string() ? c.get<std::string>() : c.dump());
      for (const auto& n : names) {
        int i = index(n);
        if (i < 0) return Error::Field(p + ".columns", "the dataset has no column \"" + n + "\"");
        s->cols.push_back(i);
      }
      static const std::set<std::string> kOps = {"trim", "lowercase", "uppercase", "coerce", "fill_missing",
                                                 "clip_outliers", "drop_outliers", "deduplicate", "drop_invalid"};
      if (!kOps.count(s->op)) {
        return Error::Field(p + ".op", "op must be one of trim, lowercase, uppercase, coerce, fill_missing, "
                                       "clip_outliers, drop_outliers, deduplicate, drop_invalid; got \"" + s->op + "\"");
      }
      bool needs_cols = s->op == "coerce" || s->op == "fill_missing" || s->op == "clip_outliers" || s->op == "drop_outliers";
      if (needs_cols && s->cols.empty()) return Error::Field(p + ".column", s->op + " needs column or columns");
      if (s->op == "coerce") {
        s->to = r.value("to", std::string());
        static const std::set<std::string> kTo = {"integer", "float", "boolean", "date", "datetime", "string"};
        if (!kTo.count(s->to)) return Error::Field(p + ".to", "to must be integer, float, boolean, date, datetime or string");
        s->method = r.value("format", std::string());
      } else if (s->op == "fill_missing") {
        s->strategy = r.value("strategy", std::string("constant"));
        for (int c : s->cols) {
          const Json& cp = col_profile(c);
          std::string v;
          if (s->strategy == "constant") {
            if (!r.contains("value")) return Error::Field(p + ".value", "fill_missing with strategy constant needs a value");
            v = r["value"].is_string() ? r["value"].get<std::string>() : r["value"].dump();
          } else if (s->strategy == "mean" || s->strategy == "median") {
            if (!cp.contains("mean")) return Error::Field(p + ".strategy", "column \"" + cols[static_cast<size_t>(c)] + "\" is not numeric");
            double x = s->strategy == "mean" ? cp["mean"].get<double>() : cp["quantiles"]["0.5"].get<double>();
            bool integer = cp["type"] == "integer";
            v = integer && std::floor(x) == x ? std::to_string(static_cast<int64_t>(x)) : DumpJson(Json(x));
          } else if (s->strategy == "mode") {
            if (cp["top_values"].empty()) return Error::Field(p + ".strategy", "column \"" + cols[static_cast<size_t>(c)] + "\" has no values");
            v = cp["top_values"][0]["value"].get<std::string>();
          } else {
            return Error::Field(p + ".strategy", "strategy must be constant, mean, median or mode");
          }
          s->fills.push_back(v);
        }
      } else if (s->op == "clip_outliers" || s->op == "drop_outliers") {
        s->method = r.value("method", std::string("iqr"));
        if (s->method != "iqr" && s->method != "zscore") return Error::Field(p + ".method", "method must be iqr or zscore");
        s->threshold = r.value("threshold", s->method == "iqr" ? 1.5 : 3.0);
        for (int c : s->cols) {
          const Json& cp = col_profile(c);
          if (!cp.contains("mean")) return Error::Field(p + ".columns", "column \"" + cols[static_cast<size_t>(c)] + "\" is not numeric");
          auto [lo, hi] = Fences(cp, s->method, s->threshold);
          s->lo.push_back(lo);
          s->hi.push_back(hi);
        }
      } else if (s->op == "drop_invalid") {
        Schema schema;
        if (r.contains("schema") && r["schema"].is_object()) {
          C19_ASSIGN_OR_RETURN(schema, SchemaFromJson(r["schema"]));
        } else if (r.contains("schema_name") && r["schema_name"].is_string()) {
          C19_ASSIGN_OR_RETURN(schema, GetSchema(r["schema_name"].get<std::string>(), r.value("schema_version", int64_t{0})));
        } else {
          return Error::Field(p + ".schema", "drop_invalid needs a schema or a schema_name");
        }
        C19_ASSIGN_OR_RETURN(s->validator, internal::Validator::Compile(schema, VOptions()));
        s->validator->Begin(cols, d.format == Format::kJsonLines);
      }
      steps.push_back(std::move(s));
    }

    Spool out_spool(o_.spool_dir + "/clean-" + NewId());
    Spool rej_spool(o_.spool_dir + "/rejects-" + NewId());
    CsvWriter out(out_spool.path, d.delimiter), rej(rej_spool.path, d.delimiter);
    if (!out.ok() || !rej.ok()) return Error::Internal("cannot write spool files in " + o_.spool_dir);
    out.Row(cols, {});
    std::vector<std::string> rej_header = cols;
    rej_header.push_back("_reject_reason");
    rej.Row(rej_header, {});
    C19_ASSIGN_OR_RETURN(auto src, Open(d));
    C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(*src, ReadOptionsOf(d)));
    std::vector<std::string> cells(cols.size());
    std::vector<bool> nulls(cols.size());
    int64_t in_rows = 0;
    auto all_cols = [&](const Step& s) {
      std::vector<int> v = s.cols;
      if (v.empty())
        for (size_t i = 0; i < cols.size(); ++i) v.push_back(static_cast<int>(i));
      return v;
    };
    // A record view over the working cells, for drop_invalid after earlier steps.
    class CellsView final : public RecordReader {
     public:
      CellsView(const std::vector<std::string>& c, const std::vector<std::string>& v, const std::vector<bool>& n,
                const RecordReader& base)
          : c_(c), v_(v), n_(n), base_(base) {}
      const std::vector<std::string>& columns() const override { return c_; }
      Result<bool> Next() override { return false; }
      std::string_view cell(size_t i) const override { return i < v_.size() ? std::string_view(v_[i]) : std::string_view(); }
      bool is_null(size_t i) const override { return i >= n_.size() || n_[i]; }
      bool absent(size_t i) const override { return base_.absent(i); }
      int64_t record() const override { return base_.record(); }
      int64_t line() const override { return base_.line(); }
      int64_t bytes_read() const override { return base_.bytes_read(); }

     private:
      const std::vector<std::string>& c_;
      const std::vector<std::string>& v_;
      const std::vector<bool>& n_;
      const RecordReader& base_;
    };
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool got, reader->Next());
      if (!got) break;
      ++in_rows;
      for (size_t i = 0; i < cols.size(); ++i) {
        nulls[i] = reader->is_null(i);
        cells[i].assign(reader->cell(i));
      }
      std::string reject;
      bool drop = false;
      for (auto& sp : steps) {
        Step& s = *sp;
        if (s.op == "trim" || s.op == "lowercase" || s.op == "uppercase") {
          for (int c : all_cols(s)) {
            if (nulls[static_cast<size_t>(c)]) continue;
            std::string& v = cells[static_cast<size_t>(c)];
            std::string before = v;
            if (s.op == "trim") v = std::string(Trim(v));
            else if (s.op == "lowercase") v = ToLower(v);
            else
              for (auto& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (v != before) ++s.affected;
            if (v.empty()) nulls[static_cast<size_t>(c)] = true;
          }
        } else if (s.op == "coerce") {
          for (int c : s.cols) {
            if (nulls[static_cast<size_t>(c)]) continue;
            std::string& v = cells[static_cast<size_t>(c)];
            auto coerced = Coerce(v, s.to, s.method);
            if (!coerced) {
              nulls[static_cast<size_t>(c)] = true;
              v.clear();
              ++s.affected;
            } else if (*coerced != v) {
              v = *coerced;
              ++s.affected;
            }
          }
        } else if (s.op == "fill_missing") {
          for (size_t k = 0; k < s.cols.size(); ++k) {
            size_t c = static_cast<size_t>(s.cols[k]);
            if (!nulls[c]) continue;
            cells[c] = s.fills[k];
            nulls[c] = s.fills[k].empty();
            ++s.affected;
          }
        } else if (s.op == "clip_outliers" || s.op == "drop_outliers") {
          for (size_t k = 0; k < s.cols.size() && !drop; ++k) {
            size_t c = static_cast<size_t>(s.cols[k]);
            double x;
            if (nulls[c] || !internal::ParseFloat(cells[c], x)) continue;
            if (x >= s.lo[k] && x <= s.hi[k]) continue;
            ++s.affected;
            if (s.op == "drop_outliers") {
              drop = true;
            } else {
              double y = std::clamp(x, s.lo[k], s.hi[k]);
              int64_t iv;
              bool integer = internal::ParseInt(cells[c], iv);
              cells[c] = integer ? std::to_string(static_cast<int64_t>(x < s.lo[k] ? std::ceil(y) : std::floor(y)))
                                 : DumpJson(Json(y));
            }
          }
        } else if (s.op == "deduplicate") {
          std::string key;
          for (int c : all_cols(s)) {
            key += nulls[static_cast<size_t>(c)] ? std::string("\x1e") : cells[static_cast<size_t>(c)];
            key.push_back('\x1f');
          }
          if (!s.seen.insert(internal::Hash64(key)).second) {
            drop = true;
            ++s.affected;
          }
        } else if (s.op == "drop_invalid") {
          CellsView view(cols, cells, nulls, *reader);
          s.validator->Check(view);
          if (s.validator->last_row_failed()) {
            reject = "invalid against the schema";
            ++s.affected;
          }
        }
        if (drop || !reject.empty()) break;
      }
      if (!reject.empty()) {
        std::vector<std::string> r = cells;
        std::vector<bool> n = nulls;
        r.push_back(reject);
        n.push_back(false);
        rej.Row(r, n);
      } else if (!drop) {
        out.Row(cells, nulls);
      }
    }
    C19_TRY(out.Close());
    C19_TRY(rej.Close());
    Json summary = Json::object();
    Json per_rule = Json::array();
    for (auto& s : steps) per_rule.push_back({{"op", s->op}, {"affected", s->affected}});
    summary["rules"] = per_rule;
    summary["input_rows"] = in_rows;
    summary["output_rows"] = out.rows() - 1;
    summary["rejected_rows"] = rej.rows() - 1;
    Dataset next;
    next.name = d.name;
    next.format = Format::kCsv;
    next.delimiter = d.delimiter;
    next.header = true;
    next.source = "clean";
    next.parent_id = d.id;
    next.description = "cleaned from " + d.name + "@" + std::to_string(d.version);
    C19_ASSIGN_OR_RETURN(Dataset cleaned, Ingest(actor, out_spool.path, next));
    if (rej.rows() > 1) {
      Dataset rj;
      rj.name = d.name + ".rejects";
      rj.format = Format::kCsv;
      rj.delimiter = d.delimiter;
      rj.source = "clean";
      rj.parent_id = d.id;
      rj.description = "rows rejected while cleaning " + d.name + "@" + std::to_string(d.version);
      C19_ASSIGN_OR_RETURN(Dataset rejects, Ingest(actor, rej_spool.path, rj));
      summary["rejects"] = DatasetToJson(rejects);
    } else {
      summary["rejects"] = nullptr;
    }
    return std::make_pair(cleaned, DumpJson(summary));
  }

  static std::pair<double, double> Fences(const Json& cp, const std::string& method, double threshold) {
    if (method == "iqr") {
      double q1 = cp["quantiles"]["0.25"].get<double>(), q3 = cp["quantiles"]["0.75"].get<double>();
      double iqr = q3 - q1;
      return {q1 - threshold * iqr, q3 + threshold * iqr};
    }
    double mean = cp["mean"].get<double>();
    double sd = cp["std"].is_number() ? cp["std"].get<double>() : 0.0;
    return {mean - threshold * sd, mean + threshold * sd};
  }

  static std::optional<std::string> Coerce(const std::string& v, const std::string& to, const std::string& format) {
    std::string t(Trim(v));
    if (to == "string") return v;
    if (to == "integer") {
      int64_t i;
      if (internal::ParseInt(t, i)) return std::to_string(i);
      double f;
      if (internal::ParseFloat(t, f) && std::isfinite(f) && std::fabs(f) < 9e18) return std::to_string(std::llround(f));
      return std::nullopt;
    }
    if (to == "float") {
      double f;
      if (internal::ParseFloat(t, f)) return DumpJson(Json(f));
      return std::nullopt;
    }
    if (to == "boolean") {
      bool b;
      if (internal::ParseBool(t, b)) return std::string(b ? "true" : "false");
      return std::nullopt;
    }
    if (to == "date") {
      int64_t days;
      if (!internal::ParseDate(t, format, days)) return std::nullopt;
      return FormatRfc3339(days * 86400000).substr(0, 10);
    }
    double sec;
    if (!internal::ParseDateTime(t, format, sec)) {
      int64_t days;
      if (!internal::ParseDate(t, format, days)) return std::nullopt;
      sec = static_cast<double>(days) * 86400.0;
    }
    return FormatRfc3339(static_cast<int64_t>(std::llround(sec * 1000)));
  }

  // ---------------------------------------------------------------- drift and outliers

  Result<std::vector<DriftColumn>> Collect(const Dataset& d, size_t cap) {
    C19_ASSIGN_OR_RETURN(auto src, Open(d));
    C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(*src, ReadOptionsOf(d)));
    std::vector<DriftColumn> out(d.columns.size());
    std::vector<bool> numeric(d.columns.size());
    for (size_t i = 0; i < d.columns.size(); ++i) numeric[i] = d.columns[i].type == "integer" || d.columns[i].type == "float";
    uint64_t rng = 0x2545F4914F6CDD1DULL;
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool got, reader->Next());
      if (!got) break;
      for (size_t i = 0; i < out.size(); ++i) {
        DriftColumn& c = out[i];
        if (reader->is_null(i)) {
          ++c.missing;
          continue;
        }
        ++c.count;
        std::string_view v = reader->cell(i);
        if (numeric[i]) {
          double x;
          if (internal::ParseFloat(v, x)) c.sample.Add(x, cap, rng);
        } else if (c.freq_exact) {
          c.freq[std::string(v)] += 1;
          if (c.freq.size() > 10000) {
            c.freq_exact = false;
            c.freq.clear();
          }
        }
      }
    }
    return out;
  }

  Result<std::string> Drift(std::string_view ref, std::string_view baseline_ref, std::string_view options_json) override {
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    C19_ASSIGN_OR_RETURN(Dataset b, Get(baseline_ref));
    Json opt = options_json.empty() ? Json::object() : Json::parse(options_json, nullptr, false);
    if (!opt.is_object()) return Error::Field("thresholds", "thresholds must be an object");
    double psi_t = opt.value("psi", 0.2), ks_p = opt.value("ks_pvalue", 0.05), js_t = opt.value("jensen_shannon", 0.1),
           linf_t = opt.value("linf", 0.2);
    const size_t cap = static_cast<size_t>(opt.value("sample_size", 100000));
    C19_ASSIGN_OR_RETURN(auto cur, Collect(d, cap));
    C19_ASSIGN_OR_RETURN(auto base, Collect(b, cap));
    Json cols = Json::array();
    int drifted = 0;
    for (size_t i = 0; i < d.columns.size(); ++i) {
      const auto& name = d.columns[i].name;
      size_t j = 0;
      while (j < b.columns.size() && b.columns[j].name != name) ++j;
      if (j == b.columns.size()) {
        cols.push_back({{"name", name}, {"status", "new_column"}, {"drift", false}});
        continue;
      }
      Json c = {{"name", name}, {"type", d.columns[i].type}, {"baseline_type", b.columns[j].type}};
      bool num = (d.columns[i].type == "integer" || d.columns[i].type == "float") &&
                 (b.columns[j].type == "integer" || b.columns[j].type == "float");
      bool drift = false;
      if (num) {
        auto ks = internal::KolmogorovSmirnov(cur[i].sample.values, base[j].sample.values);
        double psi = internal::PopulationStability(base[j].sample.values, cur[i].sample.values);
        c["ks_statistic"] = ks.statistic;
        c["ks_pvalue"] = ks.p_value;
        c["psi"] = psi;
        c["sampled"] = cur[i].sample.seen > static_cast<int64_t>(cap) || base[j].sample.seen > static_cast<int64_t>(cap);
        drift = psi > psi_t || ks.p_value < ks_p;
        c["kind"] = "numeric";
      } else if (cur[i].freq_exact && base[j].freq_exact) {
        double js = internal::JensenShannon(cur[i].freq, base[j].freq);
        double linf = internal::LInfinity(cur[i].freq, base[j].freq);
        c["jensen_shannon"] = js;
        c["linf"] = linf;
        drift = js > js_t || linf > linf_t;
        c["kind"] = "categorical";
      } else {
        c["kind"] = "skipped";
        c["reason"] = "more than 10000 distinct values";
      }
      auto missing = [](const DriftColumn& x) {
        return x.count + x.missing > 0 ? static_cast<double>(x.missing) / static_cast<double>(x.count + x.missing) : 0.0;
      };
      c["missing_ratio"] = missing(cur[i]);
      c["baseline_missing_ratio"] = missing(base[j]);
      c["drift"] = drift;
      drifted += drift;
      cols.push_back(std::move(c));
    }
    for (const auto& bc : b.columns) {
      bool found = false;
      for (const auto& dc : d.columns) found |= dc.name == bc.name;
      if (!found) cols.push_back({{"name", bc.name}, {"status", "missing_column"}, {"drift", true}}), ++drifted;
    }
    Json out = {{"dataset", DatasetToJson(d)["id"]},
                {"baseline", b.id},
                {"columns", cols},
                {"drifted_columns", drifted},
                {"verdict", drifted > 0 ? "drift" : "no_drift"},
                {"thresholds", {{"psi", psi_t}, {"ks_pvalue", ks_p}, {"jensen_shannon", js_t}, {"linf", linf_t}}}};
    Publish("dataset.drift", {{"id", d.id}, {"baseline", b.id}, {"drifted_columns", drifted}});
    return DumpJson(out);
  }

  Result<std::string> Outliers(std::string_view ref, const std::string& method, double threshold,
                               int64_t max_examples) override {
    if (method != "iqr" && method != "zscore") return Error::Field("method", "method must be iqr or zscore");
    if (!(threshold > 0)) return Error::Field("threshold", "threshold must be positive");
    C19_ASSIGN_OR_RETURN(Dataset d, Get(ref));
    C19_ASSIGN_OR_RETURN(std::string ptext, ProfileOf(d));
    Json profile = Json::parse(ptext);
    struct Col {
      size_t index;
      double lo, hi;
      int64_t count = 0;
      Json examples = Json::array();
    };
    std::vector<Col> cols;
    for (size_t i = 0; i < profile["columns"].size(); ++i) {
      const Json& cp = profile["columns"][i];
      if ((cp["type"] != "integer" && cp["type"] != "float") || !cp.contains("mean")) continue;
      auto [lo, hi] = Fences(cp, method, threshold);
      cols.push_back({i, lo, hi});
    }
    C19_ASSIGN_OR_RETURN(auto src, Open(d));
    C19_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(*src, ReadOptionsOf(d)));
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool got, reader->Next());
      if (!got) break;
      for (auto& c : cols) {
        double x;
        if (reader->is_null(c.index) || !internal::ParseFloat(reader->cell(c.index), x)) continue;
        if (x >= c.lo && x <= c.hi) continue;
        ++c.count;
        if (static_cast<int64_t>(c.examples.size()) < max_examples) c.examples.push_back({{"row", reader->record()}, {"value", x}});
      }
    }
    Json out = Json::array();
    for (auto& c : cols) {
      out.push_back({{"name", profile["columns"][c.index]["name"]}, {"lower_fence", c.lo}, {"upper_fence", c.hi},
                     {"outliers", c.count}, {"examples", c.examples}});
    }
    return DumpJson(Json{{"dataset", d.id}, {"method", method}, {"threshold", threshold}, {"columns", out}});
  }

 private:
  void PublishValidated(const Dataset& d, const std::string& run_id, const ValidationReport& rep) {
    Publish(events::kDatasetValidated, {{"id", d.id}, {"name", d.name}, {"version", d.version}, {"run_id", run_id},
                                        {"is_valid", rep.is_valid}, {"rows", rep.rows}, {"error_count", rep.error_count},
                                        {"quality_score", rep.quality_score}});
  }

  void Publish(std::string_view type, const Json& data) {
    events::Publish(o_.bus, std::string(events::kRoomDatasets), type, DumpJson(data));
  }

  void Audit(const Principal& actor, std::string action, const std::string& resource, const Json& details) {
    AuditSystemChange(o_.audit, actor, std::move(action), "dataset:" + resource, DumpJson(details));
  }

  db::Database& db_;
  storage::StorageService& storage_;
  Options o_;
  const Clock* clock_;
};

}  // namespace

Result<std::unique_ptr<DatasetService>> DatasetService::Create(db::Database& db, storage::StorageService& storage,
                                                               Options options) {
  if (options.spool_dir.empty()) return Error::Field("spool_dir", "the dataset service needs a spool folder");
  std::error_code ec;
  std::filesystem::create_directories(options.spool_dir, ec);
  if (ec) return Error::Field("spool_dir", "cannot create " + options.spool_dir + ": " + ec.message());
  return std::unique_ptr<DatasetService>(new DatasetServiceImpl(db, storage, std::move(options)));
}

}  // namespace c19ai::validation
