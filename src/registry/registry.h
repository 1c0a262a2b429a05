#pragma once
// The model registry: registered models, their immutable numbered versions (artifacts in storage
// under models/, content-addressed), stages with the contract's promotion rule, aliases, the history
// of every transition, integrity checks, statistics and retention.
//
// Every artifact is validated before it is stored: it must load with its framework and answer one
// inference on zeros of its signature (ml::LoadModel + WarmUp), else unprocessable with the loader's
// message and nothing is kept. Version numbers are allocated in the transaction that records the
// version, so concurrent uploads to one model get distinct numbers 1, 2, 3, ...
//
// Changes publish events (room "models") and are audited: HTTP requests by the server's audit
// observer, changes made by the system itself (training, retention) through the AuditLog given here.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
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
#include "ml/ml.h"
#include "storage/storage.h"

namespace c19ai::cache {
class Cache;
}
namespace c19ai::events {
class EventBus;
}

namespace c19ai::registry {

std::vector<db::MigrationFile> Migrations();

enum class Stage { kNone, kStaging, kProduction, kArchived };
std::string_view StageName(Stage s);
std::optional<Stage> ParseStage(std::string_view s);

// classification | regression | clustering | generation | embedding | custom
bool IsModelType(std::string_view s);

using Tags = std::map<std::string, std::string>;

struct Model {
  std::string id, name, description, model_type, framework;
  Tags tags;
  std::string owner_id, owner_name;
  int64_t created_at_ms = 0, updated_at_ms = 0;
  int64_t version_count = 0;
  std::optional<int64_t> latest_version;
  std::optional<int64_t> production_version;  // the one served: the highest production version
  std::map<std::string, int64_t> aliases;
};

struct ModelSpec {
  std::string name, description, model_type, framework;
  Tags tags;
};

struct ModelPatch {
  std::optional<std::string> name;  // rename
  std::optional<std::string> description;
  std::optional<Tags> tags;         // replaces all tags
};

struct Version {
  std::string id, model_id, model_name;
  int64_t version = 0;
  std::string framework;
  Stage stage = Stage::kNone;
  ml::Signature signature;
  std::string metrics_json = "{}", params_json = "{}", lineage_json = "{}";
  std::string description;
  Tags tags;
  std::string source_type = "upload";  // upload | training
  std::string source_id;               // the training job, for source_type training
  std::string sha256, storage_key;
  int64_t size = 0;
  std::optional<int64_t> artifact_removed_at_ms;  // set by retention: metadata kept, bytes gone
  std::string created_by, created_by_name;
  int64_t created_at_ms = 0, stage_changed_at_ms = 0;
  std::vector<std::string> aliases;
  std::optional<int64_t> verified_at_ms;
  std::optional<bool> verified_ok;
};

// What an upload says about its artifact. Empty signature: the artifact's own (bundles, XGBoost);
// TorchScript and ONNX need one.
struct VersionSpec {
  std::string framework;  // empty: the model's
  ml::Signature signature;
  std::string metrics_json = "{}", params_json = "{}", lineage_json = "{}";
  std::string description;
  Tags tags;
  std::string source_type = "upload";
  std::string source_id;
};

// An uploaded artifact spooled to local disk and hashed, not yet validated or registered. Move-only;
// removes its file when destroyed.
struct StagedArtifact {
  std::string path, sha256;
  int64_t size = 0;
  StagedArtifact() = default;
  StagedArtifact(StagedArtifact&& other) noexcept;
  StagedArtifact& operator=(StagedArtifact&& other) noexcept;
  StagedArtifact(const StagedArtifact&) = delete;
  StagedArtifact& operator=(const StagedArtifact&) = delete;
  ~StagedArtifact();
};

struct Transition {
  std::string id;
  int64_t version = 0;
  std::string from_stage, to_stage;  // stage names; aliases: "alias:<name>" with from/to versions in reason
  std::string actor_id, actor_name, reason;
  int64_t at_ms = 0;
};

struct StageChange {
  Stage stage = Stage::kNone;
  bool archive_existing = true;  // production: archive the previous production version(s)
  std::string reason;
};

struct SearchQuery {
  std::string name_contains;  // case-insensitive
  std::string model_type, framework, owner;
  std::string tag;    // "key" or "key:value"
  std::string stage;  // models with a version in this stage
  std::string sort = "name";  // name | created_at | updated_at
  bool descending = false;
  int64_t limit = 50;
  std::string page_token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;
};

struct VerifyReport {
  bool ok = false;
  std::string expected_sha256;
  std::map<std::string, std::string> actual_sha256;  // per storage location
  bool loads = false;
  std::string problem;  // why not ok
  int64_t checked_at_ms = 0;
};

struct Stats {
  int64_t models = 0, versions = 0, bytes = 0, artifacts_removed = 0;
  std::map<std::string, int64_t> by_type, by_framework, by_stage;
};

struct RetentionReport {
  bool dry_run = true;
  std::vector<std::pair<std::string, int64_t>> versions;  // model name, version
  int64_t bytes = 0;  // freed (or that would be freed)
};

struct Options {
  std::string spool_dir;  // uploads are spooled here before validation (required)
  int64_t max_artifact_bytes = int64_t{4} << 30;
  const Clock* clock = &Clock::System();
  AuditLog* audit = nullptr;           // for changes by internal principals
  events::EventBus* bus = nullptr;     // optional
  cache::Cache* cache = nullptr;       // optional: model lookups by name
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Create(db::Database& db, storage::StorageService& storage,
                                                  Options options);
  virtual ~Registry() = default;

  // invalid_argument naming the field; already_exists (names are unique, case-insensitively).
  virtual Result<Model> CreateModel(const Principal& actor, const ModelSpec& spec) = 0;
  virtual Result<Model> GetModel(std::string_view name) = 0;
  virtual Result<Page<Model>> SearchModels(const SearchQuery& query) = 0;
  virtual Result<Model> UpdateModel(const Principal& actor, std::string_view name, const ModelPatch& patch) = 0;
  // failed_precondition while a version is in production, unless forced. Removes the artifacts no
  // other version uses.
  virtual Status DeleteModel(const Principal& actor, std::string_view name, bool force) = 0;

  // Spools and hashes an upload (multipart bodies may carry the metadata after the file).
  // payload_too_large beyond max_artifact_bytes; invalid_argument when empty.
  virtual Result<StagedArtifact> StageArtifact(storage::ByteSource& artifact) = 0;
  // Validates the staged artifact, stores it and records the next version.
  // not_found (model), invalid_argument (spec), unprocessable (does not load, or is not what the
  // version declares).
  virtual Result<Version> CreateVersion(const Principal& actor, std::string_view name, StagedArtifact artifact,
                                        const VersionSpec& spec) = 0;
  // Both steps.
  Result<Version> CreateVersion(const Principal& actor, std::string_view name, storage::ByteSource& artifact,
                                const VersionSpec& spec);
  // `ref`: a number, an alias, or latest | production | staging.
  virtual Result<Version> GetVersion(std::string_view name, std::string_view ref) = 0;
  virtual Result<Page<Version>> ListVersions(std::string_view name, std::optional<Stage> stage, int64_t limit,
                                             const std::string& page_token) = 0;
  // failed_precondition when retention removed the artifact.
  virtual Result<std::unique_ptr<storage::ByteSource>> OpenArtifact(const Version& version) = 0;

  virtual Result<Version> SetStage(const Principal& actor, std::string_view name, std::string_view ref,
                                   const StageChange& change) = 0;
  // Promotes `to`, or else the version that was in production before the current one.
  virtual Result<Version> Rollback(const Principal& actor, std::string_view name, std::optional<int64_t> to,
                                   const std::string& reason) = 0;
  virtual Result<Version> SetAlias(const Principal& actor, std::string_view name, std::string_view alias,
                                   int64_t version) = 0;
  virtual Status DeleteAlias(const Principal& actor, std::string_view name, std::string_view alias) = 0;
  // Newest first.
  virtual Result<Page<Transition>> Transitions(std::string_view name, int64_t limit,
                                               const std::string& page_token) = 0;

  // Recomputes the artifact's SHA-256 on every copy and loads it with its framework.
  virtual Result<VerifyReport> Verify(const Principal& actor, std::string_view name, std::string_view ref) = 0;
  virtual Result<Stats> GetStats() = 0;
  // Removes the artifacts of versions archived for longer than `older_than_ms` (metadata kept and
  // marked). Versions an alias points at are kept.
  virtual Result<RetentionReport> ApplyRetention(const Principal& actor, int64_t older_than_ms, bool dry_run) = 0;

  // Called synchronously, after the commit and before the changing call returns, whenever what a
  // version selector resolves to may have changed (new version, stage, alias, rename, delete,
  // retention), with the model's name (both names on a rename). Listeners must be quick and must not
  // call back into the registry on this thread. Other replicas learn the same from the events.
  using ChangeListener = std::function<void(const std::string& model_name)>;
  virtual void AddChangeListener(ChangeListener listener) = 0;
};

}  // namespace c19ai::registry
