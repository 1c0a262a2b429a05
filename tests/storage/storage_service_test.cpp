// The storage service on every database backend, over two local backends (primary and replica).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/storage.h"
#include "support/test_env.h"

namespace c19ai::storage {
namespace {

namespace fs = std::filesystem;

class StorageTest : public ::testing::TestWithParam<std::string> {
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
    ASSERT_TRUE(db::Migrate(*db_, Migrations()).ok());
    Reopen();
  }
  void Reopen(std::optional<Keyring> keys = std::nullopt) {
    svc_.reset();
    StorageOptions o;
    std::unique_ptr<BlobStore> primary = NewLocalBlobStore(dir_.path() + "/primary");
    if (keys) primary = NewEncryptedBlobStore(std::move(primary), *keys);
    o.backends["local"] = std::move(primary);
    o.backends["replica"] = NewLocalBlobStore(dir_.path() + "/replica");
    o.primary = "local";
    o.clock = &clock_;
    o.replication_batch = 10;
    svc_ = std::move(StorageService::Create(*db_, std::move(o))).value();
  }
  void TearDown() override {
    svc_.reset();
    db_.reset();
  }

  ObjectInfo Put(const std::string& key, const std::string& data, PutOptions o = {}) {
    auto src = StringSource(data);
    auto r = svc_->Put(Namespace::kFiles, key, *src, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ObjectInfo{};
  }
  std::string Read(const std::string& key, ByteRange range = {}, bool verify = false) {
    auto src = svc_->Open(Namespace::kFiles, key, range, verify);
    if (!src.ok()) return "<" + src.error().message + ">";
    auto all = ReadAll(**src);
    return all.ok() ? *all : "<" + all.error().message + ">";
  }
  std::vector<fs::path> BlobFiles(const std::string& backend) {
    std::vector<fs::path> out;
    fs::path root = fs::path(dir_.path()) / backend / "files";
    if (!fs::exists(root)) return out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresDatabase> pg_;
  std::unique_ptr<db::Database> db_;
  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<StorageService> svc_;
};

TEST_P(StorageTest, PutStatOpenDelete) {
  ObjectInfo info = Put("reports/q1.csv", "a,b\n1,2\n", {.content_type = "text/csv", .metadata = {{"team", "ml"}},
                                                         .created_by = "ann"});
  EXPECT_EQ(info.size, 8);
  EXPECT_EQ(info.sha256, "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470");
  auto st = svc_->Stat(Namespace::kFiles, "reports/q1.csv");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->content_type, "text/csv");
  EXPECT_EQ(st->metadata.at("team"), "ml");
  EXPECT_EQ(st->created_by, "ann");
  EXPECT_EQ(st->locations, std::vector<std::string>{"local"});
  EXPECT_EQ(Read("reports/q1.csv"), "a,b\n1,2\n");
  EXPECT_EQ(Read("reports/q1.csv", {2, 3}), "b\n1");
  ASSERT_TRUE(svc_->Delete(Namespace::kFiles, "reports/q1.csv").ok());
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "reports/q1.csv").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->Delete(Namespace::kFiles, "reports/q1.csv").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(BlobFiles("primary").empty());
}

TEST_P(StorageTest, NamespacesAreSeparate) {
  Put("x", "files data");
  auto src = StringSource("model data");
  ASSERT_TRUE(svc_->Put(Namespace::kModels, "x", *src, {}).ok());
  EXPECT_EQ(Read("x"), "files data");
  auto m = svc_->Open(Namespace::kModels, "x");
  EXPECT_EQ(*ReadAll(**m), "model data");
}

TEST_P(StorageTest, OverwriteReplacesTheBlobAndRemovesTheOldOne) {
  Put("doc.txt", "version one");
  Put("doc.txt", "version two!");
  EXPECT_EQ(Read("doc.txt"), "version two!");
  EXPECT_EQ(BlobFiles("primary").size(), 1u);
}

TEST_P(StorageTest, KeysAreValidated) {
  for (std::string bad : std::vector<std::string>{"", "/abs", "a/../b", "../etc/passwd", "a//b", "a/", "./a", "a:b", "a\\b",
                          std::string("a\0b", 3), std::string("\x01"), std::string(1025, 'k'), "\xff\xfe"}) {
    auto src = StringSource("x");
    auto r = svc_->Put(Namespace::kFiles, bad, *src, {});
    ASSERT_FALSE(r.ok()) << "accepted key: " << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  Put("ünïcode/ok file (1).txt", "fine");
}

TEST_P(StorageTest, ExpectedHashAndSizeLimitLeaveNothingBehind) {
  auto src = StringSource("hello");
  auto wrong = svc_->Put(Namespace::kFiles, "h", *src, {.expected_sha256 = std::string(64, '0')});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kFailedPrecondition);
  auto big = StringSource(std::string(5000, 'z'));
  auto too_big = svc_->Put(Namespace::kFiles, "big", *big, {.max_size = 1000});
  EXPECT_EQ(too_big.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "h").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "big").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(BlobFiles("primary").empty());
}

TEST_P(StorageTest, ContentAddressedPutsStoreEachContentOnce) {
  auto a = StringSource("same bytes");
  auto b = StringSource("same bytes");
  auto first = svc_->PutContent(Namespace::kFiles, *a, {});
  auto second = svc_->PutContent(Namespace::kFiles, *b, {});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->key, "sha256/" + first->sha256);
  EXPECT_EQ(first->key, second->key);
  EXPECT_EQ(BlobFiles("primary").size(), 1u);
}

TEST_P(StorageTest, ExpiredObjectsDisappear) {
  Put("temp", "short-lived", {.expires_at_ms = clock_.NowMs() + 60'000});
  Put("keep", "forever");
  EXPECT_EQ(Read("temp"), "short-lived");
  clock_.AdvanceMs(60'001);
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "temp").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->List(Namespace::kFiles, "", "", 10)->items.size(), 1u);
  EXPECT_EQ(*svc_->DeleteExpired(), 1);
  EXPECT_EQ(BlobFiles("primary").size(), 1u);
}

TEST_P(StorageTest, ListsByPrefixWithPagesAndLiteralPrefixes) {
  for (const char* k : {"a/1", "a/2", "a/3", "a%b/1", "a_b/1", "b/1"}) Put(k, k);
  auto page1 = svc_->List(Namespace::kFiles, "a/", "", 2);
  ASSERT_TRUE(page1.ok()) << page1.error().message;
  ASSERT_EQ(page1->items.size(), 2u);
  ASSERT_FALSE(page1->next_page_token.empty());
  auto page2 = svc_->List(Namespace::kFiles, "a/", page1->next_page_token, 2);
  ASSERT_EQ(page2->items.size(), 1u);
  EXPECT_EQ(page2->items[0].key, "a/3");
  EXPECT_EQ(svc_->List(Namespace::kFiles, "a%", "", 10)->items.size(), 1u);  // % is not a wildcard
  EXPECT_EQ(svc_->List(Namespace::kFiles, "a_", "", 10)->items.size(), 1u);  // nor is _
  EXPECT_EQ(svc_->List(Namespace::kFiles, "", "zz", 10).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(StorageTest, CopiesToKeysAndBackends) {
  Put("orig", "copy me");
  auto copy = svc_->CopyTo(Namespace::kFiles, "orig", "dup", "bob");
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ(Read("dup"), "copy me");
  ASSERT_TRUE(svc_->Delete(Namespace::kFiles, "orig").ok());
  EXPECT_EQ(Read("dup"), "copy me");  // independent of the original
  auto both = svc_->CopyToBackend(Namespace::kFiles, "dup", "replica");
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->locations, (std::vector<std::string>{"local", "replica"}));
  EXPECT_EQ(svc_->CopyToBackend(Namespace::kFiles, "dup", "nowhere").error().code, ErrorCode::kInvalidArgument);
  // With the primary copy gone, reads come from the replica.
  for (auto& p : BlobFiles("primary")) fs::remove(p);
  EXPECT_EQ(svc_->Verify(Namespace::kFiles, "dup")->ok, false);
  ASSERT_TRUE(db_->Exec("DELETE FROM storage_locations WHERE backend = 'local'").ok());
  EXPECT_EQ(Read("dup"), "copy me");
}

TEST_P(StorageTest, VerifyDetectsCorruptionAndVerifiedReadsFail) {
  Put("precious", std::string(100000, 'p'));
  EXPECT_TRUE(svc_->Verify(Namespace::kFiles, "precious")->ok);
  auto files = BlobFiles("primary");
  ASSERT_EQ(files.size(), 1u);
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('X');
  }
  auto v = svc_->Verify(Namespace::kFiles, "precious");
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->actual_sha256.at("local"), v->expected_sha256);
  EXPECT_NE(Read("precious", {}, /*verify=*/true).find("integrity check failed"), std::string::npos);
  // A copy from a corrupt source is refused rather than spreading the damage.
  EXPECT_FALSE(svc_->CopyToBackend(Namespace::kFiles, "precious", "replica").ok());
}

TEST_P(StorageTest, ReplicationCopiesEverythingAndResumesAfterARestart) {
  for (int i = 0; i < 25; ++i) Put("rep/" + std::to_string(100 + i), "object " + std::to_string(i));
  Put("other/1", "not under the prefix");
  auto rep = svc_->StartReplication("local", "replica", "files/rep/");
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  ASSERT_TRUE(svc_->RunReplications(1).ok());  // one batch of 10, then the "process dies"
  auto partial = svc_->GetReplication(rep->id);
  EXPECT_EQ(partial->status, "running");
  EXPECT_EQ(partial->copied + partial->skipped, 10);  // "other/1" sorts into the first batch
  Reopen();  // a new process on the same database resumes from the cursor
  ASSERT_TRUE(svc_->RunReplications().ok());
  auto done = svc_->GetReplication(rep->id);
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->copied, 25);
  EXPECT_EQ(done->failed, 0);
  EXPECT_EQ(BlobFiles("replica").size(), 25u);
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "rep/110")->locations.size(), 2u);
  EXPECT_EQ(svc_->Stat(Namespace::kFiles, "other/1")->locations.size(), 1u);
  EXPECT_EQ(svc_->StartReplication("local", "local", "").error().code, ErrorCode::kInvalidArgument);
}

TEST_P(StorageTest, GarbageCollectionFindsOnlyOrphans) {
  Put("live", "referenced");
  auto backend = NewLocalBlobStore(dir_.path() + "/primary");
  auto src = StringSource("orphan");
  ASSERT_TRUE(backend->Put("files/blobs/zz/orphan", *src).ok());
  auto report = svc_->CollectGarbage(false, 0);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->orphans.size(), 1u);
  EXPECT_EQ(report->orphans[0].second, "files/blobs/zz/orphan");
  EXPECT_EQ(svc_->CollectGarbage(false, 3'600'000)->orphans.size(), 0u);  // too young
  EXPECT_EQ(svc_->CollectGarbage(true, 0)->removed, 1);
  EXPECT_EQ(Read("live"), "referenced");
}

TEST_P(StorageTest, StatsPerBackendAndPrefix) {
  Put("a/1", "12345");
  Put("a/2", "123");
  Put("b", "1");
  auto st = svc_->Stats();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->objects, 3);
  EXPECT_EQ(st->bytes, 9);
  ASSERT_EQ(st->usage.size(), 2u);
  EXPECT_EQ(st->usage[0].prefix, "files/a");
  EXPECT_EQ(st->usage[0].objects, 2);
  EXPECT_EQ(st->usage[0].bytes, 8);
}

TEST_P(StorageTest, ReencryptionMovesObjectsToTheActiveKey) {
  Keyring k1{"k1", {{"k1", std::string(32, '\x01')}}};
  Reopen(k1);
  Put("enc", "sensitive data");
  Keyring k2{"k2", {{"k1", std::string(32, '\x01')}, {"k2", std::string(32, '\x02')}}};
  Reopen(k2);
  EXPECT_EQ(Read("enc"), "sensitive data");
  EXPECT_EQ(*svc_->ReencryptAll(), 1);
  EXPECT_EQ(*svc_->ReencryptAll(), 0);
  Keyring only_k2{"k2", {{"k2", std::string(32, '\x02')}}};
  Reopen(only_k2);
  EXPECT_EQ(Read("enc"), "sensitive data");
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace c19ai::storage
