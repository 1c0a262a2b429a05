#pragma once
// The inference service: models served from the registry, on demand or as explicit deployments,
// each loaded version behind a dynamic batcher (max batch size, max queue delay, preferred sizes,
// priorities, per-request deadlines, a bounded queue, several model instances). The served version
// follows the registry: a promotion or rollback loads and warms the new version first, then swaps,
// without failing requests in flight. Idle versions are unloaded under a memory budget (LRU) and
// reloaded on demand. Results may be cached per deployment (keyed by version and canonical input).
//
// Nothing here blocks the caller's thread on a model: Submit decodes the request (when its model is
// loaded) and queues it; the answer comes through the callback, from another thread. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "db/db.h"
#include "ml/ml.h"

namespace c19ai {
class ThreadPool;
}
namespace c19ai::cache {
class Cache;
}
namespace c19ai::events {
class EventBus;
}
namespace c19ai::registry {
class Registry;
}

namespace c19ai::inference {

std::vector<db::MigrationFile> Migrations();

struct BatchingOptions {
  bool enabled = true;
  int max_batch_size = 32;               // rows per model call
  int64_t max_queue_delay_us = 0;  // how long the first queued request may wait for company (0: batch what is queued)
  std::vector<int> preferred_batch_sizes;  // dispatch at once when the queue holds one of these
  int max_queue_size = 1024;             // queued requests before 429
};

struct ResultCacheOptions {
  bool enabled = false;
  int64_t ttl_ms = 60'000;
};

// How a model is served. `selector` picks the version: "production" (default), "staging", "latest",
// an alias, or a version number.
struct DeploymentSpec {
  std::string model;
  std::string selector = "production";
  BatchingOptions batching;
  int instances = 1;  // model copies, each with its own batch thread
  bool warmup = true;
  ResultCacheOptions result_cache;
};

enum class Priority { kHigh = 0, kNormal = 1, kLow = 2 };
std::optional<Priority> ParsePriority(std::string_view s);

// A decoded request: tensors in signature order, or raw rows for bundles.
struct PredictInput {
  std::vector<ml::Tensor> tensors;
  std::vector<ml::Row> rows;
  bool by_rows = false;
  int64_t batch() const;
};

// The loaded model a request is decoded against (and its answer encoded with).
struct ServedModel {
  std::string name;
  int64_t version = 0;
  const ml::Model* model = nullptr;  // valid while the callback runs
  bool bundle = false;               // takes raw rows (FeatureNames() non-empty)
};

struct PredictResult {
  ml::PredictOutput output;
  double queue_ms = 0, compute_ms = 0;
  bool cached = false;
};

using Decoder = std::function<Result<PredictInput>(const ServedModel&)>;
using Callback = std::function<void(const ServedModel&, Result<PredictResult>)>;

struct SubmitOptions {
  std::string version;  // empty: the deployment's selector
  Priority priority = Priority::kNormal;
  int64_t timeout_ms = 0;  // 0: the service default
};

struct VersionState {
  int64_t version = 0;
  std::string state;  // loading | ready | failed
  std::string error;
  int64_t memory_bytes = 0;
  int64_t queued = 0;
  int instances = 0;
  int64_t last_used_ms = 0;
  int64_t requests = 0;
};

struct DeploymentInfo {
  DeploymentSpec spec;
  bool explicit_deployment = false;  // deployed through the API (else on demand)
  std::optional<int64_t> served_version;
  std::vector<VersionState> versions;  // loaded or loading
  std::string created_by;
  int64_t updated_at_ms = 0;
};

struct Options {
  DeploymentSpec defaults;              // batching, instances and cache for on-demand deployments
  int64_t memory_budget_bytes = int64_t{2} << 30;
  int64_t default_timeout_ms = 30'000;
  int64_t resolve_interval_ms = 5'000;  // re-check the registry for served versions (besides events)
  int loader_threads = 2;
  const Clock* clock = &Clock::System();
  cache::Cache* cache = nullptr;        // result cache (optional)
  events::EventBus* bus = nullptr;      // follows model events, publishes deployment.changed (optional)
  ThreadPool* completions = nullptr;    // runs callbacks (else the batch threads do)
};

class InferenceService {
 public:
  static Result<std::unique_ptr<InferenceService>> Create(db::Database& db, registry::Registry& registry,
                                                          Options options);
  virtual ~InferenceService() = default;

  // Starts following model events and loads explicit deployments that ask for warm-up.
  virtual void Start() = 0;
  // Stops the batchers (queued requests are answered unavailable) and the loaders.
  virtual void Stop() = 0;

  // Queues one request. Errors come through the callback: not_found (model or version),
  // invalid_argument (decoding), resource_exhausted (queue full), deadline_exceeded, unavailable.
  virtual void Submit(const std::string& model, const SubmitOptions& options, Decoder decode, Callback done) = 0;
  // Synchronous convenience for the CLI, tests and batch jobs (blocks the calling thread).
  Result<std::pair<ServedModel, PredictResult>> PredictSync(const std::string& model, const SubmitOptions& options,
                                                            Decoder decode);

  // Continues a prompt with the generation model serving (model, version) — loading it when needed —
  // on the calling thread (it blocks: call it from a worker). failed_precondition when the model does
  // not generate text; not_found and unavailable as for Submit; invalid_argument naming the field
  // (max_tokens, temperature, top_k, prompt) from the model.
  virtual Result<std::pair<ServedModel, ml::GenerateOutput>> Generate(const std::string& model,
                                                                      const std::string& version,
                                                                      const ml::GenerateRequest& request) = 0;

  // Explicit deployments (persisted; every replica follows them).
  virtual Result<DeploymentInfo> Deploy(const Principal& actor, const DeploymentSpec& spec) = 0;
  virtual Status Undeploy(const Principal& actor, const std::string& model) = 0;
  virtual Result<std::vector<DeploymentInfo>> ListDeployments() = 0;
  virtual Result<DeploymentInfo> GetDeployment(const std::string& model) = 0;

  // Loads a version now (V2 repository load) and waits for it; `version` empty: the selector's.
  virtual Result<VersionState> Load(const std::string& model, const std::string& version) = 0;
  // Unloads every loaded version of a model (they reload on demand).
  virtual Status Unload(const std::string& model) = 0;
  // Whether the model (or version) can serve now: loaded, or loadable from the registry.
  virtual Result<bool> Ready(const std::string& model, const std::string& version) = 0;
  // The signature and metadata of what a request for (model, version) would be served by.
  virtual Result<ServedModel> Describe(const std::string& model, const std::string& version) = 0;

  virtual int64_t LoadedBytes() const = 0;
};

// Validates a deployment spec's numbers; invalid_argument naming the field.
Status ValidateSpec(const DeploymentSpec& spec);

}  // namespace c19ai::inference
