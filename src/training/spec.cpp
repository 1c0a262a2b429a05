// The training job specification: parsing with field-level errors (unknown fields refused, each
// optimizer and scheduler taking only its own fields) and the canonical JSON stored with the job.

#include <algorithm>
#include <set>
#include <string_view>

#include "ml/train.h"
#include "training/runner.h"
#include "training/training.h"

namespace c19ai::training {

namespace {

// The fields each optimizer takes (besides type and lr), as torch.optim names them.
const std::map<std::string, std::set<std::string>, std::less<>>& OptimizerFields() {
  static const std::map<std::string, std::set<std::string>, std::less<>> f = {
      {"sgd", {"momentum", "dampening", "nesterov", "weight_decay"}},
      {"adam", {"betas", "eps", "weight_decay", "amsgrad"}},
      {"adamw", {"betas", "eps", "weight_decay", "amsgrad"}},
      {"rmsprop", {"alpha", "eps", "weight_decay", "momentum", "centered"}},
      {"adagrad", {"lr_decay", "weight_decay", "initial_accumulator_value", "eps"}},
      {"adadelta", {"rho", "eps", "weight_decay"}},
  };
  return f;
}

const std::map<std::string, std::set<std::string>, std::less<>>& SchedulerFields() {
  static const std::map<std::string, std::set<std::string>, std::less<>> f = {
      {"step", {"step_size", "gamma"}},
      {"multi_step", {"milestones", "gamma"}},
      {"exponential", {"gamma"}},
      {"cosine_annealing", {"t_max", "eta_min"}},
      {"reduce_on_plateau", {"mode", "factor", "patience", "threshold", "cooldown", "min_lr", "metric"}},
      {"one_cycle", {"max_lr", "pct_start", "div_factor", "final_div_factor"}},
  };
  return f;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

Status ParseOptimizer(const Json& j, ml::OptimizerSpec& o) {
  FieldReader r(j, "optimizer");
  o.type = r.OptString("type").value_or("adam");
  auto allowed = OptimizerFields().find(o.type);
  if (allowed == OptimizerFields().end()) {
    return Error::Field("optimizer.type", "optimizer.type must be sgd, adam, adamw, rmsprop, adagrad or adadelta");
  }
  if (o.type == "adagrad") o.lr = 0.01, o.eps = 1e-10;
  if (o.type == "adadelta") o.lr = 1.0, o.eps = 1e-6;
  if (o.type == "rmsprop") o.lr = 0.01;
  if (o.type == "sgd") o.lr = 0.01;
  if (o.type == "adamw") o.weight_decay = 0.01;
  for (const auto& [key, value] : j.items()) {
    if (key != "type" && key != "lr" && !allowed->second.count(key)) {
      return Error::Field("optimizer." + key, o.type + " takes " + Join(allowed->second) + " (and lr), not " + key);
    }
  }
  if (auto v = r.OptNumber("lr", 0, 100)) o.lr = *v;
  if (auto v = r.OptNumber("momentum", 0, 1)) o.momentum = *v;
  if (auto v = r.OptNumber("dampening", 0, 1)) o.dampening = *v;
  if (auto v = r.OptBool("nesterov")) o.nesterov = *v;
  if (auto v = r.OptNumber("weight_decay", 0, 10)) o.weight_decay = *v;
  if (auto v = r.OptNumber("eps", 0, 1)) o.eps = *v;
  if (auto v = r.OptNumber("alpha", 0, 1)) o.alpha = *v;
  if (auto v = r.OptBool("centered")) o.centered = *v;
  if (auto v = r.OptNumber("rho", 0, 1)) o.rho = *v;
  if (auto v = r.OptNumber("lr_decay", 0, 10)) o.lr_decay = *v;
  if (auto v = r.OptNumber("initial_accumulator_value", 0, 1e6)) o.initial_accumulator_value = *v;
  if (auto v = r.OptBool("amsgrad")) o.amsgrad = *v;
  if (const Json* b = r.OptArray("betas")) {
    if (b->size() != 2 || !(*b)[0].is_number() || !(*b)[1].is_number()) {
      r.Fail("betas", "betas must be two numbers in [0, 1)");
    } else {
      o.beta1 = (*b)[0].get<double>();
      o.beta2 = (*b)[1].get<double>();
    }
  }
  C19_TRY(r.Finish());
  return ml::ValidateOptimizer(o);
}

Status ParseScheduler(const Json& j, ml::SchedulerSpec& s, std::string& plateau_metric) {
  FieldReader r(j, "scheduler");
  s.type = r.OptString("type").value_or("");
  if (s.type.empty() || s.type == "none") {
    s.type.clear();
    C19_TRY(r.Finish());
    return OkStatus();
  }
  auto allowed = SchedulerFields().find(s.type);
  if (allowed == SchedulerFields().end()) {
    return Error::Field("scheduler.type", "scheduler.type must be step, multi_step, exponential, cosine_annealing, "
                                          "reduce_on_plateau or one_cycle");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "type" && !allowed->second.count(key)) {
      return Error::Field("scheduler." + key, s.type + " takes " + Join(allowed->second) + ", not " + key);
    }
  }
  if (auto v = r.OptInt("step_size", 1, 1'000'000)) s.step_size = *v;
  if (auto v = r.OptNumber("gamma", 0, 10)) s.gamma = *v;
  if (const Json* m = r.OptArray("milestones")) {
    s.milestones.clear();
    for (const auto& e : *m) {
      if (!e.is_number_integer() || e.get<int64_t>() < 1) {
        r.Fail("milestones", "milestones must be positive epoch numbers");
        break;
      }
      s.milestones.push_back(e.get<int64_t>());
    }
  }
  if (auto v = r.OptInt("t_max", 1, 1'000'000)) s.t_max = *v;
  if (auto v = r.OptNumber("eta_min", 0, 100)) s.eta_min = *v;
  if (auto v = r.OptString("mode")) s.mode = *v;
  if (auto v = r.OptNumber("factor", 0, 1)) s.factor = *v;
  if (auto v = r.OptInt("patience", 0, 1'000'000)) s.patience = *v;
  if (auto v = r.OptNumber("threshold", 0, 1)) s.threshold = *v;
  if (auto v = r.OptInt("cooldown", 0, 1'000'000)) s.cooldown = *v;
  if (auto v = r.OptNumber("min_lr", 0, 100)) s.min_lr = *v;
  if (auto v = r.OptString("metric")) plateau_metric = *v;
  if (auto v = r.OptNumber("max_lr", 0, 100)) s.max_lr = *v;
  if (auto v = r.OptNumber("pct_start", 0, 1)) s.pct_start = *v;
  if (auto v = r.OptNumber("div_factor", 1e-9, 1e9)) s.div_factor = *v;
  if (auto v = r.OptNumber("final_div_factor", 1e-9, 1e12)) s.final_div_factor = *v;
  C19_TRY(r.Finish());
  return ml::ValidateScheduler(s);
}

bool IsMetric(const std::string& model_type, const std::string& m) {
  if (model_type == "classification") return m == "accuracy" || m == "f1_macro" || m == "log_loss" || m == "val_loss";
  if (model_type == "regression") return m == "r2" || m == "rmse" || m == "mae" || m == "val_loss";
  if (model_type == "clustering") return m == "silhouette" || m == "inertia";
  if (model_type == "generation") return m == "val_loss" || m == "perplexity";
  return m == "val_loss";  // embedding: reconstruction error on the validation rows
}

const char* MetricChoices(const std::string& model_type) {
  if (model_type == "classification") return "metric must be accuracy, f1_macro or log_loss";
  if (model_type == "regression") return "metric must be r2, rmse or mae";
  if (model_type == "clustering") return "metric must be silhouette or inertia";
  if (model_type == "generation") return "metric must be val_loss or perplexity";
  return "metric must be val_loss";
}

std::string DefaultMetric(const std::string& model_type) {
  if (model_type == "classification") return "accuracy";
  if (model_type == "regression") return "r2";
  if (model_type == "clustering") return "silhouette";
  return "val_loss";
}

// What each architecture trains: its framework and the model types it serves (the first is the default).
struct Architecture {
  std::string_view name, framework;
  std::vector<std::string_view> model_types;
};

const std::vector<Architecture>& Architectures() {
  static const std::vector<Architecture> a = {
      {"mlp", "torch", {"classification", "regression"}},
      {"gbtree", "xgboost", {"classification", "regression"}},
      {"kmeans", "kmeans", {"clustering"}},
      {"char_rnn", "torch", {"generation"}},
      {"char_transformer", "torch", {"generation"}},
      {"autoencoder", "torch", {"embedding"}},
  };
  return a;
}

}  // namespace

Result<JobSpec> ParseJobSpec(const Json& body) {
  JobSpec s;
  FieldReader r(body);
  s.name = r.OptString("name").value_or("");
  if (s.name.size() > 200) r.Fail("name", "name is at most 200 characters");
  if (auto v = r.OptString("experiment")) {
    if (v->empty() || v->size() > 200) r.Fail("experiment", "experiment is 1 to 200 characters");
    s.experiment = *v;
  }
  s.dataset = r.String("dataset");
  s.target = r.OptString("target").value_or("");
  if (auto v = r.OptStringList("features")) s.features = *v;
  if (auto v = r.OptStringList("exclude")) s.exclude = *v;
  if (auto v = r.OptInt("epochs", 1, 100'000)) s.epochs = *v;
  if (auto v = r.OptInt("batch_size", 1, 1 << 20)) s.batch_size = *v;
  if (auto v = r.OptInt("seed", 0)) s.seed = static_cast<uint64_t>(*v);
  if (auto v = r.OptBool("shuffle")) s.shuffle = *v;
  if (auto v = r.OptInt("threads", 1, 64)) s.threads = static_cast<int>(*v);
  if (auto v = r.OptInt("log_every_steps", 0, 1'000'000)) s.log_every_steps = *v;
  if (const Json* t = r.OptObject("tags")) {
    if (t->size() > 50) r.Fail("tags", "at most 50 tags");
    for (const auto& [k, v] : t->items()) {
      if (k.empty() || k.size() > 100) r.Fail("tags." + k, "a tag name is 1 to 100 characters");
      else if (!v.is_string() || v.get_ref<const std::string&>().size() > 500) {
        r.Fail("tags." + k, "a tag value is a string of at most 500 characters");
      } else {
        s.tags[k] = v.get<std::string>();
      }
    }
  }
  if (!r.ok()) return std::move(r.Finish()).error();

  const Json* model = r.OptObject("model");
  if (!model) return Error::Field("model", "model is required: {model_type, framework, architecture, params}");
  {
    FieldReader m(*model, "model");
    s.architecture = m.OptString("architecture").value_or("mlp");
    const Architecture* arch = nullptr;
    for (const auto& a : Architectures()) arch = a.name == s.architecture ? &a : arch;
    if (!arch) {
      m.Fail("architecture", "architecture must be mlp, gbtree, kmeans, char_rnn, char_transformer or autoencoder");
      C19_TRY(m.Finish());
    }
    s.model_type = m.OptString("model_type").value_or(std::string(arch->model_types.front()));
    if (std::find(arch->model_types.begin(), arch->model_types.end(), s.model_type) == arch->model_types.end()) {
      std::string types;
      for (auto t : arch->model_types) types += (types.empty() ? "" : " or ") + std::string(t);
      m.Fail("model_type", s.architecture + " trains " + types + " models");
    }
    s.framework = m.OptString("framework").value_or(std::string(arch->framework));
    if (s.framework != arch->framework) m.Fail("framework", s.architecture + " trains with framework " +
                                                                std::string(arch->framework));
    if (const Json* p = m.OptObject("params")) s.params = *p;
    C19_TRY(m.Finish());
    if (s.architecture == "mlp") {
      C19_TRY(ml::ValidateMlpParams(s.params.dump()));
    } else if (s.architecture == "gbtree") {
      ml::GbtreeSpec g;
      C19_TRY(ml::ParseGbtreeParams(s.params.dump(), g));
    } else if (s.architecture == "kmeans") {
      C19_TRY(internal::CheckKMeansParams(s.params));
    } else if (s.architecture == "autoencoder") {
      C19_TRY(internal::CheckAutoencoderParams(s.params));
    } else {
      C19_TRY(internal::CheckCharModelParams(s.architecture, s.params));
    }
  }
  // Supervised models and text models read a column; k-means and autoencoders learn from the features.
  const bool needs_target = s.model_type != "clustering" && s.model_type != "embedding";
  if (needs_target && s.target.empty()) {
    return Error::Field("target", s.model_type == "generation" ? "target is required: the column holding the text"
                                                               : "target is required");
  }
  if (!needs_target && !s.target.empty()) {
    return Error::Field("target", s.architecture + " learns without a target; leave target out");
  }
  s.metric = DefaultMetric(s.model_type);
  std::string plateau_metric = "val_loss";
  if (const Json* o = r.OptObject("optimizer")) C19_TRY(ParseOptimizer(*o, s.optimizer));
  if (const Json* o = r.OptObject("scheduler")) C19_TRY(ParseScheduler(*o, s.scheduler, plateau_metric));
  if (const Json* v = r.OptObject("validation")) {
    FieldReader f(*v, "validation");
    if (auto x = f.OptNumber("split", 0.01, 0.9)) s.validation_split = *x;
    if (auto x = f.OptBool("shuffle")) s.split_shuffle = *x;
    if (auto x = f.OptString("metric")) {
      const bool tabular = s.model_type == "classification" || s.model_type == "regression";
      if (!IsMetric(s.model_type, *x) || (tabular && *x == "val_loss")) f.Fail("metric", MetricChoices(s.model_type));
      s.metric = *x;
    }
    C19_TRY(f.Finish());
  }
  if (const Json* v = r.OptObject("early_stopping")) {
    FieldReader f(*v, "early_stopping");
    s.early_stopping_metric = f.OptString("metric").value_or(s.metric);
    if (!IsMetric(s.model_type, s.early_stopping_metric)) f.Fail("metric", "not a metric of this model type");
    if (auto x = f.OptInt("patience", 1, 100'000)) s.patience = *x;
    if (auto x = f.OptNumber("min_delta", 0, 1e9)) s.min_delta = *x;
    C19_TRY(f.Finish());
  }
  if (const Json* v = r.OptObject("checkpoint")) {
    FieldReader f(*v, "checkpoint");
    if (auto x = f.OptInt("every_epochs", 0, 100'000)) s.checkpoint_every = *x;
    if (auto x = f.OptInt("keep_last", 1, 1000)) s.keep_last = *x;
    C19_TRY(f.Finish());
  }
  if (const Json* v = r.OptObject("register")) {
    FieldReader f(*v, "register");
    s.register_model = f.String("model_name");
    C19_TRY(f.Finish());
  }
  if (const Json* v = r.OptObject("preprocessing")) {
    FieldReader f(*v, "preprocessing");
    if (auto x = f.OptBool("standardize")) s.standardize = *x;
    if (auto x = f.OptString("impute")) {
      if (*x != "mean" && *x != "median") f.Fail("impute", "impute must be mean or median");
      s.impute = *x;
    }
    if (auto x = f.OptInt("max_categories", 2, 10'000)) s.max_categories = *x;
    C19_TRY(f.Finish());
  }
  if (s.architecture != "mlp" && s.log_every_steps > 0) {
    return Error::Field("log_every_steps", "step-level logging applies to mlp training (gbtree reports every round)");
  }
  if (const Json* v = r.OptObject("augmentation")) {
    FieldReader f(*v, "augmentation");
    if (auto x = f.OptNumber("gaussian_noise", 0, 10)) s.noise_std = *x;
    if (auto x = f.OptNumber("mixup_alpha", 0, 100)) s.mixup_alpha = *x;
    C19_TRY(f.Finish());
    if (s.architecture != "mlp" && (s.noise_std > 0 || s.mixup_alpha > 0)) {
      return Error::Field("augmentation", "augmentation applies to mlp training");
    }
  }
  C19_TRY(r.Finish());
  if (s.scheduler.type == "reduce_on_plateau") {
    if (!IsMetric(s.model_type, plateau_metric)) {
      return Error::Field("scheduler.metric", "scheduler.metric must be val_loss or a validation metric");
    }
    s.params["__plateau_metric"] = plateau_metric;  // carried to the trainer, stripped from the bundle
  }
  if (s.framework == "torch" && s.scheduler.type == "cosine_annealing" && s.scheduler.t_max == 0) {
    s.scheduler.t_max = s.epochs;
  }
  for (const auto& f : s.features) {
    if (f == s.target) return Error::Field("features", "the target cannot be a feature");
  }
  return s;
}

Json SpecToJson(const JobSpec& s) {
  const auto& o = s.optimizer;
  const auto& c = s.scheduler;
  Json params = s.params;
  std::string plateau = params.value("__plateau_metric", std::string("val_loss"));
  params.erase("__plateau_metric");
  Json sched = Json{{"type", c.type.empty() ? "none" : c.type}};
  if (c.type == "step") sched.update({{"step_size", c.step_size}, {"gamma", c.gamma}});
  if (c.type == "multi_step") sched.update({{"milestones", c.milestones}, {"gamma", c.gamma}});
  if (c.type == "exponential") sched.update({{"gamma", c.gamma}});
  if (c.type == "cosine_annealing") sched.update({{"t_max", c.t_max}, {"eta_min", c.eta_min}});
  if (c.type == "reduce_on_plateau") {
    sched.update({{"mode", c.mode}, {"factor", c.factor}, {"patience", c.patience}, {"threshold", c.threshold},
                  {"cooldown", c.cooldown}, {"min_lr", c.min_lr}, {"metric", plateau}});
  }
  if (c.type == "one_cycle") {
    sched.update({{"max_lr", c.max_lr}, {"pct_start", c.pct_start}, {"div_factor", c.div_factor},
                  {"final_div_factor", c.final_div_factor}});
  }
  Json opt = {{"type", o.type}, {"lr", o.lr}};
  for (const auto& f : OptimizerFields().at(o.type)) {
    if (f == "momentum") opt[f] = o.momentum;
    if (f == "dampening") opt[f] = o.dampening;
    if (f == "nesterov") opt[f] = o.nesterov;
    if (f == "weight_decay") opt[f] = o.weight_decay;
    if (f == "betas") opt[f] = {o.beta1, o.beta2};
    if (f == "eps") opt[f] = o.eps;
    if (f == "amsgrad") opt[f] = o.amsgrad;
    if (f == "alpha") opt[f] = o.alpha;
    if (f == "centered") opt[f] = o.centered;
    if (f == "rho") opt[f] = o.rho;
    if (f == "lr_decay") opt[f] = o.lr_decay;
    if (f == "initial_accumulator_value") opt[f] = o.initial_accumulator_value;
  }
  Json j = {{"name", s.name},
            {"experiment", s.experiment},
            {"dataset", s.dataset},
            {"target", s.target},
            {"features", s.features},
            {"exclude", s.exclude},
            {"model",
             {{"model_type", s.model_type}, {"framework", s.framework}, {"architecture", s.architecture},
              {"params", params}}},
            {"optimizer", opt},
            {"scheduler", sched},
            {"epochs", s.epochs},
            {"batch_size", s.batch_size},
            {"validation", {{"split", s.validation_split}, {"metric", s.metric}, {"shuffle", s.split_shuffle}}},
            {"checkpoint", {{"every_epochs", s.checkpoint_every}, {"keep_last", s.keep_last}}},
            {"preprocessing",
             {{"standardize", s.standardize}, {"impute", s.impute}, {"max_categories", s.max_categories}}},
            {"augmentation", {{"gaussian_noise", s.noise_std}, {"mixup_alpha", s.mixup_alpha}}},
            {"seed", s.seed},
            {"shuffle", s.shuffle},
            {"threads", s.threads},
            {"log_every_steps", s.log_every_steps}};
  if (!s.early_stopping_metric.empty()) {
    j["early_stopping"] = {{"metric", s.early_stopping_metric}, {"patience", s.patience}, {"min_delta", s.min_delta}};
  }
  if (!s.register_model.empty()) j["register"] = {{"model_name", s.register_model}};
  j["tags"] = s.tags;
  return j;
}

}  // namespace c19ai::training
