#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <variant>

#include "common/check.h"

namespace c19ai::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  const size_t n = bounds_.size();
  while (i < n && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

double Histogram::Quantile(double q) const {
  uint64_t total = 0;
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) total += counts[i] = BucketCount(i);
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  uint64_t cum = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    if (static_cast<double>(cum + counts[i]) >= rank) {
      if (i == bounds_.size()) return bounds_.empty() ? 0 : bounds_.back();
      double lo = i == 0 ? 0 : bounds_[i - 1];
      double hi = bounds_[i];
      double within = counts[i] ? (rank - static_cast<double>(cum)) / static_cast<double>(counts[i]) : 0;
      return lo + (hi - lo) * within;
    }
    cum += counts[i];
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10, 30};
  return kBuckets;
}

struct Registry::Series {
  Labels labels;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>> metric;
};
struct Registry::FamilyDef {
  std::string name, help, type;
  std::deque<Series> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: metrics may be touched during exit
  return *registry;
}

Registry::FamilyDef& Registry::Def(std::string_view name, std::string_view help, std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto def = std::make_unique<FamilyDef>();
    def->name = name;
    def->help = help;
    def->type = type;
    it = families_.emplace(std::string(name), std::move(def)).first;
  }
  C19_CHECK(it->second->type == type);
  return *it->second;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& def = Def(name, help, "counter");
  for (auto& s : def.series) {
    if (s.labels == labels) return *std::get<0>(s.metric);
  }
  def.series.push_back(Series{labels, std::make_unique<Counter>()});
  return *std::get<0>(def.series.back().metric);
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& def = Def(name, help, "gauge");
  for (auto& s : def.series) {
    if (s.labels == labels) return *std::get<1>(s.metric);
  }
  def.series.push_back(Series{labels, std::make_unique<Gauge>()});
  return *std::get<1>(def.series.back().metric);
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help, const Labels& labels,
                                  const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& def = Def(name, help, "histogram");
  for (auto& s : def.series) {
    if (s.labels == labels) return *std::get<2>(s.metric);
  }
  def.series.push_back(Series{labels, std::make_unique<Histogram>(bounds)});
  return *std::get<2>(def.series.back().metric);
}

int Registry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  int id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::RemoveCollector(int id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

namespace {
void AppendEscaped(std::string& out, std::string_view v, bool help) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && !help) out += "\\\"";
    else out.push_back(c);
  }
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) { out += "NaN"; return; }
  if (std::isinf(v)) { out += v > 0 ? "+Inf" : "-Inf"; return; }
  char buf[40];
  if (v == std::floor(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof(buf), "%.0f", v);
  else std::snprintf(buf, sizeof(buf), "%.9g", v);
  out += buf;
}

void AppendLabels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out.push_back(',');
    out += labels[i].first;
    out += "=\"";
    AppendEscaped(out, labels[i].second, false);
    out.push_back('"');
  }
  out.push_back('}');
}
}  // namespace

void AppendFamily(std::string& out, const Family& f) {
  out += "# HELP ";
  out += f.name;
  out.push_back(' ');
  AppendEscaped(out, f.help, true);
  out += "\n# TYPE ";
  out += f.name;
  out.push_back(' ');
  out += f.type;
  out.push_back('\n');
  for (const auto& s : f.samples) {
    out += f.name;
    out += s.suffix;
    AppendLabels(out, s.labels);
    out.push_back(' ');
    AppendNumber(out, s.value);
    out.push_back('\n');
  }
}

std::string Registry::Expose() const {
  std::vector<Family> families;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, def] : families_) {
      Family f{def->name, def->help, def->type, {}};
      for (const auto& s : def->series) {
        if (auto* c = std::get_if<0>(&s.metric)) {
          f.samples.push_back({"", s.labels, static_cast<double>((*c)->Value())});
        } else if (auto* g = std::get_if<1>(&s.metric)) {
          f.samples.push_back({"", s.labels, (*g)->Value()});
        } else {
          const Histogram& h = *std::get<2>(s.metric);
          uint64_t cum = 0;
          for (size_t i = 0; i <= h.bounds().size(); ++i) {
            cum += h.BucketCount(i);
            Labels l = s.labels;
            if (i < h.bounds().size()) {
              std::string le;
              AppendNumber(le, h.bounds()[i]);
              l.emplace_back("le", le);
            } else {
              l.emplace_back("le", "+Inf");
            }
            f.samples.push_back({"_bucket", std::move(l), static_cast<double>(cum)});
          }
          f.samples.push_back({"_sum", s.labels, h.Sum()});
          f.samples.push_back({"_count", s.labels, static_cast<double>(cum)});
        }
      }
      families.push_back(std::move(f));
    }
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  for (const auto& c : collectors) c(families);
  // Merge families that share a name (e.g. a collector adding series to a registered family).
  std::map<std::string, Family> merged;
  for (auto& f : families) {
    auto [it, inserted] = merged.try_emplace(f.name, std::move(f));
    if (!inserted) {
      for (auto& s : f.samples) it->second.samples.push_back(std::move(s));
    }
  }
  std::string out;
  out.reserve(16384);
  for (const auto& [name, f] : merged) AppendFamily(out, f);
  return out;
}

}  // namespace c19ai::metrics
