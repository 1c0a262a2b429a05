#pragma once
// Process-wide metrics in the Prometheus text exposition format (version 0.0.4).
// Metric objects are created once (at registration time) and then updated lock-free with relaxed
// atomics; references returned by the registry stay valid for the life of the process.
// Values computed at scrape time (queue depth, cache statistics) come from collectors.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace c19ai::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double v) { v_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  // Upper bounds in increasing order; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is the +Inf bucket).
  uint64_t BucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  // The value below which fraction q of observations fall, interpolated within buckets.
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 100 µs to 30 s.
const std::vector<double>& LatencyBuckets();

struct Sample {
  std::string suffix;  // "", "_bucket", "_sum", "_count"
  Labels labels;
  double value = 0;
};
struct Family {
  std::string name, help, type;  // type: counter | gauge | histogram
  std::vector<Sample> samples;
};
using Collector = std::function<void(std::vector<Family>& out)>;

class Registry {
 public:
  Registry();
  ~Registry();
  static Registry& Default();

  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          const std::vector<double>& bounds = LatencyBuckets());
  // Returns an id for RemoveCollector. Collectors run on the scraping thread and must not block long.
  int AddCollector(Collector collector);
  void RemoveCollector(int id);

  std::string Expose() const;

 private:
  struct Series;
  struct FamilyDef;
  FamilyDef& Def(std::string_view name, std::string_view help, std::string_view type);
  mutable std::mutex mu_;  // guards families_, collectors_
  std::map<std::string, std::unique_ptr<FamilyDef>, std::less<>> families_;
  std::map<int, Collector> collectors_;
  int next_collector_ = 1;
};

// Writes one family in the text format (used by Expose and by tests).
void AppendFamily(std::string& out, const Family& family);

}  // namespace c19ai::metrics
