// LibTorch optimizers from an OptimizerSpec, an Adadelta for LibTorch (which has none), and optimizer
// checkpoints that carry the learning rate along with the per-parameter state.

#include "ml/torch_optim.h"

#include <torch/optim/serialize.h>

#include <sstream>
#include <string>
#include <tuple>
#include <utility>

namespace c19ai::ml::internal {
namespace {

namespace optim = torch::optim;

// torch.optim.Adadelta's options (its `foreach` and `maximize` flags are not offered).
struct AdadeltaOptions : public optim::OptimizerCloneableOptions<AdadeltaOptions> {
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}  // NOLINT: implicit, as serialize.h constructs it from 0
  TORCH_ARG(double, lr) = 1.0;
  TORCH_ARG(double, rho) = 0.9;
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(double, weight_decay) = 0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override {
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, rho);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  }
  void serialize(torch::serialize::OutputArchive& archive) const override {
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(rho);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

// torch.optim.Adadelta's per-parameter state.
struct AdadeltaParamState : public optim::OptimizerCloneableParamState<AdadeltaParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, square_avg);
  TORCH_ARG(torch::Tensor, acc_delta);

 public:
  void serialize(torch::serialize::InputArchive& archive) override {
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, square_avg);
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, acc_delta);
  }
  void serialize(torch::serialize::OutputArchive& archive) const override {
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(square_avg);
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(acc_delta);
  }
};

// torch.optim.Adadelta (single-tensor path of PyTorch 1.13), operation for operation:
//   g += weight_decay * p;  v = rho v + (1 - rho) g²;  d = sqrt(u + eps) / sqrt(v + eps) * g;
//   u = rho u + (1 - rho) d²;  p -= lr d.
// Not thread-safe, like every torch::optim::Optimizer.
class Adadelta : public optim::Optimizer {
 public:
  Adadelta(std::vector<torch::Tensor> params, const AdadeltaOptions& defaults)
      : Optimizer({optim::OptimizerParamGroup(std::move(params))}, std::make_unique<AdadeltaOptions>(defaults)) {}

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure != nullptr) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    for (auto& group : param_groups_) {
      const auto& options = static_cast<const AdadeltaOptions&>(group.options());
      const double lr = options.lr(), rho = options.rho(), eps = options.eps(), wd = options.weight_decay();
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        torch::Tensor grad = p.grad();
        TORCH_CHECK(!grad.is_sparse(), "Adadelta does not support sparse gradients");
        const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
        auto it = state_.find(key);
        if (it == state_.end()) {
          auto fresh = std::make_unique<AdadeltaParamState>();
          fresh->square_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          fresh->acc_delta(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          it = state_.emplace(key, std::move(fresh)).first;
        }
        auto& state = static_cast<AdadeltaParamState&>(*it->second);
        state.step(state.step() + 1);
        if (wd != 0) grad = grad.add(p, wd);
        torch::Tensor& square_avg = state.square_avg();
        torch::Tensor& acc_delta = state.acc_delta();
        square_avg.mul_(rho).addcmul_(grad, grad, 1 - rho);
        torch::Tensor std = square_avg.add(eps).sqrt_();
        torch::Tensor delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad);
        acc_delta.mul_(rho).addcmul_(delta, delta, 1 - rho);
        p.add_(delta, -lr);
      }
    }
    return loss;
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    optim::serialize<AdadeltaParamState, AdadeltaOptions>(archive, *this);
  }
  void load(torch::serialize::InputArchive& archive) override {
    optim::serialize<AdadeltaParamState, AdadeltaOptions>(archive, *this);
  }
};

// The optimizer's kind, written into checkpoints so that a state is never loaded into another kind.
std::string KindOf(const optim::Optimizer& o) {
  if (dynamic_cast<const optim::SGD*>(&o)) return "sgd";
  if (dynamic_cast<const optim::Adam*>(&o)) return "adam";
  if (dynamic_cast<const optim::AdamW*>(&o)) return "adamw";
  if (dynamic_cast<const optim::RMSprop*>(&o)) return "rmsprop";
  if (dynamic_cast<const optim::Adagrad*>(&o)) return "adagrad";
  if (dynamic_cast<const Adadelta*>(&o)) return "adadelta";
  return "other";
}

// The tensors a parameter's state must hold for the optimizer's current options (an undefined one
// would make the next step throw) and those it may hold.
struct StateTensors {
  std::vector<std::pair<const char*, torch::Tensor>> required, optional;
};

StateTensors TensorsOf(const optim::OptimizerOptions& options, const optim::OptimizerParamState& s) {
  StateTensors t;
  if (auto* x = dynamic_cast<const optim::SGDParamState*>(&s)) {
    t.required = {{"momentum_buffer", x->momentum_buffer()}};
  } else if (auto* x = dynamic_cast<const optim::AdamParamState*>(&s)) {
    t.required = {{"exp_avg", x->exp_avg()}, {"exp_avg_sq", x->exp_avg_sq()}};
    bool amsgrad = static_cast<const optim::AdamOptions&>(options).amsgrad();
    (amsgrad ? t.required : t.optional).emplace_back("max_exp_avg_sq", x->max_exp_avg_sq());
  } else if (auto* x = dynamic_cast<const optim::AdamWParamState*>(&s)) {
    t.required = {{"exp_avg", x->exp_avg()}, {"exp_avg_sq", x->exp_avg_sq()}};
    bool amsgrad = static_cast<const optim::AdamWOptions&>(options).amsgrad();
    (amsgrad ? t.required : t.optional).emplace_back("max_exp_avg_sq", x->max_exp_avg_sq());
  } else if (auto* x = dynamic_cast<const optim::RMSpropParamState*>(&s)) {
    const auto& o = static_cast<const optim::RMSpropOptions&>(options);
    t.required = {{"square_avg", x->square_avg()}};
    (o.momentum() > 0 ? t.required : t.optional).emplace_back("momentum_buffer", x->momentum_buffer());
    (o.centered() ? t.required : t.optional).emplace_back("grad_avg", x->grad_avg());
  } else if (auto* x = dynamic_cast<const optim::AdagradParamState*>(&s)) {
    t.required = {{"sum", x->sum()}};
  } else if (auto* x = dynamic_cast<const AdadeltaParamState*>(&s)) {
    t.required = {{"square_avg", x->square_avg()}, {"acc_delta", x->acc_delta()}};
  }
  return t;
}

// Why the loaded state cannot drive the next step, or "" when it can.
std::string CheckLoadedState(const optim::Optimizer& o) {
  for (const auto& group : o.param_groups()) {
    for (const auto& p : group.params()) {
      auto it = o.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it == o.state().end()) continue;
      StateTensors t = TensorsOf(group.options(), *it->second);
      auto check = [&](const char* name, const torch::Tensor& v, bool required) -> std::string {
        if (!v.defined()) return required ? std::string("the state lacks ") + name : "";
        if (v.sizes() != p.sizes() || v.scalar_type() != p.scalar_type()) {
          return std::string(name) + " has shape " + c10::str(v.sizes()) + " " + c10::toString(v.scalar_type()) +
                 ", the parameter " + c10::str(p.sizes()) + " " + c10::toString(p.scalar_type());
        }
        return "";
      };
      for (const auto& [name, v] : t.required) {
        if (auto why = check(name, v, true); !why.empty()) return why;
      }
      for (const auto& [name, v] : t.optional) {
        if (auto why = check(name, v, false); !why.empty()) return why;
      }
    }
  }
  return "";
}

constexpr const char* kKindKey = "c19ai_kind";
constexpr const char* kLrsKey = "c19ai_lrs";

}  // namespace

Result<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(const OptimizerSpec& spec,
                                                               std::vector<torch::Tensor> parameters) {
  C19_TRY(ValidateOptimizer(spec));
  if (parameters.empty()) return Error::InvalidArgument("the optimizer got an empty parameter list");
  try {
    const std::string& t = spec.type;
    std::unique_ptr<optim::Optimizer> o;
    if (t == "sgd") {
      o = std::make_unique<optim::SGD>(std::move(parameters), optim::SGDOptions(spec.lr)
                                                                  .momentum(spec.momentum)
                                                                  .dampening(spec.dampening)
                                                                  .weight_decay(spec.weight_decay)
                                                                  .nesterov(spec.nesterov));
    } else if (t == "adam") {
      o = std::make_unique<optim::Adam>(std::move(parameters), optim::AdamOptions(spec.lr)
                                                                   .betas(std::make_tuple(spec.beta1, spec.beta2))
                                                                   .eps(spec.eps)
                                                                   .weight_decay(spec.weight_decay)
                                                                   .amsgrad(spec.amsgrad));
    } else if (t == "adamw") {
      o = std::make_unique<optim::AdamW>(std::move(parameters), optim::AdamWOptions(spec.lr)
                                                                    .betas(std::make_tuple(spec.beta1, spec.beta2))
                                                                    .eps(spec.eps)
                                                                    .weight_decay(spec.weight_decay)
                                                                    .amsgrad(spec.amsgrad));
    } else if (t == "rmsprop") {
      o = std::make_unique<optim::RMSprop>(std::move(parameters), optim::RMSpropOptions(spec.lr)
                                                                      .alpha(spec.alpha)
                                                                      .eps(spec.eps)
                                                                      .weight_decay(spec.weight_decay)
                                                                      .momentum(spec.momentum)
                                                                      .centered(spec.centered));
    } else if (t == "adagrad") {
      o = std::make_unique<optim::Adagrad>(std::move(parameters),
                                           optim::AdagradOptions(spec.lr)
                                               .lr_decay(spec.lr_decay)
                                               .weight_decay(spec.weight_decay)
                                               .initial_accumulator_value(spec.initial_accumulator_value)
                                               .eps(spec.eps));
    } else {  // adadelta (ValidateOptimizer admits no other type)
      o = std::make_unique<Adadelta>(
          std::move(parameters),
          AdadeltaOptions(spec.lr).rho(spec.rho).eps(spec.eps).weight_decay(spec.weight_decay));
    }
    return o;
  } catch (const c10::Error& e) {
    return Error::Field("optimizer", std::string("optimizer: ") + e.what_without_backtrace());
  }
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double LearningRate(const torch::optim::Optimizer& optimizer) {
  C19_CHECK(!optimizer.param_groups().empty());
  return optimizer.param_groups().front().options().get_lr();
}

std::string SaveOptimizer(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.write(kKindKey, c10::IValue(KindOf(optimizer)));
  std::vector<double> lrs;
  for (const auto& group : optimizer.param_groups()) lrs.push_back(group.options().get_lr());
  archive.write(kLrsKey, torch::tensor(lrs, torch::kFloat64));
  std::ostringstream out;
  archive.save_to(out);
  return std::move(out).str();
}

Status LoadOptimizer(torch::optim::Optimizer& optimizer, std::string_view bytes) {
  auto& state = optimizer.state();
  // torch's load replaces entries of the state map: keep the old entries to put back on failure.
  ska::flat_hash_map<std::string, std::unique_ptr<optim::OptimizerParamState>> backup;
  for (const auto& [key, value] : state) backup.emplace(key, value->clone());
  auto fail = [&](std::string why) -> Status {
    state = std::move(backup);
    return Error::InvalidArgument("optimizer state does not load: " + std::move(why));
  };
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size());
    c10::IValue kind;
    if (!archive.try_read(kKindKey, kind) || !kind.isString()) return fail("it was not written by SaveOptimizer");
    const std::string expected = KindOf(optimizer);
    if (kind.toStringRef() != expected) {
      return fail("it belongs to a " + kind.toStringRef() + " optimizer, this one is " + expected);
    }
    torch::Tensor lrs;
    if (!archive.try_read(kLrsKey, lrs) || lrs.dim() != 1 ||
        lrs.size(0) != static_cast<int64_t>(optimizer.param_groups().size())) {
      return fail("it has no learning rate for each of the " + std::to_string(optimizer.param_groups().size()) +
                  " parameter groups");
    }
    lrs = lrs.to(torch::kFloat64).contiguous();
    optimizer.load(archive);
    if (std::string why = CheckLoadedState(optimizer); !why.empty()) return fail(why);
    const double* lr = lrs.data_ptr<double>();
    for (auto& group : optimizer.param_groups()) group.options().set_lr(*lr++);
    return OkStatus();
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace c19ai::ml::internal
