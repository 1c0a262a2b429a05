// The dataset service on SQLite and PostgreSQL: versions, immutability, lineage, schemas, queued
// validation with progress events, cleaning.

#include <gtest/gtest.h>

#include <thread>

#include "common/json.h"
#include "events/events.h"
#include "queue/queue.h"
#include "support/test_env.h"
#include "validation/validation.h"

namespace c19ai::validation {
namespace {

Principal User(const std::string& name) {
  Principal p;
  p.user_id = "id-" + name;
  p.username = name;
  return p;
}

class DatasetServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
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
    db_ = std::move(db::Open(o)).value();
    auto files = storage::Migrations();
    for (auto&& set : {queue::Migrations(), Migrations()}) files.insert(files.end(), set.begin(), set.end());
    ASSERT_TRUE(db::Migrate(*db_, files).ok());
    storage::StorageOptions so;
    so.backends["local"] = storage::NewLocalBlobStore(dir_.path() + "/blobs");
    so.primary = "local";
    storage_ = std::move(storage::StorageService::Create(*db_, std::move(so))).value();
    bus_ = events::NewInProcessBus();
    sub_ = bus_->Subscribe({});
    queue_ = std::move(queue::OpenDbQueue(*db_)).value();
    Options vo;
    vo.spool_dir = dir_.path() + "/spool";
    vo.bus = bus_.get();
    vo.queue = queue_.get();
    vo.inline_max_bytes = 100;
    vo.lineage_users = [this](const std::string& id) -> Result<std::vector<std::string>> {
      if (id == protected_id_) return std::vector<std::string>{"iris/3"};
      return std::vector<std::string>{};
    };
    svc_ = std::move(DatasetService::Create(*db_, *storage_, vo)).value();
  }

  Dataset Upload(const std::string& name, const std::string& bytes) {
    auto src = storage::StringSource(bytes);
    auto d = svc_->Upload(alice_, name, {}, *src);
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
    return d.ok() ? *d : Dataset{};
  }

  std::string Content(const Dataset& d) {
    auto src = svc_->Open(d);
    EXPECT_TRUE(src.ok());
    return src.ok() ? *storage::ReadAll(**src) : "";
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
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<events::Subscription> sub_;
  std::unique_ptr<queue::Queue> queue_;
  std::unique_ptr<DatasetService> svc_;
  std::string protected_id_;
  Principal alice_ = User("alice");
};

TEST_P(DatasetServiceTest, UploadsGetNumberedVersionsWithCountsAndTypes) {
  Dataset a = Upload("sales", "id,amount,day\n1,2.5,2024-01-01\n2,3,2024-01-02\n");
  Dataset b = Upload("Sales", "id,amount\n3,4\n");
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(b.version, 2);  // names are case-insensitive
  EXPECT_EQ(a.rows, 2);
  ASSERT_EQ(a.columns.size(), 3u);
  EXPECT_EQ(a.columns[0].type, "integer");
  EXPECT_EQ(a.columns[1].type, "float");
  EXPECT_EQ(a.columns[2].type, "date");
  EXPECT_EQ(svc_->Get("sales")->id, b.id);
  EXPECT_EQ(svc_->Get("sales@1")->id, a.id);
  EXPECT_EQ(svc_->Get("sales@9").error().code, ErrorCode::kNotFound);
  auto created = Drain();
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].type, "dataset.created");
  EXPECT_EQ(created[0].room, "datasets");
}

TEST_P(DatasetServiceTest, ConcurrentUploadsGetDistinctVersions) {
  std::vector<std::thread> threads;
  std::vector<int64_t> versions(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto src = storage::StringSource("v\n" + std::to_string(i) + "\n");
      auto d = svc_->Upload(alice_, "race", {}, *src);
      versions[static_cast<size_t>(i)] = d.ok() ? d->version : -1;
    });
  }
  for (auto& t : threads) t.join();
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_P(DatasetServiceTest, MalformedUploadsStoreNothing) {
  auto src = storage::StringSource("a,b\n1,2\n3\n");
  auto d = svc_->Upload(alice_, "bad", {}, *src);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find("line 3"), std::string::npos);
  EXPECT_TRUE(svc_->List("bad", 50, "")->items.empty());
  EXPECT_TRUE(storage_->List(storage::Namespace::kDatasets, "", "", 10)->items.empty());
  auto empty = storage::StringSource("");
  EXPECT_EQ(svc_->Upload(alice_, "bad", {}, *empty).error().code, ErrorCode::kInvalidArgument);
  auto ok = storage::StringSource("a\n1\n");
  EXPECT_EQ(svc_->Upload(alice_, "../x", {}, *ok).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(DatasetServiceTest, DeleteIsRefusedWhileLineageNamesTheVersion) {
  Dataset d = Upload("train", "x\n1\n");
  Dataset same = Upload("copy", "x\n1\n");  // same bytes, one blob
  protected_id_ = d.id;
  Status refused = svc_->Delete(alice_, d.id, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("iris/3"), std::string::npos);
  ASSERT_TRUE(svc_->Delete(alice_, d.id, true).ok());
  EXPECT_EQ(svc_->Get(d.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Content(same), "x\n1\n");  // the shared blob stays for the other version
  ASSERT_TRUE(svc_->Delete(alice_, same.id, false).ok());
  EXPECT_TRUE(storage_->List(storage::Namespace::kDatasets, "", "", 10)->items.empty());
}

TEST_P(DatasetServiceTest, SchemasAreVersionedAndCheckedBeforeStoring) {
  auto s = ParseSchema(R"({"name":"people","fields":[{"name":"age","data_type":"integer"}]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(svc_->CreateSchema(alice_, *s)->version, 1);
  s->fields.push_back({"email", "string", true, false, "", {}});
  EXPECT_EQ(svc_->CreateSchema(alice_, *s)->version, 2);
  EXPECT_EQ(svc_->GetSchema("people", 0)->fields.size(), 2u);
  EXPECT_EQ(svc_->GetSchema("people", 1)->fields.size(), 1u);
  EXPECT_EQ(svc_->GetSchema("people", 3).error().code, ErrorCode::kNotFound);
  auto bad = ParseSchema(R"({"name":"bad","constraints":[{"type":"regex","column":"a","pattern":"("}]})");
  ASSERT_TRUE(bad.ok());
  auto stored = svc_->CreateSchema(alice_, *bad);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(Json::parse(stored.error().details)["field"], "constraints[0].pattern");
  EXPECT_EQ(svc_->ListSchemas(50, "")->items.size(), 1u);
}

TEST_P(DatasetServiceTest, QueuedValidationReportsProgressAndStoresTheReport) {
  std::string csv = "id,v\n";
  for (int i = 1; i <= 5000; ++i) csv += std::to_string(i) + "," + std::to_string(i % 100) + "\n";
  Dataset d = Upload("big", csv);
  EXPECT_TRUE(svc_->ShouldQueue(d));
  auto schema = ParseSchema(R"({"name":"s","fields":[{"name":"v","data_type":"integer","constraints":[{"type":"range","max":89}]}]})");
  auto run = svc_->SubmitValidation(alice_, d.id, *schema, false);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->status, "queued");
  Drain();
  auto msgs = queue_->Consume(std::string(kValidationTopic), {});
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  ASSERT_TRUE(svc_->RunJob((*msgs)[0].body).ok());
  auto done = svc_->GetRun(run->id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "succeeded");
  EXPECT_DOUBLE_EQ(done->progress, 1.0);
  Json report = Json::parse(done->report_json);
  EXPECT_FALSE(report["is_valid"].get<bool>());
  EXPECT_EQ(report["statistics"]["error_count"], 500);  // v in 90..99, 10 of every 100 rows
  int progress = 0;
  bool validated = false;
  for (const auto& e : Drain()) {
    progress += e.type == "dataset.validation.progress";
    validated |= e.type == "dataset.validated";
  }
  EXPECT_GE(progress, 1);
  EXPECT_TRUE(validated);
}

TEST_P(DatasetServiceTest, CleaningWritesANewVersionAndNeverEditsTheSource) {
  const std::string csv = "k,v\n a ,1\nb,\nb,\nc,100\n";
  Dataset d = Upload("dirty", csv);
  auto out = svc_->Clean(alice_, d.id, R"([{"op":"trim"},{"op":"deduplicate"},{"op":"fill_missing","column":"v","strategy":"constant","value":0}])");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->first.version, 2);
  EXPECT_EQ(out->first.parent_id, d.id);
  EXPECT_EQ(Content(out->first), "k,v\na,1\nb,0\nc,100\n");
  EXPECT_EQ(Content(d), csv);
  EXPECT_EQ(svc_->Get(d.id)->sha256, d.sha256);
  Json summary = Json::parse(out->second);
  EXPECT_EQ(summary["output_rows"], 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatasetServiceTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace c19ai::validation
