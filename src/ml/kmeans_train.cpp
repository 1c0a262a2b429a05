// k-means: Lloyd's algorithm with greedy k-means++ or random initialisation and several seeded runs,
// the nearest-centroid assignment split over threads, and the silhouette coefficient on a sample.
// Plain C++ (no LibTorch): the same arithmetic as scikit-learn's KMeans(algorithm="lloyd").

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "common/json.h"
#include "ml/train.h"

namespace c19ai::ml {

namespace {

// Runs fn(begin, end) over [0, n) in up to `threads` contiguous parts; inline when the work is small.
template <typename Fn>
void ParallelFor(int64_t n, int threads, int64_t work_per_item, Fn fn) {
  int parts = std::max(1, std::min<int>(threads, static_cast<int>(std::max<int64_t>(n, 1))));
  if (parts == 1 || n * work_per_item < 200'000) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::jthread> pool;
  const int64_t step = (n + parts - 1) / parts;
  for (int p = 1; p < parts; ++p) {
    const int64_t b = p * step, e = std::min(n, b + step);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(n, step));
}

double SquaredDistance(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += diff * diff;
  }
  return s;
}

// Labels and squared distances of every row to its nearest centroid.
void Assign(const Matrix& x, const std::vector<float>& c, int64_t k, int threads, std::vector<int32_t>& labels,
            std::vector<double>& dist) {
  const int64_t d = x.cols;
  labels.resize(static_cast<size_t>(x.rows));
  dist.resize(static_cast<size_t>(x.rows));
  ParallelFor(x.rows, threads, k * d, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x.values.data() + r * d;
      double best = std::numeric_limits<double>::infinity();
      int32_t at = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double s = SquaredDistance(row, c.data() + j * d, d);
        if (s < best) {
          best = s;
          at = static_cast<int32_t>(j);
        }
      }
      labels[static_cast<size_t>(r)] = at;
      dist[static_cast<size_t>(r)] = best;
    }
  });
}

// Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's variant): each new centre is the best of
// 2 + ln(k) candidates drawn with probability proportional to the squared distance to the nearest centre.
std::vector<float> PlusPlus(const Matrix& x, int64_t k, std::mt19937_64& rng, int threads) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<float> c(static_cast<size_t>(k * d));
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  int64_t first = pick(rng);
  std::copy_n(x.values.data() + first * d, d, c.data());
  std::vector<double> closest(static_cast<size_t>(n));
  ParallelFor(n, threads, d, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) closest[static_cast<size_t>(r)] = SquaredDistance(x.values.data() + r * d, c.data(), d);
  });
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> cumulative(static_cast<size_t>(n)), candidate_dist(static_cast<size_t>(n)),
      best_dist(static_cast<size_t>(n));
  for (int64_t j = 1; j < k; ++j) {
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    const double potential = cumulative.back();
    double best_potential = std::numeric_limits<double>::infinity();
    int64_t best_row = 0;
    for (int t = 0; t < trials; ++t) {
      int64_t row;
      if (potential <= 0) {
        row = pick(rng);  // every row sits on a centre already
      } else {
        auto it = std::upper_bound(cumulative.begin(), cumulative.end(), unit(rng) * potential);
        row = std::min<int64_t>(it - cumulative.begin(), n - 1);
      }
      const float* cand = x.values.data() + row * d;
      ParallelFor(n, threads, d, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          candidate_dist[static_cast<size_t>(r)] =
              std::min(closest[static_cast<size_t>(r)], SquaredDistance(x.values.data() + r * d, cand, d));
        }
      });
      const double p = std::accumulate(candidate_dist.begin(), candidate_dist.end(), 0.0);
      if (p < best_potential) {
        best_potential = p;
        best_row = row;
        best_dist.swap(candidate_dist);
      }
    }
    std::copy_n(x.values.data() + best_row * d, d, c.data() + j * d);
    closest.swap(best_dist);
  }
  return c;
}

std::vector<float> RandomRows(const Matrix& x, int64_t k, std::mt19937_64& rng) {
  std::vector<int64_t> rows(static_cast<size_t>(x.rows));
  std::iota(rows.begin(), rows.end(), 0);
  std::shuffle(rows.begin(), rows.end(), rng);
  std::vector<float> c(static_cast<size_t>(k * x.cols));
  for (int64_t j = 0; j < k; ++j) std::copy_n(x.values.data() + rows[static_cast<size_t>(j)] * x.cols, x.cols, c.data() + j * x.cols);
  return c;
}

// Mean of each cluster; an empty cluster takes the row farthest from its centre (as scikit-learn).
double Update(const Matrix& x, int64_t k, const std::vector<int32_t>& labels, std::vector<double>& dist,
              std::vector<float>& c) {
  const int64_t d = x.cols;
  std::vector<double> sum(static_cast<size_t>(k * d), 0.0);
  std::vector<int64_t> count(static_cast<size_t>(k), 0);
  for (int64_t r = 0; r < x.rows; ++r) {
    const int32_t l = labels[static_cast<size_t>(r)];
    ++count[static_cast<size_t>(l)];
    const float* row = x.values.data() + r * d;
    double* s = sum.data() + l * d;
    for (int64_t j = 0; j < d; ++j) s[j] += row[j];
  }
  double shift = 0;
  for (int64_t j = 0; j < k; ++j) {
    std::vector<double> centre(static_cast<size_t>(d));
    if (count[static_cast<size_t>(j)] > 0) {
      for (int64_t f = 0; f < d; ++f) {
        centre[static_cast<size_t>(f)] = sum[static_cast<size_t>(j * d + f)] / static_cast<double>(count[static_cast<size_t>(j)]);
      }
    } else {
      auto far = std::max_element(dist.begin(), dist.end()) - dist.begin();
      dist[static_cast<size_t>(far)] = 0;  // not picked twice
      for (int64_t f = 0; f < d; ++f) centre[static_cast<size_t>(f)] = x.values[static_cast<size_t>(far * d + f)];
    }
    for (int64_t f = 0; f < d; ++f) {
      const double diff = centre[static_cast<size_t>(f)] - c[static_cast<size_t>(j * d + f)];
      shift += diff * diff;
      c[static_cast<size_t>(j * d + f)] = static_cast<float>(centre[static_cast<size_t>(f)]);
    }
  }
  return shift;
}

double MeanVariance(const Matrix& x) {
  double total = 0;
  for (int64_t f = 0; f < x.cols; ++f) {
    double mean = 0, sq = 0;
    for (int64_t r = 0; r < x.rows; ++r) mean += x.values[static_cast<size_t>(r * x.cols + f)];
    mean /= static_cast<double>(x.rows);
    for (int64_t r = 0; r < x.rows; ++r) {
      const double diff = x.values[static_cast<size_t>(r * x.cols + f)] - mean;
      sq += diff * diff;
    }
    total += sq / static_cast<double>(x.rows);
  }
  return x.cols > 0 ? total / static_cast<double>(x.cols) : 0;
}

}  // namespace

Status ParseKMeansParams(std::string_view params_json, KMeansSpec& spec) {
  Json p = Json::parse(params_json, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return Error::Field("model.params", "model.params must be an object");
  for (const auto& [key, value] : p.items()) {
    const std::string field = "model.params." + key;
    if (key == "k") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 4096) {
        return Error::Field(field, "k must be an integer from 1 to 4096");
      }
      spec.k = value.get<int64_t>();
    } else if (key == "init") {
      if (!value.is_string() || (value != "k-means++" && value != "random")) {
        return Error::Field(field, "init must be \"k-means++\" or \"random\"");
      }
      spec.init = value.get<std::string>();
    } else if (key == "max_iter") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100000) {
        return Error::Field(field, "max_iter must be an integer from 1 to 100000");
      }
      spec.max_iter = value.get<int64_t>();
    } else if (key == "tol") {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
        return Error::Field(field, "tol must be a number from 0 to 1");
      }
      spec.tol = value.get<double>();
    } else if (key == "n_init") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100) {
        return Error::Field(field, "n_init must be an integer from 1 to 100");
      }
      spec.n_init = value.get<int64_t>();
    } else if (key != "__plateau_metric") {
      return Error::Field(field, "unknown field " + field + " (kmeans takes k, init, max_iter, tol, n_init)");
    }
  }
  return OkStatus();
}

std::vector<int32_t> NearestCentroids(const Matrix& x, const std::vector<float>& centroids, int threads,
                                      double* inertia) {
  std::vector<int32_t> labels;
  std::vector<double> dist;
  const int64_t k = x.cols > 0 ? static_cast<int64_t>(centroids.size()) / x.cols : 0;
  Assign(x, centroids, k, threads, labels, dist);
  if (inertia) *inertia = std::accumulate(dist.begin(), dist.end(), 0.0);
  return labels;
}

Result<KMeansResult> TrainKMeans(const KMeansSpec& spec, const Matrix& x,
                                 const std::function<bool(const KMeansIteration&)>& on_iteration) {
  if (x.rows == 0 || x.cols == 0) return Error::InvalidArgument("k-means needs at least one row and one feature");
  if (spec.k < 1 || spec.k > x.rows) {
    return Error::Field("model.params.k", "k must be from 1 to the number of training rows (" +
                                              std::to_string(x.rows) + "), got " + std::to_string(spec.k));
  }
  const double tol = spec.tol * MeanVariance(x);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  std::vector<int32_t> labels, previous;
  std::vector<double> dist;
  for (int64_t run = 1; run <= std::max<int64_t>(1, spec.n_init); ++run) {
    std::mt19937_64 rng(spec.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(run));
    std::vector<float> c = spec.init == "random" ? RandomRows(x, spec.k, rng) : PlusPlus(x, spec.k, rng, spec.threads);
    int64_t it = 0;
    previous.clear();
    for (it = 1; it <= spec.max_iter; ++it) {
      Assign(x, c, spec.k, spec.threads, labels, dist);
      const double inertia = std::accumulate(dist.begin(), dist.end(), 0.0);
      if (labels == previous) {  // strict convergence: the update would not move anything
        if (on_iteration && !on_iteration({run, it, inertia, 0.0})) return KMeansResult{.stopped = true};
        break;
      }
      const double shift = Update(x, spec.k, labels, dist, c);
      if (on_iteration && !on_iteration({run, it, inertia, shift})) return KMeansResult{.stopped = true};
      if (shift <= tol) break;
      previous.swap(labels);
    }
    // The labels and inertia of the final centroids.
    Assign(x, c, spec.k, spec.threads, labels, dist);
    const double inertia = std::accumulate(dist.begin(), dist.end(), 0.0);
    if (inertia < best.inertia) {
      best.centroids = std::move(c);
      best.labels = labels;
      best.inertia = inertia;
      best.iterations = std::min(it, spec.max_iter);
      best.best_run = run;
    }
  }
  return best;
}

double Silhouette(const Matrix& x, const std::vector<int32_t>& labels, int64_t max_rows, uint64_t seed, int threads) {
  std::vector<int64_t> rows(static_cast<size_t>(x.rows));
  std::iota(rows.begin(), rows.end(), 0);
  if (max_rows > 0 && x.rows > max_rows) {
    std::mt19937_64 rng(seed);
    std::shuffle(rows.begin(), rows.end(), rng);
    rows.resize(static_cast<size_t>(max_rows));
  }
  const int64_t m = static_cast<int64_t>(rows.size()), d = x.cols;
  int32_t k = 0;
  for (int64_t r : rows) k = std::max(k, labels[static_cast<size_t>(r)] + 1);
  std::vector<int64_t> size(static_cast<size_t>(k), 0);
  for (int64_t r : rows) ++size[static_cast<size_t>(labels[static_cast<size_t>(r)])];
  if (std::count_if(size.begin(), size.end(), [](int64_t s) { return s > 0; }) < 2) return 0;
  std::vector<double> s(static_cast<size_t>(m), 0.0);
  ParallelFor(m, threads, m * d, [&](int64_t begin, int64_t end) {
    std::vector<double> sum(static_cast<size_t>(k));
    for (int64_t i = begin; i < end; ++i) {
      std::fill(sum.begin(), sum.end(), 0.0);
      const float* a = x.values.data() + rows[static_cast<size_t>(i)] * d;
      for (int64_t j = 0; j < m; ++j) {
        if (j == i) continue;
        const float* b = x.values.data() + rows[static_cast<size_t>(j)] * d;
        sum[static_cast<size_t>(labels[static_cast<size_t>(rows[static_cast<size_t>(j)])])] += std::sqrt(SquaredDistance(a, b, d));
      }
      const int32_t own = labels[static_cast<size_t>(rows[static_cast<size_t>(i)])];
      const int64_t own_size = size[static_cast<size_t>(own)];
      if (own_size < 2) continue;  // a singleton cluster scores 0
      const double in = sum[static_cast<size_t>(own)] / static_cast<double>(own_size - 1);
      double out = std::numeric_limits<double>::infinity();
      for (int32_t c = 0; c < k; ++c) {
        if (c != own && size[static_cast<size_t>(c)] > 0) {
          out = std::min(out, sum[static_cast<size_t>(c)] / static_cast<double>(size[static_cast<size_t>(c)]));
        }
      }
      const double denom = std::max(in, out);
      s[static_cast<size_t>(i)] = denom > 0 ? (out - in) / denom : 0;
    }
  });
  return std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(m);
}

}  // namespace c19ai::ml
