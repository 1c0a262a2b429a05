#pragma once
// Asynchronous batch prediction: a queue job that streams every row of a stored CSV or JSON Lines
// object (a file, or a dataset version) through a model and writes one JSON line per row under
// results/batch-predictions/<job>.jsonl. Constant memory: rows are read, predicted and written in
// chunks while the result streams into storage. Progress goes to the database and, as events
// (`batch_prediction.*`), to the `deployments` room.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/principal.h"
#include "common/result.h"
#include "db/db.h"
#include "events/events.h"
#include "inference/inference.h"
#include "queue/queue.h"
#include "storage/storage.h"

namespace c19ai::inference {

inline constexpr std::string_view kBatchTopic = "inference.batch";

// Where a job's rows are.
struct BatchSource {
  storage::Namespace ns = storage::Namespace::kFiles;
  std::string key;
  std::string format;  // csv | jsonl
  std::optional<char> delimiter;  // CSV: the source's own (a dataset's), over the request's
};

// Resolves a dataset version ("" = the latest) to the object holding its rows. Optional: without it,
// jobs over datasets are refused.
using DatasetResolver = std::function<Result<BatchSource>(const std::string& name, const std::string& version)>;

struct BatchRequest {
  std::string model;
  std::string version;  // selector: number, alias, stage, "latest"; "" = production
  std::string file;     // a key of the files API, or
  std::string dataset, dataset_version;
  std::string format;   // csv | jsonl; "" = from the key's extension (or the dataset's)
  char delimiter = ',';
  std::vector<std::string> columns;  // CSV: the columns fed to the model, in order ("" = all)
  std::string id_column;             // copied to each result line as "id"
  int64_t chunk_rows = 256;          // rows per model call
  int64_t max_failed_rows = 100;     // rows the model refuses before the job fails
};

struct BatchJob {
  std::string id;
  BatchRequest request;
  std::string input;  // "<namespace>/<key>"
  std::string status;  // queued | running | succeeded | failed | cancelled
  std::optional<int64_t> served_version;
  int64_t rows_done = 0, rows_failed = 0;
  int64_t bytes_done = 0, bytes_total = 0;
  std::string output_key;  // within results/
  int64_t output_size = 0;
  std::string output_sha256;
  std::string error;
  bool cancel_requested = false;
  std::string created_by;
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms, finished_at_ms;
};

struct BatchOptions {
  DatasetResolver resolve_dataset;
  events::EventBus* bus = nullptr;
  int64_t progress_interval_ms = 1000;  // database and event updates while running
  const Clock* clock = &Clock::System();
};

class BatchPredictions {
 public:
  static std::unique_ptr<BatchPredictions> Create(db::Database& db, storage::StorageService& storage,
                                                  queue::Queue& queue, InferenceService& inference,
                                                  BatchOptions options);
  virtual ~BatchPredictions() = default;

  // Validates the request (invalid_argument naming the field; not_found for the input) and queues it.
  virtual Result<BatchJob> Submit(const Principal& actor, BatchRequest request) = 0;
  virtual Result<BatchJob> Get(const std::string& id) = 0;
  // Newest first; `model` filters when non-empty.
  virtual Result<std::vector<BatchJob>> List(const std::string& model, int64_t limit, int64_t offset) = 0;
  // Queued jobs end at once; running ones stop at their next progress tick. failed_precondition when
  // the job already ended.
  virtual Result<BatchJob> Cancel(const Principal& actor, const std::string& id) = 0;
  // The result lines; failed_precondition until the job succeeded.
  virtual Result<std::pair<storage::ObjectInfo, std::unique_ptr<storage::ByteSource>>> OpenResult(
      const std::string& id) = 0;

  // The queue handler: runs the job a message names.
  virtual Status Run(queue::Message& message, const std::function<bool()>& stopping) = 0;
};

}  // namespace c19ai::inference
