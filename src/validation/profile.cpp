// One-pass profiling in bounded memory: per column counts, distinct values (exact up to 10,000, then
// HyperLogLog), moments, quantiles (exact up to 100,000 values, then a merging t-digest), histogram,
// top values (exact, then Misra-Gries), inferred type and string lengths; duplicate rows and Pearson
// correlations; the quality score. Also the drift statistics (KS, PSI, Jensen-Shannon, L-infinity).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#include "validation/engine.h"

namespace c19ai::validation::internal {

namespace {

constexpr size_t kExactDistinct = 10000;
constexpr size_t kExactValues = 100000;
constexpr size_t kTopK = 10;
constexpr int64_t kFullDigest = 1 << 20;  // values the t-digest takes one by one
constexpr double kSampleWeight = 4;
constexpr size_t kDupSlots = size_t{1} << 22;  // 32 MiB of row hashes; beyond 3/4 full, duplicates are a lower bound

class HyperLogLog {
 public:
  HyperLogLog() : reg_(1 << kP, 0) {}
  void Prefetch(uint64_t h) const { __builtin_prefetch(&reg_[h >> (64 - kP)], 1); }
  void Add(uint64_t h) {
    size_t idx = h >> (64 - kP);
    uint64_t rest = (h << kP) | (uint64_t{1} << (kP - 1));
    uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    if (rank > reg_[idx]) reg_[idx] = rank;
  }
  double Estimate() const {
    const double m = static_cast<double>(reg_.size());
    double sum = 0;
    int zeros = 0;
    for (uint8_t r : reg_) {
      sum += std::ldexp(1.0, -r);
      zeros += r == 0;
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);
    return e;
  }

 private:
  static constexpr int kP = 14;
  std::vector<uint8_t> reg_;
};

// Merging t-digest (Dunning), compression 200. Values are buffered and merged 16,384 at a time;
// SetSampleWeight switches to adding a Bernoulli sample whose values carry that weight.
class TDigest {
 public:
  void Add(double x) {
    buf_.push_back(x);
    if (buf_.size() >= 16384) Merge();
  }
  void SetSampleWeight(double w) {
    Merge();
    weight_ = w;
  }
  // The exact extremes (a sample may miss them).
  void Bounds(double lo, double hi) {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  double Quantile(double q) {
    Merge();
    if (c_.empty()) return NAN;
    if (c_.size() == 1) return c_[0].mean;
    double total = 0;
    for (auto& c : c_) total += c.w;
    double target = q * total;
    double cum = 0;
    for (size_t i = 0; i < c_.size(); ++i) {
      double mid = cum + c_[i].w / 2;
      if (target < mid) {
        if (i == 0) return min_ + (c_[0].mean - min_) * (c_[0].w > 1 ? target / (c_[0].w / 2) : 1);
        double prev_mid = cum - c_[i - 1].w / 2;
        double t = (target - prev_mid) / (mid - prev_mid);
        return c_[i - 1].mean + t * (c_[i].mean - c_[i - 1].mean);
      }
      cum += c_[i].w;
    }
    double last_mid = total - c_.back().w / 2;
    double t = c_.back().w / 2 > 0 ? (target - last_mid) / (c_.back().w / 2) : 1;
    return c_.back().mean + std::min(1.0, t) * (max_ - c_.back().mean);
  }
  // Share of values <= x.
  double Cdf(double x) {
    Merge();
    double total = 0, below = 0;
    for (auto& c : c_) total += c.w;
    if (total == 0) return 0;
    if (x < min_) return 0;
    if (x >= max_) return 1;
    for (size_t i = 0; i < c_.size(); ++i) {
      if (x < c_[i].mean) {
        double lo = i == 0 ? min_ : c_[i - 1].mean;
        double wlo = i == 0 ? 0 : c_[i - 1].w / 2;
        double t = c_[i].mean > lo ? (x - lo) / (c_[i].mean - lo) : 1;
        return (below - wlo + t * (wlo + c_[i].w / 2)) / total;
      }
      below += c_[i].w;
    }
    return 1;
  }

 private:
  struct Centroid {
    double mean, w;
  };
  void Merge() {
    if (buf_.empty()) return;
    RadixSort(buf_, scratch_);
    min_ = std::min(min_, buf_.front());
    max_ = std::max(max_, buf_.back());
    std::vector<Centroid> all;
    all.reserve(c_.size() + buf_.size());
    size_t a = 0, b = 0;
    while (a < c_.size() || b < buf_.size()) {
      if (b >= buf_.size() || (a < c_.size() && c_[a].mean <= buf_[b])) all.push_back(c_[a++]);
      else all.push_back({buf_[b++], weight_});
    }
    buf_.clear();
    double total = 0;
    for (auto& c : all) total += c.w;
    c_.clear();
    const double delta = 200;
    auto k = [&](double q) { return delta / (2 * M_PI) * std::asin(2 * std::min(1.0, std::max(0.0, q)) - 1); };
    // A centroid grows while k(q) - k(q_start) <= 1; k is increasing, so that is q <= the q where k
    // reaches k(q_start) + 1, computed once per centroid instead of an asin per value.
    auto q_limit = [&](double k_start) {
      double angle = (k_start + 1) * 2 * M_PI / delta;
      return angle >= M_PI / 2 ? INFINITY : (1 + std::sin(angle)) / 2;
    };
    double so_far = 0;
    Centroid cur = all[0];
    double limit = q_limit(k(0));
    for (size_t i = 1; i < all.size(); ++i) {
      double q = (so_far + cur.w + all[i].w) / total;
      if (q <= limit) {
        cur.mean += (all[i].mean - cur.mean) * all[i].w / (cur.w + all[i].w);
        cur.w += all[i].w;
      } else {
        so_far += cur.w;
        c_.push_back(cur);
        limit = q_limit(k(so_far / total));
        cur = all[i];
      }
    }
    c_.push_back(cur);
  }
  // LSD radix sort of doubles by their IEEE bits made order-preserving (negatives inverted, the sign
  // bit of the others set), a byte per pass, skipping the bytes every value shares: the buffer's
  // values are sorted several times faster than by comparisons.
  static void RadixSort(std::vector<double>& v, std::vector<uint64_t>& scratch) {
    const size_t n = v.size();
    scratch.resize(2 * n);
    uint64_t* keys = scratch.data();
    uint64_t* other = keys + n;
    for (size_t i = 0; i < n; ++i) {
      uint64_t u;
      std::memcpy(&u, &v[i], 8);
      keys[i] = (u >> 63) ? ~u : u | (uint64_t{1} << 63);
    }
    for (int shift = 0; shift < 64; shift += 8) {
      size_t count[257] = {};
      for (size_t i = 0; i < n; ++i) ++count[((keys[i] >> shift) & 0xFF) + 1];
      if (count[((keys[0] >> shift) & 0xFF) + 1] == n) continue;  // every value has this byte
      for (size_t b = 0; b < 256; ++b) count[b + 1] += count[b];
      for (size_t i = 0; i < n; ++i) other[count[(keys[i] >> shift) & 0xFF]++] = keys[i];
      std::swap(keys, other);
    }
    for (size_t i = 0; i < n; ++i) {
      uint64_t u = (keys[i] >> 63) ? keys[i] & ~(uint64_t{1} << 63) : ~keys[i];
      std::memcpy(&v[i], &u, 8);
    }
  }
  std::vector<Centroid> c_;
  std::vector<double> buf_;
  std::vector<uint64_t> scratch_;
  double weight_ = 1;
  double min_ = INFINITY, max_ = -INFINITY;
};

// numpy's default (linear) quantile of sorted values.
double LinearQuantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

struct TopEntry {
  std::string value;
  int64_t count = 0;
};

// Value counts keyed by the value's 64-bit hash: open addressing over a power-of-two table kept at
// most half full, entries in insertion order (no allocation per lookup, few cache lines for the
// low-cardinality columns that are looked up on every row). The running count lives in the slot, so
// counting a value seen before touches only the (prefetched) slot; entries() brings them up to date.
class FlatCounts {
 public:
  void Prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }
  // The count of the value with hash h, or null when it is not counted.
  int64_t* Find(uint64_t h) {
    if (slots_.empty()) return nullptr;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.index < 0) return nullptr;
      if (s.key == h) return &s.count;
    }
  }
  void Insert(uint64_t h, TopEntry e) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    Place(h, static_cast<int32_t>(entries_.size()), e.count);
    entries_.emplace_back(h, std::move(e));
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::pair<uint64_t, TopEntry>>& entries() {
    Sync();
    return entries_;
  }
  const std::vector<std::pair<uint64_t, TopEntry>>& entries() const {
    Sync();
    return entries_;
  }
  void Reset(std::vector<std::pair<uint64_t, TopEntry>> keep) {
    // Give the memory back: a column past kExactDistinct keeps at most a few hundred values.
    std::vector<std::pair<uint64_t, TopEntry>>().swap(entries_);
    std::vector<Slot>().swap(slots_);
    mask_ = 0;
    for (auto& [h, e] : keep) Insert(h, std::move(e));
  }

 private:
  struct Slot {
    uint64_t key = 0;
    int64_t count = 0;
    int32_t index = -1;
  };
  void Place(uint64_t h, int32_t index, int64_t count) {
    size_t i = h & mask_;
    while (slots_[i].index >= 0) i = (i + 1) & mask_;
    slots_[i] = {h, count, index};
  }
  void Sync() const {
    for (const Slot& s : slots_) {
      if (s.index >= 0) entries_[static_cast<size_t>(s.index)].second.count = s.count;
    }
  }
  void Grow() {
    Sync();
    size_t n = slots_.empty() ? 64 : slots_.size() * 2;
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    for (size_t k = 0; k < entries_.size(); ++k) {
      Place(entries_[k].first, static_cast<int32_t>(k), entries_[k].second.count);
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  mutable std::vector<std::pair<uint64_t, TopEntry>> entries_;  // counts as of the last Sync()
};

struct ColumnStats {
  int64_t count = 0, missing = 0;
  // types
  int64_t n_int = 0, n_float = 0, n_bool = 0, n_date = 0, n_datetime = 0;
  // numeric moments (Welford)
  int64_t n_num = 0;
  double mean = 0, m2 = 0, min = INFINITY, max = -INFINITY, sum = 0;
  std::vector<double> values;  // exact, up to kExactValues
  std::unique_ptr<TDigest> digest;
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  // distinct and top values
  FlatCounts counts;
  bool exact_distinct = true;
  HyperLogLog hll;
  // string lengths
  int64_t len_min = INT64_MAX, len_max = 0;
  double len_sum = 0;
  bool whitespace_issue_seen = false;
  int64_t padded = 0;  // values with leading/trailing spaces
};

// Open addressing set of 64-bit row hashes (0 is the empty marker).
class HashSet {
 public:
  HashSet() : slots_(kDupSlots, 0) {}
  static size_t SlotOf(uint64_t h) { return (h == 0 ? 1 : h) & (kDupSlots - 1); }
  // true when newly inserted; false when present; nullopt when full (no longer exact).
  std::optional<bool> Insert(uint64_t h) {
    if (h == 0) h = 1;
    if (size_ >= kDupSlots / 4 * 3) return std::nullopt;
    size_t i = h & (kDupSlots - 1);
    for (;;) {
      if (slots_[i] == 0) {
        slots_[i] = h;
        ++size_;
        return true;
      }
      if (slots_[i] == h) return false;
      i = (i + 1) & (kDupSlots - 1);
    }
  }

 private:
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

struct PairStats {
  int64_t n = 0;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
};

Json Finite(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

class ProfilerImpl final : public Profiler {
 public:
  void Add(const RecordReader& r) override {
    const size_t n = r.columns().size();
    if (cols_.size() < n) {
      cols_.resize(n);
      row_num_.resize(n);
      row_ok_.resize(n);
    }
    // First the hashes, prefetching the tables they index (HyperLogLog registers, count slots), so
    // that the cache misses of a row overlap instead of queueing one after the other.
    if (hashes_.size() < n) hashes_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (r.is_null(i)) continue;
      uint64_t h = r.hash(i);
      hashes_[i] = h;
      cols_[i].hll.Prefetch(h);
      cols_[i].counts.Prefetch(h);
    }
    uint64_t row_hash = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; ++i) {
      ColumnStats& c = cols_[i];
      row_ok_[i] = false;
      if (r.is_null(i)) {
        ++c.missing;
        row_hash = (row_hash ^ 0x51ED27) * 0x100000001b3ULL;
        continue;
      }
      std::string_view v = r.cell(i);
      ++c.count;
      uint64_t h = hashes_[i];
      row_hash = (row_hash ^ h) * 0x100000001b3ULL + i;
      c.hll.Add(h);
      if (c.exact_distinct) {
        if (int64_t* count = c.counts.Find(h)) {
          ++*count;
        } else if (c.counts.size() < kExactDistinct) {
          c.counts.Insert(h, TopEntry{std::string(v.substr(0, 256)), 1});
        } else {
          c.exact_distinct = false;
          KeepFrequent(c);
        }
      } else if (!c.counts.empty()) {
        if (int64_t* count = c.counts.Find(h)) ++*count;
      }
      int64_t len = static_cast<int64_t>(Utf8Length(v));
      c.len_min = std::min(c.len_min, len);
      c.len_max = std::max(c.len_max, len);
      c.len_sum += static_cast<double>(len);
      if (v.front() == ' ' || v.back() == ' ' || v.front() == '\t' || v.back() == '\t') ++c.padded;
      double d;
      int64_t iv;
      bool b;
      if (r.number(i, d)) {
        ++c.n_float;
        if (ParseInt(v, iv)) ++c.n_int;
        ++c.n_num;
        double delta = d - c.mean;
        c.mean += delta / static_cast<double>(c.n_num);
        c.m2 += delta * (d - c.mean);
        c.sum += d;
        c.min = std::min(c.min, d);
        c.max = std::max(c.max, d);
        if (!c.digest) {
          c.values.push_back(d);
          if (c.values.size() > kExactValues) {
            c.digest = std::make_unique<TDigest>();
            for (double x : c.values) c.digest->Add(x);
            c.values.clear();
            c.values.shrink_to_fit();
          }
        } else if (c.n_num <= kFullDigest) {
          c.digest->Add(d);
          if (c.n_num == kFullDigest) c.digest->SetSampleWeight(kSampleWeight);
        } else {
          // Past a million values the digest takes a uniform 1-in-4 sample weighted 4: the quantiles'
          // rank error stays near 1/sqrt(sample), under 0.1 %, at a quarter of the sorting.
          c.rng ^= c.rng << 13;
          c.rng ^= c.rng >> 7;
          c.rng ^= c.rng << 17;
          if ((c.rng & 3) == 0) c.digest->Add(d);
        }
        row_num_[i] = d;
        row_ok_[i] = true;
        if (v.size() <= 5 && ParseBool(v, b)) ++c.n_bool;
      } else if (v.size() <= 5 && ParseBool(v, b)) {
        ++c.n_bool;
      } else if (v.size() >= 10 && v.size() <= 35 && v[4] == '-') {
        int64_t days;
        double sec;
        if (ParseDate(v, "", days)) ++c.n_date;
        else if (ParseDateTime(v, "", sec)) ++c.n_datetime;
      }
    }
    // Row hashes go into the duplicate table in batches sorted by slot: one pass over the table in
    // address order instead of a cache and TLB miss per row in a table far larger than the caches.
    pending_.push_back(row_hash);
    if (pending_.size() >= kDupBatch) FlushDuplicates();
    ++rows_;
    // Pairwise correlations over columns numeric so far.
    if (pairs_.size() < n * n) pairs_.resize(n * n);
    for (size_t i = 0; i < n; ++i) {
      if (!row_ok_[i]) continue;
      for (size_t j = i + 1; j < n; ++j) {
        if (!row_ok_[j]) continue;
        PairStats& p = pairs_[i * n + j];
        double x = row_num_[i], y = row_num_[j];
        ++p.n;
        p.sx += x;
        p.sy += y;
        p.sxx += x * x;
        p.syy += y * y;
        p.sxy += x * y;
      }
    }
  }

  Json Finish(const std::vector<std::string>& columns, int64_t rows) override {
    FlushDuplicates();
    Json cols = Json::array();
    const size_t n = columns.size();
    cols_.resize(n);
    double completeness_num = 0, validity_num = 0, consistency_num = 0, cells = 0, nonnull = 0;
    std::vector<bool> numeric(n, false);
    for (size_t i = 0; i < n; ++i) {
      ColumnStats& c = cols_[i];
      c.missing = rows - c.count;  // JSON Lines: absent keys are missing too
      std::string type = InferType(c);
      numeric[i] = (type == "integer" || type == "float") && c.n_num > 0;
      Json j = {{"name", columns[i]}, {"type", type}, {"count", c.count}, {"missing", c.missing},
                {"missing_ratio", rows ? static_cast<double>(c.missing) / static_cast<double>(rows) : 0.0}};
      int64_t distinct = c.exact_distinct ? static_cast<int64_t>(c.counts.size()) : std::llround(c.hll.Estimate());
      j["distinct"] = distinct;
      j["distinct_exact"] = c.exact_distinct;
      j["type_counts"] = {{"integer", c.n_int}, {"float", c.n_float}, {"boolean", c.n_bool}, {"date", c.n_date},
                          {"datetime", c.n_datetime}, {"string", c.count - std::max({c.n_float, c.n_bool, c.n_date, c.n_datetime})}};
      if (c.n_num > 0) {
        double stdv = c.n_num > 1 ? std::sqrt(c.m2 / static_cast<double>(c.n_num - 1)) : NAN;
        j["min"] = c.min;
        j["max"] = c.max;
        j["mean"] = c.mean;
        j["std"] = Finite(stdv);
        j["sum"] = c.sum;
        Json q = Json::object();
        bool exact = !c.digest;
        if (exact) std::sort(c.values.begin(), c.values.end());
        else c.digest->Bounds(c.min, c.max);
        for (double p : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) {
          double v = exact ? LinearQuantile(c.values, p) : c.digest->Quantile(p);
          char key[16];
          std::snprintf(key, sizeof key, "%g", p);
          q[key] = Finite(v);
        }
        j["quantiles"] = q;
        j["quantiles_exact"] = exact;
        j["histogram"] = Histogram(c, exact);
      }
      if (c.count > 0) {
        j["length"] = {{"min", c.len_min}, {"max", c.len_max}, {"mean", c.len_sum / static_cast<double>(c.count)}};
      }
      j["top_values"] = TopValues(c);
      j["top_values_exact"] = c.exact_distinct;  // else approximate counts, or [] for a near-unique column
      cols.push_back(std::move(j));
      // Quality parts.
      cells += static_cast<double>(rows);
      completeness_num += static_cast<double>(c.count);
      nonnull += static_cast<double>(c.count);
      validity_num += static_cast<double>(TypeMatches(c, type));
      consistency_num += static_cast<double>(c.count - c.padded);
    }
    Json corr = Json::object();
    for (size_t i = 0; i < n; ++i) {
      if (!numeric[i]) continue;
      Json row = Json::object();
      for (size_t j = 0; j < n; ++j) {
        if (!numeric[j]) continue;
        if (i == j) {
          row[columns[j]] = 1.0;
          continue;
        }
        size_t a = std::min(i, j), b = std::max(i, j);
        const PairStats& p = pairs_.size() > a * n + b ? pairs_[a * n + b] : PairStats{};
        row[columns[j]] = Finite(Pearson(p));
      }
      corr[columns[i]] = row;
    }
    double completeness = cells > 0 ? completeness_num / cells : 1.0;
    double validity = nonnull > 0 ? validity_num / nonnull : 1.0;
    double uniqueness = rows > 0 ? 1.0 - static_cast<double>(duplicates_) / static_cast<double>(rows) : 1.0;
    double consistency = nonnull > 0 ? consistency_num / nonnull : 1.0;
    double score = 30 * completeness + 30 * validity + 20 * uniqueness + 20 * consistency;
    return {{"rows", rows},
            {"columns", cols},
            {"column_count", n},
            {"duplicate_rows", duplicates_},
            {"duplicate_rows_exact", dup_exact_},
            {"correlations", corr},
            {"quality_score", std::round(score * 1000) / 1000},
            {"quality",
             {{"completeness", completeness}, {"validity", validity}, {"uniqueness", uniqueness}, {"consistency", consistency},
              {"weights", {{"completeness", 0.3}, {"validity", 0.3}, {"uniqueness", 0.2}, {"consistency", 0.2}}},
              {"definitions",
               {{"completeness", "non-missing cells / all cells"},
                {"validity", "non-missing values that parse as their column's inferred type / non-missing values"},
                {"uniqueness", "1 - duplicate rows / rows"},
                {"consistency", "non-missing values without leading or trailing whitespace / non-missing values"}}}}}};
  }

 private:
  void FlushDuplicates() {
    if (dup_exact_) {
      // One counting-sort pass on the slot's top 8 bits: each bucket then falls in a 1/256th of the
      // table (128 KiB), which the cache holds while the bucket is inserted.
      constexpr int kShift = std::countr_zero(kDupSlots) - 8;
      size_t start[257] = {};
      for (uint64_t h : pending_) ++start[(HashSet::SlotOf(h) >> kShift) + 1];
      for (size_t b = 0; b < 256; ++b) start[b + 1] += start[b];
      sorted_.resize(pending_.size());
      for (uint64_t h : pending_) sorted_[start[HashSet::SlotOf(h) >> kShift]++] = h;
      for (uint64_t h : sorted_) {
        auto ins = dups_.Insert(h);
        if (!ins) {
          dup_exact_ = false;
          break;
        }
        if (!*ins) ++duplicates_;
      }
    }
    pending_.clear();
  }

  // Past kExactDistinct distinct values, top values become approximate: the kTracked most frequent
  // of the values seen so far keep being counted (heavy hitters show up early); a column whose values
  // were all distinct so far (an id) stops being tracked.
  static void KeepFrequent(ColumnStats& c) {
    constexpr size_t kTracked = 256;
    auto& all = c.counts.entries();
    int64_t repeated = 0;
    for (const auto& [h, e] : all) repeated += e.count > 1;
    if (repeated == 0) {
      c.counts.Reset({});
      return;
    }
    std::nth_element(all.begin(), all.begin() + kTracked, all.end(),
                     [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
    std::vector<std::pair<uint64_t, TopEntry>> kept(std::make_move_iterator(all.begin()),
                                                    std::make_move_iterator(all.begin() + kTracked));
    c.counts.Reset(std::move(kept));
  }

  // The most specific type at least 95% of the values have (integer > float > boolean > date >
  // datetime), else categorical for few distinct values, else string.
  static std::string InferType(const ColumnStats& c) {
    if (c.count == 0) return "string";
    auto most = [&](int64_t k) { return static_cast<double>(k) >= 0.95 * static_cast<double>(c.count); };
    if (c.n_bool == c.count && c.n_int < c.count) return "boolean";
    if (most(c.n_int)) return "integer";
    if (most(c.n_float)) return "float";
    if (most(c.n_bool)) return "boolean";
    if (most(c.n_date)) return "date";
    if (most(c.n_datetime + c.n_date) && c.n_datetime > 0) return "datetime";
    int64_t distinct = c.exact_distinct ? static_cast<int64_t>(c.counts.size()) : INT64_MAX;
    if (distinct <= 50 && c.count >= 20 && distinct * 4 <= c.count) return "categorical";
    return "string";
  }

  static int64_t TypeMatches(const ColumnStats& c, const std::string& type) {
    if (type == "integer") return c.n_int;
    if (type == "float") return c.n_float;
    if (type == "boolean") return c.n_bool;
    if (type == "date") return c.n_date;
    if (type == "datetime") return c.n_datetime + c.n_date;
    return c.count;
  }

  static double Pearson(const PairStats& p) {
    if (p.n < 2) return NAN;
    double n = static_cast<double>(p.n);
    double cov = p.sxy - p.sx * p.sy / n;
    double vx = p.sxx - p.sx * p.sx / n, vy = p.syy - p.sy * p.sy / n;
    if (vx <= 0 || vy <= 0) return NAN;
    return cov / std::sqrt(vx * vy);
  }

  static Json Histogram(ColumnStats& c, bool exact) {
    const int bins = 10;
    Json edges = Json::array(), counts = Json::array();
    double lo = c.min, hi = c.max;
    if (lo == hi) {
      lo -= 0.5;
      hi += 0.5;  // numpy's convention for a constant column
    }
    double width = (hi - lo) / bins;
    for (int b = 0; b <= bins; ++b) edges.push_back(lo + width * b);
    std::vector<int64_t> cnt(bins, 0);
    if (exact) {
      for (double v : c.values) {
        int b = static_cast<int>((v - lo) / width);
        cnt[static_cast<size_t>(std::clamp(b, 0, bins - 1))]++;
      }
    } else {
      double prev = 0;
      for (int b = 0; b < bins; ++b) {
        double cdf = b == bins - 1 ? 1.0 : c.digest->Cdf(lo + width * (b + 1));
        cnt[static_cast<size_t>(b)] = std::llround((cdf - prev) * static_cast<double>(c.n_num));
        prev = cdf;
      }
    }
    for (auto k : cnt) counts.push_back(k);
    return {{"edges", edges}, {"counts", counts}, {"exact", exact}};
  }

  static Json TopValues(const ColumnStats& c) {
    std::vector<const TopEntry*> all;
    for (const auto& [h, e] : c.counts.entries()) all.push_back(&e);
    size_t k = std::min(kTopK, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end(), [](const TopEntry* a, const TopEntry* b) {
      return a->count != b->count ? a->count > b->count : a->value < b->value;
    });
    Json out = Json::array();
    for (size_t i = 0; i < k; ++i) out.push_back({{"value", all[i]->value}, {"count", all[i]->count}});
    return out;
  }

  std::vector<ColumnStats> cols_;
  std::vector<uint64_t> hashes_;
  static constexpr size_t kDupBatch = 1 << 16;
  std::vector<uint64_t> pending_;  // row hashes not yet in dups_
  std::vector<uint64_t> sorted_;   // pending_ bucketed by slot
  std::vector<double> row_num_;
  std::vector<char> row_ok_;
  std::vector<PairStats> pairs_;
  HashSet dups_;
  bool dup_exact_ = true;
  int64_t duplicates_ = 0, rows_ = 0;
};

double KolmogorovPValue(double d, double n1, double n2) {
  // The limiting Kolmogorov distribution (scipy's kstwobign) at Stephens' corrected statistic
  // (sqrt(en) + 0.12 + 0.11 / sqrt(en)) * D, en = round(n1 n2 / (n1 + n2)). scipy's
  // ks_2samp(method="asymp") evaluates the finite-n kstwo(en) instead; the two differ by < 0.01 for
  // en >= 150 and < 0.015 below.
  double en = std::round(n1 * n2 / (n1 + n2));
  double z = (std::sqrt(en) + 0.12 + 0.11 / std::sqrt(en)) * d;
  if (z < 0.2) return 1.0;
  double sum = 0;
  for (int k = 1; k <= 100; ++k) {
    double term = std::exp(-2.0 * k * k * z * z);
    sum += (k % 2 ? 1 : -1) * term;
    if (term < 1e-17) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

}  // namespace

std::unique_ptr<Profiler> Profiler::Create() { return std::make_unique<ProfilerImpl>(); }

void Sample::Add(double v, size_t cap, uint64_t& rng) {
  ++seen;
  if (values.size() < cap) {
    values.push_back(v);
    return;
  }
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  uint64_t j = rng % static_cast<uint64_t>(seen);
  if (j < cap) values[j] = v;
}

KsResult KolmogorovSmirnov(std::vector<double> a, std::vector<double> b) {
  KsResult r;
  if (a.empty() || b.empty()) return r;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  size_t i = 0, j = 0;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double d = 0;
  while (i < a.size() && j < b.size()) {
    double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / na - static_cast<double>(j) / nb));
  }
  r.statistic = d;
  r.p_value = KolmogorovPValue(d, na, nb);
  return r;
}

double PopulationStability(const std::vector<double>& baseline, const std::vector<double>& current, int bins) {
  if (baseline.empty() || current.empty()) return 0;
  std::vector<double> sorted = baseline;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> cuts;
  for (int k = 1; k < bins; ++k) {
    double c = LinearQuantile(sorted, static_cast<double>(k) / bins);
    if (cuts.empty() || c > cuts.back()) cuts.push_back(c);
  }
  auto shares = [&](const std::vector<double>& v) {
    std::vector<double> s(cuts.size() + 1, 0);
    for (double x : v) s[static_cast<size_t>(std::upper_bound(cuts.begin(), cuts.end(), x) - cuts.begin())] += 1;
    for (double& x : s) x = std::max(x / static_cast<double>(v.size()), 1e-4);
    return s;
  };
  auto e = shares(baseline), a = shares(current);
  double psi = 0;
  for (size_t k = 0; k < e.size(); ++k) psi += (a[k] - e[k]) * std::log(a[k] / e[k]);
  return psi;
}

double JensenShannon(const std::unordered_map<std::string, double>& p, const std::unordered_map<std::string, double>& q) {
  std::unordered_map<std::string, std::pair<double, double>> all;
  double sp = 0, sq = 0;
  for (const auto& [k, v] : p) all[k].first = v, sp += v;
  for (const auto& [k, v] : q) all[k].second = v, sq += v;
  if (sp <= 0 || sq <= 0) return 0;
  double js = 0;
  for (const auto& [k, pq] : all) {
    double a = pq.first / sp, b = pq.second / sq, m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * std::log2(a / m);
    if (b > 0) js += 0.5 * b * std::log2(b / m);
  }
  return std::sqrt(std::max(0.0, js));
}

double LInfinity(const std::unordered_map<std::string, double>& p, const std::unordered_map<std::string, double>& q) {
  double sp = 0, sq = 0;
  for (const auto& [k, v] : p) sp += v;
  for (const auto& [k, v] : q) sq += v;
  if (sp <= 0 || sq <= 0) return 0;
  double d = 0;
  for (const auto& [k, v] : p) {
    auto it = q.find(k);
    d = std::max(d, std::fabs(v / sp - (it == q.end() ? 0 : it->second / sq)));
  }
  for (const auto& [k, v] : q)
    if (!p.count(k)) d = std::max(d, v / sq);
  return d;
}

}  // namespace c19ai::validation::internal
