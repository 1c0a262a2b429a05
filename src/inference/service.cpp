// The inference service: deployments, on-demand loading with a memory budget, hot swap, result cache.

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cache/cache.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "common/thread_pool.h"
#include "events/events.h"
#include "inference/batcher.h"
#include "inference/inference.h"
#include "registry/registry.h"

namespace c19ai::inference {

namespace {

using internal::Batcher;
using internal::WorkItem;

constexpr std::string_view kCacheNs = "inference";
constexpr int64_t kFailedRetryMs = 5'000;  // a failed load is retried by requests after this long

bool IsNumber(std::string_view s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---------------------------------------------------------------- result cache keys and values

void Put64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void PutStr(std::string& out, const std::string& s) {
  Put64(out, s.size());
  out += s;
}

// A canonical binary rendering of a decoded input (equal inputs, equal bytes), hashed.
std::string InputDigest(const PredictInput& in) {
  std::string buf;
  if (in.by_rows) {
    buf += 'R';
    for (const auto& row : in.rows) {
      Put64(buf, row.size());
      for (const auto& cell : row) {
        if (std::holds_alternative<double>(cell)) {
          buf += 'd';
          double d = std::get<double>(cell);
          uint64_t bits;
          std::memcpy(&bits, &d, sizeof bits);
          Put64(buf, bits);
        } else if (std::holds_alternative<std::string>(cell)) {
          buf += 's';
          PutStr(buf, std::get<std::string>(cell));
        } else {
          buf += 'n';
        }
      }
    }
  } else {
    buf += 'T';
    for (const auto& t : in.tensors) {
      PutStr(buf, t.name);
      Put64(buf, static_cast<uint64_t>(t.datatype));
      Put64(buf, t.shape.size());
      for (int64_t d : t.shape) Put64(buf, static_cast<uint64_t>(d));
      for (double v : t.values) {
        uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        Put64(buf, bits);
      }
      for (const auto& s : t.strings) PutStr(buf, s);
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(buf.data(), buf.size(), out, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::string EncodeOutput(const ml::PredictOutput& o) {
  Json outs = Json::array();
  for (const auto& t : o.outputs) {
    outs.push_back({{"n", t.name}, {"t", static_cast<int>(t.datatype)}, {"s", t.shape}, {"v", t.values}, {"b", t.strings}});
  }
  return DumpJson(Json{{"o", outs}, {"l", o.labels}, {"p", o.probabilities}, {"d", o.distances}});
}

std::optional<ml::PredictOutput> DecodeOutput(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    ml::PredictOutput o;
    for (const auto& t : j.at("o")) {
      ml::Tensor tensor;
      tensor.name = t.at("n").get<std::string>();
      tensor.datatype = static_cast<ml::DataType>(t.at("t").get<int>());
      tensor.shape = t.at("s").get<std::vector<int64_t>>();
      tensor.values = t.at("v").get<std::vector<double>>();
      tensor.strings = t.at("b").get<std::vector<std::string>>();
      o.outputs.push_back(std::move(tensor));
    }
    o.labels = j.at("l").get<std::vector<std::string>>();
    o.probabilities = j.at("p").get<std::vector<std::vector<double>>>();
    o.distances = j.at("d").get<std::vector<std::vector<double>>>();
    return o;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

// ---------------------------------------------------------------- loaded versions

struct VersionMetrics {
  metrics::Counter* ok = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* rejected = nullptr;
  metrics::Counter* cache_hits = nullptr;
  metrics::Counter* cache_misses = nullptr;
  metrics::Histogram* total_seconds = nullptr;
  internal::BatcherMetrics batcher;
};

VersionMetrics MetricsFor(const std::string& model, int64_t version) {
  auto& reg = metrics::Registry::Default();
  metrics::Labels l = {{"model", model}, {"version", std::to_string(version)}};
  auto with = [&](const char* k, const char* v) {
    metrics::Labels x = l;
    x.emplace_back(k, v);
    return x;
  };
  static const std::vector<double> batch_buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  VersionMetrics m;
  m.ok = &reg.GetCounter("c19ai_inference_requests_total", "Inference requests by outcome", with("outcome", "success"));
  m.failed = &reg.GetCounter("c19ai_inference_requests_total", "Inference requests by outcome", with("outcome", "failure"));
  m.rejected =
      &reg.GetCounter("c19ai_inference_requests_total", "Inference requests by outcome", with("outcome", "rejected"));
  m.batcher.expired =
      &reg.GetCounter("c19ai_inference_requests_total", "Inference requests by outcome", with("outcome", "expired"));
  m.cache_hits = &reg.GetCounter("c19ai_inference_cache_total", "Result cache lookups", with("result", "hit"));
  m.cache_misses = &reg.GetCounter("c19ai_inference_cache_total", "Result cache lookups", with("result", "miss"));
  m.total_seconds = &reg.GetHistogram("c19ai_inference_latency_seconds", "Time from submission to answer", l);
  m.batcher.queue_seconds =
      &reg.GetHistogram("c19ai_inference_queue_seconds", "Time requests wait in the batcher's queue", l);
  m.batcher.compute_seconds = &reg.GetHistogram("c19ai_inference_compute_seconds", "Time of one model call", l);
  m.batcher.batch_size =
      &reg.GetHistogram("c19ai_inference_batch_size", "Rows per model call", l, batch_buckets);
  return m;
}

struct LoadedVersion {
  std::string model_name, model_id, sha256;
  int64_t version = 0;
  bool bundle = false;
  int64_t memory = 0;
  DeploymentSpec spec;
  VersionMetrics metrics;
  std::unique_ptr<Batcher> batcher;
  std::atomic<int64_t> last_used_ms{0};
  std::atomic<int64_t> requests{0};
  ~LoadedVersion() {
    if (batcher) batcher->Stop();
  }
};

struct Slot {
  enum class State { kLoading, kReady, kFailed } state = State::kLoading;
  std::shared_ptr<LoadedVersion> loaded;
  Error error;
  int64_t failed_at_ms = 0;
};

struct Entry {
  std::string name;
  DeploymentSpec spec;
  bool explicit_deployment = false;
  std::string created_by;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> served;
  bool served_valid = false;
  uint64_t generation = 0;
  int64_t resolved_at_ms = 0;
  int64_t last_used_ms = 0;
  std::map<int64_t, std::shared_ptr<Slot>> versions;
};

Json SpecJson(const DeploymentSpec& s) {
  return {{"selector", s.selector},
          {"batching",
           {{"enabled", s.batching.enabled},
            {"max_batch_size", s.batching.max_batch_size},
            {"max_queue_delay_us", s.batching.max_queue_delay_us},
            {"preferred_batch_sizes", s.batching.preferred_batch_sizes},
            {"max_queue_size", s.batching.max_queue_size}}},
          {"instances", s.instances},
          {"warmup", s.warmup},
          {"result_cache", {{"enabled", s.result_cache.enabled}, {"ttl_ms", s.result_cache.ttl_ms}}}};
}

DeploymentSpec SpecFromJson(const std::string& model, const std::string& text, const DeploymentSpec& defaults) {
  DeploymentSpec s = defaults;
  s.model = model;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  s.selector = j.value("selector", s.selector);
  if (j.contains("batching") && j["batching"].is_object()) {
    const Json& b = j["batching"];
    s.batching.enabled = b.value("enabled", s.batching.enabled);
    s.batching.max_batch_size = b.value("max_batch_size", s.batching.max_batch_size);
    s.batching.max_queue_delay_us = b.value("max_queue_delay_us", s.batching.max_queue_delay_us);
    s.batching.preferred_batch_sizes = b.value("preferred_batch_sizes", s.batching.preferred_batch_sizes);
    s.batching.max_queue_size = b.value("max_queue_size", s.batching.max_queue_size);
  }
  s.instances = j.value("instances", s.instances);
  s.warmup = j.value("warmup", s.warmup);
  if (j.contains("result_cache") && j["result_cache"].is_object()) {
    s.result_cache.enabled = j["result_cache"].value("enabled", false);
    s.result_cache.ttl_ms = j["result_cache"].value("ttl_ms", s.result_cache.ttl_ms);
  }
  return s;
}

class Service final : public InferenceService {
 public:
  Service(db::Database& db, registry::Registry& registry, Options o)
      : db_(db),
        registry_(registry),
        o_(std::move(o)),
        clock_(o_.clock ? o_.clock : &Clock::System()),
        loader_("c19ai-model-load", static_cast<size_t>(std::max(1, o_.loader_threads)), 1 << 20) {
    auto& reg = metrics::Registry::Default();
    loaded_models_ = &reg.GetGauge("c19ai_inference_loaded_versions", "Model versions loaded for serving");
    loaded_bytes_ = &reg.GetGauge("c19ai_inference_loaded_bytes", "Memory held by loaded model versions");
    registry_.AddChangeListener([this](const std::string& model) { MarkStale(model); });
  }

  ~Service() override { Stop(); }

  void Start() override {
    auto rows = db_.Query("SELECT model_name, spec, created_by, updated_at FROM inference_deployments");
    if (rows.ok()) {
      std::lock_guard lock(mu_);
      for (const auto& r : *rows) {
        auto e = EntryLocked(r.Text(0));
        e->spec = SpecFromJson(r.Text(0), r.Text(1), o_.defaults);
        e->explicit_deployment = true;
        e->created_by = r.Text(2);
        e->updated_at_ms = r.Int(3);
        if (e->spec.warmup) {
          std::string name = r.Text(0);
          loader_.Submit([this, name] { (void)Ensure(name, ""); });
        }
      }
    } else {
      log::Warn("inference: cannot read deployments", {{"error", rows.error().message}});
    }
    if (o_.bus) sub_ = o_.bus->Subscribe({.rooms = {std::string(events::kRoomModels), std::string(events::kRoomDeployments)}});
    watcher_ = std::thread([this] { Watch(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    if (sub_) sub_->Close();
    if (watcher_.joinable()) watcher_.join();
    loader_.Shutdown();
    std::map<std::string, std::shared_ptr<Entry>> entries;
    {
      std::lock_guard lock(mu_);
      entries.swap(entries_);
    }
    for (auto& [name, e] : entries) {
      for (auto& [v, slot] : e->versions) {
        if (slot->loaded) slot->loaded->batcher->Stop();
      }
    }
  }

  // ---------------------------------------------------------------- requests

  void Submit(const std::string& model, const SubmitOptions& options, Decoder decode, Callback done) override {
    std::shared_ptr<LoadedVersion> lv;
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        done({model, 0, nullptr, false}, Error::Unavailable("the server is shutting down"));
        return;
      }
      auto it = entries_.find(ToLower(model));
      if (it != entries_.end()) {
        Entry& e = *it->second;
        std::optional<int64_t> want;
        if (options.version.empty()) {
          if (e.served_valid) want = e.served;
        } else if (IsNumber(options.version)) {
          want = std::stoll(options.version);
        }
        if (want) {
          auto s = e.versions.find(*want);
          if (s != e.versions.end() && s->second->state == Slot::State::kReady) lv = s->second->loaded;
        }
        e.last_used_ms = clock_->NowMs();
      }
    }
    if (lv) return Dispatch(lv, options, decode, std::move(done));
    // Not loaded (or not resolved): resolve and load on a loader thread, then dispatch from there.
    loader_.Submit([this, model, options, decode = std::move(decode), done = std::move(done)]() mutable {
      auto loaded = Ensure(model, options.version);
      if (!loaded.ok()) return done({model, 0, nullptr, false}, loaded.error());
      Dispatch(*loaded, options, decode, std::move(done));
    });
  }

  Result<std::pair<ServedModel, ml::GenerateOutput>> Generate(const std::string& model, const std::string& version,
                                                              const ml::GenerateRequest& request) override {
    C19_ASSIGN_OR_RETURN(auto lv, Ensure(model, version));
    ml::Model& m = lv->batcher->direct_model();
    ServedModel served{lv->model_name, lv->version, &m, lv->bundle};
    if (m.BundleTask() != ml::Task::kGeneration) {
      lv->metrics.rejected->Inc();
      return Error::FailedPrecondition("model \"" + lv->model_name + "\" version " + std::to_string(lv->version) +
                                       " does not generate text (train a char_rnn or char_transformer)");
    }
    lv->last_used_ms.store(clock_->NowMs(), std::memory_order_relaxed);
    lv->requests.fetch_add(1, std::memory_order_relaxed);
    const int64_t start = SteadyNowUs();
    auto out = m.Generate(request);
    lv->metrics.total_seconds->Observe(static_cast<double>(SteadyNowUs() - start) / 1e6);
    if (!out.ok()) {
      (out.error().code == ErrorCode::kInvalidArgument ? lv->metrics.rejected : lv->metrics.failed)->Inc();
      return std::move(out).error();
    }
    lv->metrics.ok->Inc();
    return std::make_pair(served, std::move(*out));
  }

  // ---------------------------------------------------------------- deployments

  Result<DeploymentInfo> Deploy(const Principal& actor, const DeploymentSpec& in) override {
    C19_TRY(ValidateSpec(in));
    C19_ASSIGN_OR_RETURN(registry::Model m, registry_.GetModel(in.model));
    C19_ASSIGN_OR_RETURN(registry::Version v, registry_.GetVersion(m.name, in.selector));
    (void)v;
    DeploymentSpec spec = in;
    spec.model = m.name;
    const int64_t now = clock_->NowMs();
    const std::string key = ToLower(m.name);
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(tx.Exec("DELETE FROM inference_deployments WHERE model_key = ?", {key}));
      C19_TRY(tx.Exec("INSERT INTO inference_deployments (model_key, model_name, spec, created_by, updated_at) VALUES "
                      "(?, ?, ?, ?, ?)",
                      {key, m.name, DumpJson(SpecJson(spec)), actor.username, now}));
      return OkStatus();
    }));
    ApplySpec(m.name, spec, actor.username, now);
    PublishDeployment(m.name, std::nullopt, "configured", "");
    if (spec.warmup) {
      auto loaded = Ensure(m.name, "");
      if (!loaded.ok()) return std::move(loaded).error();
    }
    return GetDeployment(m.name);
  }

  Status Undeploy(const Principal&, const std::string& model) override {
    const std::string key = ToLower(model);
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("DELETE FROM inference_deployments WHERE model_key = ?", {key}));
    bool known;
    {
      std::lock_guard lock(mu_);
      known = entries_.erase(key) > 0;
    }
    if (n == 0 && !known) return Error::NotFound("model \"" + model + "\" is not deployed");
    UpdateGauges();
    PublishDeployment(model, std::nullopt, "undeployed", "");
    return OkStatus();
  }

  Result<std::vector<DeploymentInfo>> ListDeployments() override {
    std::vector<DeploymentInfo> out;
    std::lock_guard lock(mu_);
    for (const auto& [key, e] : entries_) out.push_back(InfoLocked(*e));
    return out;
  }

  Result<DeploymentInfo> GetDeployment(const std::string& model) override {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ToLower(model));
    if (it == entries_.end()) return Error::NotFound("model \"" + model + "\" is not deployed or loaded");
    return InfoLocked(*it->second);
  }

  Result<VersionState> Load(const std::string& model, const std::string& version) override {
    C19_ASSIGN_OR_RETURN(auto lv, Ensure(model, version));
    return StateOf(*lv);
  }

  // Idempotent like Triton's: a registered model with nothing loaded is already unloaded.
  Status Unload(const std::string& model) override {
    C19_TRY(registry_.GetModel(model));
    std::lock_guard lock(mu_);
    auto it = entries_.find(ToLower(model));
    if (it == entries_.end()) return OkStatus();
    it->second->versions.clear();
    it->second->served_valid = false;
    UpdateGaugesLocked();
    return OkStatus();
  }

  Result<bool> Ready(const std::string& model, const std::string& version) override {
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(ToLower(model));
      if (it != entries_.end()) {
        const Entry& e = *it->second;
        std::optional<int64_t> want = version.empty() ? (e.served_valid ? e.served : std::nullopt)
                                                      : (IsNumber(version) ? std::optional<int64_t>(std::stoll(version))
                                                                           : std::nullopt);
        if (want) {
          auto s = e.versions.find(*want);
          if (s != e.versions.end() && s->second->state == Slot::State::kReady) return true;
        }
      }
    }
    // Loadable: the registry has the version and its artifact.
    auto v = registry_.GetVersion(model, version.empty() ? Selector(model) : version);
    if (!v.ok()) {
      if (v.error().code == ErrorCode::kNotFound) return false;
      return std::move(v).error();
    }
    return !v->artifact_removed_at_ms.has_value();
  }

  Result<ServedModel> Describe(const std::string& model, const std::string& version) override {
    C19_ASSIGN_OR_RETURN(auto lv, Ensure(model, version));
    return ServedModel{lv->model_name, lv->version, &lv->batcher->model(), lv->bundle};
  }

  int64_t LoadedBytes() const override {
    std::lock_guard lock(mu_);
    return LoadedBytesLocked();
  }

 private:
  // ---------------------------------------------------------------- dispatch

  void Dispatch(const std::shared_ptr<LoadedVersion>& lv, const SubmitOptions& options, const Decoder& decode,
                Callback done) {
    ServedModel served{lv->model_name, lv->version, &lv->batcher->model(), lv->bundle};
    auto input = decode(served);
    if (!input.ok()) {
      lv->metrics.rejected->Inc();
      return done(served, std::move(input).error());
    }
    lv->last_used_ms.store(clock_->NowMs(), std::memory_order_relaxed);
    lv->requests.fetch_add(1, std::memory_order_relaxed);
    const int64_t start = SteadyNowUs();
    WorkItem item;
    item.input = std::move(*input);
    item.priority = options.priority;
    item.enqueued_us = start;
    int64_t timeout = options.timeout_ms > 0 ? options.timeout_ms : o_.default_timeout_ms;
    item.deadline_us = start + timeout * 1000;
    item.shape_key = Batcher::ShapeKey(item.input);
    std::string cache_key;
    if (lv->spec.result_cache.enabled && o_.cache) {
      cache_key = lv->model_id + ":" + std::to_string(lv->version) + ":" + lv->sha256.substr(0, 16) + ":" +
                  InputDigest(item.input);
    }
    // Holds the loaded version until the answer is out, so an unload never cuts a request short.
    item.done = [lv, served, done, start, cache_key, cache = o_.cache](Result<PredictResult> r) {
      lv->metrics.total_seconds->Observe(static_cast<double>(SteadyNowUs() - start) / 1e6);
      if (r.ok()) {
        lv->metrics.ok->Inc();
        if (!cache_key.empty()) cache->Set(kCacheNs, cache_key, EncodeOutput(r->output), lv->spec.result_cache.ttl_ms);
      } else if (r.error().code == ErrorCode::kResourceExhausted) {
        lv->metrics.rejected->Inc();
      } else if (r.error().code != ErrorCode::kDeadlineExceeded) {
        lv->metrics.failed->Inc();
      }
      done(served, std::move(r));
    };
    if (!cache_key.empty()) {
      // The cache may be remote (Redis): look it up off the caller's thread.
      auto shared = std::make_shared<WorkItem>(std::move(item));
      auto lookup = [lv, shared, cache_key, cache = o_.cache]() {
        if (auto hit = cache->Get(kCacheNs, cache_key)) {
          if (auto out = DecodeOutput(*hit)) {
            lv->metrics.cache_hits->Inc();
            PredictResult r;
            r.output = std::move(*out);
            r.cached = true;
            shared->done(std::move(r));
            return;
          }
        }
        lv->metrics.cache_misses->Inc();
        Status st = lv->batcher->Submit(std::move(*shared));
        if (!st.ok()) shared->done(std::move(st).error());
      };
      if (!o_.completions || !o_.completions->TrySubmit(lookup)) lookup();
      return;
    }
    auto callback = item.done;
    Status st = lv->batcher->Submit(std::move(item));
    if (!st.ok()) callback(std::move(st).error());
  }

  // ---------------------------------------------------------------- resolving and loading

  std::shared_ptr<Entry> EntryLocked(const std::string& name) {
    auto& slot = entries_[ToLower(name)];
    if (!slot) {
      slot = std::make_shared<Entry>();
      slot->name = name;
      slot->spec = o_.defaults;
      slot->spec.model = name;
    }
    return slot;
  }

  std::string Selector(const std::string& model) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ToLower(model));
    return it == entries_.end() ? o_.defaults.selector : it->second->spec.selector;
  }

  // The loaded version a request for (model, version) is served by, loading it when needed.
  Result<std::shared_ptr<LoadedVersion>> Ensure(const std::string& model, const std::string& version) {
    std::shared_ptr<Entry> e;
    uint64_t generation;
    std::optional<int64_t> number;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return Error::Unavailable("the server is shutting down");
      e = EntryLocked(model);
      generation = e->generation;
      if (version.empty() && e->served_valid) number = e->served;
      if (IsNumber(version)) number = std::stoll(version);
    }
    const bool resolve = !number || !version.empty();
    if (resolve) {
      // Resolve through the registry (also checks that a numbered version exists).
      std::string ref = version.empty() ? e->spec.selector : version;
      auto v = registry_.GetVersion(model, ref);
      if (!v.ok()) {
        if (v.error().code == ErrorCode::kNotFound && version.empty()) {
          auto m = registry_.GetModel(model);
          if (!m.ok()) {
            std::lock_guard lock(mu_);
            if (!e->explicit_deployment) entries_.erase(ToLower(model));
            return std::move(m).error();
          }
          return Error::NotFound("model \"" + m->name + "\" has no " + ref + " version to serve");
        }
        std::lock_guard lock(mu_);
        if (!e->explicit_deployment && e->versions.empty()) entries_.erase(ToLower(model));
        return std::move(v).error();
      }
      number = v->version;
      if (version.empty()) {
        std::lock_guard lock(mu_);
        if (e->generation == generation) {
          if (e->served != number && e->served_valid) {
            log::Info("inference: served version changed", {{"model", e->name}, {"version", *number}});
          }
          e->served = number;
          e->served_valid = true;
          e->resolved_at_ms = clock_->NowMs();
        }
      }
    }
    return LoadSlot(e, *number);
  }

  Result<std::shared_ptr<LoadedVersion>> LoadSlot(const std::shared_ptr<Entry>& e, int64_t number) {
    std::shared_ptr<Slot> slot;
    DeploymentSpec spec;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        auto it = e->versions.find(number);
        if (it == e->versions.end()) break;
        slot = it->second;
        if (slot->state == Slot::State::kReady) return slot->loaded;
        if (slot->state == Slot::State::kFailed) {
          if (clock_->NowMs() - slot->failed_at_ms < kFailedRetryMs) return slot->error;
          e->versions.erase(it);
          slot.reset();
          break;
        }
        cv_.wait(lock);  // loading elsewhere
        if (stopped_) return Error::Unavailable("the server is shutting down");
      }
      slot = std::make_shared<Slot>();
      e->versions[number] = slot;
      spec = e->spec;
    }
    PublishDeployment(e->name, number, "loading", "");
    auto loaded = LoadVersion(e->name, number, spec);
    {
      std::lock_guard lock(mu_);
      if (loaded.ok()) {
        slot->state = Slot::State::kReady;
        slot->loaded = *loaded;
      } else {
        slot->state = Slot::State::kFailed;
        slot->error = loaded.error();
        slot->failed_at_ms = clock_->NowMs();
      }
    }
    cv_.notify_all();
    if (!loaded.ok()) {
      log::Warn("inference: loading failed",
                {{"model", e->name}, {"version", number}, {"error", loaded.error().message}});
      PublishDeployment(e->name, number, "failed", loaded.error().message);
      return std::move(loaded).error();
    }
    log::Info("inference: model loaded", {{"model", e->name},
                                          {"version", number},
                                          {"memory_bytes", (*loaded)->memory},
                                          {"instances", spec.instances}});
    PublishDeployment(e->name, number, "ready", "");
    EvictOverBudget(*loaded);
    return *loaded;
  }

  Result<std::shared_ptr<LoadedVersion>> LoadVersion(const std::string& model, int64_t number,
                                                     const DeploymentSpec& spec) {
    C19_ASSIGN_OR_RETURN(registry::Version v, registry_.GetVersion(model, std::to_string(number)));
    auto fw = ml::ParseFramework(v.framework);
    if (!fw || *fw == ml::Framework::kCustom) {
      return Error::FailedPrecondition("model \"" + v.model_name + "\" version " + std::to_string(number) + " is a " +
                                       v.framework + " model, which cannot be served");
    }
    C19_ASSIGN_OR_RETURN(auto src, registry_.OpenArtifact(v));
    C19_ASSIGN_OR_RETURN(std::string bytes, storage::ReadAll(*src, size_t{1} << 40));
    std::vector<std::unique_ptr<ml::Model>> instances;
    for (int i = 0; i < std::max(1, spec.instances); ++i) {
      auto m = ml::LoadModel(*fw, bytes, v.signature);
      if (!m.ok()) return std::move(m).error();
      if (spec.warmup) C19_TRY((*m)->WarmUp());
      instances.push_back(std::move(*m));
    }
    auto lv = std::make_shared<LoadedVersion>();
    lv->model_name = v.model_name;
    lv->model_id = v.model_id;
    lv->sha256 = v.sha256;
    lv->version = number;
    lv->bundle = !instances[0]->FeatureNames().empty();
    lv->memory = instances[0]->MemoryBytes() * static_cast<int64_t>(instances.size());
    lv->spec = spec;
    lv->metrics = MetricsFor(v.model_name, number);
    lv->last_used_ms = clock_->NowMs();
    ThreadPool* completions = o_.completions;
    internal::CompletionExecutor executor = [completions](std::function<void()> f) {
      if (!completions || !completions->TrySubmit(f)) f();
    };
    lv->batcher = std::make_unique<Batcher>(spec.batching, std::move(instances), lv->metrics.batcher, executor);
    return lv;
  }

  // Unloads the least recently used versions (never `keep`) until the loaded ones fit the budget.
  void EvictOverBudget(const std::shared_ptr<LoadedVersion>& keep) {
    std::vector<std::shared_ptr<LoadedVersion>> evicted;
    {
      std::lock_guard lock(mu_);
      while (LoadedBytesLocked() > o_.memory_budget_bytes) {
        Entry* victim_entry = nullptr;
        int64_t victim_version = 0, oldest = INT64_MAX;
        for (auto& [key, e] : entries_) {
          for (auto& [n, slot] : e->versions) {
            if (slot->state != Slot::State::kReady || slot->loaded == keep) continue;
            int64_t used = slot->loaded->last_used_ms.load(std::memory_order_relaxed);
            if (used < oldest) {
              oldest = used;
              victim_entry = e.get();
              victim_version = n;
            }
          }
        }
        if (!victim_entry) break;
        evicted.push_back(victim_entry->versions[victim_version]->loaded);
        victim_entry->versions.erase(victim_version);
      }
      UpdateGaugesLocked();
    }
    for (const auto& lv : evicted) {
      log::Info("inference: unloaded to stay within the memory budget",
                {{"model", lv->model_name}, {"version", lv->version}, {"memory_bytes", lv->memory}});
      PublishDeployment(lv->model_name, lv->version, "unloaded", "memory budget");
    }
    // The batchers stop when the last request holding them completes.
  }

  // ---------------------------------------------------------------- following the registry

  // A change in the registry (this replica: the listener; others: events): the next request
  // resolves the selector again, and the new served version is loaded in the background.
  void MarkStale(const std::string& model) {
    bool active = false;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(ToLower(model));
      if (it == entries_.end()) return;
      Entry& e = *it->second;
      e.served_valid = false;
      ++e.generation;
      active = !e.versions.empty() || e.explicit_deployment;
    }
    if (active) loader_.Submit([this, model] { Refresh(model); });
  }

  void Refresh(const std::string& model) {
    auto loaded = Ensure(model, "");
    if (!loaded.ok() && loaded.error().code != ErrorCode::kNotFound) {
      log::Warn("inference: refresh failed", {{"model", model}, {"error", loaded.error().message}});
    }
    if (loaded.ok()) PublishDeployment((*loaded)->model_name, (*loaded)->version, "serving", "");
  }

  void Watch() {
    int64_t last_sweep = clock_->NowMs();
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopped_) return;
      }
      if (sub_) {
        if (auto ev = sub_->Next(std::chrono::milliseconds(200))) {
          Json data = Json::parse(ev->data, nullptr, false);
          if (data.is_object() && data.contains("model") && data["model"].is_string()) {
            std::string model = data["model"].get<std::string>();
            if (ev->type == events::kDeploymentChanged) {
              if (data.value("state", "") == "configured" || data.value("state", "") == "undeployed") {
                ReloadConfig(model);
              }
            } else {
              MarkStale(model);
              if (data.contains("renamed_from") && data["renamed_from"].is_string()) {
                MarkStale(data["renamed_from"].get<std::string>());
              }
            }
          }
        }
      } else {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(200));
      }
      // Events may be lost (another replica without fan-out): re-resolve active models periodically.
      const int64_t now = clock_->NowMs();
      if (now - last_sweep >= o_.resolve_interval_ms) {
        last_sweep = now;
        std::vector<std::string> active;
        {
          std::lock_guard lock(mu_);
          for (auto& [key, e] : entries_) {
            if (!e->versions.empty() && now - e->resolved_at_ms >= o_.resolve_interval_ms) active.push_back(e->name);
          }
        }
        for (const auto& name : active) {
          auto v = registry_.GetVersion(name, Selector(name));
          std::optional<int64_t> now_served;
          if (v.ok()) now_served = v->version;
          bool changed = false;
          {
            std::lock_guard lock(mu_);
            auto it = entries_.find(ToLower(name));
            if (it == entries_.end()) continue;
            it->second->resolved_at_ms = now;
            changed = it->second->served_valid && it->second->served != now_served;
          }
          if (changed) MarkStale(name);
        }
      }
    }
  }

  void ReloadConfig(const std::string& model) {
    auto rows = db_.Query("SELECT model_name, spec, created_by, updated_at FROM inference_deployments WHERE model_key = ?",
                          {ToLower(model)});
    if (!rows.ok()) return;
    std::lock_guard lock(mu_);
    auto it = entries_.find(ToLower(model));
    if (rows->empty()) {
      if (it != entries_.end() && it->second->explicit_deployment) entries_.erase(it);
      UpdateGaugesLocked();
      return;
    }
    const auto& r = (*rows)[0];
    if (it != entries_.end() && it->second->explicit_deployment && it->second->updated_at_ms == r.Int(3)) return;
    ApplySpecLocked(r.Text(0), SpecFromJson(r.Text(0), r.Text(1), o_.defaults), r.Text(2), r.Int(3));
  }

  void ApplySpec(const std::string& model, const DeploymentSpec& spec, const std::string& by, int64_t at) {
    std::lock_guard lock(mu_);
    ApplySpecLocked(model, spec, by, at);
  }

  // New options take effect on the next load: loaded versions are dropped (requests in flight finish).
  void ApplySpecLocked(const std::string& model, const DeploymentSpec& spec, const std::string& by, int64_t at) {
    auto e = EntryLocked(model);
    e->spec = spec;
    e->explicit_deployment = true;
    e->created_by = by;
    e->updated_at_ms = at;
    e->versions.clear();
    e->served_valid = false;
    ++e->generation;
    UpdateGaugesLocked();
  }

  // ---------------------------------------------------------------- state

  static VersionState StateOf(const LoadedVersion& lv) {
    VersionState s;
    s.version = lv.version;
    s.state = "ready";
    s.memory_bytes = lv.memory;
    s.queued = lv.batcher->queued();
    s.instances = lv.batcher->instances();
    s.last_used_ms = lv.last_used_ms.load(std::memory_order_relaxed);
    s.requests = lv.requests.load(std::memory_order_relaxed);
    return s;
  }

  DeploymentInfo InfoLocked(const Entry& e) const {
    DeploymentInfo info;
    info.spec = e.spec;
    info.explicit_deployment = e.explicit_deployment;
    info.served_version = e.served_valid ? e.served : std::nullopt;
    info.created_by = e.created_by;
    info.updated_at_ms = e.updated_at_ms;
    for (const auto& [n, slot] : e.versions) {
      if (slot->state == Slot::State::kReady) {
        info.versions.push_back(StateOf(*slot->loaded));
      } else {
        VersionState s;
        s.version = n;
        s.state = slot->state == Slot::State::kLoading ? "loading" : "failed";
        s.error = slot->error.message;
        info.versions.push_back(s);
      }
    }
    return info;
  }

  int64_t LoadedBytesLocked() const {
    int64_t total = 0;
    for (const auto& [key, e] : entries_) {
      for (const auto& [n, slot] : e->versions) {
        if (slot->state == Slot::State::kReady) total += slot->loaded->memory;
      }
    }
    return total;
  }

  void UpdateGauges() {
    std::lock_guard lock(mu_);
    UpdateGaugesLocked();
  }
  void UpdateGaugesLocked() {
    int64_t count = 0;
    for (const auto& [key, e] : entries_) {
      for (const auto& [n, slot] : e->versions) count += slot->state == Slot::State::kReady;
    }
    loaded_models_->Set(static_cast<double>(count));
    loaded_bytes_->Set(static_cast<double>(LoadedBytesLocked()));
  }

  void PublishDeployment(const std::string& model, std::optional<int64_t> version, const std::string& state,
                         const std::string& reason) {
    if (state == "ready" || state == "unloaded") UpdateGauges();
    if (!o_.bus) return;
    events::Event ev;
    ev.type = std::string(events::kDeploymentChanged);
    ev.room = std::string(events::kRoomDeployments);
    Json data = {{"model", model}, {"state", state}};
    if (version) data["version"] = *version;
    if (!reason.empty()) data["reason"] = reason;
    ev.data = DumpJson(data);
    o_.bus->Publish(std::move(ev));
  }

  db::Database& db_;
  registry::Registry& registry_;
  Options o_;
  const Clock* clock_;
  ThreadPool loader_;
  metrics::Gauge* loaded_models_;
  metrics::Gauge* loaded_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // by lower-case model name
  bool stopped_ = false;
  std::unique_ptr<events::Subscription> sub_;
  std::thread watcher_;
};

}  // namespace

std::optional<Priority> ParsePriority(std::string_view s) {
  if (s == "high") return Priority::kHigh;
  if (s == "normal") return Priority::kNormal;
  if (s == "low") return Priority::kLow;
  return std::nullopt;
}

Status ValidateSpec(const DeploymentSpec& s) {
  if (s.selector.empty() || s.selector.size() > 64) return Error::Field("selector", "selector must be 1-64 characters");
  const BatchingOptions& b = s.batching;
  if (b.max_batch_size < 1 || b.max_batch_size > 4096) {
    return Error::Field("batching.max_batch_size", "max_batch_size must be 1 to 4096");
  }
  if (b.max_queue_delay_us < 0 || b.max_queue_delay_us > 10'000'000) {
    return Error::Field("batching.max_queue_delay_us", "max_queue_delay_us must be 0 to 10000000");
  }
  if (b.max_queue_size < 1 || b.max_queue_size > 1'000'000) {
    return Error::Field("batching.max_queue_size", "max_queue_size must be 1 to 1000000");
  }
  for (int p : b.preferred_batch_sizes) {
    if (p < 1 || p > b.max_batch_size) {
      return Error::Field("batching.preferred_batch_sizes", "preferred batch sizes must be 1 to max_batch_size");
    }
  }
  if (s.instances < 1 || s.instances > 64) return Error::Field("instances", "instances must be 1 to 64");
  if (s.result_cache.ttl_ms < 1 || s.result_cache.ttl_ms > 30LL * 86'400'000) {
    return Error::Field("result_cache.ttl_ms", "result_cache ttl must be 1 ms to 30 days");
  }
  return OkStatus();
}

Result<std::pair<ServedModel, PredictResult>> InferenceService::PredictSync(const std::string& model,
                                                                           const SubmitOptions& options,
                                                                           Decoder decode) {
  std::promise<Result<std::pair<ServedModel, PredictResult>>> promise;
  auto future = promise.get_future();
  Submit(model, options, std::move(decode), [&promise](const ServedModel& m, Result<PredictResult> r) {
    ServedModel copy = m;
    copy.model = nullptr;  // only valid during the callback
    if (r.ok()) promise.set_value(std::make_pair(copy, std::move(*r)));
    else promise.set_value(std::move(r).error());
  });
  return future.get();
}

Result<std::unique_ptr<InferenceService>> InferenceService::Create(db::Database& db, registry::Registry& registry,
                                                                   Options options) {
  C19_TRY(ValidateSpec(options.defaults));
  return std::unique_ptr<InferenceService>(new Service(db, registry, std::move(options)));
}

}  // namespace c19ai::inference
