#pragma once
// Blob storage: backends that hold bytes under keys (local folder, S3-compatible, optionally
// encrypted), and the StorageService on top that keeps metadata in the database, namespaces keys by
// owner (files/, models/, checkpoints/, datasets/, results/), hashes everything it stores with
// SHA-256 while streaming, expires objects, copies/replicates between backends and finds orphans.
// Everything here is thread-safe and streams: memory use never grows with object size.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "db/db.h"

namespace c19ai::storage {

std::vector<db::MigrationFile> Migrations();

// A pull stream of bytes: Read returns up to `size` bytes, 0 at the end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> Read(char* data, size_t size) = 0;
};

// Any reader with `Result<size_t> Read(char*, size_t)` (an HTTP request body, a multipart part) as a
// ByteSource. The reader must outlive it.
template <typename Reader>
class ReaderSource final : public ByteSource {
 public:
  explicit ReaderSource(Reader& reader) : reader_(reader) {}
  Result<size_t> Read(char* data, size_t size) override { return reader_.Read(data, size); }

 private:
  Reader& reader_;
};

// A source over a string (tests, small objects).
std::unique_ptr<ByteSource> StringSource(std::string data);
// Reads a source to the end (at most `limit` bytes; payload_too_large beyond).
Result<std::string> ReadAll(ByteSource& source, size_t limit = 64 << 20);

struct ByteRange {
  int64_t offset = 0;
  int64_t length = -1;  // -1: to the end
};

struct BlobStat {
  int64_t size = 0;
  int64_t modified_ms = 0;
};

struct BlobListing {
  std::vector<std::pair<std::string, BlobStat>> items;  // by key
  bool truncated = false;
};

// A backend. Keys are '/'-separated paths already validated by the caller.
// Errors: not_found, unavailable (backend down), invalid_argument (range), internal.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual std::string kind() const = 0;  // "local", "s3", "encrypted+s3", ...
  // Streams `source` into `key`; on success the object is replaced atomically, on failure nothing new
  // is visible under `key` and nothing is left behind (temporary files and multipart uploads are
  // cleaned up). Returns the number of bytes stored.
  virtual Result<int64_t> Put(const std::string& key, ByteSource& source) = 0;
  // invalid_argument when the range starts past the end.
  virtual Result<std::unique_ptr<ByteSource>> Get(const std::string& key, ByteRange range = {}) = 0;
  virtual Result<BlobStat> Head(const std::string& key) = 0;
  virtual Status Delete(const std::string& key) = 0;  // OK when absent
  // Keys starting with `prefix` and greater than `after`, in order.
  virtual Result<BlobListing> List(const std::string& prefix, const std::string& after, int limit) = 0;
  virtual Status Copy(const std::string& from, const std::string& to) = 0;
  // Copy then delete unless the backend can rename.
  virtual Status Move(const std::string& from, const std::string& to);
};

std::unique_ptr<BlobStore> NewLocalBlobStore(std::string root);

struct S3Options {
  std::string bucket;
  std::string endpoint;  // "http://127.0.0.1:9000"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  bool path_style = true;
  std::string access_key, secret_key;
  int64_t part_size = 8 << 20;  // multipart above this (minimum 5 MiB)
  int64_t read_chunk = 8 << 20;
  int64_t timeout_ms = 120'000;
};
Result<std::unique_ptr<BlobStore>> NewS3BlobStore(const S3Options& options);
// Parses s3://bucket?endpoint=...&region=...&path_style=true|false&part_size=16MiB; keys are taken
// from the arguments (configuration, or the AWS variables).
Result<S3Options> ParseS3Url(std::string_view url, std::string access_key, std::string secret_key);

// Keys for encryption at rest: id -> 32 raw bytes; `active` encrypts new objects, every key decrypts.
struct Keyring {
  std::string active;
  std::map<std::string, std::string> keys;
};
// Parses "id:base64key[,id:base64key...]" (the first is active); invalid_argument naming the problem.
Result<Keyring> ParseKeyring(std::string_view text);
// Stores XChaCha20-Poly1305 ciphertext in `inner`, in 64 KiB authenticated chunks so that streaming and
// ranges work. A tampered, truncated or reordered chunk fails the read (never returns wrong bytes).
std::unique_ptr<BlobStore> NewEncryptedBlobStore(std::unique_ptr<BlobStore> inner, Keyring keys);
// The id of the key an encrypted object was written with, and the key new writes use ("" for a
// store that does not encrypt).
Result<std::string> EncryptionKeyOf(BlobStore& store, const std::string& key);
std::string ActiveEncryptionKey(BlobStore& store);

// ---------------------------------------------------------------- the service

enum class Namespace { kFiles, kModels, kCheckpoints, kDatasets, kResults };
std::string_view NamespaceName(Namespace ns);

// invalid_argument unless the key is 1-1024 bytes of valid UTF-8 without control characters, '\\',
// ':', empty/'.'/'..' segments or a leading '/'.
Status ValidateKey(std::string_view key);

struct ObjectInfo {
  Namespace ns = Namespace::kFiles;
  std::string key;  // within the namespace
  int64_t size = 0;
  std::string sha256;  // hex
  std::string content_type;
  std::string backend;                 // where it was written first
  std::vector<std::string> locations;  // backends holding a copy
  std::string created_by;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms;
  std::map<std::string, std::string> metadata;
};

struct PutOptions {
  std::string content_type = "application/octet-stream";
  std::optional<int64_t> expires_at_ms;
  std::map<std::string, std::string> metadata;
  std::string created_by;
  std::string backend;  // empty: the primary backend
  std::optional<std::string> expected_sha256;  // failed_precondition on mismatch (nothing is kept)
  int64_t max_size = -1;                       // payload_too_large beyond
};

struct ListPage {
  std::vector<ObjectInfo> items;
  std::string next_page_token;
};

struct NamespaceUsage {
  std::string backend, prefix;  // prefix: namespace and first key segment
  int64_t objects = 0, bytes = 0;
};
struct StorageStats {
  std::vector<NamespaceUsage> usage;
  int64_t objects = 0, bytes = 0;
};

struct VerifyResult {
  bool ok = false;
  std::string expected_sha256;
  std::map<std::string, std::string> actual_sha256;  // per location; "" when unreadable
};

struct Replication {
  std::string id, from_backend, to_backend, prefix;
  std::string status;  // running | completed | failed | cancelled
  std::string cursor;  // last key done; resumes after it
  int64_t copied = 0, skipped = 0, bytes = 0, failed = 0;
  std::string error;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

struct GcReport {
  std::vector<std::pair<std::string, std::string>> orphans;  // backend, physical key
  int64_t removed = 0;
  int64_t bytes = 0;
};

struct StorageOptions {
  std::map<std::string, std::unique_ptr<BlobStore>> backends;  // by name
  std::string primary;  // name of the backend new objects go to
  bool verify_on_read = false;
  int64_t cleaner_interval_ms = 30'000;  // expiry sweep
  int replication_batch = 100;           // objects per progress update
  const Clock* clock = &Clock::System();
};

class StorageService {
 public:
  static Result<std::unique_ptr<StorageService>> Create(db::Database& db, StorageOptions options);
  virtual ~StorageService() = default;

  // Starts the expiry cleaner and resumes replications; Stop() ends them (also in the destructor).
  virtual void Start() = 0;
  virtual void Stop() = 0;

  // Stores a named object, replacing any previous one of that key. invalid_argument (key),
  // payload_too_large, failed_precondition (expected_sha256), unavailable (backend).
  virtual Result<ObjectInfo> Put(Namespace ns, const std::string& key, ByteSource& source,
                                 const PutOptions& options) = 0;
  // Stores content under "sha256/<hash>" in the namespace (idempotent: the same bytes are stored once).
  virtual Result<ObjectInfo> PutContent(Namespace ns, ByteSource& source, const PutOptions& options) = 0;
  // not_found (also for expired objects).
  virtual Result<ObjectInfo> Stat(Namespace ns, const std::string& key) = 0;
  // Reads from the primary location when it holds a copy, else another. With verify (or
  // verify_on_read) a full read fails at the end if the bytes do not hash to the recorded SHA-256.
  virtual Result<std::unique_ptr<ByteSource>> Open(Namespace ns, const std::string& key, ByteRange range = {},
                                                   bool verify = false) = 0;
  virtual Status Delete(Namespace ns, const std::string& key) = 0;
  virtual Result<ListPage> List(Namespace ns, const std::string& prefix, const std::string& page_token,
                                int64_t limit) = 0;
  // Copies to another key (same namespace) or adds a copy on another backend.
  virtual Result<ObjectInfo> CopyTo(Namespace ns, const std::string& key, const std::string& to_key,
                                    const std::string& created_by) = 0;
  virtual Result<ObjectInfo> CopyToBackend(Namespace ns, const std::string& key, const std::string& backend) = 0;
  // Recomputes the SHA-256 of every copy.
  virtual Result<VerifyResult> Verify(Namespace ns, const std::string& key) = 0;
  virtual Result<StorageStats> Stats() = 0;
  virtual std::vector<std::string> BackendNames() const = 0;
  virtual std::string PrimaryBackend() const = 0;

  // Copies every object under `prefix` (namespace-qualified, e.g. "files/") from one backend to
  // another in the background, resumably (progress survives restarts).
  virtual Result<Replication> StartReplication(const std::string& from, const std::string& to,
                                               const std::string& prefix) = 0;
  virtual Result<Replication> GetReplication(const std::string& id) = 0;
  virtual Result<std::vector<Replication>> ListReplications() = 0;
  // Runs pending replication work now on the calling thread (tests, CLI): at most `max_batches`
  // batches (-1: until every replication is done).
  virtual Status RunReplications(int max_batches = -1) = 0;

  // Removes expired objects now; returns how many.
  virtual Result<int64_t> DeleteExpired() = 0;
  // Blobs no metadata row points at, older than `grace_ms`; removed when `remove`.
  virtual Result<GcReport> CollectGarbage(bool remove, int64_t grace_ms) = 0;
  // Rewrites objects on encrypted backends that use another key than the active one.
  virtual Result<int64_t> ReencryptAll() = 0;
};

// The physical key of an object: "<namespace>/<key>".
std::string PhysicalKey(Namespace ns, std::string_view key);

}  // namespace c19ai::storage
