// One suite for every BlobStore: local, S3 (s3rver in CI), and both wrapped in encryption.

#include <gtest/gtest.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/ids.h"
#include "storage/storage.h"
#include "support/s3_env.h"
#include "support/test_env.h"

namespace c19ai::storage {
namespace {

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Fails after `limit` bytes.
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(size_t limit) : left_(limit) {}
  Result<size_t> Read(char* data, size_t size) override {
    if (left_ == 0) return Error::Unavailable("client went away");
    size_t n = std::min(size, left_);
    std::memset(data, 'x', n);
    left_ -= n;
    return n;
  }

 private:
  size_t left_;
};

Keyring TestKeys(const std::string& active = "k1") {
  Keyring k;
  k.active = active;
  k.keys["k1"] = std::string(32, '\x11');
  k.keys["k2"] = std::string(32, '\x22');
  return k;
}

class BlobStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string kind = GetParam();
    bool s3 = kind.find("s3") != std::string::npos;
    if (s3) {
      if (testing::S3Url().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_S3_URL is not set";
        GTEST_SKIP() << "no S3 server (set C19AI_TEST_S3_URL)";
      }
      auto o = ParseS3Url(testing::S3Url() + "&part_size=5MiB&read_chunk=1MiB", testing::S3AccessKey(),
                          testing::S3SecretKey());
      ASSERT_TRUE(o.ok()) << o.error().message;
      auto store = NewS3BlobStore(*o);
      ASSERT_TRUE(store.ok()) << store.error().message;
      inner_ = store->get();
      store_ = std::move(store).value();
    } else {
      auto local = NewLocalBlobStore(dir_.path());
      inner_ = local.get();
      store_ = std::move(local);
    }
    if (kind.starts_with("encrypted")) store_ = NewEncryptedBlobStore(std::move(store_), TestKeys());
    prefix_ = "t/" + NewId() + "/";  // isolates runs sharing one bucket
  }

  Result<std::string> GetAll(const std::string& key, ByteRange r = {}) {
    C19_ASSIGN_OR_RETURN(auto src, store_->Get(key, r));
    return ReadAll(*src, 64 << 20);
  }
  void Put(const std::string& key, const std::string& data) {
    auto src = StringSource(data);
    auto n = store_->Put(key, *src);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, static_cast<int64_t>(data.size()));
  }

  testing::TempDir dir_;
  std::unique_ptr<BlobStore> store_;
  BlobStore* inner_ = nullptr;
  std::string prefix_;
};

TEST_P(BlobStoreTest, RoundTripsSmallEmptyAndLargeObjects) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{65537}, size_t{12} << 20}) {
    std::string key = prefix_ + "obj-" + std::to_string(size);
    std::string data = RandomBytes(size, static_cast<unsigned>(size));
    Put(key, data);
    auto back = GetAll(key);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->size(), data.size());
    EXPECT_TRUE(*back == data) << "size " << size;
    EXPECT_EQ(store_->Head(key)->size, static_cast<int64_t>(size));
  }
}

TEST_P(BlobStoreTest, ServesByteRanges) {
  std::string data = RandomBytes(300000, 7);
  std::string key = prefix_ + "ranged";
  Put(key, data);
  EXPECT_EQ(*GetAll(key, {1000, 1000}), data.substr(1000, 1000));
  EXPECT_EQ(*GetAll(key, {65530, 20}), data.substr(65530, 20));  // across an encryption chunk
  EXPECT_EQ(*GetAll(key, {299990, -1}), data.substr(299990));
  EXPECT_EQ(*GetAll(key, {299990, 1000}), data.substr(299990));  // clipped at the end
  EXPECT_EQ(*GetAll(key, {300000, 0}), "");
  auto past = store_->Get(key, {300001, 10});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(BlobStoreTest, MissingObjectsAreNotFoundAndDeleteIsIdempotent) {
  EXPECT_EQ(store_->Head(prefix_ + "none").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->Get(prefix_ + "none", {}).error().code, ErrorCode::kNotFound);
  Put(prefix_ + "gone", "bye");
  EXPECT_TRUE(store_->Delete(prefix_ + "gone").ok());
  EXPECT_TRUE(store_->Delete(prefix_ + "gone").ok());
  EXPECT_EQ(store_->Head(prefix_ + "gone").error().code, ErrorCode::kNotFound);
}

TEST_P(BlobStoreTest, PutReplacesAtomically) {
  std::string key = prefix_ + "replace";
  Put(key, "first version");
  Put(key, "second");
  EXPECT_EQ(*GetAll(key), "second");
}

TEST_P(BlobStoreTest, FailedPutLeavesNothingBehind) {
  std::string key = prefix_ + "failed";
  Put(key, "old contents");
  FailingSource bad(11 << 20);  // past the first multipart part on S3
  auto r = store_->Put(key, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(*GetAll(key), "old contents");  // the previous object is untouched
  FailingSource early(100);
  EXPECT_FALSE(store_->Put(prefix_ + "never", early).ok());
  EXPECT_EQ(store_->Head(prefix_ + "never").error().code, ErrorCode::kNotFound);
  if (GetParam() == "local") {
    auto tmp = std::filesystem::path(dir_.path()) / ".tmp";
    EXPECT_TRUE(!std::filesystem::exists(tmp) || std::filesystem::is_empty(tmp));
  }
}

TEST_P(BlobStoreTest, ListsByPrefixInOrderWithPaging) {
  for (const char* k : {"b/2", "a/1", "a/3", "a/2", "c"}) Put(prefix_ + k, k);
  auto all = store_->List(prefix_ + "a/", "", 10);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].first, prefix_ + "a/1");
  EXPECT_EQ(all->items[2].first, prefix_ + "a/3");
  auto page = store_->List(prefix_, "", 2);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_TRUE(page->truncated);
  auto next = store_->List(prefix_, page->items.back().first, 10);
  ASSERT_EQ(next->items.size(), 3u);
  EXPECT_EQ(next->items.back().first, prefix_ + "c");
}

TEST_P(BlobStoreTest, CopiesAndMoves) {
  Put(prefix_ + "src", "payload");
  ASSERT_TRUE(store_->Copy(prefix_ + "src", prefix_ + "dir/copy").ok());
  EXPECT_EQ(*GetAll(prefix_ + "dir/copy"), "payload");
  ASSERT_TRUE(store_->Move(prefix_ + "src", prefix_ + "moved").ok());
  EXPECT_EQ(*GetAll(prefix_ + "moved"), "payload");
  EXPECT_EQ(store_->Head(prefix_ + "src").error().code, ErrorCode::kNotFound);
}

TEST_P(BlobStoreTest, EncryptedObjectsAreCiphertextAndTamperingIsDetected) {
  if (!GetParam().starts_with("encrypted")) GTEST_SKIP() << "encryption only";
  std::string data(200000, 'A');
  std::string key = prefix_ + "secret";
  Put(key, data);
  auto raw_src = inner_->Get(key, {});
  ASSERT_TRUE(raw_src.ok());
  std::string raw = *ReadAll(**raw_src);
  EXPECT_EQ(raw.find(std::string(64, 'A')), std::string::npos);  // no plaintext at rest
  EXPECT_GT(raw.size(), data.size());
  EXPECT_EQ(*EncryptionKeyOf(*store_, key), "k1");

  // Flip one byte in the second chunk: reads touching it fail, others still work.
  std::string tampered = raw;
  tampered[raw.size() / 2] ^= 0x01;
  auto src = StringSource(tampered);
  ASSERT_TRUE(inner_->Put(key, *src).ok());
  auto whole = GetAll(key);
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.error().message.find("authentication"), std::string::npos) << whole.error().message;
  EXPECT_EQ(*GetAll(key, {0, 1000}), std::string(1000, 'A'));

  // Dropping the last chunk (truncation) is detected too.
  auto truncated = StringSource(raw.substr(0, raw.size() - (200000 - 3 * 65536) - 16));
  ASSERT_TRUE(inner_->Put(key, *truncated).ok());
  EXPECT_FALSE(GetAll(key).ok());
}

TEST_P(BlobStoreTest, OldKeysStillDecryptAfterRotation) {
  if (!GetParam().starts_with("encrypted")) GTEST_SKIP() << "encryption only";
  std::string key = prefix_ + "rotated";
  Put(key, "written with k1");
  // The same storage opened with k2 active and k1 kept for reading.
  std::unique_ptr<BlobStore> inner_view;
  if (GetParam() == "encrypted-local") {
    inner_view = NewLocalBlobStore(dir_.path());
  } else {
    auto o = ParseS3Url(testing::S3Url(), testing::S3AccessKey(), testing::S3SecretKey());
    inner_view = std::move(NewS3BlobStore(*o)).value();
  }
  auto rotated = NewEncryptedBlobStore(std::move(inner_view), TestKeys("k2"));
  EXPECT_EQ(ActiveEncryptionKey(*rotated), "k2");
  auto src = rotated->Get(key, {});
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(*ReadAll(**src), "written with k1");
  // Without k1 it cannot be read.
  Keyring only_k2;
  only_k2.active = "k2";
  only_k2.keys["k2"] = std::string(32, '\x22');
  auto o2 = NewEncryptedBlobStore(GetParam() == "encrypted-local" ? NewLocalBlobStore(dir_.path())
                                                                  : std::move(NewS3BlobStore(*ParseS3Url(
                                                                        testing::S3Url(), testing::S3AccessKey(),
                                                                        testing::S3SecretKey())))
                                                                        .value(),
                                  only_k2);
  EXPECT_FALSE(o2->Get(key, {}).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, BlobStoreTest,
                         ::testing::Values("local", "s3", "encrypted-local", "encrypted-s3"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(KeyringTest, ParsesAndValidates) {
  auto k = ParseKeyring("new:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=, old:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->active, "new");
  EXPECT_EQ(k->keys.size(), 2u);
  EXPECT_FALSE(ParseKeyring("nocolon").ok());
  EXPECT_FALSE(ParseKeyring("short:QUJD").ok());
  EXPECT_FALSE(ParseKeyring("bad:!!!!").ok());
}

TEST(S3UrlTest, ParsesOptionsAndNeedsCredentials) {
  auto o = ParseS3Url("s3://bucket?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=false&part_size=16MiB",
                      "a", "b");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->bucket, "bucket");
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_FALSE(o->path_style);
  EXPECT_EQ(o->part_size, 16 << 20);
  EXPECT_FALSE(ParseS3Url("s3://bucket", "", "").ok());
  EXPECT_FALSE(ParseS3Url("s3://bucket?colour=blue", "a", "b").ok());
}

TEST(S3Test, UnreachableServerIsUnavailable) {
  S3Options o;
  o.bucket = "b";
  o.endpoint = "http://127.0.0.1:1";
  o.access_key = o.secret_key = "x";
  auto s = NewS3BlobStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace c19ai::storage
