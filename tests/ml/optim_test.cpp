// Learning-rate schedules and optimizers against PyTorch: tests/ml/optim_reference.py computes the
// rates and parameter trajectories with Debian's python3-torch (run once); every schedule and
// optimizer here must reproduce them. Also: validation names the field, schedule state and optimizer
// checkpoints resume exactly.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include <unistd.h>

#include "common/json.h"
#include "ml/optim.h"
#include "ml/torch_optim.h"

#if !defined(C19AI_SOURCE_DIR) || !defined(C19AI_OPTIM_REFERENCE_CACHE)
#error "tests/ml/CMakeLists.txt defines C19AI_SOURCE_DIR and C19AI_OPTIM_REFERENCE_CACHE"
#endif

namespace c19ai::ml {
namespace {

using internal::LearningRate;
using internal::LoadOptimizer;
using internal::MakeOptimizer;
using internal::SaveOptimizer;
using internal::SetLearningRate;

constexpr const char* kScript = C19AI_SOURCE_DIR "/tests/ml/optim_reference.py";

std::string RunScript() {
  const std::string cmd = std::string("/usr/bin/python3 ") + kScript;
  std::string out;
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    std::array<char, 65536> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    if (pclose(pipe) != 0) out.clear();
  }
  return out;
}

// CTest runs every test in its own process: the script's output is kept in the build tree and reused
// while it is newer than the script (a new python3-torch needs a clean build tree or a touched script).
std::string CachedOutput() {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto script_time = fs::last_write_time(kScript, ec);
  if (ec) return "";
  auto cache_time = fs::last_write_time(C19AI_OPTIM_REFERENCE_CACHE, ec);
  if (ec || cache_time < script_time) return "";
  std::ifstream in(C19AI_OPTIM_REFERENCE_CACHE, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void StoreOutput(const std::string& text) {
  // Written aside and renamed: concurrent test processes never read half a file.
  const std::string tmp = std::string(C19AI_OPTIM_REFERENCE_CACHE) + "." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, C19AI_OPTIM_REFERENCE_CACHE, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

// The reference values: computed by the script once (see CachedOutput).
const Json& Reference() {
  static const Json reference = [] {
    if (auto cached = ParseJsonObject(CachedOutput()); cached.ok() && cached->contains("schedulers")) {
      return *cached;
    }
    const std::string out = RunScript();
    auto parsed = ParseJsonObject(out, "optim_reference.py output");
    if (!parsed.ok() || !parsed->contains("schedulers")) return Json::object();
    StoreOutput(out);
    return *parsed;
  }();
  if (!reference.contains("schedulers")) {
    ADD_FAILURE() << "tests/ml/optim_reference.py failed: install python3-torch (scripts/install-deps.sh)";
  }
  return reference;
}

std::vector<Json> Cases(const char* section, std::function<bool(const Json&)> keep = {}) {
  std::vector<Json> out;
  if (!Reference().contains(section)) return out;
  for (const Json& c : Reference()[section]) {
    if (!keep || keep(c)) out.push_back(c);
  }
  return out;
}

bool Near(double got, double want, double rel) {
  return std::abs(got - want) <= rel * std::max(std::abs(want), 1e-300) || got == want;
}

// ---------------------------------------------------------------------------------------------------
// Schedules

SchedulerSpec SchedulerFromJson(const Json& j) {
  SchedulerSpec s;
  s.type = j.at("type").get<std::string>();
  if (j.contains("step_size")) s.step_size = j["step_size"];
  if (j.contains("gamma")) s.gamma = j["gamma"];
  if (j.contains("milestones")) s.milestones = j["milestones"].get<std::vector<int64_t>>();
  if (j.contains("t_max")) s.t_max = j["t_max"];
  if (j.contains("eta_min")) s.eta_min = j["eta_min"];
  if (j.contains("mode")) s.mode = j["mode"];
  if (j.contains("factor")) s.factor = j["factor"];
  if (j.contains("patience")) s.patience = j["patience"];
  if (j.contains("threshold")) s.threshold = j["threshold"];
  if (j.contains("cooldown")) s.cooldown = j["cooldown"];
  if (j.contains("min_lr")) s.min_lr = j["min_lr"];
  if (j.contains("max_lr")) s.max_lr = j["max_lr"];
  if (j.contains("pct_start")) s.pct_start = j["pct_start"];
  if (j.contains("div_factor")) s.div_factor = j["div_factor"];
  if (j.contains("final_div_factor")) s.final_div_factor = j["final_div_factor"];
  return s;
}

std::unique_ptr<LrSchedule> MakeSchedule(const Json& c) {
  auto s = LrSchedule::Create(SchedulerFromJson(c["spec"]), c["base_lr"], c["epochs"], c["steps_per_epoch"]);
  EXPECT_TRUE(s.ok()) << c["name"] << ": " << s.error().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

bool PerStep(const Json& c) { return c["spec"]["type"] == "one_cycle"; }

// Advances the schedule by one of the reference's ticks: an optimizer step for one_cycle, else an epoch
// (with the case's metric for reduce_on_plateau).
void Tick(LrSchedule& s, const Json& c, size_t i) {
  if (PerStep(c)) {
    s.EndStep();
    return;
  }
  s.EndStep();  // epoch schedules ignore steps
  s.EndEpoch(c.contains("metrics") ? c["metrics"][i].get<double>() : 0.0);
}

// Runs the schedule from tick `from` and checks every rate against PyTorch's.
void ExpectRatesFrom(LrSchedule& s, const Json& c, size_t from) {
  const auto& lrs = c["lrs"];
  ASSERT_TRUE(Near(s.lr(), lrs[from], 1e-9)) << c["name"] << " tick " << from << ": " << s.lr() << " vs " << lrs[from];
  for (size_t i = from; i + 1 < lrs.size(); ++i) {
    Tick(s, c, i);
    ASSERT_TRUE(Near(s.lr(), lrs[i + 1], 1e-9))
        << c["name"] << " after tick " << i + 1 << ": " << s.lr() << " vs PyTorch " << lrs[i + 1];
  }
}

void ExpectCasesMatchPyTorch(const std::string& type) {
  auto cases = Cases("schedulers", [&](const Json& c) { return c["spec"]["type"] == type; });
  ASSERT_FALSE(cases.empty()) << "no reference case for \"" << type << "\"";
  for (const Json& c : cases) {
    auto s = MakeSchedule(c);
    ASSERT_NE(s, nullptr);
    ExpectRatesFrom(*s, c, 0);
  }
}

TEST(LrScheduleTest, ConstantKeepsTheBaseRate) { ExpectCasesMatchPyTorch(""); }
TEST(LrScheduleTest, StepMatchesPyTorchStepLR) { ExpectCasesMatchPyTorch("step"); }
TEST(LrScheduleTest, MultiStepMatchesPyTorchMultiStepLR) { ExpectCasesMatchPyTorch("multi_step"); }
TEST(LrScheduleTest, ExponentialMatchesPyTorchExponentialLR) { ExpectCasesMatchPyTorch("exponential"); }
TEST(LrScheduleTest, CosineAnnealingMatchesPyTorchRecursiveFormPastTMax) {
  ExpectCasesMatchPyTorch("cosine_annealing");
}
TEST(LrScheduleTest, ReduceOnPlateauMatchesPyTorchOnFixedMetrics) { ExpectCasesMatchPyTorch("reduce_on_plateau"); }
TEST(LrScheduleTest, OneCycleMatchesPyTorchPerStep) { ExpectCasesMatchPyTorch("one_cycle"); }

TEST(LrScheduleTest, EpochSchedulesIgnoreStepsAndOneCycleIgnoresEpochs) {
  SchedulerSpec step{.type = "step", .step_size = 1, .gamma = 0.5};
  auto s = LrSchedule::Create(step, 0.1, 10, 5);
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 5; ++i) (*s)->EndStep();
  EXPECT_EQ((*s)->lr(), 0.1);
  SchedulerSpec cycle{.type = "one_cycle", .max_lr = 0.1};
  auto c = LrSchedule::Create(cycle, 0.01, 10, 5);
  ASSERT_TRUE(c.ok());
  double lr = (*c)->lr();
  (*c)->EndEpoch(1.0);
  EXPECT_EQ((*c)->lr(), lr);
}

TEST(LrScheduleTest, OneCycleHoldsItsLastRatePastTheEnd) {
  SchedulerSpec cycle{.type = "one_cycle", .max_lr = 0.1};
  auto c = LrSchedule::Create(cycle, 0.01, 2, 3);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 6; ++i) (*c)->EndStep();
  double end = (*c)->lr();
  (*c)->EndStep();
  EXPECT_EQ((*c)->lr(), end);
}

TEST(LrScheduleTest, RestoreMidwayContinuesWithTheSameRates) {
  for (const Json& c : Cases("schedulers")) {
    for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, c["lrs"].size() / 2, c["lrs"].size() - 1}) {
      if (cut >= c["lrs"].size()) continue;
      auto a = MakeSchedule(c);
      ASSERT_NE(a, nullptr);
      for (size_t i = 0; i < cut; ++i) Tick(*a, c, i);
      std::string state = a->State();
      auto b = MakeSchedule(c);
      ASSERT_NE(b, nullptr);
      Status st = b->Restore(state);
      ASSERT_TRUE(st.ok()) << c["name"] << ": " << st.error().ToString() << " in " << state;
      EXPECT_EQ(b->State(), state);
      SCOPED_TRACE(c["name"].get<std::string>() + " restored at tick " + std::to_string(cut));
      ExpectRatesFrom(*b, c, cut);
      // And exactly what the uninterrupted schedule does.
      for (size_t i = cut; i + 1 < c["lrs"].size(); ++i) Tick(*a, c, i);
      EXPECT_EQ(a->State(), b->State());
    }
  }
}

TEST(LrScheduleTest, PlateauStateKeepsAnInfiniteBest) {
  SchedulerSpec spec{.type = "reduce_on_plateau", .patience = 0};
  auto a = LrSchedule::Create(spec, 0.1, 10, 1);
  ASSERT_TRUE(a.ok());
  std::string state = (*a)->State();  // best is +inf before the first epoch
  EXPECT_NE(state.find("\"inf\""), std::string::npos) << state;
  auto b = LrSchedule::Create(spec, 0.1, 10, 1);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Restore(state).ok());
  (*b)->EndEpoch(1e300);  // an improvement on +inf: no reduction
  EXPECT_EQ((*b)->lr(), 0.1);
}

TEST(LrScheduleTest, RestoreRefusesAnotherSchedulesStateAndKeepsItsOwn) {
  auto step = LrSchedule::Create({.type = "step", .step_size = 2, .gamma = 0.5}, 0.1, 10, 1);
  auto cosine = LrSchedule::Create({.type = "cosine_annealing"}, 0.1, 10, 1);
  ASSERT_TRUE(step.ok() && cosine.ok());
  (*cosine)->EndEpoch(0);
  const std::string before = (*cosine)->State();
  for (int i = 0; i < 4; ++i) (*step)->EndEpoch(0);
  Status st = (*cosine)->Restore((*step)->State());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*cosine)->State(), before);
}

TEST(LrScheduleTest, RestoreRefusesMalformedState) {
  SchedulerSpec spec{.type = "reduce_on_plateau"};
  auto s = LrSchedule::Create(spec, 0.1, 10, 1);
  ASSERT_TRUE(s.ok());
  const std::string before = (*s)->State();
  const std::string valid = R"("type":"reduce_on_plateau","cooldown_counter":0)";
  const std::vector<std::string> bad_states = {
      "",
      "not json",
      "[]",
      R"({"type":"reduce_on_plateau"})",
      "{" + valid + R"(,"lr":-1,"count":0,"best":1,"num_bad_epochs":0})",
      "{" + valid + R"(,"lr":0.1,"count":-3,"best":1,"num_bad_epochs":0})",
      "{" + valid + R"(,"lr":0.1,"count":3,"best":"x","num_bad_epochs":0})",
      "{" + valid + R"(,"lr":0.1,"count":3,"best":1,"num_bad_epochs":-1})",
      "{" + valid + R"(,"lr":0.1,"count":3.5,"best":1,"num_bad_epochs":0})",
  };
  for (const std::string& bad : bad_states) {
    Status st = (*s)->Restore(bad);
    EXPECT_FALSE(st.ok()) << bad;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
    }
    EXPECT_EQ((*s)->State(), before) << bad;
  }
  // The same fields, well-formed, do restore.
  Status good = (*s)->Restore("{" + valid + R"(,"lr":0.05,"count":3,"best":1,"num_bad_epochs":2})");
  EXPECT_TRUE(good.ok());
  EXPECT_EQ((*s)->lr(), 0.05);
}

TEST(LrScheduleTest, OneCycleRefusesStateOfAnotherCycleLength) {
  SchedulerSpec spec{.type = "one_cycle", .max_lr = 0.1};
  auto a = LrSchedule::Create(spec, 0.01, 10, 5);
  auto b = LrSchedule::Create(spec, 0.01, 10, 6);
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->EndStep();
  EXPECT_FALSE((*b)->Restore((*a)->State()).ok());
}

// ---------------------------------------------------------------------------------------------------
// Validation

std::string FieldOf(const Error& e) {
  auto d = ParseJson(e.details);
  return d.ok() && d->is_object() && d->contains("field") ? (*d)["field"].get<std::string>() : "";
}

TEST(ValidateOptimizerTest, AcceptsPyTorchDefaults) {
  for (const char* t : {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"}) {
    OptimizerSpec s;
    s.type = t;
    EXPECT_TRUE(ValidateOptimizer(s).ok()) << t;
  }
}

TEST(ValidateOptimizerTest, NamesTheFieldPyTorchRefuses) {
  struct Bad {
    const char* type;
    std::function<void(OptimizerSpec&)> change;
    const char* field;
  };
  const std::vector<Bad> bad = {
      {"rocket", [](auto&) {}, "optimizer.type"},
      {"adam", [](auto& s) { s.lr = -0.1; }, "optimizer.lr"},
      {"adam", [](auto& s) { s.lr = std::nan(""); }, "optimizer.lr"},
      {"sgd", [](auto& s) { s.momentum = -0.5; }, "optimizer.momentum"},
      {"sgd", [](auto& s) { s.nesterov = true; }, "optimizer.nesterov"},
      {"sgd", [](auto& s) { s.nesterov = true, s.momentum = 0.9, s.dampening = 0.1; }, "optimizer.nesterov"},
      {"sgd", [](auto& s) { s.weight_decay = -1; }, "optimizer.weight_decay"},
      {"adam", [](auto& s) { s.beta1 = 1; }, "optimizer.beta1"},
      {"adamw", [](auto& s) { s.beta2 = -0.1; }, "optimizer.beta2"},
      {"adamw", [](auto& s) { s.eps = -1e-8; }, "optimizer.eps"},
      {"rmsprop", [](auto& s) { s.alpha = -0.9; }, "optimizer.alpha"},
      {"rmsprop", [](auto& s) { s.momentum = -0.9; }, "optimizer.momentum"},
      {"adagrad", [](auto& s) { s.lr_decay = -1; }, "optimizer.lr_decay"},
      {"adagrad", [](auto& s) { s.initial_accumulator_value = -1; }, "optimizer.initial_accumulator_value"},
      {"adadelta", [](auto& s) { s.rho = 1.5; }, "optimizer.rho"},
      {"adadelta", [](auto& s) { s.weight_decay = -0.01; }, "optimizer.weight_decay"},
  };
  for (const Bad& b : bad) {
    OptimizerSpec s;
    s.type = b.type;
    b.change(s);
    Status st = ValidateOptimizer(s);
    ASSERT_FALSE(st.ok()) << b.field;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(FieldOf(st.error()), b.field) << st.error().message;
    EXPECT_NE(st.error().message.find(b.field), std::string::npos) << st.error().message;
  }
}

TEST(ValidateOptimizerTest, IgnoresFieldsTheOptimizerDoesNotRead) {
  OptimizerSpec s;
  s.type = "adam";
  s.momentum = -1;  // sgd/rmsprop only
  s.rho = 7;        // adadelta only
  EXPECT_TRUE(ValidateOptimizer(s).ok());
}

TEST(ValidateSchedulerTest, NamesTheField) {
  struct Bad {
    SchedulerSpec spec;
    const char* field;
  };
  const std::vector<Bad> bad = {
      {{.type = "warm_restarts"}, "scheduler.type"},
      {{.type = "step", .step_size = 0}, "scheduler.step_size"},
      {{.type = "step", .gamma = 0}, "scheduler.gamma"},
      {{.type = "multi_step"}, "scheduler.milestones"},
      {{.type = "multi_step", .milestones = {5, 3}}, "scheduler.milestones"},
      {{.type = "multi_step", .milestones = {-1, 3}}, "scheduler.milestones"},
      {{.type = "exponential", .gamma = -0.5}, "scheduler.gamma"},
      {{.type = "cosine_annealing", .t_max = -1}, "scheduler.t_max"},
      {{.type = "cosine_annealing", .eta_min = -1}, "scheduler.eta_min"},
      {{.type = "reduce_on_plateau", .mode = "median"}, "scheduler.mode"},
      {{.type = "reduce_on_plateau", .factor = 1.0}, "scheduler.factor"},
      {{.type = "reduce_on_plateau", .patience = -1}, "scheduler.patience"},
      {{.type = "reduce_on_plateau", .threshold = -1}, "scheduler.threshold"},
      {{.type = "reduce_on_plateau", .cooldown = -1}, "scheduler.cooldown"},
      {{.type = "reduce_on_plateau", .min_lr = -1}, "scheduler.min_lr"},
      {{.type = "one_cycle", .max_lr = -1}, "scheduler.max_lr"},
      {{.type = "one_cycle", .pct_start = 1.5}, "scheduler.pct_start"},
      {{.type = "one_cycle", .div_factor = 0}, "scheduler.div_factor"},
      {{.type = "one_cycle", .final_div_factor = 0}, "scheduler.final_div_factor"},
  };
  for (const Bad& b : bad) {
    Status st = ValidateScheduler(b.spec);
    ASSERT_FALSE(st.ok()) << b.field;
    EXPECT_EQ(FieldOf(st.error()), b.field) << st.error().message;
    EXPECT_NE(st.error().message.find(b.field), std::string::npos) << st.error().message;
    auto created = LrSchedule::Create(b.spec, 0.1, 10, 10);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(FieldOf(created.error()), b.field);
  }
}

TEST(LrScheduleTest, CreateRefusesImpossibleSettings) {
  auto no_epochs = LrSchedule::Create({.type = "cosine_annealing"}, 0.1, 0, 10);
  ASSERT_FALSE(no_epochs.ok());
  EXPECT_EQ(FieldOf(no_epochs.error()), "scheduler.t_max");
  auto no_steps = LrSchedule::Create({.type = "one_cycle"}, 0.1, 10, 0);
  ASSERT_FALSE(no_steps.ok());
  EXPECT_EQ(no_steps.error().code, ErrorCode::kInvalidArgument);
  // 0.1 * 10 steps - 1 == 0: PyTorch would divide by zero in the warm-up phase.
  auto empty_warmup = LrSchedule::Create({.type = "one_cycle", .pct_start = 0.1}, 0.1, 1, 10);
  ASSERT_FALSE(empty_warmup.ok());
  EXPECT_EQ(FieldOf(empty_warmup.error()), "scheduler.pct_start");
  auto empty_decay = LrSchedule::Create({.type = "one_cycle", .pct_start = 1.0}, 0.1, 1, 10);
  ASSERT_FALSE(empty_decay.ok());
  EXPECT_EQ(FieldOf(empty_decay.error()), "scheduler.pct_start");
  auto bad_lr = LrSchedule::Create({}, -1, 1, 1);
  ASSERT_FALSE(bad_lr.ok());
  EXPECT_EQ(FieldOf(bad_lr.error()), "optimizer.lr");
}

// ---------------------------------------------------------------------------------------------------
// Optimizers

OptimizerSpec OptimizerFromJson(const Json& j) {
  OptimizerSpec s;
  s.type = j.at("type").get<std::string>();
  s.lr = j.at("lr");
  if (j.contains("momentum")) s.momentum = j["momentum"];
  if (j.contains("dampening")) s.dampening = j["dampening"];
  if (j.contains("nesterov")) s.nesterov = j["nesterov"];
  if (j.contains("weight_decay")) s.weight_decay = j["weight_decay"];
  if (j.contains("beta1")) s.beta1 = j["beta1"];
  if (j.contains("beta2")) s.beta2 = j["beta2"];
  if (j.contains("amsgrad")) s.amsgrad = j["amsgrad"];
  if (j.contains("eps")) s.eps = j["eps"];
  if (j.contains("alpha")) s.alpha = j["alpha"];
  if (j.contains("centered")) s.centered = j["centered"];
  if (j.contains("rho")) s.rho = j["rho"];
  if (j.contains("lr_decay")) s.lr_decay = j["lr_decay"];
  if (j.contains("initial_accumulator_value")) s.initial_accumulator_value = j["initial_accumulator_value"];
  return s;
}

torch::Tensor FromJson(const Json& j, torch::ScalarType dtype) {
  std::vector<double> flat;
  std::vector<int64_t> shape{static_cast<int64_t>(j.size())};
  if (j[0].is_array()) {
    shape.push_back(static_cast<int64_t>(j[0].size()));
    for (const Json& row : j) {
      for (const Json& v : row) flat.push_back(v);
    }
  } else {
    for (const Json& v : j) flat.push_back(v);
  }
  return torch::tensor(flat, torch::kFloat64).reshape(shape).to(dtype);
}

// The reference problem: a 3x4 linear layer fitted to fixed data with mean squared error.
struct Problem {
  explicit Problem(torch::ScalarType dtype) {
    const Json& p = Reference()["problem"];
    weight = FromJson(p["weight"], dtype).requires_grad_(true);
    bias = FromJson(p["bias"], dtype).requires_grad_(true);
    x = FromJson(p["x"], dtype);
    y = FromJson(p["y"], dtype);
  }
  void Step(torch::optim::Optimizer& o) {
    o.zero_grad();
    torch::Tensor loss = torch::mse_loss(torch::nn::functional::linear(x, weight, bias), y);
    loss.backward();
    o.step();
  }
  std::vector<double> Flat() const {
    torch::Tensor f = torch::cat({weight.detach().reshape(-1), bias.detach()}).to(torch::kFloat64).contiguous();
    return {f.data_ptr<double>(), f.data_ptr<double>() + f.numel()};
  }
  torch::Tensor weight, bias, x, y;
};

torch::ScalarType DtypeOf(const Json& c) { return c["dtype"] == "float32" ? torch::kFloat32 : torch::kFloat64; }

// Every parameter after every step equals PyTorch's: 1e-9 relative in float64, 1e-5 in float32.
void ExpectMatchesPyTorch(const Json& c, Problem& p, torch::optim::Optimizer& o, size_t from) {
  const double tol = DtypeOf(c) == torch::kFloat32 ? 1e-5 : 1e-9;
  const size_t halve_after = c["halve_lr_after"];
  const auto& steps = c["steps"];
  for (size_t i = from; i < steps.size(); ++i) {
    if (i == halve_after) SetLearningRate(o, LearningRate(o) * 0.5);
    p.Step(o);
    std::vector<double> got = p.Flat();
    ASSERT_EQ(got.size(), steps[i].size());
    for (size_t k = 0; k < got.size(); ++k) {
      const double want = steps[i][k];
      ASSERT_LE(std::abs(got[k] - want), tol * std::max(1.0, std::abs(want)))
          << c["name"] << " step " << i + 1 << " parameter " << k << ": " << got[k] << " vs PyTorch " << want;
    }
  }
}

void ExpectOptimizerMatchesPyTorch(const std::string& type) {
  auto cases = Cases("optimizers", [&](const Json& c) { return c["spec"]["type"] == type; });
  ASSERT_FALSE(cases.empty()) << "no reference case for \"" << type << "\"";
  for (const Json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    Problem p(DtypeOf(c));
    auto o = MakeOptimizer(OptimizerFromJson(c["spec"]), {p.weight, p.bias});
    ASSERT_TRUE(o.ok()) << o.error().ToString();
    ExpectMatchesPyTorch(c, p, **o, 0);
  }
}

TEST(TorchOptimizerTest, SgdMatchesPyTorchWithMomentumDampeningAndNesterov) { ExpectOptimizerMatchesPyTorch("sgd"); }
TEST(TorchOptimizerTest, AdamMatchesPyTorchWithAmsgrad) { ExpectOptimizerMatchesPyTorch("adam"); }
TEST(TorchOptimizerTest, AdamWMatchesPyTorch) { ExpectOptimizerMatchesPyTorch("adamw"); }
TEST(TorchOptimizerTest, RmspropMatchesPyTorchCenteredWithMomentum) { ExpectOptimizerMatchesPyTorch("rmsprop"); }
TEST(TorchOptimizerTest, AdagradMatchesPyTorch) { ExpectOptimizerMatchesPyTorch("adagrad"); }
TEST(TorchOptimizerTest, AdadeltaMatchesPyTorchWithAndWithoutWeightDecay) {
  ExpectOptimizerMatchesPyTorch("adadelta");
}

TEST(TorchOptimizerTest, SaveLoadMidwayContinuesWithTheSameStepsAndRate) {
  for (const Json& c : Cases("optimizers")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const OptimizerSpec spec = OptimizerFromJson(c["spec"]);
    const size_t halve_after = c["halve_lr_after"];
    const size_t cut = halve_after + 3;  // after the rate changed: the spec's rate is no longer the one to use
    Problem a(DtypeOf(c));
    auto oa = MakeOptimizer(spec, {a.weight, a.bias});
    ASSERT_TRUE(oa.ok());
    for (size_t i = 0; i < cut; ++i) {
      if (i == halve_after) SetLearningRate(**oa, LearningRate(**oa) * 0.5);
      a.Step(**oa);
    }
    const std::string bytes = SaveOptimizer(**oa);

    // A fresh optimizer over fresh parameters holding the same values.
    Problem b(DtypeOf(c));
    {
      torch::NoGradGuard no_grad;
      b.weight.copy_(a.weight);
      b.bias.copy_(a.bias);
    }
    auto ob = MakeOptimizer(spec, {b.weight, b.bias});
    ASSERT_TRUE(ob.ok());
    Status st = LoadOptimizer(**ob, bytes);
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    EXPECT_EQ(LearningRate(**ob), LearningRate(**oa));
    EXPECT_EQ(LearningRate(**ob), spec.lr * 0.5);

    for (size_t i = cut; i < c["steps"].size(); ++i) {
      a.Step(**oa);
      b.Step(**ob);
      ASSERT_TRUE(torch::equal(a.weight, b.weight) && torch::equal(a.bias, b.bias)) << "step " << i + 1;
    }
    // And still PyTorch's trajectory.
    Problem r(DtypeOf(c));
    auto orr = MakeOptimizer(spec, {r.weight, r.bias});
    ASSERT_TRUE(orr.ok());
    ExpectMatchesPyTorch(c, r, **orr, 0);
    EXPECT_TRUE(torch::equal(r.weight, b.weight));
  }
}

TEST(TorchOptimizerTest, LoadRefusesAnotherOptimizersStateAndKeepsItsOwn) {
  Problem a(torch::kFloat64), b(torch::kFloat64);
  auto adam = MakeOptimizer({.type = "adam", .lr = 0.01}, {a.weight, a.bias});
  auto sgd = MakeOptimizer({.type = "sgd", .lr = 0.1, .momentum = 0.9}, {b.weight, b.bias});
  ASSERT_TRUE(adam.ok() && sgd.ok());
  a.Step(**adam);
  b.Step(**sgd);
  const std::string before = SaveOptimizer(**sgd);
  Status st = LoadOptimizer(**sgd, SaveOptimizer(**adam));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("adam"), std::string::npos) << st.error().message;
  EXPECT_EQ((*sgd)->state().size(), 2u);
  EXPECT_EQ(LearningRate(**sgd), 0.1);
  EXPECT_FALSE(LoadOptimizer(**sgd, "garbage").ok());
  EXPECT_FALSE(LoadOptimizer(**sgd, "").ok());
  EXPECT_EQ((*sgd)->state().size(), 2u);
}

TEST(TorchOptimizerTest, LoadRefusesStateOfOtherShapesAndKeepsItsOwn) {
  Problem a(torch::kFloat64);
  auto oa = MakeOptimizer({.type = "adadelta", .lr = 1.0}, {a.weight, a.bias});
  ASSERT_TRUE(oa.ok());
  a.Step(**oa);
  // Same number of parameters, other shapes.
  torch::Tensor w = torch::zeros({2, 2}, torch::kFloat64).requires_grad_(true);
  torch::Tensor v = torch::zeros({5}, torch::kFloat64).requires_grad_(true);
  auto ob = MakeOptimizer({.type = "adadelta", .lr = 1.0}, {w, v});
  ASSERT_TRUE(ob.ok());
  Status st = LoadOptimizer(**ob, SaveOptimizer(**oa));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("shape"), std::string::npos) << st.error().message;
  EXPECT_TRUE((*ob)->state().empty());
  // Another number of parameters.
  auto oc = MakeOptimizer({.type = "adadelta", .lr = 1.0}, {w});
  ASSERT_TRUE(oc.ok());
  EXPECT_FALSE(LoadOptimizer(**oc, SaveOptimizer(**oa)).ok());
}

TEST(TorchOptimizerTest, LoadRefusesAdamStateWithoutAmsgradMaximum) {
  Problem a(torch::kFloat64), b(torch::kFloat64);
  auto plain = MakeOptimizer({.type = "adam", .lr = 0.01}, {a.weight, a.bias});
  auto amsgrad = MakeOptimizer({.type = "adam", .lr = 0.01, .amsgrad = true}, {b.weight, b.bias});
  ASSERT_TRUE(plain.ok() && amsgrad.ok());
  a.Step(**plain);
  Status st = LoadOptimizer(**amsgrad, SaveOptimizer(**plain));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("max_exp_avg_sq"), std::string::npos) << st.error().message;
}

TEST(TorchOptimizerTest, MakeOptimizerNamesTheBadField) {
  Problem p(torch::kFloat64);
  auto o = MakeOptimizer({.type = "sgd", .lr = 0.1, .nesterov = true}, {p.weight, p.bias});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(FieldOf(o.error()), "optimizer.nesterov");
  auto none = MakeOptimizer({.type = "adam"}, {});
  EXPECT_FALSE(none.ok());
}

TEST(TorchOptimizerTest, SetLearningRateChangesWhatTheNextStepUses) {
  Problem a(torch::kFloat64), b(torch::kFloat64);
  auto oa = MakeOptimizer({.type = "sgd", .lr = 0.1}, {a.weight, a.bias});
  auto ob = MakeOptimizer({.type = "sgd", .lr = 0.2}, {b.weight, b.bias});
  ASSERT_TRUE(oa.ok() && ob.ok());
  SetLearningRate(**oa, 0.2);
  EXPECT_EQ(LearningRate(**oa), 0.2);
  a.Step(**oa);
  b.Step(**ob);
  EXPECT_TRUE(torch::equal(a.weight, b.weight));
}

}  // namespace
}  // namespace c19ai::ml
