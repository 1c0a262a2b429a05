// Validation metrics of training: accuracy, macro F1 and log loss for classification; R², RMSE and MAE
// for regression (sklearn's definitions).

#include <algorithm>
#include <cmath>

#include "ml/train.h"

namespace c19ai::ml {

std::map<std::string, double> ClassificationMetrics(const std::vector<float>& probabilities, int64_t classes,
                                                    const std::vector<float>& y) {
  std::map<std::string, double> m;
  const size_t n = y.size();
  if (n == 0 || classes <= 0) return m;
  std::vector<int64_t> tp(static_cast<size_t>(classes)), fp(tp), fn(tp);
  int64_t correct = 0;
  double log_loss = 0;
  for (size_t r = 0; r < n; ++r) {
    const float* p = probabilities.data() + r * static_cast<size_t>(classes);
    int64_t pred = std::max_element(p, p + classes) - p;
    int64_t truth = static_cast<int64_t>(y[r]);
    if (pred == truth) {
      ++correct;
      ++tp[static_cast<size_t>(pred)];
    } else {
      ++fp[static_cast<size_t>(pred)];
      if (truth >= 0 && truth < classes) ++fn[static_cast<size_t>(truth)];
    }
    double pt = truth >= 0 && truth < classes ? p[truth] : 0.0;
    log_loss -= std::log(std::clamp(pt, 1e-15, 1.0));
  }
  double f1 = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < classes; ++c) {
    auto i = static_cast<size_t>(c);
    if (tp[i] + fp[i] + fn[i] == 0) continue;  // sklearn's labels: those in y_true or y_pred
    ++present;
    double denom = 2.0 * static_cast<double>(tp[i]) + static_cast<double>(fp[i] + fn[i]);
    f1 += denom > 0 ? 2.0 * static_cast<double>(tp[i]) / denom : 0.0;
  }
  m["accuracy"] = static_cast<double>(correct) / static_cast<double>(n);
  m["f1_macro"] = present ? f1 / static_cast<double>(present) : 0.0;
  m["log_loss"] = log_loss / static_cast<double>(n);
  return m;
}

std::map<std::string, double> RegressionMetrics(const std::vector<float>& predictions, const std::vector<float>& y,
                                                double scale, double mean) {
  std::map<std::string, double> m;
  const size_t n = y.size();
  if (n == 0) return m;
  double ymean = 0;
  for (float v : y) ymean += v * scale + mean;
  ymean /= static_cast<double>(n);
  double ss_res = 0, ss_tot = 0, abs_err = 0;
  for (size_t i = 0; i < n; ++i) {
    double truth = y[i] * scale + mean, pred = predictions[i] * scale + mean;
    ss_res += (truth - pred) * (truth - pred);
    ss_tot += (truth - ymean) * (truth - ymean);
    abs_err += std::abs(truth - pred);
  }
  m["r2"] = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0;
  m["rmse"] = std::sqrt(ss_res / static_cast<double>(n));
  m["mae"] = abs_err / static_cast<double>(n);
  return m;
}

bool HigherIsBetter(std::string_view metric) {
  return metric == "accuracy" || metric == "f1_macro" || metric == "r2" || metric == "silhouette";
}

}  // namespace c19ai::ml
