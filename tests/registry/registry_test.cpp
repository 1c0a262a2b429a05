// The registry service on SQLite and PostgreSQL, with real artifacts made by PyTorch and XGBoost.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cache/cache.h"
#include "common/json.h"
#include "events/events.h"
#include "registry/registry.h"
#include "support/test_env.h"

namespace c19ai::registry {
namespace {

namespace fs = std::filesystem;

std::string ReadArtifact(const std::string& name) {
  std::ifstream in(testing::ModelArtifacts() + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ml::Signature MlpSignature(int64_t in = 4, int64_t out = 3) {
  ml::Signature s;
  s.inputs.push_back({"input", ml::DataType::kFp32, {-1, in}});
  s.outputs.push_back({"output", ml::DataType::kFp32, {-1, out}});
  return s;
}

Principal User(const std::string& name) {
  Principal p;
  p.user_id = "id-" + name;
  p.username = name;
  return p;
}

class RecordingAudit final : public AuditLog {
 public:
  void Record(AuditEntry e) override {
    std::lock_guard lock(mu);
    entries.push_back(std::move(e));
  }
  std::mutex mu;
  std::vector<AuditEntry> entries;
};

class RegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ml::Init(1);
    db::Options o;
    if (GetParam() == "sqlite") {
      o.url = "sqlite://" + dir_.path() + "/t.db";
    } else {
      pg_ = std::make_unique<testing::PostgresDatabase>();
      if (pg_->url().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_POSTGRES_URL is not set";
        GTEST_SKIP() << "no PostgreSQL server";
      }
      o.url = pg_->url();
    }
    o.pool_size = 8;
    db_ = std::move(db::Open(o)).value();
    auto files = storage::Migrations();
    auto reg = Migrations();
    files.insert(files.end(), reg.begin(), reg.end());
    ASSERT_TRUE(db::Migrate(*db_, files).ok());
    storage::StorageOptions so;
    so.backends["local"] = storage::NewLocalBlobStore(dir_.path() + "/blobs");
    so.primary = "local";
    storage_ = std::move(storage::StorageService::Create(*db_, std::move(so))).value();
    cache_ = cache::NewMemoryCache({});
    bus_ = events::NewInProcessBus();
    sub_ = bus_->Subscribe({});
    Options ro;
    ro.spool_dir = dir_.path() + "/spool";
    ro.clock = &clock_;
    ro.audit = &audit_;
    ro.bus = bus_.get();
    ro.cache = cache_.get();
    ro.max_artifact_bytes = 10 << 20;
    reg_ = std::move(Registry::Create(*db_, *storage_, ro)).value();
  }
  void TearDown() override {
    reg_.reset();
    storage_.reset();
    db_.reset();
  }

  Model Create(const std::string& name, const std::string& framework = "torchscript",
               const std::string& type = "classification", Tags tags = {}) {
    auto m = reg_->CreateModel(alice_, {name, "a test model", type, framework, std::move(tags)});
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? *m : Model{};
  }

  Result<Version> Upload(const std::string& model, const std::string& bytes, VersionSpec spec = {}) {
    auto src = storage::StringSource(bytes);
    return reg_->CreateVersion(alice_, model, *src, spec);
  }

  Version UploadMlp(const std::string& model) {
    VersionSpec spec;
    spec.signature = MlpSignature();
    spec.metrics_json = R"({"accuracy":0.93})";
    auto v = Upload(model, ReadArtifact("mlp.pt"), spec);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? *v : Version{};
  }

  int64_t BlobCount() {
    auto page = storage_->List(storage::Namespace::kModels, "", "", 1000);
    return page.ok() ? static_cast<int64_t>(page->items.size()) : -1;
  }
  int64_t VersionRows() {
    auto rows = db_->Query("SELECT COUNT(*) FROM registry_versions");
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }
  std::vector<events::Event> Drain() {
    std::vector<events::Event> out;
    while (auto e = sub_->Next(std::chrono::milliseconds(0))) out.push_back(std::move(*e));
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresDatabase> pg_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<storage::StorageService> storage_;
  std::unique_ptr<cache::Cache> cache_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<events::Subscription> sub_;
  RecordingAudit audit_;
  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<Registry> reg_;
  Principal alice_ = User("alice");
};

TEST_P(RegistryTest, ModelsAreCreatedFoundUpdatedAndRenamed) {
  Create("iris-mlp", "torchscript", "classification", {{"team", "vision"}, {"prod", ""}});
  Create("Churn_XGB", "xgboost", "classification", {{"team", "growth"}});
  Create("prices", "onnx", "regression");
  auto dup = reg_->CreateModel(alice_, {"IRIS-MLP", "", "classification", "torchscript", {}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(reg_->CreateModel(alice_, {"bad name!", "", "custom", "custom", {}}).error().code,
            ErrorCode::kInvalidArgument);
  auto bad_type = reg_->CreateModel(alice_, {"x", "", "vision", "custom", {}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().details.find("model_type"), std::string::npos);
  EXPECT_EQ(reg_->CreateModel(alice_, {"x", "", "custom", "tensorflow", {}}).error().code,
            ErrorCode::kInvalidArgument);

  auto got = reg_->GetModel("Iris-MLP");  // names are case-insensitive
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "iris-mlp");
  EXPECT_EQ(got->owner_name, "alice");
  EXPECT_EQ(got->tags.at("team"), "vision");
  EXPECT_FALSE(got->latest_version.has_value());

  auto names = [&](SearchQuery q) {
    std::vector<std::string> out;
    auto page = reg_->SearchModels(q);
    EXPECT_TRUE(page.ok()) << (page.ok() ? "" : page.error().message);
    if (page.ok())
      for (const auto& m : page->items) out.push_back(m.name);
    return out;
  };
  EXPECT_EQ(names({}), (std::vector<std::string>{"Churn_XGB", "iris-mlp", "prices"}));
  EXPECT_EQ(names({.name_contains = "_X"}), (std::vector<std::string>{"Churn_XGB"}));  // '_' is literal
  EXPECT_EQ(names({.name_contains = "ri"}), (std::vector<std::string>{"iris-mlp", "prices"}));
  EXPECT_EQ(names({.model_type = "regression"}), (std::vector<std::string>{"prices"}));
  EXPECT_EQ(names({.framework = "xgboost"}), (std::vector<std::string>{"Churn_XGB"}));
  EXPECT_EQ(names({.tag = "team"}), (std::vector<std::string>{"Churn_XGB", "iris-mlp"}));
  EXPECT_EQ(names({.tag = "team:growth"}), (std::vector<std::string>{"Churn_XGB"}));
  EXPECT_EQ(names({.owner = "alice"}).size(), 3u);
  EXPECT_TRUE(names({.owner = "bob"}).empty());
  EXPECT_EQ(names({.sort = "name", .descending = true}), (std::vector<std::string>{"prices", "iris-mlp", "Churn_XGB"}));
  auto first = reg_->SearchModels({.limit = 2});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 2u);
  ASSERT_FALSE(first->next_page_token.empty());
  auto second = reg_->SearchModels({.limit = 2, .page_token = first->next_page_token});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].name, "prices");
  EXPECT_TRUE(second->next_page_token.empty());
  EXPECT_EQ(reg_->SearchModels({.sort = "size"}).error().code, ErrorCode::kInvalidArgument);

  clock_.AdvanceMs(1000);
  auto renamed = reg_->UpdateModel(alice_, "prices", {.name = "house-prices", .description = "Boston"});
  ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  EXPECT_EQ(renamed->name, "house-prices");
  EXPECT_EQ(renamed->description, "Boston");
  EXPECT_EQ(reg_->GetModel("prices").error().code, ErrorCode::kNotFound);  // the cache was invalidated
  EXPECT_EQ(reg_->UpdateModel(alice_, "house-prices", {.name = "IRIS-mlp"}).error().code, ErrorCode::kAlreadyExists);
  auto retagged = reg_->UpdateModel(alice_, "house-prices", {.tags = Tags{{"team", "growth"}}});
  ASSERT_TRUE(retagged.ok());
  EXPECT_EQ(names({.tag = "team:growth"}), (std::vector<std::string>{"Churn_XGB", "house-prices"}));
  EXPECT_EQ(names({.sort = "updated_at", .descending = true})[0], "house-prices");
}

TEST_P(RegistryTest, VersionsOfEachFrameworkAreValidatedAndNumbered) {
  Create("iris", "torchscript");
  Version v1 = UploadMlp("iris");
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.stage, Stage::kNone);
  EXPECT_EQ(v1.source_type, "upload");
  EXPECT_EQ(v1.size, static_cast<int64_t>(ReadArtifact("mlp.pt").size()));
  EXPECT_EQ(v1.sha256.size(), 64u);
  EXPECT_EQ(v1.created_by_name, "alice");
  EXPECT_EQ(Json::parse(v1.metrics_json)["accuracy"], 0.93);
  Version v2 = UploadMlp("iris");
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(BlobCount(), 1);  // the same bytes are stored once

  // The artifact reads back byte for byte.
  auto src = reg_->OpenArtifact(v2);
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE(*storage::ReadAll(**src) == ReadArtifact("mlp.pt"));

  Create("onnx-mlp", "onnx");
  VersionSpec onnx;
  onnx.signature = MlpSignature();
  auto o = Upload("onnx-mlp", ReadArtifact("mlp.onnx"), onnx);
  ASSERT_TRUE(o.ok()) << o.error().message;

  Create("churn", "xgboost");
  auto x = Upload("churn", ReadArtifact("binary.ubj"));  // XGBoost describes its own inputs
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->signature.inputs[0].shape, (std::vector<int64_t>{-1, 4}));

  auto model = reg_->GetModel("iris");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->latest_version, 2);
  EXPECT_EQ(model->version_count, 2);
  auto latest = reg_->GetVersion("iris", "latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(reg_->GetVersion("iris", "7").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reg_->GetVersion("iris", "production").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reg_->GetVersion("nope", "1").error().code, ErrorCode::kNotFound);

  auto list = reg_->ListVersions("iris", std::nullopt, 1, "");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].version, 2);  // newest first
  auto rest = reg_->ListVersions("iris", std::nullopt, 10, list->next_page_token);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->items[0].version, 1);

  auto events = Drain();
  int created = 0;
  for (const auto& e : events) {
    if (e.type == events::kModelVersionCreated) ++created;
    EXPECT_EQ(e.room, "models");
  }
  EXPECT_EQ(created, 4);
  EXPECT_TRUE(audit_.entries.empty());  // people's changes are audited by the HTTP observer
}

TEST_P(RegistryTest, BadArtifactsAreRefusedWholeAndLeaveNothing) {
  Create("iris", "torchscript");
  std::string pt = ReadArtifact("mlp.pt");
  struct Case {
    std::string bytes;
    VersionSpec spec;
    ErrorCode code;
    std::string needle;
  };
  VersionSpec good;
  good.signature = MlpSignature();
  VersionSpec wrong_width;
  wrong_width.signature = MlpSignature(5, 3);
  VersionSpec wrong_out;
  wrong_out.signature = MlpSignature(4, 2);
  VersionSpec as_onnx = good;
  as_onnx.framework = "onnx";
  VersionSpec bad_metrics = good;
  bad_metrics.metrics_json = "[1]";
  std::vector<Case> cases = {
      {pt.substr(0, pt.size() / 2), good, ErrorCode::kUnprocessable, "TorchScript"},
      {pt, VersionSpec{}, ErrorCode::kUnprocessable, "signature"},
      {pt, wrong_width, ErrorCode::kUnprocessable, "mat1 and mat2"},
      {pt, wrong_out, ErrorCode::kUnprocessable, "[1, 3]"},
      {pt, as_onnx, ErrorCode::kUnprocessable, "ONNX"},
      {ReadArtifact("mlp.onnx"), good, ErrorCode::kUnprocessable, "TorchScript"},
      {"", good, ErrorCode::kInvalidArgument, "empty"},
      {pt, bad_metrics, ErrorCode::kInvalidArgument, "metrics"},
  };
  for (const auto& c : cases) {
    auto v = Upload("iris", c.bytes, c.spec);
    ASSERT_FALSE(v.ok()) << c.needle;
    EXPECT_EQ(v.error().code, c.code) << v.error().message;
    EXPECT_NE(v.error().message.find(c.needle), std::string::npos) << v.error().message;
  }
  EXPECT_EQ(VersionRows(), 0);
  EXPECT_EQ(BlobCount(), 0);
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/spool"));
  // Too large: refused while streaming.
  auto big = Upload("iris", std::string((10 << 20) + 1, 'x'), good);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/spool"));
  // The next good upload is still version 1.
  EXPECT_EQ(UploadMlp("iris").version, 1);
}

TEST_P(RegistryTest, ConcurrentUploadsGetDistinctNumbers) {
  Create("iris", "torchscript");
  std::string pt = ReadArtifact("mlp.pt");
  std::mutex mu;
  std::vector<int64_t> numbers;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        VersionSpec spec;
        spec.signature = MlpSignature();
        auto v = Upload("iris", pt, spec);
        std::lock_guard lock(mu);
        if (v.ok()) numbers.push_back(v->version);
        else errors.push_back(v.error().message);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(errors.empty()) << errors[0];
  std::set<int64_t> distinct(numbers.begin(), numbers.end());
  EXPECT_EQ(distinct.size(), 18u);
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), 18);
}

TEST_P(RegistryTest, PromotionArchivesThePreviousProductionVersionAndRollbackRestoresIt) {
  Create("iris", "torchscript");
  for (int i = 0; i < 3; ++i) UploadMlp("iris");
  Principal bob = User("bob");
  auto v1 = reg_->SetStage(bob, "iris", "1", {Stage::kProduction, true, "first release"});
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(v1->stage, Stage::kProduction);
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(reg_->SetStage(bob, "iris", "2", {Stage::kStaging, true, ""}).ok());
  auto staging = reg_->GetVersion("iris", "staging");
  ASSERT_TRUE(staging.ok());
  EXPECT_EQ(staging->version, 2);
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(reg_->SetStage(bob, "iris", "2", {Stage::kProduction, true, "better"}).ok());
  EXPECT_EQ(reg_->GetVersion("iris", "1")->stage, Stage::kArchived);
  EXPECT_EQ(reg_->GetModel("iris")->production_version, 2);
  EXPECT_EQ(reg_->GetVersion("iris", "production")->version, 2);

  // archive_existing=false: both stay in production, the newest serves.
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(reg_->SetStage(bob, "iris", "3", {Stage::kProduction, false, "canary"}).ok());
  EXPECT_EQ(reg_->GetVersion("iris", "2")->stage, Stage::kProduction);
  EXPECT_EQ(reg_->GetModel("iris")->production_version, 3);

  // Rollback without a target: the version that was in production before the current one.
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(reg_->SetStage(bob, "iris", "2", {Stage::kArchived, true, "bad canary base"}).ok());
  clock_.AdvanceMs(1000);
  auto back = reg_->Rollback(bob, "iris", std::nullopt, "v3 misbehaves");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->version, 2);
  EXPECT_EQ(reg_->GetVersion("iris", "3")->stage, Stage::kArchived);
  EXPECT_EQ(reg_->GetModel("iris")->production_version, 2);
  // ... and to an explicit version.
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(reg_->Rollback(bob, "iris", 1, "").ok());
  EXPECT_EQ(reg_->GetModel("iris")->production_version, 1);
  EXPECT_EQ(reg_->Rollback(bob, "iris", 9, "").error().code, ErrorCode::kNotFound);

  // Same stage again: nothing changes, nothing recorded.
  auto before = reg_->Transitions("iris", 1000, "");
  ASSERT_TRUE(reg_->SetStage(bob, "iris", "1", {Stage::kProduction, true, ""}).ok());
  auto history = reg_->Transitions("iris", 1000, "");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->items.size(), before->items.size());
  // Newest first, with who, from, to and why.
  const Transition& last = history->items[0];
  EXPECT_EQ(last.version, 1);
  EXPECT_EQ(last.from_stage, "archived");
  EXPECT_EQ(last.to_stage, "production");
  EXPECT_EQ(last.actor_name, "bob");
  EXPECT_NE(last.reason.find("rollback"), std::string::npos);
  bool replaced = false;
  for (const auto& t : history->items)
    if (t.reason == "replaced by version 2" && t.version == 1) replaced = true;
  EXPECT_TRUE(replaced);

  int stage_events = 0;
  for (const auto& e : Drain())
    if (e.type == events::kModelVersionStageChanged) ++stage_events;
  EXPECT_EQ(stage_events, static_cast<int>(history->items.size()));
}

TEST_P(RegistryTest, AliasesResolveMoveAndAreRecorded) {
  Create("iris", "torchscript");
  UploadMlp("iris");
  UploadMlp("iris");
  auto set = reg_->SetAlias(alice_, "iris", "champion", 1);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->aliases, (std::vector<std::string>{"champion"}));
  EXPECT_EQ(reg_->GetVersion("iris", "champion")->version, 1);
  ASSERT_TRUE(reg_->SetAlias(alice_, "iris", "champion", 2).ok());
  EXPECT_EQ(reg_->GetVersion("iris", "champion")->version, 2);
  EXPECT_EQ(reg_->GetModel("iris")->aliases.at("champion"), 2);
  EXPECT_EQ(reg_->SetAlias(alice_, "iris", "latest", 1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reg_->SetAlias(alice_, "iris", "Champion!", 1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reg_->SetAlias(alice_, "iris", "x", 3).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(reg_->DeleteAlias(alice_, "iris", "champion").ok());
  EXPECT_EQ(reg_->GetVersion("iris", "champion").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reg_->DeleteAlias(alice_, "iris", "champion").error().code, ErrorCode::kNotFound);
  auto history = reg_->Transitions("iris", 10, "");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->items.size(), 3u);
  EXPECT_EQ(history->items[0].from_stage, "alias:champion");
  EXPECT_EQ(history->items[1].reason, "moved from version 1");
}

TEST_P(RegistryTest, VerifyDetectsTamperingAndDeleteNeedsForceForProduction) {
  Create("iris", "torchscript");
  Version v = UploadMlp("iris");
  auto ok = reg_->Verify(alice_, "iris", "1");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->ok) << ok->problem;
  EXPECT_TRUE(ok->loads);
  EXPECT_EQ(reg_->GetVersion("iris", "1")->verified_ok, true);

  // Flip a byte of the stored blob.
  for (auto& e : fs::recursive_directory_iterator(dir_.path() + "/blobs")) {
    if (!e.is_regular_file()) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x42' ^ static_cast<char>(f.peek()));
  }
  auto bad = reg_->Verify(alice_, "iris", "1");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_NE(bad->problem.find("SHA-256"), std::string::npos);
  EXPECT_EQ(reg_->GetVersion("iris", "1")->verified_ok, false);

  ASSERT_TRUE(reg_->SetStage(alice_, "iris", "1", {Stage::kProduction, true, ""}).ok());
  auto refused = reg_->DeleteModel(alice_, "iris", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(reg_->DeleteModel(alice_, "iris", true).ok());
  EXPECT_EQ(reg_->GetModel("iris").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(VersionRows(), 0);
  EXPECT_EQ(BlobCount(), 0);
}

TEST_P(RegistryTest, SharedArtifactsSurviveTheDeletionOfOneModel) {
  Create("a", "torchscript");
  Create("b", "torchscript");
  UploadMlp("a");
  Version vb = UploadMlp("b");
  EXPECT_EQ(BlobCount(), 1);
  ASSERT_TRUE(reg_->DeleteModel(alice_, "a", false).ok());
  EXPECT_EQ(BlobCount(), 1);
  auto src = reg_->OpenArtifact(vb);
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE(storage::ReadAll(**src).ok());
}

TEST_P(RegistryTest, RetentionRemovesOldArchivedArtifactsButKeepsMetadata) {
  Create("iris", "torchscript");
  Create("churn", "xgboost");
  UploadMlp("iris");
  UploadMlp("iris");
  ASSERT_TRUE(Upload("churn", ReadArtifact("binary.json")).ok());
  ASSERT_TRUE(Upload("churn", ReadArtifact("multi.json")).ok());
  ASSERT_TRUE(reg_->SetStage(alice_, "iris", "1", {Stage::kArchived, true, ""}).ok());
  ASSERT_TRUE(reg_->SetStage(alice_, "churn", "1", {Stage::kArchived, true, ""}).ok());
  ASSERT_TRUE(reg_->SetStage(alice_, "churn", "2", {Stage::kArchived, true, ""}).ok());
  ASSERT_TRUE(reg_->SetAlias(alice_, "churn", "keep", 2).ok());  // aliased versions are kept
  clock_.AdvanceMs(91LL * 86'400'000);
  Principal system = Principal::System();

  auto dry = reg_->ApplyRetention(system, 90LL * 86'400'000, true);
  ASSERT_TRUE(dry.ok()) << dry.error().message;
  EXPECT_EQ(dry->versions.size(), 2u);
  EXPECT_EQ(BlobCount(), 3);

  auto done = reg_->ApplyRetention(system, 90LL * 86'400'000, false);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->versions.size(), 2u);
  // iris v1 shares its bytes with v2 (still present): the blob stays; churn v1's goes.
  EXPECT_EQ(BlobCount(), 2);
  auto v1 = reg_->GetVersion("iris", "1");
  ASSERT_TRUE(v1.ok());
  EXPECT_TRUE(v1->artifact_removed_at_ms.has_value());
  EXPECT_EQ(reg_->OpenArtifact(*v1).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(reg_->SetStage(alice_, "iris", "1", {Stage::kProduction, true, ""}).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(reg_->GetVersion("churn", "2")->artifact_removed_at_ms.has_value());
  ASSERT_EQ(audit_.entries.size(), 1u);  // the system's own change is audited here
  EXPECT_EQ(audit_.entries[0].action, "model.retention");

  auto stats = reg_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->models, 2);
  EXPECT_EQ(stats->versions, 4);
  EXPECT_EQ(stats->artifacts_removed, 2);
  EXPECT_EQ(stats->by_framework.at("xgboost"), 1);
  EXPECT_EQ(stats->by_type.at("classification"), 2);
  EXPECT_EQ(stats->by_stage.at("archived"), 3);
  EXPECT_EQ(stats->bytes, static_cast<int64_t>(ReadArtifact("mlp.pt").size() + ReadArtifact("multi.json").size()));
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace c19ai::registry
