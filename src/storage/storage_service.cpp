#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "storage/storage.h"

namespace c19ai::storage {

namespace {

constexpr size_t kCopyBuffer = 1 << 20;

// SHA-256 and length of what passes through; payload_too_large beyond max_size.
class HashingSource final : public ByteSource {
 public:
  HashingSource(ByteSource& inner, int64_t max_size) : inner_(inner), max_(max_size), ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  }
  ~HashingSource() override { EVP_MD_CTX_free(ctx_); }
  Result<size_t> Read(char* data, size_t size) override {
    C19_ASSIGN_OR_RETURN(size_t n, inner_.Read(data, size));
    EVP_DigestUpdate(ctx_, data, n);
    size_ += static_cast<int64_t>(n);
    if (max_ >= 0 && size_ > max_) {
      return Error::PayloadTooLarge("object exceeds the limit of " + std::to_string(max_) + " bytes");
    }
    return n;
  }
  std::string HexDigest() {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return HexEncode(std::string_view(reinterpret_cast<char*>(out), len));
  }
  int64_t size() const { return size_; }

 private:
  ByteSource& inner_;
  int64_t max_;
  EVP_MD_CTX* ctx_;
  int64_t size_ = 0;
};

// Fails the final read when the bytes do not hash to the expected digest.
class VerifyingSource final : public ByteSource {
 public:
  VerifyingSource(std::unique_ptr<ByteSource> inner, std::string expected)
      : inner_(std::move(inner)), hash_(*inner_, -1), expected_(std::move(expected)) {}
  Result<size_t> Read(char* data, size_t size) override {
    C19_ASSIGN_OR_RETURN(size_t n, hash_.Read(data, size));
    if (n == 0 && !checked_) {
      checked_ = true;
      if (hash_.HexDigest() != expected_) {
        metrics::Registry::Default()
            .GetCounter("c19ai_storage_integrity_failures_total", "Reads whose bytes did not match their SHA-256")
            .Inc();
        return Error::Internal("integrity check failed: the stored bytes do not match their SHA-256");
      }
    }
    return n;
  }

 private:
  std::unique_ptr<ByteSource> inner_;
  HashingSource hash_;
  std::string expected_;
  bool checked_ = false;
};

class StringByteSource final : public ByteSource {
 public:
  explicit StringByteSource(std::string s) : s_(std::move(s)) {}
  Result<size_t> Read(char* data, size_t size) override {
    size_t n = std::min(size, s_.size() - pos_);
    std::memcpy(data, s_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string s_;
  size_t pos_ = 0;
};

std::string TopSegment(std::string_view key) { return std::string(key.substr(0, key.find('/'))); }

Namespace ParseNs(std::string_view s) {
  if (s == "models") return Namespace::kModels;
  if (s == "checkpoints") return Namespace::kCheckpoints;
  if (s == "datasets") return Namespace::kDatasets;
  if (s == "results") return Namespace::kResults;
  return Namespace::kFiles;
}

const Namespace kAllNamespaces[] = {Namespace::kFiles, Namespace::kModels, Namespace::kCheckpoints,
                                    Namespace::kDatasets, Namespace::kResults};

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) n = 0;
    else if ((c >> 5) == 6) n = 1;
    else if ((c >> 4) == 14) n = 2;
    else if ((c >> 3) == 30) n = 3;
    else return false;
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}

class StorageServiceImpl final : public StorageService {
 public:
  StorageServiceImpl(db::Database& db, StorageOptions o)
      : db_(db),
        backends_(std::move(o.backends)),
        primary_(o.primary),
        verify_on_read_(o.verify_on_read),
        cleaner_interval_ms_(o.cleaner_interval_ms),
        replication_batch_(std::max(1, o.replication_batch)),
        clock_(o.clock),
        bytes_in_(metrics::Registry::Default().GetCounter("c19ai_storage_bytes_written_total",
                                                          "Bytes stored (plaintext)")),
        bytes_out_(metrics::Registry::Default().GetCounter("c19ai_storage_bytes_read_total",
                                                           "Bytes opened for reading (plaintext)")) {}

  ~StorageServiceImpl() override { Stop(); }

  void Start() override {
    std::lock_guard lock(thread_mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { Background(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(thread_mu_);
      stop_ = true;
    }
    thread_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<std::string> BackendNames() const override {
    std::vector<std::string> out;
    for (const auto& [name, b] : backends_) out.push_back(name);
    return out;
  }
  std::string PrimaryBackend() const override { return primary_; }

  Result<BlobStore*> Backend(const std::string& name) {
    auto it = backends_.find(name.empty() ? primary_ : name);
    if (it == backends_.end()) return Error::Field("backend", "no storage backend named \"" + name + "\"");
    return it->second.get();
  }

  std::string NewBlobKey(Namespace ns) {
    std::string id = NewId();
    // Fan out by the id's random tail so that no folder grows without bound.
    return std::string(NamespaceName(ns)) + "/blobs/" + id.substr(34, 2) + "/" + id;
  }

  // ---------------------------------------------------------------- writes

  struct Stored {
    std::string blob_key;
    int64_t size = 0;
    std::string sha256;
  };

  Result<Stored> StoreBlob(Namespace ns, BlobStore& backend, ByteSource& source, const PutOptions& o) {
    Stored s;
    s.blob_key = NewBlobKey(ns);
    HashingSource hashing(source, o.max_size);
    C19_TRY(backend.Put(s.blob_key, hashing));
    s.size = hashing.size();
    s.sha256 = hashing.HexDigest();
    if (o.expected_sha256 && ToLower(*o.expected_sha256) != s.sha256) {
      (void)backend.Delete(s.blob_key);
      return Error::FailedPrecondition("content SHA-256 is " + s.sha256 + ", expected " + *o.expected_sha256);
    }
    bytes_in_.Inc(static_cast<uint64_t>(s.size));
    return s;
  }

  // Deletes blobs after the metadata stopped pointing at them (best effort: GC finds leftovers).
  void DropBlob(const std::string& blob_key, const std::vector<std::string>& locations) {
    for (const auto& b : locations) {
      auto it = backends_.find(b);
      if (it == backends_.end()) continue;
      if (Status st = it->second->Delete(blob_key); !st.ok()) {
        log::Warn("could not delete a replaced blob; gc will find it",
                  {{"blob_key", blob_key}, {"backend", b}, {"error", st.error().message}});
      }
    }
  }

  Result<std::vector<std::string>> LocationsOf(db::Executor& ex, const std::string& blob_key) {
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT backend FROM storage_locations WHERE blob_key = ? ORDER BY backend",
                                             {blob_key}));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.Text(0));
    return out;
  }

  Result<ObjectInfo> Put(Namespace ns, const std::string& key, ByteSource& source, const PutOptions& o) override {
    C19_TRY(ValidateKey(key));
    C19_ASSIGN_OR_RETURN(BlobStore * backend, Backend(o.backend));
    std::string backend_name = o.backend.empty() ? primary_ : o.backend;
    C19_ASSIGN_OR_RETURN(Stored s, StoreBlob(ns, *backend, source, o));
    std::string old_blob;
    std::vector<std::string> old_locations;
    int64_t now = clock_->NowMs();
    Json meta = o.metadata;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      old_blob.clear();
      old_locations.clear();
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT blob_key FROM storage_objects WHERE ns = ? AND object_key = ?",
                                               {std::string(NamespaceName(ns)), key}));
      if (!rows.empty()) {
        old_blob = rows[0].Text(0);
        C19_ASSIGN_OR_RETURN(old_locations, LocationsOf(tx, old_blob));
        C19_TRY(tx.Exec("DELETE FROM storage_locations WHERE blob_key = ?", {old_blob}));
      }
      C19_TRY(tx.Exec("INSERT INTO storage_objects (ns, object_key, top, blob_key, size, sha256, content_type, backend, "
                      "created_by, created_at, expires_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (ns, object_key) DO UPDATE SET top = excluded.top, blob_key = excluded.blob_key, "
                      "size = excluded.size, sha256 = excluded.sha256, content_type = excluded.content_type, "
                      "backend = excluded.backend, created_by = excluded.created_by, created_at = excluded.created_at, "
                      "expires_at = excluded.expires_at, metadata = excluded.metadata",
                      {std::string(NamespaceName(ns)), key, TopSegment(key), s.blob_key, s.size, s.sha256,
                       o.content_type, backend_name, o.created_by, now, o.expires_at_ms, DumpJson(meta)}));
      C19_TRY(tx.Exec("INSERT INTO storage_locations (blob_key, backend, created_at) VALUES (?, ?, ?)",
                      {s.blob_key, backend_name, now}));
      return OkStatus();
    });
    if (!st.ok()) {
      (void)backend->Delete(s.blob_key);
      return std::move(st).error();
    }
    if (!old_blob.empty()) DropBlob(old_blob, old_locations);
    ObjectInfo info;
    info.ns = ns;
    info.key = key;
    info.size = s.size;
    info.sha256 = s.sha256;
    info.content_type = o.content_type;
    info.backend = backend_name;
    info.locations = {backend_name};
    info.created_by = o.created_by;
    info.created_at_ms = now;
    info.expires_at_ms = o.expires_at_ms;
    info.metadata = o.metadata;
    return info;
  }

  Result<ObjectInfo> PutContent(Namespace ns, ByteSource& source, const PutOptions& o) override {
    C19_ASSIGN_OR_RETURN(BlobStore * backend, Backend(o.backend));
    std::string backend_name = o.backend.empty() ? primary_ : o.backend;
    C19_ASSIGN_OR_RETURN(Stored s, StoreBlob(ns, *backend, source, o));
    std::string key = "sha256/" + s.sha256;
    int64_t now = clock_->NowMs();
    bool existed = false;
    Status st = db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT 1 FROM storage_objects WHERE ns = ? AND object_key = ?",
                                               {std::string(NamespaceName(ns)), key}));
      existed = !rows.empty();
      if (existed) return OkStatus();
      C19_TRY(tx.Exec("INSERT INTO storage_objects (ns, object_key, top, blob_key, size, sha256, content_type, backend, "
                      "created_by, created_at, expires_at, metadata) VALUES (?, ?, 'sha256', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {std::string(NamespaceName(ns)), key, s.blob_key, s.size, s.sha256, o.content_type,
                       backend_name, o.created_by, now, o.expires_at_ms, DumpJson(Json(o.metadata))}));
      C19_TRY(tx.Exec("INSERT INTO storage_locations (blob_key, backend, created_at) VALUES (?, ?, ?)",
                      {s.blob_key, backend_name, now}));
      return OkStatus();
    });
    // A concurrent writer of the same bytes may have inserted the row between our check and our
    // insert: its copy is as good as ours.
    if (!st.ok() && st.error().code == ErrorCode::kAlreadyExists) {
      st = OkStatus();
      existed = true;
    }
    if (!st.ok() || existed) (void)backend->Delete(s.blob_key);
    C19_TRY(st);
    return Stat(ns, key);
  }

  // ---------------------------------------------------------------- reads

  struct Row {
    ObjectInfo info;
    std::string blob_key;
  };

  Result<Row> Load(db::Executor& ex, Namespace ns, const std::string& key) {
    C19_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT blob_key, size, sha256, content_type, backend, created_by, "
                                             "created_at, expires_at, metadata FROM storage_objects WHERE ns = ? AND "
                                             "object_key = ?",
                                             {std::string(NamespaceName(ns)), key}));
    if (rows.empty()) return Error::NotFound("object \"" + key.substr(0, 200) + "\" not found");
    const auto& r = rows[0];
    auto expires = r.OptInt(7);
    if (expires && *expires <= clock_->NowMs()) return Error::NotFound("object \"" + key.substr(0, 200) + "\" expired");
    Row out;
    out.blob_key = r.Text(0);
    ObjectInfo& i = out.info;
    i.ns = ns;
    i.key = key;
    i.size = r.Int(1);
    i.sha256 = r.Text(2);
    i.content_type = r.Text(3);
    i.backend = r.Text(4);
    i.created_by = r.Text(5);
    i.created_at_ms = r.Int(6);
    i.expires_at_ms = expires;
    Json meta = Json::parse(r.Text(8), nullptr, false);
    if (meta.is_object()) {
      for (auto& [k, v] : meta.items()) {
        if (v.is_string()) i.metadata[k] = v.get<std::string>();
      }
    }
    C19_ASSIGN_OR_RETURN(i.locations, LocationsOf(ex, out.blob_key));
    return out;
  }

  Result<ObjectInfo> Stat(Namespace ns, const std::string& key) override {
    C19_TRY(ValidateKey(key));
    C19_ASSIGN_OR_RETURN(Row row, Load(db_, ns, key));
    return row.info;
  }

  // The backend to read a blob from: the primary when it holds a copy.
  Result<BlobStore*> ReadLocation(const std::vector<std::string>& locations, std::string* chosen = nullptr) {
    for (const auto& pref : {primary_, std::string()}) {
      for (const auto& l : locations) {
        if (!pref.empty() && l != pref) continue;
        auto it = backends_.find(l);
        if (it == backends_.end()) continue;
        if (chosen) *chosen = l;
        return it->second.get();
      }
    }
    return Error::Unavailable("no configured backend holds a copy of this object");
  }

  Result<std::unique_ptr<ByteSource>> Open(Namespace ns, const std::string& key, ByteRange range,
                                           bool verify) override {
    C19_TRY(ValidateKey(key));
    C19_ASSIGN_OR_RETURN(Row row, Load(db_, ns, key));
    C19_ASSIGN_OR_RETURN(BlobStore * backend, ReadLocation(row.info.locations));
    C19_ASSIGN_OR_RETURN(auto src, backend->Get(row.blob_key, range));
    bool full = range.offset == 0 && (range.length < 0 || range.length >= row.info.size);
    bytes_out_.Inc(static_cast<uint64_t>(range.length < 0 ? row.info.size - range.offset : range.length));
    if ((verify || verify_on_read_) && full) {
      return std::unique_ptr<ByteSource>(new VerifyingSource(std::move(src), row.info.sha256));
    }
    return src;
  }

  Status Delete(Namespace ns, const std::string& key) override {
    C19_TRY(ValidateKey(key));
    std::string blob;
    std::vector<std::string> locations;
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT blob_key FROM storage_objects WHERE ns = ? AND object_key = ?",
                                               {std::string(NamespaceName(ns)), key}));
      if (rows.empty()) return Error::NotFound("object \"" + key.substr(0, 200) + "\" not found");
      blob = rows[0].Text(0);
      C19_ASSIGN_OR_RETURN(locations, LocationsOf(tx, blob));
      C19_TRY(tx.Exec("DELETE FROM storage_objects WHERE ns = ? AND object_key = ?",
                      {std::string(NamespaceName(ns)), key}));
      C19_ASSIGN_OR_RETURN(auto others, tx.Query("SELECT 1 FROM storage_objects WHERE blob_key = ?", {blob}));
      if (others.empty()) C19_TRY(tx.Exec("DELETE FROM storage_locations WHERE blob_key = ?", {blob}));
      else locations.clear();  // still referenced (never happens today; kept safe)
      return OkStatus();
    }));
    DropBlob(blob, locations);
    return OkStatus();
  }

  Result<ListPage> List(Namespace ns, const std::string& prefix, const std::string& page_token,
                        int64_t limit) override {
    std::string after;
    if (!page_token.empty()) {
      std::string decoded;
      if (page_token.size() % 2 || page_token.size() > 4096) {
        return Error::Field("page_token", "page_token is not valid");
      }
      for (size_t i = 0; i < page_token.size(); i += 2) {
        auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
        int hi = hex(page_token[i]), lo = hex(page_token[i + 1]);
        if (hi < 0 || lo < 0) return Error::Field("page_token", "page_token is not valid");
        decoded.push_back(static_cast<char>(hi * 16 + lo));
      }
      after = decoded;
    }
    db::Select q("SELECT object_key FROM storage_objects");
    q.Where("ns = ?", {std::string(NamespaceName(ns))});
    if (!prefix.empty()) {
      // LIKE would treat % and _ specially: compare the key's start instead.
      q.Where("substr(object_key, 1, ?) = ?", {static_cast<int64_t>(prefix.size()), prefix});
    }
    if (!after.empty()) q.Where("object_key > ?", {after});
    q.Where("expires_at IS NULL OR expires_at > ?", {clock_->NowMs()});
    q.OrderBy("object_key").Limit(limit);
    C19_ASSIGN_OR_RETURN(auto rows, q.Run(db_));
    ListPage page;
    for (const auto& r : rows) {
      auto row = Load(db_, ns, r.Text(0));
      if (row.ok()) page.items.push_back(std::move(row->info));
    }
    if (static_cast<int64_t>(rows.size()) == limit && !rows.empty()) {
      page.next_page_token = HexEncode(rows[rows.size() - 1].Text(0));
    }
    return page;
  }

  // ---------------------------------------------------------------- copies

  Result<ObjectInfo> CopyTo(Namespace ns, const std::string& key, const std::string& to_key,
                            const std::string& created_by) override {
    if (Status v = ValidateKey(to_key); !v.ok()) return Error::Field("to_key", v.error().message);
    C19_ASSIGN_OR_RETURN(Row row, Load(db_, ns, key));
    std::string chosen;
    C19_ASSIGN_OR_RETURN(BlobStore * backend, ReadLocation(row.info.locations, &chosen));
    C19_ASSIGN_OR_RETURN(auto src, backend->Get(row.blob_key, {}));
    PutOptions o;
    o.content_type = row.info.content_type;
    o.metadata = row.info.metadata;
    o.created_by = created_by;
    o.backend = chosen;
    o.expected_sha256 = row.info.sha256;  // a corrupt source is refused, not copied
    return Put(ns, to_key, *src, o);
  }

  Result<ObjectInfo> CopyToBackend(Namespace ns, const std::string& key, const std::string& target) override {
    C19_ASSIGN_OR_RETURN(BlobStore * dest, Backend(target));
    if (target.empty()) return Error::Field("to_backend", "to_backend is required");
    C19_ASSIGN_OR_RETURN(Row row, Load(db_, ns, key));
    C19_TRY(CopyBlob(row.blob_key, row.info, target, *dest));
    return Stat(ns, key);
  }

  // Streams one blob to another backend, checking its hash, and records the new location.
  Status CopyBlob(const std::string& blob_key, const ObjectInfo& info, const std::string& target, BlobStore& dest) {
    if (std::find(info.locations.begin(), info.locations.end(), target) != info.locations.end()) return OkStatus();
    std::vector<std::string> sources;
    for (const auto& l : info.locations) {
      if (l != target) sources.push_back(l);
    }
    C19_ASSIGN_OR_RETURN(BlobStore * src_store, ReadLocation(sources));
    C19_ASSIGN_OR_RETURN(auto src, src_store->Get(blob_key, {}));
    HashingSource hashing(*src, -1);
    C19_TRY(dest.Put(blob_key, hashing));
    if (hashing.HexDigest() != info.sha256) {
      (void)dest.Delete(blob_key);
      return Error::Internal("the source copy of " + info.key + " does not match its SHA-256; not replicated");
    }
    auto ins = db_.Exec("INSERT INTO storage_locations (blob_key, backend, created_at) VALUES (?, ?, ?) ON CONFLICT "
                        "(blob_key, backend) DO NOTHING",
                        {blob_key, target, clock_->NowMs()});
    if (!ins.ok()) {
      (void)dest.Delete(blob_key);
      return std::move(ins).error();
    }
    return OkStatus();
  }

  Result<VerifyResult> Verify(Namespace ns, const std::string& key) override {
    C19_TRY(ValidateKey(key));
    C19_ASSIGN_OR_RETURN(Row row, Load(db_, ns, key));
    VerifyResult v;
    v.expected_sha256 = row.info.sha256;
    v.ok = !row.info.locations.empty();
    std::vector<char> buf(kCopyBuffer);
    for (const auto& l : row.info.locations) {
      std::string actual;
      auto it = backends_.find(l);
      if (it != backends_.end()) {
        auto src = it->second->Get(row.blob_key, {});
        if (src.ok()) {
          HashingSource h(**src, -1);
          bool failed = false;
          while (true) {
            auto n = h.Read(buf.data(), buf.size());
            if (!n.ok()) {
              failed = true;
              break;
            }
            if (*n == 0) break;
          }
          if (!failed) actual = h.HexDigest();
        }
      }
      v.actual_sha256[l] = actual;
      v.ok = v.ok && actual == row.info.sha256;
    }
    return v;
  }

  Result<StorageStats> Stats() override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT l.backend, o.ns, o.top, COUNT(*), SUM(o.size) FROM storage_objects o "
                                              "JOIN storage_locations l ON l.blob_key = o.blob_key GROUP BY l.backend, "
                                              "o.ns, o.top ORDER BY l.backend, o.ns, o.top"));
    StorageStats st;
    for (const auto& r : rows) {
      st.usage.push_back({r.Text(0), r.Text(1) + "/" + r.Text(2), r.Int(3), r.Int(4)});
    }
    C19_ASSIGN_OR_RETURN(auto totals, db_.Query("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM storage_objects"));
    st.objects = totals[0].Int(0);
    st.bytes = totals[0].Int(1);
    return st;
  }

  // ---------------------------------------------------------------- replication

  Replication ToReplication(const db::Row& r) {
    return Replication{r.Text("id"),      r.Text("from_backend"), r.Text("to_backend"), r.Text("prefix"),
                       r.Text("status"),  r.Text("cursor_key"),  r.Int("copied"),      r.Int("skipped"),
                       r.Int("bytes"),    r.Int("failed"),       r.Text("error"),      r.Int("created_at"),
                       r.Int("updated_at")};
  }

  Result<Replication> StartReplication(const std::string& from, const std::string& to,
                                       const std::string& prefix) override {
    if (!backends_.contains(from)) return Error::Field("from_backend", "no storage backend named \"" + from + "\"");
    if (!backends_.contains(to)) return Error::Field("to_backend", "no storage backend named \"" + to + "\"");
    if (from == to) return Error::Field("to_backend", "to_backend must differ from from_backend");
    std::string id = NewId();
    int64_t now = clock_->NowMs();
    C19_TRY(db_.Exec("INSERT INTO storage_replications (id, from_backend, to_backend, prefix, status, created_at, "
                     "updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                     {id, from, to, prefix, now, now}));
    thread_cv_.notify_all();
    return GetReplication(id);
  }

  Result<Replication> GetReplication(const std::string& id) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT * FROM storage_replications WHERE id = ?", {id}));
    if (rows.empty()) return Error::NotFound("replication not found");
    return ToReplication(rows[0]);
  }

  Result<std::vector<Replication>> ListReplications() override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT * FROM storage_replications ORDER BY created_at DESC LIMIT 100"));
    std::vector<Replication> out;
    for (const auto& r : rows) out.push_back(ToReplication(r));
    return out;
  }

  // Processes one batch of a running replication; returns false when none is running.
  Result<bool> ReplicateBatch() {
    C19_ASSIGN_OR_RETURN(auto running, db_.Query("SELECT * FROM storage_replications WHERE status = 'running' ORDER "
                                                 "BY created_at LIMIT 1"));
    if (running.empty()) return false;
    Replication rep = ToReplication(running[0]);
    std::string cursor_ns = running[0].Text("cursor_ns");
    BlobStore* dest = backends_.at(rep.to_backend).get();
    // Objects in (ns, key) order after the cursor, whose physical key starts with the prefix.
    C19_ASSIGN_OR_RETURN(auto rows,
                         db_.Query("SELECT o.ns, o.object_key FROM storage_objects o JOIN storage_locations l ON "
                                   "l.blob_key = o.blob_key AND l.backend = ? WHERE (o.ns > ? OR (o.ns = ? AND "
                                   "o.object_key > ?)) ORDER BY o.ns, o.object_key LIMIT ?",
                                   {rep.from_backend, cursor_ns, cursor_ns, rep.cursor,
                                    static_cast<int64_t>(replication_batch_)}));
    int64_t copied = 0, skipped = 0, bytes = 0, failed = 0;
    std::string last_ns = cursor_ns, last_key = rep.cursor, error;
    bool stalled = false;
    for (const auto& r : rows) {
      std::string ns_name = r.Text(0), key = r.Text(1);
      auto advance = [&] {
        last_ns = ns_name;
        last_key = key;
      };
      if (!(ns_name + "/" + key).starts_with(rep.prefix)) {
        ++skipped;
        advance();
        continue;
      }
      auto row = Load(db_, ParseNs(ns_name), key);
      if (!row.ok() || std::find(row->info.locations.begin(), row->info.locations.end(), rep.to_backend) !=
                           row->info.locations.end()) {
        ++skipped;  // deleted or expired meanwhile, or already there
        advance();
        continue;
      }
      Status st = CopyBlob(row->blob_key, row->info, rep.to_backend, *dest);
      if (st.ok()) {
        ++copied;
        bytes += row->info.size;
      } else if (st.error().code == ErrorCode::kUnavailable) {
        // A backend is down: keep the cursor before this object and retry later.
        error = st.error().message;
        stalled = true;
        break;
      } else {
        ++failed;
        error = st.error().message;
      }
      advance();
    }
    bool done = !stalled && static_cast<int>(rows.size()) < replication_batch_;
    C19_TRY(db_.Exec("UPDATE storage_replications SET cursor_ns = ?, cursor_key = ?, copied = copied + ?, skipped = "
                     "skipped + ?, bytes = bytes + ?, failed = failed + ?, error = ?, status = ?, updated_at = ? WHERE id "
                     "= ?",
                     {last_ns, last_key, copied, skipped, bytes, failed, error,
                      done ? (rep.failed + failed > 0 ? "failed" : "completed") : "running", clock_->NowMs(), rep.id}));
    return !stalled;
  }

  Status RunReplications(int max_batches) override {
    for (int i = 0; max_batches < 0 || i < max_batches; ++i) {
      C19_ASSIGN_OR_RETURN(bool more, ReplicateBatch());
      if (!more) break;
    }
    return OkStatus();
  }

  // ---------------------------------------------------------------- expiry, gc, keys

  Result<int64_t> DeleteExpired() override {
    int64_t removed = 0;
    while (true) {
      C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT ns, object_key FROM storage_objects WHERE expires_at IS NOT "
                                                "NULL AND expires_at <= ? LIMIT 500",
                                                {clock_->NowMs()}));
      for (const auto& r : rows) {
        if (Delete(ParseNs(r.Text(0)), r.Text(1)).ok()) ++removed;
      }
      if (rows.size() < 500) break;
    }
    return removed;
  }

  Result<GcReport> CollectGarbage(bool remove, int64_t grace_ms) override {
    GcReport report;
    // Blob timestamps come from the filesystem or the S3 server: compare with the real clock.
    int64_t cutoff = NowMs() - grace_ms;
    for (const auto& [name, store] : backends_) {
      for (Namespace ns : kAllNamespaces) {
        std::string prefix = std::string(NamespaceName(ns)) + "/";
        std::string after;
        while (true) {
          C19_ASSIGN_OR_RETURN(BlobListing page, store->List(prefix, after, 500));
          for (const auto& [key, st] : page.items) {
            after = key;
            C19_ASSIGN_OR_RETURN(auto known, db_.Query("SELECT 1 FROM storage_locations WHERE blob_key = ? AND "
                                                       "backend = ?",
                                                       {key, name}));
            if (!known.empty() || st.modified_ms > cutoff) continue;
            report.orphans.emplace_back(name, key);
            report.bytes += st.size;
            if (remove && store->Delete(key).ok()) ++report.removed;
          }
          if (!page.truncated && page.items.size() < 500) break;
          if (page.items.empty()) break;
        }
      }
    }
    return report;
  }

  Result<int64_t> ReencryptAll() override {
    int64_t rewritten = 0;
    for (const auto& [name, store] : backends_) {
      if (store->kind().rfind("encrypted+", 0) != 0) continue;
      C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT blob_key FROM storage_locations WHERE backend = ?", {name}));
      std::string active = ActiveEncryptionKey(*store);
      for (const auto& r : rows) {
        std::string blob = r.Text(0);
        C19_ASSIGN_OR_RETURN(std::string key_id, EncryptionKeyOf(*store, blob));
        if (key_id == active) continue;
        C19_ASSIGN_OR_RETURN(auto plain, store->Get(blob, {}));
        std::string tmp = blob + ".reencrypt";
        C19_TRY(store->Put(tmp, *plain));
        C19_TRY(store->Move(tmp, blob));
        ++rewritten;
      }
    }
    return rewritten;
  }

  void Background() {
    int64_t next_clean = 0;
    std::unique_lock lock(thread_mu_);
    while (!stop_) {
      lock.unlock();
      if (SteadyNowMs() >= next_clean) {
        auto n = DeleteExpired();
        if (n.ok() && *n > 0) log::Info("expired objects removed", {{"count", *n}});
        if (!n.ok()) log::Warn("expiry sweep failed", {{"error", n.error().message}});
        next_clean = SteadyNowMs() + cleaner_interval_ms_;
      }
      auto more = ReplicateBatch();
      if (!more.ok()) log::Warn("replication batch failed", {{"error", more.error().message}});
      lock.lock();
      if (!more.ok() || !*more) {
        thread_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(cleaner_interval_ms_, 1000)));
      }
    }
  }

 private:
  db::Database& db_;
  std::map<std::string, std::unique_ptr<BlobStore>> backends_;
  std::string primary_;
  bool verify_on_read_;
  int64_t cleaner_interval_ms_;
  int replication_batch_;
  const Clock* clock_;
  metrics::Counter& bytes_in_;
  metrics::Counter& bytes_out_;
  std::mutex thread_mu_;  // guards stop_, thread_
  std::condition_variable thread_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::string_view NamespaceName(Namespace ns) {
  switch (ns) {
    case Namespace::kFiles: return "files";
    case Namespace::kModels: return "models";
    case Namespace::kCheckpoints: return "checkpoints";
    case Namespace::kDatasets: return "datasets";
    case Namespace::kResults: return "results";
  }
  return "files";
}

std::string PhysicalKey(Namespace ns, std::string_view key) {
  return std::string(NamespaceName(ns)) + "/" + std::string(key);
}

Status ValidateKey(std::string_view key) {
  auto bad = [&](const std::string& why) { return Error::Field("key", "key " + why); };
  if (key.empty()) return bad("must not be empty");
  if (key.size() > 1024) return bad("must be at most 1024 bytes");
  if (key.front() == '/') return bad("must not start with '/'");
  if (!ValidUtf8(key)) return bad("must be valid UTF-8");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return bad("must not contain control characters");
    if (c == '\\') return bad("must not contain '\\'");
    if (c == ':') return bad("must not contain ':'");
  }
  for (const auto& seg : Split(key, '/')) {
    if (seg.empty()) return bad("must not contain empty segments (\"//\" or a trailing '/')");
    if (seg == "." || seg == "..") return bad("must not contain '.' or '..' segments");
  }
  return OkStatus();
}

std::unique_ptr<ByteSource> StringSource(std::string data) {
  return std::make_unique<StringByteSource>(std::move(data));
}

Result<std::string> ReadAll(ByteSource& source, size_t limit) {
  std::string out;
  char buf[65536];
  while (true) {
    C19_ASSIGN_OR_RETURN(size_t n, source.Read(buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
    if (out.size() > limit) return Error::PayloadTooLarge("more than " + std::to_string(limit) + " bytes");
  }
}

Result<std::unique_ptr<StorageService>> StorageService::Create(db::Database& db, StorageOptions options) {
  if (options.backends.empty()) return Error::Field("storage.url", "no storage backend configured");
  if (options.primary.empty()) options.primary = options.backends.begin()->first;
  if (!options.backends.contains(options.primary)) {
    return Error::Field("storage.primary", "storage.primary names no configured backend: \"" + options.primary + "\"");
  }
  return std::unique_ptr<StorageService>(new StorageServiceImpl(db, std::move(options)));
}

}  // namespace c19ai::storage
