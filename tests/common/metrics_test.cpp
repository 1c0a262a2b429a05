#include "common/metrics.h"

#include <gtest/gtest.h>

namespace c19ai::metrics {
namespace {

TEST(MetricsTest, ExposesPrometheusText) {
  Registry reg;
  reg.GetCounter("t_requests_total", "Requests", {{"route", "/a\"b"}}).Inc(3);
  reg.GetGauge("t_depth", "Depth").Set(2.5);
  auto& h = reg.GetHistogram("t_latency_seconds", "Latency", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = reg.Expose();
  EXPECT_NE(text.find("# HELP t_requests_total Requests\n# TYPE t_requests_total counter\n"
                      "t_requests_total{route=\"/a\\\"b\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("t_depth 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("t_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("t_latency_seconds_sum 5.55"), std::string::npos);
}

TEST(MetricsTest, SameLabelsReturnTheSameSeries) {
  Registry reg;
  auto& a = reg.GetCounter("t_c", "c", {{"x", "1"}});
  auto& b = reg.GetCounter("t_c", "c", {{"x", "1"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &reg.GetCounter("t_c", "c", {{"x", "2"}}));
}

TEST(MetricsTest, CollectorsAddFamiliesAtScrapeTime) {
  Registry reg;
  int calls = 0;
  int id = reg.AddCollector([&](std::vector<Family>& out) {
    ++calls;
    out.push_back({"t_queue_depth", "Depth", "gauge", {{"", {{"topic", "train"}}, 4}}});
  });
  EXPECT_NE(reg.Expose().find("t_queue_depth{topic=\"train\"} 4"), std::string::npos);
  reg.RemoveCollector(id);
  EXPECT_EQ(reg.Expose().find("t_queue_depth"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, HistogramQuantile) {
  Histogram h({1, 2, 3, 4});
  for (int i = 0; i < 100; ++i) h.Observe(i < 50 ? 0.5 : 3.5);
  EXPECT_LE(h.Quantile(0.5), 1.0);
  EXPECT_GT(h.Quantile(0.99), 3.0);
}

}  // namespace
}  // namespace c19ai::metrics
