// The HNSW vector index against brute force (recall@10), and the row reader search builds it from.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>

#include "inference/rows.h"
#include "inference/search.h"

namespace c19ai::inference {
namespace {

// Clustered vectors: 40 Gaussian blobs in 32 dimensions (embeddings are rarely uniform).
std::vector<float> Blobs(int64_t n, int64_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> centres(static_cast<size_t>(40 * dim));
  for (auto& c : centres) c = 4 * g(rng);
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (i % 40) * dim;
    for (int64_t j = 0; j < dim; ++j) out.push_back(c[j] + g(rng));
  }
  return out;
}

std::vector<int64_t> BruteForce(const std::vector<float>& v, int64_t dim, const float* q, int64_t k) {
  const int64_t n = static_cast<int64_t>(v.size()) / dim;
  std::vector<std::pair<double, int64_t>> d;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += (v[static_cast<size_t>(i * dim + j)] - q[j]) * (v[static_cast<size_t>(i * dim + j)] - q[j]);
    d.emplace_back(s, i);
  }
  std::partial_sort(d.begin(), d.begin() + k, d.end());
  std::vector<int64_t> out;
  for (int64_t i = 0; i < k; ++i) out.push_back(d[static_cast<size_t>(i)].second);
  return out;
}

TEST(VectorIndex, RecallAt10AgainstBruteForce) {
  const int64_t n = 10000, dim = 32, k = 10, queries = 200;
  std::vector<float> v = Blobs(n, dim, 1);
  auto t0 = std::chrono::steady_clock::now();
  auto index = VectorIndex::Build(v, dim);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ((*index)->size(), n);
  std::vector<float> q = Blobs(queries, dim, 2);
  int64_t found = 0;
  double search_us = 0;
  for (int64_t i = 0; i < queries; ++i) {
    auto t1 = std::chrono::steady_clock::now();
    auto hits = (*index)->Search(q.data() + i * dim, k, 0);
    search_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t1).count();
    ASSERT_EQ(static_cast<int64_t>(hits.size()), k);
    for (size_t h = 1; h < hits.size(); ++h) EXPECT_LE(hits[h - 1].second, hits[h].second);
    auto exact = BruteForce(v, dim, q.data() + i * dim, k);
    std::set<int64_t> truth(exact.begin(), exact.end());
    for (const auto& [row, distance] : hits) found += truth.count(row);
  }
  const double query_us = search_us / queries;
  const double recall = static_cast<double>(found) / static_cast<double>(queries * k);
  std::printf("recall@10 %.4f over %lld queries; build %.2f s for %lld x %lld; %.0f us a query\n", recall,
              static_cast<long long>(queries), build_s, static_cast<long long>(n), static_cast<long long>(dim),
              query_us);
  EXPECT_GE(recall, 0.95);
}

TEST(VectorIndex, FindsEveryIndexedVectorItselfAtDistanceZero) {
  std::vector<float> v = Blobs(500, 8, 3);
  auto index = VectorIndex::Build(v, 8);
  ASSERT_TRUE(index.ok());
  for (int64_t i = 0; i < 500; i += 7) {
    auto hits = (*index)->Search(v.data() + i * 8, 1, 0);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].first, i);
    EXPECT_NEAR(hits[0].second, 0.0, 1e-4);
  }
  // k beyond the size answers every row.
  EXPECT_EQ((*index)->Search(v.data(), 1000, 0).size(), 500u);
}

TEST(VectorIndex, RefusesEmptyInput) {
  EXPECT_FALSE(VectorIndex::Build({}, 4).ok());
  EXPECT_FALSE(VectorIndex::Build({1, 2, 3}, 2).ok());
}

TEST(ReadRecords, CsvRowsBecomeTypedObjects) {
  auto rows = internal::ReadRecords(storage::StringSource("a,b,c\n1,x,2.5\n,\"y,z\",3\n"), "csv", ',', 100);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (Json{{"a", 1}, {"b", "x"}, {"c", 2.5}}));
  EXPECT_EQ((*rows)[1], (Json{{"a", nullptr}, {"b", "y,z"}, {"c", 3}}));
}

TEST(ReadRecords, JsonLinesAndLimits) {
  auto rows = internal::ReadRecords(storage::StringSource("{\"a\": 1}\n\n{\"a\": 2}\n"), "jsonl", ',', 100);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 2u);
  auto bad = internal::ReadRecords(storage::StringSource("[1, 2]\n"), "jsonl", ',', 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto many = internal::ReadRecords(storage::StringSource("a\n1\n2\n3\n"), "csv", ',', 2);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace c19ai::inference
