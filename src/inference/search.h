#pragma once
// Nearest-neighbour search over the rows of a dataset version, in the embedding space of an embedding
// model (an autoencoder bundle). The index (HNSW, hnswlib) is built on the first search of a (model
// version, dataset version) pair from the embeddings of every row, then kept in memory; at most
// `max_indexes` are kept, the least recently used dropped first. Builds and searches run on the
// service's own threads (a bounded queue: beyond it, unavailable), never on the caller's.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "inference/batch.h"
#include "inference/inference.h"
#include "storage/storage.h"

namespace c19ai::inference {

// An approximate k-nearest-neighbour index over Euclidean distance (HNSW). Immutable once built;
// Search may be called from several threads.
class VectorIndex {
 public:
  // `vectors` row-major [n, dim]; invalid_argument when empty or dim < 1.
  static Result<std::unique_ptr<VectorIndex>> Build(const std::vector<float>& vectors, int64_t dim);
  virtual ~VectorIndex() = default;
  // The k nearest rows (0-based) with their Euclidean distances, nearest first. `ef`: the search
  // breadth (0: max(k, 128)); larger is slower and closer to exact.
  virtual std::vector<std::pair<int64_t, double>> Search(const float* query, int64_t k, int64_t ef) const = 0;
  virtual int64_t size() const = 0;
  virtual int64_t dim() const = 0;
};

struct SearchOptions {
  DatasetResolver resolve_dataset;     // required: where a dataset version's rows are
  int max_indexes = 4;                 // indexes kept in memory (LRU)
  int64_t max_rows = 1'000'000;        // rows a dataset may have to be indexed (resource_exhausted beyond)
  int64_t chunk_rows = 256;            // rows per embedding call while building
  int threads = 1;                     // builder/search threads
  int max_queue = 64;                  // searches waiting for a thread before unavailable
};

struct SearchRequest {
  std::string model;
  std::string selector;                      // version selector ("" = production); ignored when version > 0
  int64_t version = 0;                       // the version the query vectors came from (0: resolve selector)
  std::string dataset, dataset_version;      // "" = the latest version
  std::vector<std::vector<float>> queries;   // in the model's embedding space
  int64_t k = 10;
  int64_t ef = 0;
  bool include_rows = false;
};

struct Neighbor {
  int64_t row = 0;           // 0-based row of the dataset version
  double distance = 0;       // Euclidean, in the embedding space
  std::string record_json;   // the row as a JSON object, when include_rows
};

struct SearchResult {
  std::string model;
  int64_t version = 0;
  int64_t rows = 0, dim = 0;
  bool built = false;                       // this search built the index
  std::vector<std::vector<Neighbor>> hits;  // per query
};

class EmbeddingSearch {
 public:
  static std::unique_ptr<EmbeddingSearch> Create(storage::StorageService& storage, InferenceService& inference,
                                                 SearchOptions options);
  virtual ~EmbeddingSearch() = default;
  // Answers through `done` from a search thread. Errors: not_found (model, version, dataset),
  // failed_precondition (not an embedding model), invalid_argument naming the field ("queries" of
  // another dimension, "dataset" rows the model cannot read), resource_exhausted (too many rows),
  // unavailable (queue full).
  virtual void Search(SearchRequest request, std::function<void(Result<SearchResult>)> done) = 0;
  // Drops every cached index (tests, memory pressure).
  virtual void Clear() = 0;
  virtual int64_t CachedIndexes() const = 0;
};

}  // namespace c19ai::inference
