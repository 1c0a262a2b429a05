// Local folder backend. Writes go to a temporary file in <root>/.tmp, are fsync'ed, renamed into place
// and the folder is fsync'ed, so a crash never leaves a half-written object visible under its key.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/ids.h"
#include "storage/storage.h"

namespace c19ai::storage {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBuffer = 1 << 20;
constexpr std::string_view kTmp = ".tmp";

Error IoError(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return Error::NotFound(msg);
  if (err == ENOSPC || err == EDQUOT) return Error::ResourceExhausted(msg);
  return Error::Unavailable(msg);
}

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, int64_t offset, int64_t length) : fd_(fd), pos_(offset), left_(length) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* data, size_t size) override {
    if (left_ <= 0) return size_t{0};
    // Keep the disk busy ahead of the reader: ask for the next 16 MiB asynchronously.
    if (pos_ >= advised_) {
      int64_t ahead = std::min<int64_t>(left_, kAdvise);
      ::posix_fadvise(fd_, pos_, ahead, POSIX_FADV_WILLNEED);
      advised_ = pos_ + ahead / 2;
    }
    size_t want = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(size)));
    ssize_t n;
    do {
      n = ::pread(fd_, data, want, pos_);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return IoError("reading a blob", errno);
    if (n == 0) return Error::Internal("blob ended early (modified while read?)");
    pos_ += n;
    left_ -= n;
    return static_cast<size_t>(n);
  }

 private:
  static constexpr int64_t kAdvise = 16 << 20;
  int fd_;
  int64_t pos_;
  int64_t left_;
  int64_t advised_ = 0;
};

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return IoError("opening " + dir.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("syncing " + dir.string(), err);
  return OkStatus();
}

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(std::string root) : root_(std::move(root)) {}

  std::string kind() const override { return "local"; }

  Status EnsureDirs(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec) return Error::Unavailable("cannot create folder " + p.string() + ": " + ec.message());
    return OkStatus();
  }

  fs::path PathOf(const std::string& key) const { return root_ / key; }

  // Writes `source` to a fresh temporary file; returns its path and size. Full 1 MiB blocks are
  // written with O_DIRECT (no copy into the page cache: on a 2-core machine that copy was the largest
  // cost of an upload); the unaligned tail goes through the page cache; fdatasync makes it durable.
  // Filesystems without O_DIRECT (tmpfs) get ordinary writes.
  Result<std::pair<fs::path, int64_t>> WriteTemp(ByteSource& source) {
    fs::path tmp_dir = root_ / kTmp;
    C19_TRY(EnsureDirs(tmp_dir));
    fs::path tmp = tmp_dir / NewId();
    void* mem = nullptr;
    if (::posix_memalign(&mem, 4096, kBuffer) != 0) return Error::ResourceExhausted("out of memory");
    std::unique_ptr<char, decltype(&std::free)> buf(static_cast<char*>(mem), &std::free);
    // Read the first block before opening: objects smaller than a block never use O_DIRECT.
    size_t first = 0;
    bool eof = false;
    while (first < kBuffer) {
      C19_ASSIGN_OR_RETURN(size_t n, source.Read(buf.get() + first, kBuffer - first));
      if (n == 0) {
        eof = true;
        break;
      }
      first += n;
    }
    bool direct = !eof;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (direct ? O_DIRECT : 0), 0640);
    if (fd < 0 && direct && errno == EINVAL) {
      direct = false;
      fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    }
    if (fd < 0) return IoError("creating " + tmp.string(), errno);
    auto fail = [&](Error e) -> Error {
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    };
    int64_t total = 0;
    size_t filled = first;
    for (bool first_block = true;; first_block = false) {
      if (!first_block) {
        if (eof) break;
        filled = 0;
        while (filled < kBuffer) {  // O_DIRECT wants whole blocks: fill the buffer
          auto n = source.Read(buf.get() + filled, kBuffer - filled);
          if (!n.ok()) return fail(std::move(n).error());
          if (*n == 0) {
            eof = true;
            break;
          }
          filled += *n;
        }
      }
      if (filled == 0) break;
      if (direct && (filled % 4096) != 0) {  // the tail: back to buffered writes
        int flags = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
        direct = false;
      }
      size_t off = 0;
      while (off < filled) {
        ssize_t w = ::write(fd, buf.get() + off, filled - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          if (errno == EINVAL && direct) {  // the filesystem refused O_DIRECT after all
            int flags = ::fcntl(fd, F_GETFL);
            ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
            direct = false;
            continue;
          }
          return fail(IoError("writing " + tmp.string(), errno));
        }
        off += static_cast<size_t>(w);
      }
      total += static_cast<int64_t>(filled);
    }
    if (::fdatasync(fd) != 0) return fail(IoError("syncing " + tmp.string(), errno));
    ::close(fd);
    return std::make_pair(tmp, total);
  }

  Status Install(const fs::path& tmp, const std::string& key) {
    fs::path dest = PathOf(key);
    Status dirs = EnsureDirs(dest.parent_path());
    if (!dirs.ok()) {
      ::unlink(tmp.c_str());
      return dirs;
    }
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return IoError("renaming into " + dest.string(), err);
    }
    return FsyncDir(dest.parent_path());
  }

  Result<int64_t> Put(const std::string& key, ByteSource& source) override {
    C19_ASSIGN_OR_RETURN(auto tmp, WriteTemp(source));
    C19_TRY(Install(tmp.first, key));
    return tmp.second;
  }

  Result<std::unique_ptr<ByteSource>> Get(const std::string& key, ByteRange range) override {
    fs::path p = PathOf(key);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("opening blob " + key, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Error::NotFound("blob " + key + " not found");
    }
    int64_t size = st.st_size;
    if (range.offset < 0 || (range.offset > size) || (range.offset == size && size > 0 && range.length != 0)) {
      ::close(fd);
      return Error::InvalidArgument("range starts at " + std::to_string(range.offset) + ", past the end (" +
                                    std::to_string(size) + " bytes)");
    }
    int64_t length = range.length < 0 ? size - range.offset : std::min(range.length, size - range.offset);
    ::posix_fadvise(fd, range.offset, length, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<ByteSource>(new FileSource(fd, range.offset, length));
  }

  Result<BlobStat> Head(const std::string& key) override {
    struct stat st {};
    if (::stat(PathOf(key).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Error::NotFound("blob " + key + " not found");
    }
    return BlobStat{st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000};
  }

  Status Delete(const std::string& key) override {
    if (::unlink(PathOf(key).c_str()) != 0 && errno != ENOENT) return IoError("deleting blob " + key, errno);
    return OkStatus();
  }

  Result<BlobListing> List(const std::string& prefix, const std::string& after, int limit) override {
    // Walk from the deepest folder the prefix names.
    std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    fs::path start = root_ / dir_part;
    std::vector<std::pair<std::string, BlobStat>> found;
    std::error_code ec;
    bool exists = fs::is_directory(start, ec);
    ec.clear();  // a missing folder is an empty listing
    if (exists) {
      for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string rel = fs::relative(it->path(), root_, ec).string();
        if (rel.starts_with(kTmp)) continue;
        if (!rel.starts_with(prefix) || rel <= after) continue;
        struct stat st {};
        if (::stat(it->path().c_str(), &st) != 0) continue;
        found.emplace_back(rel, BlobStat{st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000});
      }
    }
    if (ec) return Error::Unavailable("listing " + start.string() + ": " + ec.message());
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    BlobListing out;
    if (static_cast<int>(found.size()) > limit) {
      found.resize(static_cast<size_t>(limit));
      out.truncated = true;
    }
    out.items = std::move(found);
    return out;
  }

  Status Copy(const std::string& from, const std::string& to) override {
    C19_ASSIGN_OR_RETURN(auto src, Get(from, {}));
    C19_TRY(Put(to, *src));
    return OkStatus();
  }

  Status Move(const std::string& from, const std::string& to) override {
    fs::path dest = PathOf(to);
    C19_TRY(EnsureDirs(dest.parent_path()));
    if (::rename(PathOf(from).c_str(), dest.c_str()) != 0) return IoError("moving blob " + from, errno);
    return FsyncDir(dest.parent_path());
  }

 private:
  fs::path root_;
};

}  // namespace

std::unique_ptr<BlobStore> NewLocalBlobStore(std::string root) {
  return std::make_unique<LocalBlobStore>(std::move(root));
}

Status BlobStore::Move(const std::string& from, const std::string& to) {
  C19_TRY(Copy(from, to));
  return Delete(from);
}

}  // namespace c19ai::storage
