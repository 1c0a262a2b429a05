// Optimizer/scheduler validation and the learning-rate schedules. Each schedule reproduces the
// arithmetic of its torch.optim.lr_scheduler counterpart in the same order of operations, so the rates
// agree with PyTorch to the last bit or two (see tests/ml/optim_test.cpp, which compares them).

#include "ml/optim.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>

#include "common/json.h"

namespace c19ai::ml {
namespace {

constexpr double kPi = std::numbers::pi;  // == Python's math.pi

// Shortest text that reads back as the same double ("0.1", "1e-08").
std::string Num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

Error FieldError(std::string_view field, std::string_view rule, double got) {
  return Error::Field(field, std::string(field) + " " + std::string(rule) + ", got " + Num(got));
}

// Finite and >= 0 (what PyTorch's "Invalid ... value" checks accept, minus NaN and infinity).
Status NonNegative(std::string_view field, double v) {
  if (!std::isfinite(v) || v < 0) return FieldError(field, "must be a finite number >= 0", v);
  return OkStatus();
}

Status Positive(std::string_view field, double v) {
  if (!std::isfinite(v) || v <= 0) return FieldError(field, "must be a finite number > 0", v);
  return OkStatus();
}

Status InRange(std::string_view field, double v, double lo, double hi, bool hi_inclusive) {
  bool ok = std::isfinite(v) && v >= lo && (hi_inclusive ? v <= hi : v < hi);
  if (!ok) {
    return FieldError(field, "must be in [" + Num(lo) + ", " + Num(hi) + (hi_inclusive ? "]" : ")"), v);
  }
  return OkStatus();
}

}  // namespace

Status ValidateOptimizer(const OptimizerSpec& s) {
  const std::string& t = s.type;
  if (t != "sgd" && t != "adam" && t != "adamw" && t != "rmsprop" && t != "adagrad" && t != "adadelta") {
    return Error::Field("optimizer.type", "optimizer.type must be one of sgd, adam, adamw, rmsprop, adagrad, "
                                          "adadelta, got \"" + t + "\"");
  }
  // Only the fields the chosen optimizer reads are checked, with PyTorch's constructor rules.
  C19_TRY(NonNegative("optimizer.lr", s.lr));
  C19_TRY(NonNegative("optimizer.weight_decay", s.weight_decay));
  if (t == "sgd") {
    C19_TRY(NonNegative("optimizer.momentum", s.momentum));
    if (!std::isfinite(s.dampening)) return FieldError("optimizer.dampening", "must be finite", s.dampening);
    if (s.nesterov && s.momentum <= 0) {
      return Error::Field("optimizer.nesterov", "optimizer.nesterov needs optimizer.momentum > 0, got momentum " +
                                                    Num(s.momentum));
    }
    if (s.nesterov && s.dampening != 0) {
      return Error::Field("optimizer.nesterov", "optimizer.nesterov needs optimizer.dampening 0, got dampening " +
                                                    Num(s.dampening));
    }
    return OkStatus();
  }
  C19_TRY(NonNegative("optimizer.eps", s.eps));
  if (t == "adam" || t == "adamw") {
    C19_TRY(InRange("optimizer.beta1", s.beta1, 0, 1, false));
    C19_TRY(InRange("optimizer.beta2", s.beta2, 0, 1, false));
  } else if (t == "rmsprop") {
    C19_TRY(NonNegative("optimizer.momentum", s.momentum));
    C19_TRY(NonNegative("optimizer.alpha", s.alpha));
  } else if (t == "adagrad") {
    C19_TRY(NonNegative("optimizer.lr_decay", s.lr_decay));
    C19_TRY(NonNegative("optimizer.initial_accumulator_value", s.initial_accumulator_value));
  } else if (t == "adadelta") {
    C19_TRY(InRange("optimizer.rho", s.rho, 0, 1, true));
  }
  return OkStatus();
}

Status ValidateScheduler(const SchedulerSpec& s) {
  const std::string& t = s.type;
  if (t.empty()) return OkStatus();
  if (t == "step") {
    if (s.step_size < 1) return FieldError("scheduler.step_size", "must be >= 1", static_cast<double>(s.step_size));
    return Positive("scheduler.gamma", s.gamma);
  }
  if (t == "multi_step") {
    if (s.milestones.empty()) {
      return Error::Field("scheduler.milestones", "scheduler.milestones must list at least one epoch");
    }
    for (size_t i = 0; i < s.milestones.size(); ++i) {
      if (s.milestones[i] < 0) {
        return Error::Field("scheduler.milestones", "scheduler.milestones must be epochs >= 0, got " +
                                                        std::to_string(s.milestones[i]));
      }
      if (i > 0 && s.milestones[i] < s.milestones[i - 1]) {
        return Error::Field("scheduler.milestones", "scheduler.milestones must be increasing, got " +
                                                        std::to_string(s.milestones[i - 1]) + " before " +
                                                        std::to_string(s.milestones[i]));
      }
    }
    return Positive("scheduler.gamma", s.gamma);
  }
  if (t == "exponential") return Positive("scheduler.gamma", s.gamma);
  if (t == "cosine_annealing") {
    if (s.t_max < 0) {
      return FieldError("scheduler.t_max", "must be >= 0 (0: the job's epochs)", static_cast<double>(s.t_max));
    }
    return NonNegative("scheduler.eta_min", s.eta_min);
  }
  if (t == "reduce_on_plateau") {
    if (s.mode != "min" && s.mode != "max") {
      return Error::Field("scheduler.mode", "scheduler.mode must be min or max, got \"" + s.mode + "\"");
    }
    C19_TRY(InRange("scheduler.factor", s.factor, 0, 1, false));
    if (s.patience < 0) return FieldError("scheduler.patience", "must be >= 0", static_cast<double>(s.patience));
    C19_TRY(NonNegative("scheduler.threshold", s.threshold));
    if (s.cooldown < 0) return FieldError("scheduler.cooldown", "must be >= 0", static_cast<double>(s.cooldown));
    return NonNegative("scheduler.min_lr", s.min_lr);
  }
  if (t == "one_cycle") {
    C19_TRY(NonNegative("scheduler.max_lr", s.max_lr));
    C19_TRY(InRange("scheduler.pct_start", s.pct_start, 0, 1, true));
    C19_TRY(Positive("scheduler.div_factor", s.div_factor));
    return Positive("scheduler.final_div_factor", s.final_div_factor);
  }
  return Error::Field("scheduler.type", "scheduler.type must be one of \"\" (constant), step, multi_step, "
                                        "exponential, cosine_annealing, reduce_on_plateau, one_cycle, got \"" +
                                            t + "\"");
}

namespace {

// JSON has no infinity or NaN: such values are written as the strings "inf", "-inf", "nan".
Json JsonDouble(double v) {
  if (std::isfinite(v)) return v;
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

std::optional<double> ReadDouble(const Json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  return std::nullopt;
}

Error BadState(std::string_view what) {
  return Error::InvalidArgument("learning-rate schedule state: " + std::string(what));
}

// The fields every schedule stores: its type, the current rate and how many epochs (or steps) ended.
struct CommonState {
  double lr = 0;
  int64_t count = 0;
};

Result<Json> ParseState(std::string_view text, std::string_view type, CommonState& common) {
  auto parsed = ParseJsonObject(text, "learning-rate schedule state");
  if (!parsed.ok()) return std::move(parsed).error();
  Json j = std::move(*parsed);
  auto t = j.find("type");
  if (t == j.end() || !t->is_string() || t->get<std::string>() != type) {
    return BadState("it was saved by another schedule (expected type \"" + std::string(type) + "\", got " +
                    (t == j.end() ? std::string("none") : Preview(*t)) + ")");
  }
  auto lr = j.find("lr");
  std::optional<double> lr_value = lr == j.end() ? std::nullopt : ReadDouble(*lr);
  if (!lr_value || !std::isfinite(*lr_value) || *lr_value < 0) return BadState("\"lr\" must be a number >= 0");
  auto count = j.find("count");
  if (count == j.end() || !count->is_number_integer() || count->get<int64_t>() < 0) {
    return BadState("\"count\" must be an integer >= 0");
  }
  common.lr = *lr_value;
  common.count = count->get<int64_t>();
  return j;
}

// Shared by all schedules: the current rate and a counter of ended epochs (steps for one_cycle), which
// is PyTorch's `last_epoch`.
class ScheduleBase : public LrSchedule {
 public:
  ScheduleBase(std::string type, double lr) : type_(std::move(type)), lr_(lr) {}
  double lr() const override { return lr_; }
  void EndStep() override {}
  void EndEpoch(double) override {}
  std::string State() const override {
    Json j = Json::object();
    j["type"] = type_;
    j["lr"] = JsonDouble(lr_);
    j["count"] = count_;
    SaveExtra(j);
    return DumpJson(j);
  }
  Status Restore(std::string_view state) override {
    CommonState common;
    C19_ASSIGN_OR_RETURN(Json j, ParseState(state, type_, common));
    C19_TRY(RestoreExtra(j, common));  // commits its own fields only when everything is valid
    lr_ = common.lr;
    count_ = common.count;
    return OkStatus();
  }

 protected:
  virtual void SaveExtra(Json&) const {}
  virtual Status RestoreExtra(const Json&, const CommonState&) { return OkStatus(); }

  std::string type_;
  double lr_;
  int64_t count_ = 0;
};

class ConstantSchedule final : public ScheduleBase {
 public:
  explicit ConstantSchedule(double lr) : ScheduleBase("constant", lr) {}
};

// StepLR: lr *= gamma when the epoch count is a multiple of step_size.
class StepSchedule final : public ScheduleBase {
 public:
  StepSchedule(double lr, int64_t step_size, double gamma)
      : ScheduleBase("step", lr), step_size_(step_size), gamma_(gamma) {}
  void EndEpoch(double) override {
    ++count_;
    if (count_ % step_size_ == 0) lr_ = lr_ * gamma_;
  }

 private:
  int64_t step_size_;
  double gamma_;
};

// MultiStepLR: lr *= gamma ** (times the epoch count is listed) — a repeated milestone counts twice.
class MultiStepSchedule final : public ScheduleBase {
 public:
  MultiStepSchedule(double lr, std::vector<int64_t> milestones, double gamma)
      : ScheduleBase("multi_step", lr), milestones_(std::move(milestones)), gamma_(gamma) {
    Apply();  // PyTorch's constructor steps once to epoch 0: a milestone 0 applies at once
  }
  void EndEpoch(double) override {
    ++count_;
    Apply();
  }

 private:
  void Apply() {
    int64_t n = std::count(milestones_.begin(), milestones_.end(), count_);
    if (n > 0) lr_ = lr_ * std::pow(gamma_, static_cast<double>(n));
  }
  std::vector<int64_t> milestones_;
  double gamma_;
};

class ExponentialSchedule final : public ScheduleBase {
 public:
  ExponentialSchedule(double lr, double gamma) : ScheduleBase("exponential", lr), gamma_(gamma) {}
  void EndEpoch(double) override {
    ++count_;
    lr_ = lr_ * gamma_;
  }

 private:
  double gamma_;
};

// CosineAnnealingLR's recursive (chainable) form, exactly as its get_lr() computes it; past t_max the
// rate climbs back towards base_lr like PyTorch's does.
class CosineSchedule final : public ScheduleBase {
 public:
  CosineSchedule(double lr, int64_t t_max, double eta_min)
      : ScheduleBase("cosine_annealing", lr), base_lr_(lr), t_max_(t_max), eta_min_(eta_min) {}
  void EndEpoch(double) override {
    ++count_;
    const double t = static_cast<double>(t_max_);
    const double e = static_cast<double>(count_);
    if ((count_ - 1 - t_max_) % (2 * t_max_) == 0) {
      lr_ = lr_ + (base_lr_ - eta_min_) * (1 - std::cos(kPi / t)) / 2;
    } else {
      lr_ = (1 + std::cos(kPi * e / t)) / (1 + std::cos(kPi * (e - 1) / t)) * (lr_ - eta_min_) + eta_min_;
    }
  }

 private:
  double base_lr_;
  int64_t t_max_;
  double eta_min_;
};

// ReduceLROnPlateau with threshold_mode "rel" and eps 1e-8.
class PlateauSchedule final : public ScheduleBase {
 public:
  PlateauSchedule(double lr, const SchedulerSpec& s)
      : ScheduleBase("reduce_on_plateau", lr),
        max_mode_(s.mode == "max"),
        factor_(s.factor),
        patience_(s.patience),
        threshold_(s.threshold),
        cooldown_(s.cooldown),
        min_lr_(s.min_lr),
        best_(max_mode_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()) {}

  void EndEpoch(double metric) override {
    ++count_;
    if (IsBetter(metric)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ > patience_) {
      const double old_lr = lr_;
      const double new_lr = std::max(old_lr * factor_, min_lr_);
      if (old_lr - new_lr > kEps) lr_ = new_lr;
      cooldown_counter_ = cooldown_;
      num_bad_epochs_ = 0;
    }
  }

 private:
  static constexpr double kEps = 1e-8;

  bool IsBetter(double a) const {
    if (max_mode_) return a > best_ * (threshold_ + 1.);
    return a < best_ * (1. - threshold_);
  }
  void SaveExtra(Json& j) const override {
    j["best"] = JsonDouble(best_);
    j["num_bad_epochs"] = num_bad_epochs_;
    j["cooldown_counter"] = cooldown_counter_;
  }
  Status RestoreExtra(const Json& j, const CommonState&) override {
    auto best = j.find("best");
    std::optional<double> best_value = best == j.end() ? std::nullopt : ReadDouble(*best);
    if (!best_value) return BadState("\"best\" must be a number, \"inf\", \"-inf\" or \"nan\"");
    auto bad = j.find("num_bad_epochs");
    auto cool = j.find("cooldown_counter");
    if (bad == j.end() || !bad->is_number_integer() || bad->get<int64_t>() < 0 || cool == j.end() ||
        !cool->is_number_integer() || cool->get<int64_t>() < 0) {
      return BadState("\"num_bad_epochs\" and \"cooldown_counter\" must be integers >= 0");
    }
    best_ = *best_value;
    num_bad_epochs_ = bad->get<int64_t>();
    cooldown_counter_ = cool->get<int64_t>();
    return OkStatus();
  }

  bool max_mode_;
  double factor_;
  int64_t patience_;
  double threshold_;
  int64_t cooldown_;
  double min_lr_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

// OneCycleLR, anneal_strategy "cos", three_phase false; the rate follows the optimizer steps.
class OneCycleSchedule final : public ScheduleBase {
 public:
  OneCycleSchedule(double max_lr, const SchedulerSpec& s, int64_t total_steps)
      : ScheduleBase("one_cycle", 0),
        initial_lr_(max_lr / s.div_factor),
        max_lr_(max_lr),
        min_lr_(initial_lr_ / s.final_div_factor),
        total_steps_(total_steps),
        end_warmup_(s.pct_start * static_cast<double>(total_steps) - 1),
        end_(static_cast<double>(total_steps - 1)) {
    lr_ = Compute(0);
  }

  // Both phases must have a length, or PyTorch divides by zero (at the first or the last step).
  static bool PhasesAreProper(double pct_start, int64_t total_steps) {
    double end_warmup = pct_start * static_cast<double>(total_steps) - 1;
    return end_warmup != 0 && static_cast<double>(total_steps - 1) != end_warmup;
  }

  void EndStep() override {
    // PyTorch raises past total_steps; here the rate then stays where the cycle ended.
    if (count_ >= total_steps_) return;
    ++count_;
    lr_ = Compute(count_);
  }

 private:
  static double Anneal(double start, double end, double pct) {
    double cos_out = std::cos(kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  double Compute(int64_t step) const {
    const double s = static_cast<double>(step);
    if (s <= end_warmup_) return Anneal(initial_lr_, max_lr_, (s - 0) / (end_warmup_ - 0));
    return Anneal(max_lr_, min_lr_, (s - end_warmup_) / (end_ - end_warmup_));
  }
  void SaveExtra(Json& j) const override { j["total_steps"] = total_steps_; }
  Status RestoreExtra(const Json& j, const CommonState& common) override {
    auto total = j.find("total_steps");
    if (total == j.end() || !total->is_number_integer() || total->get<int64_t>() != total_steps_) {
      return BadState("it was saved for a cycle of " + (total == j.end() ? std::string("?") : Preview(*total)) +
                      " steps, this one has " + std::to_string(total_steps_));
    }
    if (common.count > total_steps_) return BadState("\"count\" is past the end of the cycle");
    return OkStatus();
  }

  double initial_lr_, max_lr_, min_lr_;
  int64_t total_steps_;
  double end_warmup_, end_;
};

}  // namespace

Result<std::unique_ptr<LrSchedule>> LrSchedule::Create(const SchedulerSpec& spec, double base_lr, int64_t epochs,
                                                       int64_t steps_per_epoch) {
  C19_TRY(ValidateScheduler(spec));
  C19_TRY(NonNegative("optimizer.lr", base_lr));
  using Ptr = std::unique_ptr<LrSchedule>;
  const std::string& t = spec.type;
  if (t.empty()) return Ptr(std::make_unique<ConstantSchedule>(base_lr));
  if (t == "step") return Ptr(std::make_unique<StepSchedule>(base_lr, spec.step_size, spec.gamma));
  if (t == "multi_step") return Ptr(std::make_unique<MultiStepSchedule>(base_lr, spec.milestones, spec.gamma));
  if (t == "exponential") return Ptr(std::make_unique<ExponentialSchedule>(base_lr, spec.gamma));
  if (t == "cosine_annealing") {
    int64_t t_max = spec.t_max > 0 ? spec.t_max : epochs;
    if (t_max < 1) {
      return Error::Field("scheduler.t_max", "scheduler.t_max is 0 (the job's epochs) but epochs is " +
                                                 std::to_string(epochs));
    }
    return Ptr(std::make_unique<CosineSchedule>(base_lr, t_max, spec.eta_min));
  }
  if (t == "reduce_on_plateau") return Ptr(std::make_unique<PlateauSchedule>(base_lr, spec));
  // one_cycle
  if (epochs < 1) {
    return Error::Field("epochs", "scheduler one_cycle needs epochs >= 1, got " + std::to_string(epochs));
  }
  if (steps_per_epoch < 1) {
    return Error::Field("scheduler.type", "scheduler one_cycle needs at least one optimizer step per epoch, got " +
                                              std::to_string(steps_per_epoch));
  }
  if (epochs > std::numeric_limits<int64_t>::max() / steps_per_epoch) {
    return Error::Field("epochs", "epochs * steps per epoch overflows: " + std::to_string(epochs));
  }
  const int64_t total = epochs * steps_per_epoch;
  if (!OneCycleSchedule::PhasesAreProper(spec.pct_start, total)) {
    return Error::Field("scheduler.pct_start",
                        "scheduler.pct_start " + Num(spec.pct_start) + " leaves a phase of the cycle without steps (" +
                            std::to_string(total) + " steps in all); PyTorch divides by zero there");
  }
  const double max_lr = spec.max_lr > 0 ? spec.max_lr : base_lr;
  return Ptr(std::make_unique<OneCycleSchedule>(max_lr, spec, total));
}

}  // namespace c19ai::ml
