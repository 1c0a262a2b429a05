// The dataset service in one process (SQLite, local blob store) on a CSV file: ingest (spool, parse,
// profile, store), validation alone, and validation + profiling in one pass. Prints MB/s per phase
// and the process's peak RSS (VmHWM), which the engine must keep constant in the file's size.
//
//   c19ai_bench_datasets FILE.csv SCHEMA.json [WORK_DIR]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/json.h"
#include "storage/storage.h"
#include "validation/validation.h"

using namespace c19ai;

namespace {

int64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class FileSource final : public storage::ByteSource {
 public:
  explicit FileSource(const std::string& path) : in_(path, std::ios::binary) {}
  Result<size_t> Read(char* data, size_t size) override {
    in_.read(data, static_cast<std::streamsize>(size));
    return static_cast<size_t>(in_.gcount());
  }

 private:
  std::ifstream in_;
};

// CPU seconds (user + system) of the whole process so far: with other work on the machine, MB per
// CPU-second says what the pass costs, wall-clock MB/s what it got.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Die(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE.csv SCHEMA.json [WORK_DIR]\n", argv[0]);
    return 2;
  }
  std::string file = argv[1];
  std::string work = argc > 3 ? argv[3] : std::filesystem::temp_directory_path().string() + "/c19ai-bench-datasets";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  std::stringstream ss;
  ss << std::ifstream(argv[2]).rdbuf();
  auto schema = validation::ParseSchema(ss.str());
  if (!schema.ok()) return Die(schema.error());
  const double mb = static_cast<double>(std::filesystem::file_size(file)) / 1e6;

  auto db = db::Open({.url = "sqlite://" + work + "/bench.db"});
  if (!db.ok()) return Die(db.error());
  auto files = storage::Migrations();
  auto more = validation::Migrations();
  files.insert(files.end(), more.begin(), more.end());
  if (auto m = db::Migrate(**db, files); !m.ok()) return Die(m.error());
  storage::StorageOptions so;
  so.backends["local"] = storage::NewLocalBlobStore(work + "/blobs");
  so.primary = "local";
  auto store = storage::StorageService::Create(**db, std::move(so));
  if (!store.ok()) return Die(store.error());
  validation::Options vo;
  vo.spool_dir = work + "/spool";
  auto svc = validation::DatasetService::Create(**db, **store, vo);
  if (!svc.ok()) return Die(svc.error());
  Principal who = Principal::System();

  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  FileSource src(file);
  auto d = (*svc)->Upload(who, "bench", {}, src);
  if (!d.ok()) return Die(d.error());
  double ingest = Seconds(t0), ingest_cpu = CpuSeconds() - c0;
  int64_t rss_ingest = PeakRssKb();

  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  auto v = (*svc)->Validate(who, d->id, *schema, /*profile=*/false);
  if (!v.ok()) return Die(v.error());
  double validate = Seconds(t0), validate_cpu = CpuSeconds() - c0;

  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  auto vp = (*svc)->Validate(who, d->id, *schema, /*profile=*/true);
  if (!vp.ok()) return Die(vp.error());
  double both = Seconds(t0), both_cpu = CpuSeconds() - c0;
  int64_t rss = PeakRssKb();

  std::printf("file: %.0f MB, %lld rows, %lld errors found\n", mb, static_cast<long long>(d->rows),
              static_cast<long long>(vp->error_count));
  std::printf("ingest (spool, parse, profile, store): %.2f s, %.0f MB/s (%.2f CPU s)\n", ingest, mb / ingest, ingest_cpu);
  std::printf("validate: %.2f s, %.0f MB/s (%.2f CPU s, %.0f MB per CPU second)\n", validate, mb / validate,
              validate_cpu, mb / validate_cpu);
  std::printf("validate + profile (one pass, 2 threads): %.2f s, %.0f MB/s (%.2f CPU s, %.0f MB per CPU second)\n",
              both, mb / both, both_cpu, mb / both_cpu);
  std::printf("peak RSS: %.0f MB after ingest, %.0f MB at the end\n", rss_ingest / 1024.0, rss / 1024.0);
  std::filesystem::remove_all(work);
  return 0;
}
