// Batch prediction jobs: a pull stream that reads rows, predicts them in chunks and yields result
// lines, fed straight into StorageService::Put so that nothing is buffered beyond one chunk.

#include "inference/batch.h"

#include <charconv>
#include <cmath>
#include <future>

#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "inference/codec.h"
#include "inference/rows.h"

namespace c19ai::inference {

namespace {

using internal::Cell;
using internal::CsvReader;
using internal::Input;
using internal::JsonlReader;
using storage::ByteSource;
using storage::Namespace;

std::string FormatOf(const std::string& key) {
  std::string k = ToLower(key);
  if (k.ends_with(".csv")) return "csv";
  if (k.ends_with(".jsonl") || k.ends_with(".ndjson")) return "jsonl";
  return "";
}

std::optional<Namespace> NamespaceFrom(std::string_view name) {
  for (auto ns : {Namespace::kFiles, Namespace::kModels, Namespace::kCheckpoints, Namespace::kDatasets,
                  Namespace::kResults}) {
    if (storage::NamespaceName(ns) == name) return ns;
  }
  return std::nullopt;
}

std::string InputName(const BatchSource& s) { return std::string(storage::NamespaceName(s.ns)) + "/" + s.key; }

Json RequestJson(const BatchRequest& r) {
  Json j = {{"delimiter", std::string(1, r.delimiter)},
            {"columns", r.columns},
            {"id_column", r.id_column},
            {"chunk_rows", r.chunk_rows},
            {"max_failed_rows", r.max_failed_rows}};
  if (!r.file.empty()) j["file"] = r.file;
  if (!r.dataset.empty()) {
    j["dataset"] = r.dataset;
    j["dataset_version"] = r.dataset_version;
  }
  return j;
}

void RequestFromJson(const Json& j, BatchRequest& r) {
  std::string d = j.value("delimiter", std::string(","));
  r.delimiter = d.empty() ? ',' : d[0];
  r.columns = j.value("columns", std::vector<std::string>{});
  r.id_column = j.value("id_column", std::string());
  r.chunk_rows = j.value("chunk_rows", int64_t{256});
  r.max_failed_rows = j.value("max_failed_rows", int64_t{100});
  r.file = j.value("file", std::string());
  r.dataset = j.value("dataset", std::string());
  r.dataset_version = j.value("dataset_version", std::string());
}

constexpr std::string_view kColumns =
    "id, model_name, selector, version, input_ns, input_key, format, options, status, rows_done, rows_failed, "
    "bytes_done, bytes_total, output_key, output_size, output_sha256, error, cancel_requested, created_by, "
    "created_at, started_at, finished_at";

BatchJob JobFromRow(const db::Row& r) {
  BatchJob j;
  j.id = r.Text(0);
  j.request.model = r.Text(1);
  j.request.version = r.Text(2);
  j.served_version = r.OptInt(3);
  j.input = r.Text(4) + "/" + r.Text(5);
  j.request.format = r.Text(6);
  Json opts = Json::parse(r.Text(7), nullptr, false);
  if (opts.is_object()) RequestFromJson(opts, j.request);
  j.status = r.Text(8);
  j.rows_done = r.Int(9);
  j.rows_failed = r.Int(10);
  j.bytes_done = r.Int(11);
  j.bytes_total = r.Int(12);
  j.output_key = r.Text(13);
  j.output_size = r.Int(14);
  j.output_sha256 = r.Text(15);
  j.error = r.Text(16);
  j.cancel_requested = r.Bool(17);
  j.created_by = r.Text(18);
  j.created_at_ms = r.Int(19);
  j.started_at_ms = r.OptInt(20);
  j.finished_at_ms = r.OptInt(21);
  return j;
}

// Encodes a chunk's answer in the callback (the model pointer is only valid there).
Result<Json> PredictChunk(InferenceService& svc, const std::string& model, const std::string& version,
                          Json body, ServedModel* served) {
  std::promise<Result<Json>> promise;
  auto future = promise.get_future();
  SubmitOptions so;
  so.version = version;
  so.priority = Priority::kLow;  // online traffic first
  svc.Submit(
      model, so, [body = std::move(body)](const ServedModel& m) { return DecodeNative(body, m); },
      [&promise, served](const ServedModel& m, Result<PredictResult> r) {
        if (!r.ok()) {
          promise.set_value(std::move(r).error());
          return;
        }
        *served = m;
        served->model = nullptr;
        promise.set_value(EncodeNative(m, *r));
      });
  return future.get();
}

// Splits an encoded answer into per-row fields: {"outputs": [..n]} → row i gets "output": outputs[i].
std::vector<Json> SplitRows(const Json& answer, size_t n) {
  std::vector<Json> rows(n, Json::object());
  for (const auto& [k, v] : answer.items()) {
    if (!v.is_array() || v.size() != n) continue;
    std::string name = k == "outputs" ? "output" : k == "labels" ? "label" : k;
    for (size_t i = 0; i < n; ++i) rows[i][name] = v[i];
  }
  return rows;
}

class Batches;

// The result stream: each Read past the buffer predicts the next chunk.
class ResultSource final : public ByteSource {
 public:
  ResultSource(Batches& owner, BatchJob& job, std::unique_ptr<ByteSource> input, bool bundle,
               const std::function<bool()>& stopping)
      : owner_(owner), job_(job), in_(std::move(input)), bundle_(bundle), stopping_(stopping) {}

  Result<size_t> Read(char* data, size_t size) override {
    while (pos_ == out_.size()) {
      if (done_) return size_t{0};
      out_.clear();
      pos_ = 0;
      C19_TRY(Fill());
    }
    size_t n = std::min(size, out_.size() - pos_);
    std::memcpy(data, out_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  struct Pending {
    int64_t row = 0;
    Json id;
    Json value;  // array (inputs) or object (instances)
  };

  Status Fill();
  Result<bool> ReadRow(Pending& p);
  Status Predict(std::vector<Pending>& rows);
  void Line(const Pending& p, Json fields) {
    Json line = {{"row", p.row}};
    if (!p.id.is_null()) line["id"] = p.id;
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
    out_ += DumpJson(line);
    out_ += '\n';
  }

  Batches& owner_;
  BatchJob& job_;
  Input in_;
  bool bundle_;
  const std::function<bool()>& stopping_;
  std::optional<CsvReader> csv_;
  std::optional<JsonlReader> jsonl_;
  std::vector<std::string> header_;
  std::vector<size_t> picked_;  // CSV columns fed to the model
  std::optional<size_t> id_at_;
  int64_t rows_ = 0;
  std::string out_;
  size_t pos_ = 0;
  bool done_ = false;
  bool started_ = false;
  int64_t last_tick_ms_ = 0;
};

class Batches final : public BatchPredictions {
 public:
  Batches(db::Database& db, storage::StorageService& storage, queue::Queue& queue, InferenceService& inference,
          BatchOptions o)
      : db_(db), storage_(storage), queue_(queue), inference_(inference), o_(std::move(o)) {}

  Result<BatchJob> Submit(const Principal& actor, BatchRequest r) override {
    if (r.model.empty()) return Error::Field("model", "model is required");
    if (r.file.empty() == r.dataset.empty()) return Error::Field("input", "give one of file or dataset");
    if (r.chunk_rows < 1 || r.chunk_rows > 4096) return Error::Field("chunk_rows", "chunk_rows must be 1 to 4096");
    if (r.max_failed_rows < 0) return Error::Field("max_failed_rows", "max_failed_rows must be ≥ 0");
    if (r.delimiter == '"' || r.delimiter == '\n' || r.delimiter == '\r') {
      return Error::Field("delimiter", "the delimiter cannot be a quote or a line break");
    }
    if (!r.format.empty() && r.format != "csv" && r.format != "jsonl") {
      return Error::Field("format", "format must be csv or jsonl");
    }
    BatchSource src;
    if (!r.file.empty()) {
      if (!actor.Has("files:read")) return Error::PermissionDenied("reading files needs files:read");
      C19_TRY(storage::ValidateKey(r.file));
      src.ns = Namespace::kFiles;
      src.key = r.file;
      src.format = FormatOf(r.file);
    } else {
      if (!o_.resolve_dataset) return Error::FailedPrecondition("datasets are not available on this server");
      if (!actor.Has("datasets:read")) return Error::PermissionDenied("reading datasets needs datasets:read");
      C19_ASSIGN_OR_RETURN(src, o_.resolve_dataset(r.dataset, r.dataset_version));
    }
    if (src.delimiter) r.delimiter = *src.delimiter;
    if (!r.format.empty()) src.format = r.format;
    if (src.format.empty()) return Error::Field("format", "cannot tell the format from the name: give csv or jsonl");
    r.format = src.format;
    if (src.format == "jsonl" && (!r.columns.empty() || !r.id_column.empty())) {
      return Error::Field("columns", "columns and id_column apply to CSV input");
    }
    C19_ASSIGN_OR_RETURN(storage::ObjectInfo info, storage_.Stat(src.ns, src.key));
    // The model (and version) must exist now, not only when the job runs.
    C19_ASSIGN_OR_RETURN(ServedModel served, inference_.Describe(r.model, r.version));

    BatchJob j;
    j.id = NewId();
    j.request = r;
    j.input = InputName(src);
    j.status = "queued";
    j.bytes_total = info.size;
    j.created_by = actor.username;
    j.created_at_ms = o_.clock->NowMs();
    j.output_key = "batch-predictions/" + j.id + ".jsonl";
    C19_TRY(db_.Exec(
        "INSERT INTO inference_batch_jobs (id, model_name, selector, input_ns, input_key, format, options, status, "
        "bytes_total, output_key, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
        {j.id, served.name, r.version, std::string(storage::NamespaceName(src.ns)), src.key, src.format,
         DumpJson(RequestJson(r)), j.bytes_total, j.output_key, j.created_by, j.created_at_ms}));
    j.request.model = served.name;
    queue::PublishOptions po;
    po.priority = queue::Priority::kLow;
    po.idempotency_key = "batch:" + j.id;
    po.max_attempts = 3;
    auto published = queue_.Publish(std::string(kBatchTopic), j.id, po);
    if (!published.ok()) {
      (void)db_.Exec("DELETE FROM inference_batch_jobs WHERE id = ?", {j.id});
      return std::move(published).error();
    }
    Event(j, "batch_prediction.queued");
    return j;
  }

  Result<BatchJob> Get(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT " + std::string(kColumns) +
                                                      " FROM inference_batch_jobs WHERE id = ?",
                                                  {id}));
    if (rows.empty()) return Error::NotFound("batch prediction \"" + id + "\" not found");
    return JobFromRow(rows[0]);
  }

  Result<std::vector<BatchJob>> List(const std::string& model, int64_t limit, int64_t offset) override {
    std::string sql = "SELECT " + std::string(kColumns) + " FROM inference_batch_jobs";
    db::Params params;
    if (!model.empty()) {
      sql += " WHERE lower(model_name) = ?";
      params.emplace_back(ToLower(model));
    }
    sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
    params.emplace_back(limit);
    params.emplace_back(offset);
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query(sql, params));
    std::vector<BatchJob> out;
    for (const auto& r : rows) out.push_back(JobFromRow(r));
    return out;
  }

  Result<BatchJob> Cancel(const Principal&, const std::string& id) override {
    const int64_t now = o_.clock->NowMs();
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE inference_batch_jobs SET status = 'cancelled', finished_at = ?, "
                                             "cancel_requested = 1 WHERE id = ? AND status = 'queued'",
                                             {now, id}));
    if (n == 0) {
      C19_ASSIGN_OR_RETURN(n, db_.Exec("UPDATE inference_batch_jobs SET cancel_requested = 1 WHERE id = ? AND "
                                       "status = 'running'",
                                       {id}));
    }
    C19_ASSIGN_OR_RETURN(BatchJob j, Get(id));
    if (n == 0) return Error::FailedPrecondition("batch prediction " + id + " already ended (" + j.status + ")");
    if (j.status == "cancelled") Event(j, "batch_prediction.cancelled");
    return j;
  }

  Result<std::pair<storage::ObjectInfo, std::unique_ptr<ByteSource>>> OpenResult(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(BatchJob j, Get(id));
    if (j.status != "succeeded") {
      return Error::FailedPrecondition("batch prediction " + id + " has no result (" + j.status + ")");
    }
    C19_ASSIGN_OR_RETURN(storage::ObjectInfo info, storage_.Stat(Namespace::kResults, j.output_key));
    C19_ASSIGN_OR_RETURN(auto src, storage_.Open(Namespace::kResults, j.output_key));
    return std::make_pair(std::move(info), std::move(src));
  }

  Status Run(queue::Message& message, const std::function<bool()>& stopping) override {
    auto got = Get(message.body);
    if (!got.ok()) {
      if (got.error().code == ErrorCode::kNotFound) return OkStatus();  // deleted: nothing to do
      return std::move(got).error();
    }
    BatchJob j = std::move(*got);
    if (j.status == "cancelled" || j.status == "succeeded" || j.status == "failed") return OkStatus();
    const int64_t now = o_.clock->NowMs();
    C19_TRY(db_.Exec("UPDATE inference_batch_jobs SET status = 'running', started_at = ?, rows_done = 0, "
                     "rows_failed = 0, bytes_done = 0, error = '' WHERE id = ?",
                     {now, j.id}));
    j.status = "running";
    j.started_at_ms = now;
    j.rows_done = j.rows_failed = j.bytes_done = 0;
    Event(j, "batch_prediction.started");
    Status st = Execute(j, stopping);
    const int64_t end = o_.clock->NowMs();
    if (st.ok()) {
      j.status = "succeeded";
    } else if (j.cancel_requested) {
      j.status = "cancelled";
    } else if (stopping() || st.error().code == ErrorCode::kUnavailable) {
      // Shutting down or a backend is away: back to the queue, the job runs again from the start.
      (void)db_.Exec("UPDATE inference_batch_jobs SET status = 'queued', error = ? WHERE id = ?",
                     {st.error().message, j.id});
      return st;
    } else {
      j.status = "failed";
      j.error = st.error().message;
    }
    j.finished_at_ms = end;
    C19_TRY(db_.Exec("UPDATE inference_batch_jobs SET status = ?, version = ?, rows_done = ?, rows_failed = ?, "
                     "bytes_done = ?, output_size = ?, output_sha256 = ?, error = ?, finished_at = ? WHERE id = ?",
                     {j.status, j.served_version, j.rows_done, j.rows_failed, j.bytes_done, j.output_size,
                      j.output_sha256, j.error, end, j.id}));
    Event(j, "batch_prediction." + j.status);
    log::Info("batch prediction ended", {{"job", j.id}, {"status", j.status}, {"rows", std::to_string(j.rows_done)}});
    return OkStatus();  // failures are the job's outcome, not the message's
  }

  // Called by the stream at most every progress_interval_ms: records progress, sees cancellation.
  Status Tick(BatchJob& j, int64_t bytes_done, bool force, int64_t& last_tick_ms) {
    j.bytes_done = bytes_done;
    const int64_t now = o_.clock->NowMs();
    if (!force && now - last_tick_ms < o_.progress_interval_ms) return OkStatus();
    last_tick_ms = now;
    C19_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT cancel_requested FROM inference_batch_jobs WHERE id = ?",
                                                  {j.id}));
    if (!rows.empty() && rows[0].Bool(0)) {
      j.cancel_requested = true;
      return Error::Aborted("cancelled by request");
    }
    C19_TRY(db_.Exec("UPDATE inference_batch_jobs SET rows_done = ?, rows_failed = ?, bytes_done = ?, version = ? "
                     "WHERE id = ?",
                     {j.rows_done, j.rows_failed, j.bytes_done, j.served_version, j.id}));
    Event(j, "batch_prediction.progress");
    return OkStatus();
  }

  InferenceService& inference() { return inference_; }

 private:
  Status Execute(BatchJob& j, const std::function<bool()>& stopping) {
    auto slash = j.input.find('/');
    auto ns = NamespaceFrom(j.input.substr(0, slash));
    if (!ns) return Error::Internal("bad input namespace in " + j.input);
    C19_ASSIGN_OR_RETURN(auto input, storage_.Open(*ns, j.input.substr(slash + 1)));
    C19_ASSIGN_OR_RETURN(ServedModel served, inference_.Describe(j.request.model, j.request.version));
    ResultSource results(*this, j, std::move(input), served.bundle, stopping);
    storage::PutOptions po;
    po.content_type = "application/x-ndjson";
    po.created_by = j.created_by;
    po.metadata = {{"batch_prediction", j.id}, {"model", j.request.model}};
    C19_ASSIGN_OR_RETURN(storage::ObjectInfo info, storage_.Put(Namespace::kResults, j.output_key, results, po));
    j.output_size = info.size;
    j.output_sha256 = info.sha256;
    return OkStatus();
  }

  void Event(const BatchJob& j, const std::string& type) {
    if (!o_.bus) return;
    Json d = {{"id", j.id},         {"model", j.request.model}, {"status", j.status},
              {"rows_done", j.rows_done}, {"rows_failed", j.rows_failed}, {"bytes_done", j.bytes_done},
              {"bytes_total", j.bytes_total}};
    if (j.served_version) d["version"] = *j.served_version;
    if (!j.error.empty()) d["error"] = j.error;
    events::Publish(o_.bus, std::string(events::kRoomDeployments), type, DumpJson(d));
  }

  db::Database& db_;
  storage::StorageService& storage_;
  queue::Queue& queue_;
  InferenceService& inference_;
  BatchOptions o_;
};

Result<bool> ResultSource::ReadRow(Pending& p) {
  const BatchRequest& r = job_.request;
  if (!started_) {
    started_ = true;
    if (r.format == "csv") {
      csv_.emplace(in_, r.delimiter);
      int64_t line = 0;
      C19_ASSIGN_OR_RETURN(bool any, csv_->Next(header_, line));
      if (!any) return false;
      for (auto& h : header_) h = std::string(Trim(h));
      if (r.columns.empty()) {
        for (size_t i = 0; i < header_.size(); ++i) {
          if (header_[i] != r.id_column) picked_.push_back(i);
        }
      } else {
        for (const auto& c : r.columns) {
          auto it = std::find(header_.begin(), header_.end(), c);
          if (it == header_.end()) return Error::Field("columns", "the CSV has no column \"" + c + "\"");
          picked_.push_back(static_cast<size_t>(it - header_.begin()));
        }
      }
      if (!r.id_column.empty()) {
        auto it = std::find(header_.begin(), header_.end(), r.id_column);
        if (it == header_.end()) return Error::Field("id_column", "the CSV has no column \"" + r.id_column + "\"");
        id_at_ = static_cast<size_t>(it - header_.begin());
      }
    } else {
      jsonl_.emplace(in_);
    }
  }
  int64_t line = 0;
  if (csv_) {
    std::vector<std::string> fields;
    C19_ASSIGN_OR_RETURN(bool any, csv_->Next(fields, line));
    if (!any) return false;
    if (fields.size() != header_.size()) {
      return Error::InvalidArgument("line " + std::to_string(line) + ": " + std::to_string(fields.size()) +
                                    " fields where the header has " + std::to_string(header_.size()));
    }
    p.row = ++rows_;
    p.id = id_at_ ? Cell(fields[*id_at_]) : Json(nullptr);
    if (bundle_) {
      p.value = Json::object();
      for (size_t i : picked_) p.value[header_[i]] = Cell(fields[i]);
    } else {
      p.value = Json::array();
      for (size_t i : picked_) p.value.push_back(Cell(fields[i]));
    }
    return true;
  }
  C19_ASSIGN_OR_RETURN(bool any, jsonl_->Next(p.value, line));
  if (!any) return false;
  if (!p.value.is_array() && !p.value.is_object()) {
    return Error::InvalidArgument("line " + std::to_string(line) + ": a row must be a JSON array or object");
  }
  p.row = ++rows_;
  p.id = nullptr;
  return true;
}

Status ResultSource::Predict(std::vector<Pending>& rows) {
  if (rows.empty()) return OkStatus();
  auto body_of = [](std::vector<Pending>::iterator from, std::vector<Pending>::iterator to) {
    Json items = Json::array();
    bool objects = from->value.is_object();
    for (auto it = from; it != to; ++it) items.push_back(it->value);
    return objects ? Json{{"instances", items}} : Json{{"inputs", items}};
  };
  // Rows of one kind per call (JSON Lines may mix arrays and objects).
  auto start = rows.begin();
  while (start != rows.end()) {
    auto stop = start;
    while (stop != rows.end() && stop->value.is_object() == start->value.is_object()) ++stop;
    ServedModel served;
    auto answer = PredictChunk(owner_.inference(), job_.request.model, job_.request.version, body_of(start, stop),
                               &served);
    if (answer.ok()) {
      job_.served_version = served.version;
      auto per_row = SplitRows(*answer, static_cast<size_t>(stop - start));
      size_t i = 0;
      for (auto it = start; it != stop; ++it) Line(*it, std::move(per_row[i++]));
      job_.rows_done += stop - start;
    } else if (answer.error().code == ErrorCode::kInvalidArgument) {
      // Find the rows the model refuses, one by one; the others still get their answer.
      for (auto it = start; it != stop; ++it) {
        auto one = PredictChunk(owner_.inference(), job_.request.model, job_.request.version, body_of(it, it + 1),
                                &served);
        if (one.ok()) {
          job_.served_version = served.version;
          Line(*it, std::move(SplitRows(*one, 1)[0]));
        } else if (one.error().code == ErrorCode::kInvalidArgument) {
          Line(*it, Json{{"error", one.error().message}});
          if (++job_.rows_failed > job_.request.max_failed_rows) {
            return Error::InvalidArgument("more than " + std::to_string(job_.request.max_failed_rows) +
                                          " rows failed; row " + std::to_string(it->row) + ": " +
                                          one.error().message);
          }
        } else {
          return std::move(one).error();
        }
        ++job_.rows_done;
      }
    } else {
      return std::move(answer).error();
    }
    start = stop;
  }
  return OkStatus();
}

Status ResultSource::Fill() {
  if (stopping_()) return Error::Unavailable("the worker is stopping");
  std::vector<Pending> rows;
  rows.reserve(static_cast<size_t>(job_.request.chunk_rows));
  while (static_cast<int64_t>(rows.size()) < job_.request.chunk_rows) {
    Pending p;
    C19_ASSIGN_OR_RETURN(bool any, ReadRow(p));
    if (!any) {
      done_ = true;
      break;
    }
    rows.push_back(std::move(p));
  }
  C19_TRY(Predict(rows));
  return owner_.Tick(job_, in_.consumed(), done_, last_tick_ms_);
}

}  // namespace

std::unique_ptr<BatchPredictions> BatchPredictions::Create(db::Database& db, storage::StorageService& storage,
                                                           queue::Queue& queue, InferenceService& inference,
                                                           BatchOptions options) {
  return std::make_unique<Batches>(db, storage, queue, inference, std::move(options));
}

}  // namespace c19ai::inference
