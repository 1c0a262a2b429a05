// The two-thread pass: the calling thread parses (and validates), a second thread profiles.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "validation/engine.h"

namespace c19ai::validation::internal {

namespace {

constexpr size_t kBatchRecords = 2048;  // ~0.75 MB per batch on a 10-column file; a few in flight
constexpr size_t kMaxQueued = 4;

// Records copied out of a reader: cells in one arena, per-row flags and positions.
struct Batch {
  std::vector<std::string> columns;  // as of the batch's last record
  std::string arena;
  struct Cell {
    uint32_t offset, length;
    bool null, absent;
  };
  std::vector<Cell> cells;
  std::vector<size_t> row_start, row_cells;
  std::vector<int64_t> record, line, bytes;

  void Clear() {
    arena.clear();
    cells.clear();
    row_start.clear();
    row_cells.clear();
    record.clear();
    line.clear();
    bytes.clear();
  }
  // Copies the reader's current record. The reading thread also parses and validates, so it does no
  // more than copy: hashing and number parsing happen on the profiling thread.
  void Add(const RecordReader& r) {
    size_t n = r.columns().size();
    row_start.push_back(cells.size());
    row_cells.push_back(n);
    if (const auto* views = r.views(); views && views->size() == n) {
      for (std::string_view v : *views) {
        cells.push_back({static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(v.size()), v.empty(), false});
        arena.append(v);
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        std::string_view v = r.cell(i);
        cells.push_back({static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(v.size()), r.is_null(i), r.absent(i)});
        arena.append(v);
      }
    }
    record.push_back(r.record());
    line.push_back(r.line());
    bytes.push_back(r.bytes_read());
  }
  size_t size() const { return record.size(); }
};

class BatchRow final : public RecordReader {
 public:
  explicit BatchRow(const Batch& b) : b_(b) {}
  void At(size_t row) {
    row_ = row;
    first_ = b_.row_start[row];
    n_ = b_.row_cells[row];
  }
  const std::vector<std::string>& columns() const override { return b_.columns; }
  Result<bool> Next() override { return false; }
  std::string_view cell(size_t i) const override {
    if (i >= n_) return {};
    const auto& c = b_.cells[first_ + i];
    return std::string_view(b_.arena.data() + c.offset, c.length);
  }
  bool is_null(size_t i) const override { return i >= n_ || b_.cells[first_ + i].null; }
  bool absent(size_t i) const override { return i >= n_ || b_.cells[first_ + i].absent; }
  int64_t record() const override { return b_.record[row_]; }
  int64_t line() const override { return b_.line[row_]; }
  int64_t bytes_read() const override { return b_.bytes[row_]; }

 private:
  const Batch& b_;
  size_t row_ = 0, first_ = 0, n_ = 0;
};

}  // namespace

Status Scan(RecordReader& reader, Profiler* profiler, const std::function<void(const RecordReader&)>& per_record,
            const std::function<void(int64_t)>& progress, int64_t progress_every) {
  progress_every = std::max<int64_t>(progress_every, 1);
  int64_t next_progress = progress_every;
  auto report = [&] {
    if (progress && reader.bytes_read() >= next_progress) {
      progress(reader.bytes_read());
      next_progress = reader.bytes_read() + progress_every;
    }
  };
  if (!profiler) {
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool got, reader.Next());
      if (!got) return OkStatus();
      if (per_record) per_record(reader);
      report();
    }
  }
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Batch>> full;  // guarded by mu; at most kMaxQueued (the reader waits)
  std::vector<std::unique_ptr<Batch>> free_list;  // guarded by mu: recycled arenas
  bool done = false;                              // guarded by mu
  std::thread worker([&] {
    for (;;) {
      std::unique_ptr<Batch> b;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !full.empty() || done; });
        if (full.empty()) return;
        b = std::move(full.front());
        full.pop_front();
      }
      cv.notify_all();
      BatchRow row(*b);
      for (size_t i = 0; i < b->size(); ++i) {
        row.At(i);
        profiler->Add(row);
      }
      b->Clear();
      std::lock_guard lock(mu);
      free_list.push_back(std::move(b));
    }
  });
  auto finish = [&] {
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv.notify_all();
    worker.join();
  };
  auto batch = std::make_unique<Batch>();
  auto ship = [&] {
    batch->columns = reader.columns();
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return full.size() < kMaxQueued; });
    full.push_back(std::move(batch));
    if (!free_list.empty()) {
      batch = std::move(free_list.back());
      free_list.pop_back();
    } else {
      batch = std::make_unique<Batch>();
    }
    lock.unlock();
    cv.notify_all();
  };
  for (;;) {
    auto got = reader.Next();
    if (!got.ok()) {
      finish();
      return std::move(got).error();
    }
    if (!*got) break;
    if (per_record) per_record(reader);
    batch->Add(reader);
    if (batch->size() >= kBatchRecords) ship();
    report();
  }
  if (batch->size() > 0) ship();
  finish();
  return OkStatus();
}

}  // namespace c19ai::validation::internal
