// The registry service over the db, storage, cache and event modules; ml loads artifacts to check them.

#include "registry/registry.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>

#include "cache/cache.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/text.h"
#include "events/events.h"

namespace c19ai::registry {

namespace {

constexpr std::string_view kCacheNs = "registry";
constexpr int64_t kCacheTtlMs = 60'000;

const std::regex& NameRe() {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  return re;
}
const std::regex& AliasRe() {
  static const std::regex re("^[a-z][a-z0-9_-]{0,63}$");
  return re;
}

Status ValidateName(const std::string& name, std::string_view field) {
  if (!std::regex_match(name, NameRe())) {
    return Error::Field(field, "name must be 1-128 characters: letters, digits, '.', '_' or '-', starting with a "
                               "letter or digit");
  }
  return OkStatus();
}

Status ValidateTags(const Tags& tags, std::string_view field) {
  if (tags.size() > 64) return Error::Field(field, "at most 64 tags");
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) return Error::Field(field, "tag names must be 1-128 characters");
    if (v.size() > 1024) return Error::Field(field, "tag \"" + k + "\" has a value over 1024 characters");
  }
  return OkStatus();
}

Json TagsJson(const Tags& t) { return Json(t); }

Tags ParseTags(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  Tags t;
  if (j.is_object())
    for (const auto& [k, v] : j.items()) t[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return t;
}

// Reads a file as a ByteSource (the spooled artifact going into storage).
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

std::string_view ModelColumns() {
  return "m.id, m.name, m.description, m.model_type, m.framework, m.tags, m.owner_id, m.owner_name, m.created_at, "
         "m.updated_at, (SELECT COUNT(*) FROM registry_versions v WHERE v.model_id = m.id) AS version_count, "
         "(SELECT MAX(v.version) FROM registry_versions v WHERE v.model_id = m.id) AS latest_version, "
         "(SELECT MAX(v.version) FROM registry_versions v WHERE v.model_id = m.id AND v.stage = 'production') AS "
         "production_version";
}

Model ModelFromRow(const db::Row& r) {
  Model m;
  m.id = r.Text(0);
  m.name = r.Text(1);
  m.description = r.Text(2);
  m.model_type = r.Text(3);
  m.framework = r.Text(4);
  m.tags = ParseTags(r.Text(5));
  m.owner_id = r.Text(6);
  m.owner_name = r.Text(7);
  m.created_at_ms = r.Int(8);
  m.updated_at_ms = r.Int(9);
  m.version_count = r.Int(10);
  m.latest_version = r.OptInt(11);
  m.production_version = r.OptInt(12);
  return m;
}

std::string_view VersionColumns() {
  return "v.id, v.model_id, m.name, v.version, v.framework, v.stage, v.signature, v.metrics, v.params, v.lineage, "
         "v.description, v.tags, v.source_type, v.source_id, v.storage_key, v.sha256, v.size, v.artifact_removed_at, "
         "v.created_by, v.created_by_name, v.created_at, v.stage_changed_at, v.verified_at, v.verified_ok";
}

Version VersionFromRow(const db::Row& r) {
  Version v;
  v.id = r.Text(0);
  v.model_id = r.Text(1);
  v.model_name = r.Text(2);
  v.version = r.Int(3);
  v.framework = r.Text(4);
  v.stage = ParseStage(r.Text(5)).value_or(Stage::kNone);
  auto sig = ml::ParseSignature(r.Text(6));
  if (sig.ok()) v.signature = std::move(*sig);
  v.metrics_json = r.Text(7);
  v.params_json = r.Text(8);
  v.lineage_json = r.Text(9);
  v.description = r.Text(10);
  v.tags = ParseTags(r.Text(11));
  v.source_type = r.Text(12);
  v.source_id = r.Text(13);
  v.storage_key = r.Text(14);
  v.sha256 = r.Text(15);
  v.size = r.Int(16);
  v.artifact_removed_at_ms = r.OptInt(17);
  v.created_by = r.Text(18);
  v.created_by_name = r.Text(19);
  v.created_at_ms = r.Int(20);
  v.stage_changed_at_ms = r.Int(21);
  v.verified_at_ms = r.OptInt(22);
  if (auto ok = r.OptInt(23)) v.verified_ok = *ok != 0;
  return v;
}

// JSON of a model for the cache (the route module has its own presentation).
std::string ModelCacheJson(const Model& m) {
  return DumpJson(Json{{"id", m.id},
                       {"name", m.name},
                       {"description", m.description},
                       {"model_type", m.model_type},
                       {"framework", m.framework},
                       {"tags", m.tags},
                       {"owner_id", m.owner_id},
                       {"owner_name", m.owner_name},
                       {"created_at", m.created_at_ms},
                       {"updated_at", m.updated_at_ms},
                       {"version_count", m.version_count},
                       {"latest_version", m.latest_version ? Json(*m.latest_version) : Json(nullptr)},
                       {"production_version", m.production_version ? Json(*m.production_version) : Json(nullptr)},
                       {"aliases", m.aliases}});
}

std::optional<Model> ModelFromCacheJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    Model m;
    m.id = j.at("id").get<std::string>();
    m.name = j.at("name").get<std::string>();
    m.description = j.at("description").get<std::string>();
    m.model_type = j.at("model_type").get<std::string>();
    m.framework = j.at("framework").get<std::string>();
    m.tags = j.at("tags").get<Tags>();
    m.owner_id = j.at("owner_id").get<std::string>();
    m.owner_name = j.at("owner_name").get<std::string>();
    m.created_at_ms = j.at("created_at").get<int64_t>();
    m.updated_at_ms = j.at("updated_at").get<int64_t>();
    m.version_count = j.at("version_count").get<int64_t>();
    if (!j.at("latest_version").is_null()) m.latest_version = j["latest_version"].get<int64_t>();
    if (!j.at("production_version").is_null()) m.production_version = j["production_version"].get<int64_t>();
    m.aliases = j.at("aliases").get<std::map<std::string, int64_t>>();
    return m;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

class RegistryImpl final : public Registry {
 public:
  RegistryImpl(db::Database& db, storage::StorageService& storage, Options o)
      : db_(db), storage_(storage), o_(std::move(o)), clock_(o_.clock ? o_.clock : &Clock::System()) {}

  using Registry::CreateVersion;

  // ---------------------------------------------------------------- models

  Result<Model> CreateModel(const Principal& actor, const ModelSpec& spec) override {
    C19_TRY(ValidateName(spec.name, "name"));
    if (!IsModelType(spec.model_type)) {
      return Error::Field("model_type",
                          "model_type must be classification, regression, clustering, generation, embedding or custom");
    }
    if (!ml::ParseFramework(spec.framework)) {
      return Error::Field("framework", "framework must be torch, torchscript, onnx, xgboost, kmeans or custom");
    }
    if (spec.description.size() > 10000) return Error::Field("description", "description is over 10000 characters");
    C19_TRY(ValidateTags(spec.tags, "tags"));
    const int64_t now = clock_->NowMs();
    const std::string id = NewId();
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_TRY(tx.Exec("INSERT INTO registry_models (id, name, name_key, description, model_type, framework, tags, "
                      "owner_id, owner_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {id, spec.name, ToLower(spec.name), spec.description, spec.model_type, spec.framework,
                       DumpJson(TagsJson(spec.tags)), actor.user_id, actor.username, now, now}));
      return WriteTags(tx, id, spec.tags);
    });
    if (!st.ok()) {
      if (st.error().code == ErrorCode::kAlreadyExists) {
        return Error::AlreadyExists("a model named \"" + spec.name + "\" already exists").WithField("name");
      }
      return std::move(st).error();
    }
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, spec.name));
    Publish(events::kModelCreated, {{"model", m.name}, {"model_type", m.model_type}, {"framework", m.framework}});
    Audit(actor, "model.create", m.name, {{"model_type", m.model_type}, {"framework", m.framework}});
    return m;
  }

  Result<Model> GetModel(std::string_view name) override {
    std::string key = ToLower(name);
    if (o_.cache) {
      if (auto hit = o_.cache->Get(kCacheNs, key)) {
        if (auto m = ModelFromCacheJson(*hit)) return *m;
      }
    }
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, name));
    if (o_.cache) o_.cache->Set(kCacheNs, key, ModelCacheJson(m), kCacheTtlMs);
    return m;
  }

  Result<Page<Model>> SearchModels(const SearchQuery& q) override {
    if (q.limit < 1 || q.limit > kMaxPageSize) return Error::Field("limit", "limit must be 1 to 1000");
    int64_t offset = 0;
    if (!q.page_token.empty()) {
      C19_ASSIGN_OR_RETURN(offset, DecodePageToken(q.page_token));
    }
    db::Select sel("SELECT " + std::string(ModelColumns()) + " FROM registry_models m");
    if (!q.name_contains.empty()) {
      std::string pattern = "%";
      for (char c : ToLower(q.name_contains)) {
        if (c == '%' || c == '_' || c == '\\') pattern += '\\';
        pattern += c;
      }
      pattern += "%";
      sel.Where("m.name_key LIKE ? ESCAPE '\\'", {pattern});
    }
    if (!q.model_type.empty()) sel.Where("m.model_type = ?", {q.model_type});
    if (!q.framework.empty()) sel.Where("m.framework = ?", {q.framework});
    if (!q.owner.empty()) sel.Where("(m.owner_name = ? OR m.owner_id = ?)", {q.owner, q.owner});
    if (!q.tag.empty()) {
      auto colon = q.tag.find(':');
      if (colon == std::string::npos) {
        sel.Where("EXISTS (SELECT 1 FROM registry_model_tags t WHERE t.model_id = m.id AND t.tag_key = ?)", {q.tag});
      } else {
        sel.Where("EXISTS (SELECT 1 FROM registry_model_tags t WHERE t.model_id = m.id AND t.tag_key = ? AND "
                  "t.tag_value = ?)",
                  {q.tag.substr(0, colon), q.tag.substr(colon + 1)});
      }
    }
    if (!q.stage.empty()) {
      if (!ParseStage(q.stage)) return Error::Field("stage", "stage must be none, staging, production or archived");
      sel.Where("EXISTS (SELECT 1 FROM registry_versions v WHERE v.model_id = m.id AND v.stage = ?)", {q.stage});
    }
    std::string column;
    if (q.sort == "name") column = "m.name_key";
    else if (q.sort == "created_at") column = "m.created_at";
    else if (q.sort == "updated_at") column = "m.updated_at";
    else return Error::Field("sort", "sort must be name, created_at or updated_at");
    std::string dir = q.descending ? " DESC" : " ASC";
    sel.OrderBy(column + dir + ", m.id" + dir).Limit(q.limit + 1).Offset(offset);
    C19_ASSIGN_OR_RETURN(auto rows, sel.Run(db_));
    Page<Model> page;
    for (const auto& r : rows) page.items.push_back(ModelFromRow(r));
    if (static_cast<int64_t>(page.items.size()) > q.limit) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken(offset + q.limit);
    }
    C19_TRY(FillAliases(db_, page.items));
    return page;
  }

  Result<Model> UpdateModel(const Principal& actor, std::string_view name, const ModelPatch& patch) override {
    if (patch.name) {
      C19_TRY(ValidateName(*patch.name, "name"));
    }
    if (patch.description && patch.description->size() > 10000) {
      return Error::Field("description", "description is over 10000 characters");
    }
    if (patch.tags) {
      C19_TRY(ValidateTags(*patch.tags, "tags"));
    }
    const int64_t now = clock_->NowMs();
    std::string final_name;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(Model m, LoadModel(tx, name));
      final_name = m.name;
      if (patch.name && *patch.name != m.name) {
        C19_TRY(tx.Exec("UPDATE registry_models SET name = ?, name_key = ?, updated_at = ? WHERE id = ?",
                        {*patch.name, ToLower(*patch.name), now, m.id}));
        final_name = *patch.name;
      }
      if (patch.description) {
        C19_TRY(tx.Exec("UPDATE registry_models SET description = ?, updated_at = ? WHERE id = ?",
                        {*patch.description, now, m.id}));
      }
      if (patch.tags) {
        C19_TRY(tx.Exec("UPDATE registry_models SET tags = ?, updated_at = ? WHERE id = ?",
                        {DumpJson(TagsJson(*patch.tags)), now, m.id}));
        C19_TRY(tx.Exec("DELETE FROM registry_model_tags WHERE model_id = ?", {m.id}));
        C19_TRY(WriteTags(tx, m.id, *patch.tags));
      }
      return OkStatus();
    });
    if (!st.ok()) {
      if (st.error().code == ErrorCode::kAlreadyExists) {
        return Error::AlreadyExists("a model named \"" + *patch.name + "\" already exists").WithField("name");
      }
      return std::move(st).error();
    }
    Invalidate(name);
    Invalidate(final_name);
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, final_name));
    Json details = {{"model", m.name}};
    if (patch.name) details["renamed_from"] = std::string(name);
    Publish("model.updated", details);
    Audit(actor, "model.update", m.name, details);
    return m;
  }

  Status DeleteModel(const Principal& actor, std::string_view name, bool force) override {
    std::vector<std::string> keys;
    std::string model_name;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      keys.clear();
      C19_ASSIGN_OR_RETURN(Model m, LoadModel(tx, name));
      model_name = m.name;
      if (m.production_version && !force) {
        return Error::FailedPrecondition("model \"" + m.name + "\" has version " +
                                         std::to_string(*m.production_version) +
                                         " in production; archive it first or delete with force=true");
      }
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT DISTINCT storage_key FROM registry_versions WHERE model_id = ? "
                                               "AND artifact_removed_at IS NULL",
                                               {m.id}));
      for (const auto& r : rows) keys.push_back(r.Text(0));
      // Children first: SQLite and PostgreSQL both cascade, but explicit deletes keep it obvious.
      for (const char* table : {"registry_aliases", "registry_transitions", "registry_model_tags", "registry_versions"}) {
        C19_TRY(tx.Exec(std::string("DELETE FROM ") + table + " WHERE model_id = ?", {m.id}));
      }
      C19_TRY(tx.Exec("DELETE FROM registry_models WHERE id = ?", {m.id}));
      return OkStatus();
    });
    C19_TRY(st);
    Invalidate(name);
    for (const auto& k : keys) RemoveBlobIfUnused(k);
    Publish("model.deleted", {{"model", model_name}, {"force", force}});
    Audit(actor, "model.delete", model_name, {{"force", force}});
    return OkStatus();
  }

  // ---------------------------------------------------------------- versions

  Result<StagedArtifact> StageArtifact(storage::ByteSource& artifact) override {
    StagedArtifact staged;
    staged.path = o_.spool_dir + "/upload-" + NewId();
    std::ofstream out(staged.path, std::ios::binary | std::ios::trunc);
    if (!out) return Error::Internal("cannot write the upload spool in " + o_.spool_dir);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    struct Free {
      EVP_MD_CTX* c;
      ~Free() { EVP_MD_CTX_free(c); }
    } free_ctx{ctx};
    std::string buf(256 << 10, '\0');
    for (;;) {
      C19_ASSIGN_OR_RETURN(size_t n, artifact.Read(buf.data(), buf.size()));
      if (n == 0) break;
      staged.size += static_cast<int64_t>(n);
      if (staged.size > o_.max_artifact_bytes) {
        return Error::PayloadTooLarge("the artifact is larger than " + std::to_string(o_.max_artifact_bytes) +
                                      " bytes (registry.max_artifact_size)");
      }
      EVP_DigestUpdate(ctx, buf.data(), n);
      out.write(buf.data(), static_cast<std::streamsize>(n));
    }
    out.flush();
    if (!out) return Error::Internal("writing the upload spool failed (disk full?)");
    if (staged.size == 0) return Error::Field("artifact", "the artifact is empty");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    staged.sha256 = HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
    return staged;
  }

  Result<Version> CreateVersion(const Principal& actor, std::string_view name, StagedArtifact staged,
                                const VersionSpec& spec) override {
    C19_ASSIGN_OR_RETURN(Model model, LoadModel(db_, name));
    std::string framework_name = spec.framework.empty() ? model.framework : spec.framework;
    auto framework = ml::ParseFramework(framework_name);
    if (!framework) {
      return Error::Field("framework", "framework must be torch, torchscript, onnx, xgboost, kmeans or custom");
    }
    if (spec.source_type != "upload" && spec.source_type != "training") {
      return Error::Field("source", "source must be upload or training");
    }
    for (auto [text, field] : {std::pair{&spec.metrics_json, "metrics"}, std::pair{&spec.params_json, "params"},
                               std::pair{&spec.lineage_json, "lineage"}}) {
      Json j = Json::parse(*text, nullptr, false);
      if (!j.is_object()) return Error::Field(field, std::string(field) + " must be a JSON object");
    }
    if (spec.description.size() > 10000) return Error::Field("description", "description is over 10000 characters");
    C19_TRY(ValidateTags(spec.tags, "tags"));
    const std::string sha = staged.sha256;
    const int64_t size = staged.size;
    std::string bytes;
    {
      std::ifstream in(staged.path, std::ios::binary);
      bytes.resize(static_cast<size_t>(size));
      in.read(bytes.data(), size);
      if (in.gcount() != size) return Error::Internal("the upload spool was truncated");
    }

    // 2. Validate: load with its framework and run one inference on zeros of its signature.
    ml::Signature signature = spec.signature;
    if (*framework != ml::Framework::kCustom) {
      auto loaded = ml::LoadModel(*framework, bytes, spec.signature);
      if (!loaded.ok()) return Error::Unprocessable(loaded.error().message).WithField(FieldOf(loaded.error(), "artifact"));
      if ((*loaded)->framework() != *framework) {
        return Error::Unprocessable("the artifact is a " + std::string(ml::FrameworkName((*loaded)->framework())) +
                                    " model, but the version declares " + framework_name)
            .WithField("framework");
      }
      Status warm = (*loaded)->WarmUp();
      if (!warm.ok()) return Error::Unprocessable(warm.error().message).WithField(FieldOf(warm.error(), "artifact"));
      signature = (*loaded)->signature();
    }
    bytes.clear();
    bytes.shrink_to_fit();

    // 3. Store (content-addressed; the same bytes are stored once).
    storage::PutOptions put;
    put.created_by = actor.username;
    put.expected_sha256 = sha;
    put.content_type = "application/octet-stream";
    put.metadata = {{"model", model.name}};
    {
      FileSource src(staged.path);
      C19_ASSIGN_OR_RETURN(auto info, storage_.PutContent(storage::Namespace::kModels, src, put));
      (void)info;
    }
    const std::string storage_key = "sha256/" + sha;

    // 4. Record the next version number and the row in one transaction.
    const int64_t now = clock_->NowMs();
    const std::string id = NewId();
    int64_t number = 0;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("UPDATE registry_models SET next_version = next_version + 1, "
                                               "updated_at = ? WHERE id = ? RETURNING next_version",
                                               {now, model.id}));
      if (rows.empty()) return Error::NotFound("model \"" + model.name + "\" was deleted during the upload");
      number = rows[0].Int(0) - 1;
      C19_TRY(tx.Exec("INSERT INTO registry_versions (model_id, version, id, framework, stage, signature, metrics, "
                      "params, lineage, description, tags, source_type, source_id, storage_key, sha256, size, "
                      "created_by, created_by_name, created_at, stage_changed_at) VALUES (?, ?, ?, ?, 'none', ?, ?, "
                      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {model.id, number, id, framework_name, ml::SignatureJson(signature),
                       DumpJson(Json::parse(spec.metrics_json)), DumpJson(Json::parse(spec.params_json)),
                       DumpJson(Json::parse(spec.lineage_json)), spec.description, DumpJson(TagsJson(spec.tags)),
                       spec.source_type, spec.source_id, storage_key, sha, size, actor.user_id, actor.username, now,
                       now}));
      return OkStatus();
    });
    if (!st.ok()) {
      RemoveBlobIfUnused(storage_key);
      return std::move(st).error();
    }
    // 5. A concurrent delete of another version with the same bytes may have removed the blob between
    // the put and the commit: put it back from the spool.
    if (!storage_.Stat(storage::Namespace::kModels, storage_key).ok()) {
      FileSource src(staged.path);
      auto again = storage_.PutContent(storage::Namespace::kModels, src, put);
      if (!again.ok()) {
        log::Error("registry: re-storing an artifact failed", {{"key", storage_key}, {"error", again.error().message}});
      }
    }
    Invalidate(model.name);
    C19_ASSIGN_OR_RETURN(Version v, LoadVersion(db_, model.name, std::to_string(number)));
    Publish(events::kModelVersionCreated, {{"model", model.name},
                                            {"version", number},
                                            {"framework", framework_name},
                                            {"sha256", sha},
                                            {"size", size},
                                            {"source", spec.source_type}});
    Audit(actor, "model.version.create", model.name + "/" + std::to_string(number),
          {{"sha256", sha}, {"size", size}, {"source", spec.source_type}, {"source_id", spec.source_id}});
    return v;
  }

  Result<Version> GetVersion(std::string_view name, std::string_view ref) override {
    return LoadVersion(db_, name, ref);
  }

  Result<Page<Version>> ListVersions(std::string_view name, std::optional<Stage> stage, int64_t limit,
                                     const std::string& page_token) override {
    if (limit < 1 || limit > kMaxPageSize) return Error::Field("limit", "limit must be 1 to 1000");
    int64_t offset = 0;
    if (!page_token.empty()) {
      C19_ASSIGN_OR_RETURN(offset, DecodePageToken(page_token));
    }
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, name));
    db::Select sel("SELECT " + std::string(VersionColumns()) +
                   " FROM registry_versions v JOIN registry_models m ON m.id = v.model_id");
    sel.Where("v.model_id = ?", {m.id});
    if (stage) sel.Where("v.stage = ?", {std::string(StageName(*stage))});
    sel.OrderBy("v.version DESC").Limit(limit + 1).Offset(offset);
    C19_ASSIGN_OR_RETURN(auto rows, sel.Run(db_));
    Page<Version> page;
    for (const auto& r : rows) page.items.push_back(VersionFromRow(r));
    if (static_cast<int64_t>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken(offset + limit);
    }
    for (auto& v : page.items) {
      for (const auto& [alias, number] : m.aliases)
        if (number == v.version) v.aliases.push_back(alias);
    }
    return page;
  }

  Result<std::unique_ptr<storage::ByteSource>> OpenArtifact(const Version& v) override {
    if (v.artifact_removed_at_ms) {
      return Error::FailedPrecondition("the artifact of version " + std::to_string(v.version) +
                                       " was removed by retention");
    }
    return storage_.Open(storage::Namespace::kModels, v.storage_key);
  }

  // ---------------------------------------------------------------- lifecycle

  Result<Version> SetStage(const Principal& actor, std::string_view name, std::string_view ref,
                           const StageChange& change) override {
    if (change.reason.size() > 2000) return Error::Field("reason", "reason is over 2000 characters");
    const int64_t now = clock_->NowMs();
    std::vector<std::tuple<int64_t, std::string, std::string>> moved;  // version, from, to
    std::string model_name;
    int64_t number = 0;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      moved.clear();
      C19_ASSIGN_OR_RETURN(Model m, LockModel(tx, name, now));
      model_name = m.name;
      C19_ASSIGN_OR_RETURN(Version v, LoadVersion(tx, m.name, ref));
      number = v.version;
      if (v.stage == change.stage) return OkStatus();
      if (v.artifact_removed_at_ms && (change.stage == Stage::kProduction || change.stage == Stage::kStaging)) {
        return Error::FailedPrecondition("version " + std::to_string(v.version) +
                                         " has no artifact any more (removed by retention); it cannot serve");
      }
      if (change.stage == Stage::kProduction && change.archive_existing) {
        C19_ASSIGN_OR_RETURN(auto prod, tx.Query("SELECT version FROM registry_versions WHERE model_id = ? AND "
                                                 "stage = 'production' AND version <> ?",
                                                 {m.id, v.version}));
        for (const auto& r : prod) {
          int64_t other = r.Int(0);
          C19_TRY(MoveStage(tx, m.id, other, "production", "archived", actor,
                            "replaced by version " + std::to_string(v.version), now));
          moved.emplace_back(other, "production", "archived");
        }
      }
      std::string from(StageName(v.stage));
      C19_TRY(MoveStage(tx, m.id, v.version, from, std::string(StageName(change.stage)), actor, change.reason, now));
      moved.emplace_back(v.version, from, std::string(StageName(change.stage)));
      return OkStatus();
    });
    C19_TRY(st);
    Invalidate(model_name);
    for (const auto& [version, from, to] : moved) {
      Json details = {{"model", model_name}, {"version", version}, {"from", from}, {"to", to}};
      if (version == number && !change.reason.empty()) details["reason"] = change.reason;
      Publish(events::kModelVersionStageChanged, details);
      Audit(actor, "model.version.stage", model_name + "/" + std::to_string(version), details);
    }
    return LoadVersion(db_, model_name, std::to_string(number));
  }

  Result<Version> Rollback(const Principal& actor, std::string_view name, std::optional<int64_t> to,
                           const std::string& reason) override {
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, name));
    int64_t target = 0;
    if (to) {
      target = *to;
    } else {
      // The most recent version promoted to production other than the one serving now.
      C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT t.version FROM registry_transitions t JOIN registry_versions v "
                                                "ON v.model_id = t.model_id AND v.version = t.version WHERE "
                                                "t.model_id = ? AND t.to_stage = 'production' AND v.stage <> "
                                                "'production' AND v.artifact_removed_at IS NULL ORDER BY t.seq DESC "
                                                "LIMIT 1",
                                                {m.id}));
      if (rows.empty()) {
        return Error::FailedPrecondition("model \"" + m.name + "\" has no earlier production version to roll back to");
      }
      target = rows[0].Int(0);
    }
    std::string why = reason.empty() ? "rollback" : "rollback: " + reason;
    if (m.production_version) why += " (from version " + std::to_string(*m.production_version) + ")";
    return SetStage(actor, m.name, std::to_string(target), StageChange{Stage::kProduction, true, why});
  }

  Result<Version> SetAlias(const Principal& actor, std::string_view name, std::string_view alias,
                           int64_t version) override {
    C19_TRY(ValidateAlias(alias));
    const int64_t now = clock_->NowMs();
    std::string model_name;
    std::optional<int64_t> previous;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(Model m, LockModel(tx, name, now));
      model_name = m.name;
      C19_ASSIGN_OR_RETURN(Version v, LoadVersion(tx, m.name, std::to_string(version)));
      if (v.artifact_removed_at_ms) {
        return Error::FailedPrecondition("version " + std::to_string(version) + " has no artifact any more");
      }
      auto it = m.aliases.find(std::string(alias));
      if (it != m.aliases.end()) previous = it->second;
      if (previous == version) return OkStatus();
      C19_TRY(tx.Exec("DELETE FROM registry_aliases WHERE model_id = ? AND alias = ?", {m.id, alias}));
      C19_TRY(tx.Exec("INSERT INTO registry_aliases (model_id, alias, version, updated_by, updated_at) VALUES (?, ?, ?, "
                      "?, ?)",
                      {m.id, alias, version, actor.username, now}));
      C19_TRY(tx.Exec("INSERT INTO registry_transitions (id, model_id, seq, version, from_stage, to_stage, actor_id, "
                      "actor_name, reason, at) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM registry_transitions WHERE "
                      "model_id = ?), ?, ?, ?, ?, ?, ?, ?)",
                      {NewId(), m.id, m.id, version, "", "alias:" + std::string(alias), actor.user_id, actor.username,
                       previous ? "moved from version " + std::to_string(*previous) : "set", now}));
      return OkStatus();
    });
    C19_TRY(st);
    Invalidate(model_name);
    Json details = {{"model", model_name}, {"alias", alias}, {"version", version}};
    if (previous) details["previous_version"] = *previous;
    Publish("model.alias.changed", details);
    Audit(actor, "model.alias.set", model_name + "@" + std::string(alias), details);
    return LoadVersion(db_, model_name, std::to_string(version));
  }

  Status DeleteAlias(const Principal& actor, std::string_view name, std::string_view alias) override {
    const int64_t now = clock_->NowMs();
    std::string model_name;
    int64_t version = 0;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(Model m, LockModel(tx, name, now));
      model_name = m.name;
      auto it = m.aliases.find(std::string(alias));
      if (it == m.aliases.end()) {
        return Error::NotFound("model \"" + m.name + "\" has no alias \"" + std::string(alias) + "\"");
      }
      version = it->second;
      C19_TRY(tx.Exec("DELETE FROM registry_aliases WHERE model_id = ? AND alias = ?", {m.id, alias}));
      C19_TRY(tx.Exec("INSERT INTO registry_transitions (id, model_id, seq, version, from_stage, to_stage, actor_id, "
                      "actor_name, reason, at) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM registry_transitions WHERE "
                      "model_id = ?), ?, ?, ?, ?, ?, ?, ?)",
                      {NewId(), m.id, m.id, version, "alias:" + std::string(alias), "", actor.user_id, actor.username,
                       "removed", now}));
      return OkStatus();
    });
    C19_TRY(st);
    Invalidate(model_name);
    Json details = {{"model", model_name}, {"alias", alias}, {"previous_version", version}};
    Publish("model.alias.changed", details);
    Audit(actor, "model.alias.delete", model_name + "@" + std::string(alias), details);
    return OkStatus();
  }

  Result<Page<Transition>> Transitions(std::string_view name, int64_t limit, const std::string& page_token) override {
    if (limit < 1 || limit > kMaxPageSize) return Error::Field("limit", "limit must be 1 to 1000");
    int64_t offset = 0;
    if (!page_token.empty()) {
      C19_ASSIGN_OR_RETURN(offset, DecodePageToken(page_token));
    }
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(db_, name));
    db::Select sel("SELECT id, version, from_stage, to_stage, actor_id, actor_name, reason, at FROM "
                   "registry_transitions");
    sel.Where("model_id = ?", {m.id}).OrderBy("seq DESC").Limit(limit + 1).Offset(offset);
    C19_ASSIGN_OR_RETURN(auto rows, sel.Run(db_));
    Page<Transition> page;
    for (const auto& r : rows) {
      page.items.push_back({r.Text(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Int(7)});
    }
    if (static_cast<int64_t>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken(offset + limit);
    }
    return page;
  }

  // ---------------------------------------------------------------- integrity, stats, retention

  Result<VerifyReport> Verify(const Principal& actor, std::string_view name, std::string_view ref) override {
    C19_ASSIGN_OR_RETURN(Version v, LoadVersion(db_, name, ref));
    VerifyReport report;
    report.expected_sha256 = v.sha256;
    report.checked_at_ms = clock_->NowMs();
    if (v.artifact_removed_at_ms) {
      report.problem = "the artifact was removed by retention";
    } else {
      auto check = storage_.Verify(storage::Namespace::kModels, v.storage_key);
      if (!check.ok()) {
        report.problem = "the artifact cannot be read: " + check.error().message;
      } else {
        report.actual_sha256 = check->actual_sha256;
        if (!check->ok || check->expected_sha256 != v.sha256) {
          report.problem = "the artifact's bytes do not hash to the recorded SHA-256";
        } else {
          auto loaded = LoadAndWarm(v);
          if (!loaded.ok()) report.problem = "the artifact does not load: " + loaded.error().message;
          else report.loads = true;
        }
      }
    }
    report.ok = report.problem.empty();
    C19_TRY(db_.Exec("UPDATE registry_versions SET verified_at = ?, verified_ok = ? WHERE id = ?",
                     {report.checked_at_ms, report.ok, v.id}));
    Json details = {{"ok", report.ok}};
    if (!report.ok) details["problem"] = report.problem;
    Audit(actor, "model.version.verify", v.model_name + "/" + std::to_string(v.version), details);
    return report;
  }

  Result<Stats> GetStats() override {
    Stats s;
    C19_ASSIGN_OR_RETURN(auto models, db_.Query("SELECT model_type, framework, COUNT(*) FROM registry_models GROUP BY "
                                                "model_type, framework"));
    for (const auto& r : models) {
      s.models += r.Int(2);
      s.by_type[r.Text(0)] += r.Int(2);
      s.by_framework[r.Text(1)] += r.Int(2);
    }
    C19_ASSIGN_OR_RETURN(auto stages, db_.Query("SELECT stage, COUNT(*) FROM registry_versions GROUP BY stage"));
    for (const auto& r : stages) {
      s.versions += r.Int(1);
      s.by_stage[r.Text(0)] = r.Int(1);
    }
    C19_ASSIGN_OR_RETURN(auto bytes, db_.Query("SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT storage_key, size "
                                               "FROM registry_versions WHERE artifact_removed_at IS NULL) d"));
    s.bytes = bytes[0].Int(0);
    C19_ASSIGN_OR_RETURN(auto removed, db_.Query("SELECT COUNT(*) FROM registry_versions WHERE artifact_removed_at IS "
                                                 "NOT NULL"));
    s.artifacts_removed = removed[0].Int(0);
    return s;
  }

  Result<RetentionReport> ApplyRetention(const Principal& actor, int64_t older_than_ms, bool dry_run) override {
    if (older_than_ms < 0) return Error::Field("older_than", "older_than must not be negative");
    const int64_t now = clock_->NowMs();
    const int64_t cutoff = now - older_than_ms;
    RetentionReport report;
    report.dry_run = dry_run;
    C19_ASSIGN_OR_RETURN(auto rows,
                         db_.Query("SELECT v.id, m.name, v.version, v.storage_key, v.size FROM registry_versions v JOIN "
                                   "registry_models m ON m.id = v.model_id WHERE v.stage = 'archived' AND "
                                   "v.stage_changed_at < ? AND v.artifact_removed_at IS NULL AND NOT EXISTS (SELECT 1 "
                                   "FROM registry_aliases a WHERE a.model_id = v.model_id AND a.version = v.version) "
                                   "ORDER BY m.name_key, v.version",
                                   {cutoff}));
    std::vector<std::string> keys;
    for (const auto& r : rows) {
      report.versions.emplace_back(r.Text(1), r.Int(2));
      report.bytes += r.Int(4);
      if (dry_run) continue;
      // Marked only if still archived (a promotion may have raced with us).
      C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE registry_versions SET artifact_removed_at = ? WHERE id = ? AND "
                                               "stage = 'archived' AND artifact_removed_at IS NULL",
                                               {now, r.Text(0)}));
      if (n == 1) {
        keys.push_back(r.Text(3));
        Invalidate(r.Text(1));
      }
    }
    for (const auto& k : keys) RemoveBlobIfUnused(k);
    if (!dry_run) {
      Audit(actor, "model.retention", "registry",
            {{"versions", static_cast<int64_t>(report.versions.size())}, {"bytes", report.bytes},
             {"older_than_ms", older_than_ms}});
    }
    return report;
  }

 private:
  static std::string FieldOf(const Error& e, const char* fallback) {
    Json d = Json::parse(e.details, nullptr, false);
    if (d.is_object() && d.contains("field") && d["field"].is_string()) return d["field"].get<std::string>();
    return fallback;
  }

  static Status ValidateAlias(std::string_view alias) {
    std::string a(alias);
    if (!std::regex_match(a, AliasRe())) {
      return Error::Field("alias", "alias must be 1-64 characters: lower-case letters, digits, '_' or '-', starting "
                                   "with a letter");
    }
    if (a == "latest" || a == "production" || a == "staging" || a == "none" || a == "archived") {
      return Error::Field("alias", "\"" + a + "\" is reserved");
    }
    return OkStatus();
  }

  Status WriteTags(db::Executor& ex, const std::string& model_id, const Tags& tags) {
    for (const auto& [k, v] : tags) {
      C19_TRY(ex.Exec("INSERT INTO registry_model_tags (model_id, tag_key, tag_value) VALUES (?, ?, ?)",
                      {model_id, k, v}));
    }
    return OkStatus();
  }

  Status FillAliases(db::Executor& ex, std::vector<Model>& models) {
    if (models.empty()) return OkStatus();
    std::string sql = "SELECT model_id, alias, version FROM registry_aliases WHERE model_id IN (";
    db::Params params;
    for (size_t i = 0; i < models.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.push_back(models[i].id);
    }
    sql += ")";
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query(sql, params));
    for (const auto& r : rows) {
      for (auto& m : models)
        if (m.id == r.Text(0)) m.aliases[r.Text(1)] = r.Int(2);
    }
    return OkStatus();
  }

  Result<Model> LoadModel(db::Executor& ex, std::string_view name) {
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT " + std::string(ModelColumns()) +
                                                 " FROM registry_models m WHERE m.name_key = ?",
                                             {ToLower(name)}));
    if (rows.empty()) return Error::NotFound("model \"" + std::string(name.substr(0, 200)) + "\" not found");
    std::vector<Model> one{ModelFromRow(rows[0])};
    C19_TRY(FillAliases(ex, one));
    return std::move(one[0]);
  }

  // Loads a model inside a transaction and takes its row lock (serialises stage and alias changes).
  Result<Model> LockModel(db::Transaction& tx, std::string_view name, int64_t now) {
    C19_ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE registry_models SET updated_at = ? WHERE name_key = ?",
                                            {now, ToLower(name)}));
    if (n == 0) return Error::NotFound("model \"" + std::string(name.substr(0, 200)) + "\" not found");
    return LoadModel(tx, name);
  }

  Result<Version> LoadVersion(db::Executor& ex, std::string_view name, std::string_view ref) {
    C19_ASSIGN_OR_RETURN(Model m, LoadModel(ex, name));
    std::optional<int64_t> number;
    if (!ref.empty() && ref.size() < 19 && std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      number = std::stoll(std::string(ref));
    } else if (ref == "latest") {
      number = m.latest_version;
    } else if (ref == "production") {
      number = m.production_version;
    } else if (ref == "staging") {
      C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT MAX(version) FROM registry_versions WHERE model_id = ? AND "
                                               "stage = 'staging'",
                                               {m.id}));
      number = rows[0].OptInt(0);
    } else {
      auto it = m.aliases.find(std::string(ref));
      if (it == m.aliases.end()) {
        return Error::NotFound("model \"" + m.name + "\" has no version or alias \"" +
                               std::string(ref.substr(0, 100)) + "\"");
      }
      number = it->second;
    }
    if (!number) {
      return Error::NotFound("model \"" + m.name + "\" has no " + std::string(ref) + " version");
    }
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT " + std::string(VersionColumns()) +
                                                 " FROM registry_versions v JOIN registry_models m ON m.id = "
                                                 "v.model_id WHERE v.model_id = ? AND v.version = ?",
                                             {m.id, *number}));
    if (rows.empty()) {
      return Error::NotFound("model \"" + m.name + "\" has no version " + std::to_string(*number));
    }
    Version v = VersionFromRow(rows[0]);
    for (const auto& [alias, n] : m.aliases)
      if (n == v.version) v.aliases.push_back(alias);
    return v;
  }

  Status MoveStage(db::Transaction& tx, const std::string& model_id, int64_t version, const std::string& from,
                   const std::string& to, const Principal& actor, const std::string& reason, int64_t now) {
    C19_TRY(tx.Exec("UPDATE registry_versions SET stage = ?, stage_changed_at = ? WHERE model_id = ? AND version = ?",
                    {to, now, model_id, version}));
    C19_TRY(tx.Exec("INSERT INTO registry_transitions (id, model_id, seq, version, from_stage, to_stage, actor_id, "
                    "actor_name, reason, at) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM registry_transitions WHERE "
                      "model_id = ?), ?, ?, ?, ?, ?, ?, ?)",
                    {NewId(), model_id, model_id, version, from, to, actor.user_id, actor.username, reason, now}));
    return OkStatus();
  }

  Result<std::unique_ptr<ml::Model>> LoadAndWarm(const Version& v) {
    C19_ASSIGN_OR_RETURN(auto src, OpenArtifact(v));
    C19_ASSIGN_OR_RETURN(std::string bytes, storage::ReadAll(*src, static_cast<size_t>(o_.max_artifact_bytes)));
    auto fw = ml::ParseFramework(v.framework);
    if (!fw) return Error::Internal("unknown framework " + v.framework);
    if (*fw == ml::Framework::kCustom) return std::unique_ptr<ml::Model>();
    C19_ASSIGN_OR_RETURN(auto model, ml::LoadModel(*fw, bytes, v.signature));
    C19_TRY(model->WarmUp());
    return model;
  }

  // Deletes a models/ blob when no version with a present artifact refers to it.
  void RemoveBlobIfUnused(const std::string& key) {
    auto rows = db_.Query("SELECT 1 FROM registry_versions WHERE storage_key = ? AND artifact_removed_at IS NULL "
                          "LIMIT 1",
                          {key});
    if (!rows.ok() || !rows->empty()) return;
    Status st = storage_.Delete(storage::Namespace::kModels, key);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound) {
      log::Warn("registry: removing an artifact failed", {{"key", key}, {"error", st.error().message}});
    }
  }

  void AddChangeListener(ChangeListener listener) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(listener));
  }

  // Drops the cached model and tells the listeners (serving) that selectors may resolve differently.
  void Invalidate(std::string_view name) {
    if (o_.cache) o_.cache->Delete(kCacheNs, ToLower(name));
    std::vector<ChangeListener> listeners;
    {
      std::lock_guard lock(listeners_mu_);
      listeners = listeners_;
    }
    for (const auto& l : listeners) l(std::string(name));
  }

  void Publish(std::string_view type, const Json& data) {
    events::Publish(o_.bus, std::string(events::kRoomModels), type, DumpJson(data));
  }

  void Audit(const Principal& actor, std::string action, const std::string& resource, const Json& details) {
    AuditSystemChange(o_.audit, actor, std::move(action), "model:" + resource, DumpJson(details));
  }

  db::Database& db_;
  storage::StorageService& storage_;
  Options o_;
  const Clock* clock_;
  std::mutex listeners_mu_;
  std::vector<ChangeListener> listeners_;
};

}  // namespace

StagedArtifact::StagedArtifact(StagedArtifact&& other) noexcept
    : path(std::exchange(other.path, {})), sha256(std::move(other.sha256)), size(other.size) {}

StagedArtifact& StagedArtifact::operator=(StagedArtifact&& other) noexcept {
  if (this != &other) {
    if (!path.empty()) std::remove(path.c_str());
    path = std::exchange(other.path, {});
    sha256 = std::move(other.sha256);
    size = other.size;
  }
  return *this;
}

StagedArtifact::~StagedArtifact() {
  if (!path.empty()) std::remove(path.c_str());
}

Result<Version> Registry::CreateVersion(const Principal& actor, std::string_view name, storage::ByteSource& artifact,
                                        const VersionSpec& spec) {
  C19_ASSIGN_OR_RETURN(StagedArtifact staged, StageArtifact(artifact));
  return CreateVersion(actor, name, std::move(staged), spec);
}

std::string_view StageName(Stage s) {
  switch (s) {
    case Stage::kNone: return "none";
    case Stage::kStaging: return "staging";
    case Stage::kProduction: return "production";
    case Stage::kArchived: return "archived";
  }
  return "none";
}

std::optional<Stage> ParseStage(std::string_view s) {
  for (Stage st : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
    if (StageName(st) == s) return st;
  }
  return std::nullopt;
}

bool IsModelType(std::string_view s) {
  for (std::string_view t : {"classification", "regression", "clustering", "generation", "embedding", "custom"}) {
    if (s == t) return true;
  }
  return false;
}

Result<std::unique_ptr<Registry>> Registry::Create(db::Database& db, storage::StorageService& storage,
                                                   Options options) {
  if (options.spool_dir.empty()) return Error::InvalidArgument("registry: spool_dir is required");
  std::error_code ec;
  std::filesystem::create_directories(options.spool_dir, ec);
  if (ec) return Error::Unavailable("registry: cannot create " + options.spool_dir + ": " + ec.message());
  // Spools left by a process that died mid-upload (they were never registered).
  const auto cutoff = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : std::filesystem::directory_iterator(options.spool_dir, ec)) {
    if (entry.path().filename().string().starts_with("upload-") && entry.last_write_time(ec) < cutoff) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  return std::unique_ptr<Registry>(new RegistryImpl(db, storage, std::move(options)));
}

}  // namespace c19ai::registry
