// Training data preparation: read, split, fit the preprocessing on the training rows, encode.

#include "training/pipeline.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "validation/engine.h"

namespace c19ai::training::internal {

namespace {

std::optional<double> Number(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  double v = 0;
  const char* b = s->data();
  const char* e = b + s->size();
  while (b < e && *b == ' ') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool Missing(const std::optional<std::string>& s) { return !s || s->empty(); }

// Class names in a stable order: numerically when every label is a number, else by text.
std::vector<std::string> SortedLabels(const std::set<std::string>& values) {
  std::vector<std::string> out(values.begin(), values.end());
  bool numeric = std::all_of(out.begin(), out.end(), [](const std::string& v) { return Number(v).has_value(); });
  if (numeric) {
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return *Number(a) < *Number(b); });
  }
  return out;
}

// "1.0" and "1" are the same class: numeric labels are written the short way.
std::string LabelText(const std::string& v) {
  auto n = Number(v);
  if (n && *n == std::floor(*n) && std::abs(*n) < 1e15) return std::to_string(static_cast<int64_t>(*n));
  return v;
}

}  // namespace

Result<Table> ReadTable(storage::ByteSource& source, const std::string& format, char delimiter, bool header) {
  validation::ReadOptions o;
  o.format = format == "jsonl" ? validation::Format::kJsonLines : validation::Format::kCsv;
  o.delimiter = delimiter;
  o.header = header;
  // The validation module's streaming reader: one RFC 4180 / JSON Lines parser in the code base.
  C19_ASSIGN_OR_RETURN(auto reader, validation::internal::RecordReader::Open(source, o));
  Table t;
  for (;;) {
    C19_ASSIGN_OR_RETURN(bool more, reader->Next());
    if (!more) break;
    const auto& cols = reader->columns();
    std::vector<std::optional<std::string>> row(cols.size());
    for (size_t i = 0; i < cols.size(); ++i) {
      if (!reader->is_null(i)) row[i] = std::string(reader->cell(i));
    }
    t.rows.push_back(std::move(row));
  }
  t.columns = reader->columns();
  for (auto& r : t.rows) r.resize(t.columns.size());  // JSON Lines: keys seen only later
  return t;
}

Result<Prepared> Prepare(const JobSpec& spec, const Table& table) {
  auto col = [&](const std::string& name) -> std::optional<size_t> {
    auto it = std::find(table.columns.begin(), table.columns.end(), name);
    if (it == table.columns.end()) return std::nullopt;
    return static_cast<size_t>(it - table.columns.begin());
  };
  // Without a target (k-means, autoencoders) every row is usable and the splits carry no y.
  const bool supervised = !spec.target.empty();
  auto target = supervised ? col(spec.target) : std::optional<size_t>(table.columns.size());
  if (!target) return Error::Field("target", "the dataset has no column \"" + spec.target + "\"");
  std::vector<size_t> feature_cols;
  if (!spec.features.empty()) {
    for (const auto& f : spec.features) {
      auto c = col(f);
      if (!c) return Error::Field("features", "the dataset has no column \"" + f + "\"");
      feature_cols.push_back(*c);
    }
  } else {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (i == *target) continue;
      if (std::find(spec.exclude.begin(), spec.exclude.end(), table.columns[i]) != spec.exclude.end()) continue;
      feature_cols.push_back(i);
    }
  }
  if (feature_cols.empty()) return Error::Field("features", "no feature columns left to train on");

  const bool classify = spec.model_type == "classification";
  Prepared p;
  std::vector<size_t> usable;
  std::set<std::string> label_set;
  for (size_t r = 0; r < table.rows.size() && !supervised; ++r) usable.push_back(r);
  for (size_t r = 0; r < table.rows.size() && supervised; ++r) {
    const auto& y = table.rows[r][*target];
    if (Missing(y)) {
      ++p.dropped;
      continue;
    }
    if (classify) {
      label_set.insert(LabelText(*y));
    } else if (!Number(y)) {
      return Error::Field("target", "regression needs a numeric target; row " + std::to_string(r + 1) + " has \"" +
                                        *y + "\"");
    }
    usable.push_back(r);
  }
  if (usable.size() < 4) {
    return Error::Field("dataset", supervised ? "the dataset has fewer than 4 rows with a target"
                                              : "the dataset has fewer than 4 rows");
  }
  if (classify) {
    if (label_set.size() < 2) return Error::Field("target", "classification needs at least two distinct classes");
    if (label_set.size() > 1000) return Error::Field("target", "more than 1000 classes: is this a regression target?");
    p.labels = SortedLabels(label_set);
  }

  // Seeded split.
  std::mt19937_64 rng(spec.seed);
  if (spec.split_shuffle) std::shuffle(usable.begin(), usable.end(), rng);
  size_t n_val = static_cast<size_t>(std::llround(spec.validation_split * static_cast<double>(usable.size())));
  n_val = std::clamp<size_t>(n_val, 1, usable.size() - 1);
  std::vector<size_t> train_rows(usable.begin(), usable.end() - static_cast<std::ptrdiff_t>(n_val));
  std::vector<size_t> val_rows(usable.end() - static_cast<std::ptrdiff_t>(n_val), usable.end());

  // Fit the preprocessing on the training rows only.
  for (size_t c : feature_cols) {
    ml::FeatureSpec f;
    f.name = table.columns[c];
    bool numeric = true;
    std::vector<double> values;
    for (size_t r : usable) {  // the type is a property of the column, seen over all rows
      const auto& cell = table.rows[r][c];
      if (Missing(cell)) continue;
      if (!Number(cell)) {
        numeric = false;
        break;
      }
    }
    if (numeric) {
      for (size_t r : train_rows) {
        if (auto v = Number(table.rows[r][c])) values.push_back(*v);
      }
      double fill = 0;
      if (!values.empty()) {
        if (spec.impute == "median") {
          std::vector<double> s = values;
          std::sort(s.begin(), s.end());
          size_t m = s.size() / 2;
          fill = s.size() % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
        } else {
          fill = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
        }
      }
      f.impute = fill;
      if (spec.standardize && !values.empty()) {
        // Like sklearn's StandardScaler (population deviation), over the training rows after imputing.
        size_t missing = 0;
        for (size_t r : train_rows) missing += Number(table.rows[r][c]) ? 0 : 1;
        double n = static_cast<double>(values.size() + missing);
        double mean = (std::accumulate(values.begin(), values.end(), 0.0) + fill * static_cast<double>(missing)) / n;
        double ss = static_cast<double>(missing) * (fill - mean) * (fill - mean);
        for (double v : values) ss += (v - mean) * (v - mean);
        double sd = std::sqrt(ss / n);
        f.mean = mean;
        f.scale = sd > 1e-12 ? sd : 1.0;
      }
    } else {
      f.categorical = true;
      std::map<std::string, int64_t> counts;
      for (size_t r : train_rows) {
        const auto& cell = table.rows[r][c];
        if (!Missing(cell)) ++counts[*cell];
      }
      std::vector<std::pair<std::string, int64_t>> by_count(counts.begin(), counts.end());
      std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      if (static_cast<int64_t>(by_count.size()) > spec.max_categories) by_count.resize(static_cast<size_t>(spec.max_categories));
      for (const auto& [v, n] : by_count) f.vocabulary.push_back(v);
      std::sort(f.vocabulary.begin(), f.vocabulary.end());
      f.impute_category = by_count.empty() ? "" : by_count.front().first;
    }
    p.features.push_back(std::move(f));
  }

  auto encode = [&](const std::vector<size_t>& rows, ml::Split& out) -> Status {
    std::vector<ml::Row> raw;
    raw.reserve(rows.size());
    for (size_t r : rows) {
      ml::Row row;
      for (size_t i = 0; i < feature_cols.size(); ++i) {
        const auto& cell = table.rows[r][feature_cols[i]];
        if (Missing(cell)) row.emplace_back(std::monostate{});
        else if (p.features[i].categorical) row.emplace_back(*cell);
        else row.emplace_back(*Number(cell));
      }
      raw.push_back(std::move(row));
      if (!supervised) continue;
      const std::string& y = *table.rows[r][*target];
      if (classify) {
        auto it = std::find(p.labels.begin(), p.labels.end(), LabelText(y));
        out.y.push_back(static_cast<float>(it - p.labels.begin()));
      } else {
        out.y.push_back(static_cast<float>(*Number(y)));
      }
    }
    C19_ASSIGN_OR_RETURN(out.x.values, ml::Encode(p.features, raw));
    out.x.rows = static_cast<int64_t>(rows.size());
    out.x.cols = ml::EncodedWidth(p.features);
    return OkStatus();
  };
  C19_TRY(encode(train_rows, p.train));
  C19_TRY(encode(val_rows, p.validation));
  if (supervised && !classify && spec.architecture == "mlp") {
    // The network learns a standardised target; the bundle maps its output back.
    double mean = std::accumulate(p.train.y.begin(), p.train.y.end(), 0.0) / static_cast<double>(p.train.y.size());
    double ss = 0;
    for (float v : p.train.y) ss += (v - mean) * (v - mean);
    double sd = std::sqrt(ss / static_cast<double>(p.train.y.size()));
    p.target_mean = mean;
    p.target_scale = sd > 1e-12 ? sd : 1.0;
    for (auto* ys : {&p.train.y, &p.validation.y}) {
      for (float& v : *ys) v = static_cast<float>((v - mean) / p.target_scale);
    }
  }
  return p;
}

}  // namespace c19ai::training::internal
