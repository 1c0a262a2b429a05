// Embedding search: HNSW indexes (hnswlib) over the embeddings of a dataset version's rows, built on
// first use on the service's own threads and kept in a small LRU.

#include "inference/search.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <list>
#include <map>
#include <mutex>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "common/thread_pool.h"
#include "inference/codec.h"
#include "inference/rows.h"

namespace c19ai::inference {

namespace {

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(int64_t n, int64_t dim)
      : dim_(dim), space_(static_cast<size_t>(dim)), hnsw_(&space_, static_cast<size_t>(n), 16, 200, 100) {}

  void Add(const float* v, int64_t row) { hnsw_.addPoint(v, static_cast<hnswlib::labeltype>(row)); }

  std::vector<std::pair<int64_t, double>> Search(const float* query, int64_t k, int64_t ef) const override {
    k = std::min<int64_t>(k, size());
    if (k <= 0) return {};
    std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
    {
      // hnswlib keeps the search breadth in the index: one search at a time sets and uses it.
      std::lock_guard lock(mu_);
      hnsw_.setEf(static_cast<size_t>(std::max<int64_t>(ef > 0 ? ef : 128, k)));
      found = hnsw_.searchKnn(query, static_cast<size_t>(k));
    }
    std::vector<std::pair<int64_t, double>> out(found.size());
    for (size_t i = found.size(); i-- > 0; found.pop()) {  // the queue pops the farthest first
      out[i] = {static_cast<int64_t>(found.top().second), std::sqrt(std::max(0.0f, found.top().first))};
    }
    return out;
  }
  int64_t size() const override { return static_cast<int64_t>(hnsw_.cur_element_count); }
  int64_t dim() const override { return dim_; }

 private:
  int64_t dim_;
  hnswlib::L2Space space_;
  mutable hnswlib::HierarchicalNSW<float> hnsw_;
  mutable std::mutex mu_;  // guards hnsw_'s search breadth during a search
};

// A built index with the rows it was built from.
struct Indexed {
  std::unique_ptr<VectorIndex> index;
  std::vector<std::string> records;  // each row as JSON text
};

using IndexFuture = std::shared_future<Result<std::shared_ptr<const Indexed>>>;

class SearchService final : public EmbeddingSearch {
 public:
  SearchService(storage::StorageService& storage, InferenceService& inference, SearchOptions o)
      : storage_(storage),
        inference_(inference),
        o_(std::move(o)),
        pool_("search", static_cast<size_t>(std::max(1, o_.threads)), static_cast<size_t>(std::max(1, o_.max_queue))) {}

  ~SearchService() override { pool_.Shutdown(); }

  void Search(SearchRequest r, std::function<void(Result<SearchResult>)> done) override {
    auto shared = std::make_shared<SearchRequest>(std::move(r));
    if (!pool_.TrySubmit([this, shared, done] { done(Run(*shared)); })) {
      done(Error::Unavailable("too many searches are waiting; retry"));
    }
  }

  void Clear() override {
    std::lock_guard lock(mu_);
    lru_.clear();
    entries_.clear();
  }

  int64_t CachedIndexes() const override {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(entries_.size());
  }

 private:
  Result<SearchResult> Run(const SearchRequest& r) {
    if (r.k < 1 || r.k > 1000) return Error::Field("k", "k must be from 1 to 1000");
    if (r.ef < 0 || r.ef > 10000) return Error::Field("ef", "ef must be from 1 to 10000");
    if (r.queries.empty()) return Error::Field("instances", "give at least one query (instances or vectors)");
    if (!o_.resolve_dataset) return Error::FailedPrecondition("datasets are not available on this server");
    if (r.dataset.empty()) return Error::Field("dataset", "dataset is required");
    int64_t version = r.version;
    std::string name = r.model;
    if (version <= 0) {
      C19_ASSIGN_OR_RETURN(ServedModel served, inference_.Describe(r.model, r.selector));
      version = served.version;
      name = served.name;
    }
    C19_ASSIGN_OR_RETURN(BatchSource src, o_.resolve_dataset(r.dataset, r.dataset_version));
    if (src.format != "csv" && src.format != "jsonl") {
      return Error::Field("dataset", "search reads CSV or JSON Lines datasets, not " + src.format);
    }
    const std::string key = ToLower(name) + "@" + std::to_string(version) + "|" +
                            std::string(storage::NamespaceName(src.ns)) + "/" + src.key;
    bool built = false;
    C19_ASSIGN_OR_RETURN(std::shared_ptr<const Indexed> ix, Index(key, name, version, src, built));
    SearchResult out;
    out.model = name;
    out.version = version;
    out.rows = ix->index->size();
    out.dim = ix->index->dim();
    out.built = built;
    for (size_t q = 0; q < r.queries.size(); ++q) {
      if (static_cast<int64_t>(r.queries[q].size()) != out.dim) {
        return Error::Field("vectors[" + std::to_string(q) + "]",
                            "query " + std::to_string(q) + " has " + std::to_string(r.queries[q].size()) +
                                " values; the model's embeddings have " + std::to_string(out.dim));
      }
      std::vector<Neighbor> hits;
      for (const auto& [row, distance] : ix->index->Search(r.queries[q].data(), r.k, r.ef)) {
        Neighbor n{row, distance, {}};
        if (r.include_rows) n.record_json = ix->records[static_cast<size_t>(row)];
        hits.push_back(std::move(n));
      }
      out.hits.push_back(std::move(hits));
    }
    return out;
  }

  // The cached index of `key`, or one built now (concurrent searches of the same key wait for one build).
  Result<std::shared_ptr<const Indexed>> Index(const std::string& key, const std::string& model, int64_t version,
                                               const BatchSource& src, bool& built) {
    std::promise<Result<std::shared_ptr<const Indexed>>> promise;
    IndexFuture future;
    bool build = false;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.first);
        future = it->second.second;
      } else {
        future = promise.get_future().share();
        lru_.push_front(key);
        entries_[key] = {lru_.begin(), future};
        build = true;
        while (static_cast<int>(entries_.size()) > std::max(1, o_.max_indexes)) {
          entries_.erase(lru_.back());  // a search holding it keeps its shared_ptr
          lru_.pop_back();
        }
      }
    }
    if (build) {
      auto result = Build(model, version, src);
      if (!result.ok()) {  // not cached: the next search tries again
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it != entries_.end()) {
          lru_.erase(it->second.first);
          entries_.erase(it);
        }
      }
      promise.set_value(std::move(result));
      built = true;
    }
    return future.get();
  }

  Result<std::shared_ptr<const Indexed>> Build(const std::string& model, int64_t version, const BatchSource& src) {
    const int64_t t0 = SteadyNowUs();
    C19_ASSIGN_OR_RETURN(auto source, storage_.Open(src.ns, src.key));
    C19_ASSIGN_OR_RETURN(std::vector<Json> rows,
                         internal::ReadRecords(std::move(source), src.format, src.delimiter.value_or(','), o_.max_rows));
    if (rows.empty()) return Error::Field("dataset", "the dataset has no rows to search");
    auto ix = std::make_shared<Indexed>();
    ix->records.reserve(rows.size());
    std::vector<float> vectors;
    int64_t dim = 0;
    SubmitOptions so;
    so.version = std::to_string(version);
    so.priority = Priority::kLow;  // online traffic first
    for (size_t start = 0; start < rows.size(); start += static_cast<size_t>(o_.chunk_rows)) {
      const size_t end = std::min(rows.size(), start + static_cast<size_t>(o_.chunk_rows));
      Json instances = Json::array();
      for (size_t i = start; i < end; ++i) instances.push_back(rows[i]);
      // Only the model's features: a dataset row may carry more columns (ids, labels).
      auto decode = [instances = std::move(instances)](const ServedModel& m) -> Result<PredictInput> {
        const std::vector<std::string> features = m.model ? m.model->FeatureNames() : std::vector<std::string>{};
        Json picked = Json::array();
        for (const auto& row : instances) {
          Json p = Json::object();
          for (const auto& f : features) p[f] = row.contains(f) ? row[f] : Json(nullptr);
          picked.push_back(std::move(p));
        }
        return DecodeEmbedding(Json{{"instances", std::move(picked)}}, m);
      };
      auto answer = inference_.PredictSync(model, so, decode);
      if (!answer.ok()) {
        Error e = std::move(answer).error();
        if (e.code == ErrorCode::kInvalidArgument) {
          return Error::Field("dataset", "rows " + std::to_string(start + 1) + " to " + std::to_string(end) +
                                             " of the dataset do not fit the model: " + e.message);
        }
        return e;
      }
      C19_ASSIGN_OR_RETURN(auto embedded, Embeddings(answer->second));
      for (auto& v : embedded) {
        if (dim == 0) dim = static_cast<int64_t>(v.size());
        vectors.insert(vectors.end(), v.begin(), v.end());
      }
    }
    for (auto& row : rows) ix->records.push_back(DumpJson(row));
    C19_ASSIGN_OR_RETURN(ix->index, VectorIndex::Build(vectors, dim));
    log::Info("embedding index built", {{"model", model},
                                        {"version", std::to_string(version)},
                                        {"rows", std::to_string(rows.size())},
                                        {"ms", std::to_string((SteadyNowUs() - t0) / 1000)}});
    return std::shared_ptr<const Indexed>(std::move(ix));
  }

  storage::StorageService& storage_;
  InferenceService& inference_;
  SearchOptions o_;
  mutable std::mutex mu_;  // guards lru_ and entries_
  std::list<std::string> lru_;  // keys, most recently used first
  std::map<std::string, std::pair<std::list<std::string>::iterator, IndexFuture>> entries_;
  ThreadPool pool_;  // last: its threads stop before the members they use go
};

}  // namespace

Result<std::unique_ptr<VectorIndex>> VectorIndex::Build(const std::vector<float>& vectors, int64_t dim) {
  if (dim < 1 || vectors.empty() || vectors.size() % static_cast<size_t>(dim) != 0) {
    return Error::InvalidArgument("an index needs at least one vector of at least one dimension");
  }
  const int64_t n = static_cast<int64_t>(vectors.size()) / dim;
  try {
    auto index = std::make_unique<HnswIndex>(n, dim);
    for (int64_t i = 0; i < n; ++i) index->Add(vectors.data() + i * dim, i);
    return std::unique_ptr<VectorIndex>(std::move(index));
  } catch (const std::exception& e) {
    return Error::Internal(std::string("building the vector index failed: ") + e.what());
  }
}

std::unique_ptr<EmbeddingSearch> EmbeddingSearch::Create(storage::StorageService& storage,
                                                         InferenceService& inference, SearchOptions options) {
  return std::make_unique<SearchService>(storage, inference, std::move(options));
}

}  // namespace c19ai::inference
