// The LibTorch MLP trainer: mini-batch epochs with the configured optimizer and schedule, Gaussian-noise
// and mixup augmentation, validation metrics, and checkpoints that restore weights, optimizer moments,
// learning rate and schedule exactly. The same trainer fits autoencoders (task kEmbedding): the network
// is then encoder + decoder and the targets are the inputs.

#include <chrono>
#include <cstring>
#include <numeric>
#include <random>

#include "common/json.h"
#include "ml/internal.h"
#include "ml/torch_nets.h"
#include "ml/torch_optim.h"
#include "ml/train.h"

namespace c19ai::ml {

void internal::PutBlob(std::string& out, std::string_view blob) {
  uint64_t n = blob.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(blob);
}

Result<std::string_view> internal::TakeBlob(std::string_view& in) {
  uint64_t n = 0;
  if (in.size() < sizeof n) return Error::Unprocessable("checkpoint is truncated");
  std::memcpy(&n, in.data(), sizeof n);
  in.remove_prefix(sizeof n);
  if (in.size() < n) return Error::Unprocessable("checkpoint is truncated");
  std::string_view blob = in.substr(0, n);
  in.remove_prefix(n);
  return blob;
}

namespace {

using internal::Autoencoder;
using internal::Mlp;

// The trained network: a classifier/regressor MLP or an autoencoder, behind one forward.
struct Net {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};
using internal::PutBlob;
using internal::TakeBlob;

constexpr std::string_view kCheckpointMagic = "C19CKPT1";

torch::Tensor ToTensor(const Matrix& m) {
  return torch::from_blob(const_cast<float*>(m.values.data()), {m.rows, m.cols}, torch::kFloat32).clone();
}

// Prefixes a network option error with the spec's path ("params.hidden" → "model.params.hidden").
Error Named(Error e) {
  Json d = Json::parse(e.details.empty() ? std::string("{}") : e.details, nullptr, false);
  if (d.is_object() && d.contains("field") && d["field"].is_string()) {
    std::string field = d["field"].get<std::string>();
    if (field.rfind("model.", 0) != 0) return Error::Field("model." + field, e.message);
  }
  return e;
}

class TorchMlpTrainer final : public MlpTrainer {
 public:
  TorchMlpTrainer(const MlpTrainSpec& spec, Split train, Split val) : spec_(spec), train_(std::move(train)), val_(std::move(val)) {}

  Status Init() {
    if (train_.x.rows == 0) return Error::InvalidArgument("the training split is empty");
    if (spec_.batch_size < 1) return Error::Field("batch_size", "batch_size must be at least 1");
    if (spec_.epochs < 1) return Error::Field("epochs", "epochs must be at least 1");
    classify_ = spec_.task == Task::kClassification;
    autoencode_ = spec_.task == Task::kEmbedding;
    if (autoencode_) {
      auto options = internal::ParseAutoencoderOptions(spec_.params_json);
      if (!options.ok()) return Named(options.error());
      ae_options_ = *options;
    } else {
      auto options = internal::ParseMlpOptions(spec_.params_json);
      if (!options.ok()) return Named(options.error());
      options_ = *options;
    }
    if (classify_ && spec_.classes < 2) return Error::Field("target", "classification needs at least two classes");
    outputs_ = classify_ ? spec_.classes : 1;
    try {
      torch::manual_seed(spec_.seed);
      net_ = MakeNet();
      Flatten();
      xt_ = ToTensor(train_.x);
      xv_ = ToTensor(val_.x);
      yt_ = autoencode_ ? xt_ : Targets(train_.y);
      yv_ = autoencode_ ? xv_ : Targets(val_.y);
      C19_ASSIGN_OR_RETURN(opt_, internal::MakeOptimizer(spec_.optimizer, {flat_}));
    } catch (const c10::Error& e) {
      return Error::InvalidArgument(std::string("cannot build the network: ") + e.what_without_backtrace());
    }
    steps_per_epoch_ = (train_.x.rows + spec_.batch_size - 1) / spec_.batch_size;
    C19_ASSIGN_OR_RETURN(sched_, LrSchedule::Create(spec_.scheduler, spec_.optimizer.lr, spec_.epochs, steps_per_epoch_));
    return OkStatus();
  }

  Result<EpochStats> RunEpoch(const std::function<bool()>& cancelled,
                              const std::function<void(const StepStats&)>& on_steps,
                              int64_t every_steps) override {
    try {
      return Epoch(cancelled, on_steps, every_steps);
    } catch (const c10::Error& e) {
      return Error::Internal(std::string("training step failed: ") + e.what_without_backtrace());
    }
  }

  int64_t epochs_done() const override { return epoch_; }

  std::string Checkpoint() override {
    std::string out(kCheckpointMagic);
    PutBlob(out, std::to_string(epoch_));
    PutBlob(out, Weights());
    PutBlob(out, internal::SaveOptimizer(*opt_));
    PutBlob(out, sched_->State());
    return out;
  }

  Status Restore(std::string_view in) override {
    if (in.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) return Error::Unprocessable("not a checkpoint");
    in.remove_prefix(kCheckpointMagic.size());
    C19_ASSIGN_OR_RETURN(std::string_view epoch, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view weights, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view optimizer, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view schedule, TakeBlob(in));
    C19_TRY(internal::LoadState(*net_.module, weights));
    Flatten();  // loading rebinds the parameters: make them views of the flat buffer again
    C19_TRY(internal::LoadOptimizer(*opt_, optimizer));
    C19_TRY(sched_->Restore(schedule));
    epoch_ = std::stoll(std::string(epoch));
    return OkStatus();
  }

  // Saved from a compact copy: the parameters themselves are views of one buffer, and saving a view
  // would write the whole buffer for each of them.
  std::string Weights() override {
    torch::NoGradGuard no_grad;
    Net copy = MakeNet();
    auto from = net_.module->parameters();
    auto to = copy.module->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    auto bfrom = net_.module->buffers();
    auto bto = copy.module->buffers();
    for (size_t i = 0; i < bfrom.size(); ++i) bto[i].copy_(bfrom[i]);
    return internal::SaveState(*copy.module);
  }

  std::vector<float> PredictValidation() override {
    torch::NoGradGuard no_grad;
    net_.module->eval();
    torch::Tensor out = Scores(net_.forward(xv_)).contiguous();
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
  }

 private:
  // Makes every parameter a view of one flat buffer and every gradient a view of one flat gradient,
  // so that the optimizer updates all weights with a handful of large element-wise operations
  // instead of a dozen small ones per layer (the same arithmetic, element by element).
  // A fresh network of the spec's shape (weights as initialised by the current torch seed).
  Net MakeNet() const {
    if (autoencode_) {
      Autoencoder ae(train_.x.cols, ae_options_);
      return {ae.ptr(), [ae](const torch::Tensor& x) mutable { return ae->forward(x); }};
    }
    Mlp mlp(train_.x.cols, outputs_, options_);
    return {mlp.ptr(), [mlp](const torch::Tensor& x) mutable { return mlp->forward(x); }};
  }

  void Flatten() {
    torch::NoGradGuard no_grad;
    auto params = net_.module->parameters();
    int64_t total = 0;
    for (const auto& p : params) total += p.numel();
    if (!flat_.defined()) {
      flat_ = torch::empty({total}, torch::kFloat32);
      flat_grad_ = torch::zeros({total}, torch::kFloat32);
      flat_.set_requires_grad(true);
      flat_.mutable_grad() = flat_grad_;
    }
    int64_t at = 0;
    for (auto& p : params) {
      const int64_t n = p.numel();
      torch::Tensor view = flat_.narrow(0, at, n).view(p.sizes());
      view.copy_(p);
      p.set_data(view);
      p.mutable_grad() = flat_grad_.narrow(0, at, n).view(p.sizes());
      at += n;
    }
  }

  torch::Tensor Targets(const std::vector<float>& y) {
    auto t = torch::from_blob(const_cast<float*>(y.data()), {static_cast<int64_t>(y.size())}, torch::kFloat32).clone();
    return classify_ ? t.to(torch::kLong) : t.unsqueeze(1);
  }

  // Class probabilities, values or reconstructions, as the metrics take them.
  torch::Tensor Scores(const torch::Tensor& out) const {
    if (autoencode_) return out;
    return classify_ ? torch::softmax(out, 1) : out.squeeze(1);
  }

  // Cross-entropy, or MSE over every output (regression values, reconstructed features).
  torch::Tensor Loss(const torch::Tensor& out, const torch::Tensor& y) const {
    return classify_ ? torch::nn::functional::cross_entropy(out, y) : torch::mse_loss(out, y);
  }

  Result<EpochStats> Epoch(const std::function<bool()>& cancelled, const std::function<void(const StepStats&)>& on_steps,
                           int64_t every_steps) {
    const int64_t n = train_.x.rows;
    const int64_t e = epoch_ + 1;
    // The data order and every random draw of the epoch come from (seed, epoch): a restored run
    // repeats them exactly.
    std::mt19937_64 rng(spec_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(e));
    torch::manual_seed(spec_.seed + 1'000'003ULL * static_cast<uint64_t>(e));
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (spec_.shuffle) std::shuffle(order.begin(), order.end(), rng);
    torch::Tensor perm = torch::from_blob(order.data(), {n}, torch::kLong).clone();
    // One gather per epoch; batches are then contiguous slices.
    torch::Tensor xs = xt_.index_select(0, perm);
    torch::Tensor ys = yt_.index_select(0, perm);

    net_.module->train();
    auto t0 = std::chrono::steady_clock::now();
    double total = 0;
    double lr = sched_->lr();
    for (int64_t start = 0, step = 0; start < n; start += spec_.batch_size, ++step) {
      if (cancelled && cancelled()) return Error::Aborted("cancelled");
      int64_t len = std::min(spec_.batch_size, n - start);
      torch::Tensor xb = xs.narrow(0, start, len);
      torch::Tensor yb = ys.narrow(0, start, len);
      if (spec_.noise_std > 0) xb = xb + torch::randn_like(xb) * spec_.noise_std;
      lr = sched_->lr();
      internal::SetLearningRate(*opt_, lr);
      flat_grad_.zero_();
      torch::Tensor loss;
      if (spec_.mixup_alpha > 0 && len > 1) {
        std::gamma_distribution<double> g(spec_.mixup_alpha, 1.0);
        double a = g(rng), b = g(rng);
        double lam = a + b > 0 ? a / (a + b) : 1.0;
        torch::Tensor other = torch::randperm(len, torch::kLong);
        torch::Tensor out = net_.forward(lam * xb + (1 - lam) * xb.index_select(0, other));
        loss = lam * Loss(out, yb) + (1 - lam) * Loss(out, yb.index_select(0, other));
      } else {
        loss = Loss(net_.forward(xb), yb);
      }
      loss.backward();
      opt_->step();
      sched_->EndStep();
      const double l = loss.item<double>();
      total += l * static_cast<double>(len);
      if (on_steps && every_steps > 0) {
        // Counted over the whole run: every N-th step reports the mean loss since the last report.
        const int64_t global = epoch_ * steps_per_epoch_ + step + 1;
        window_loss_ += l;
        ++window_steps_;
        if (global % every_steps == 0) {
          on_steps({global, e, window_loss_ / static_cast<double>(window_steps_), lr});
          window_loss_ = 0;
          window_steps_ = 0;
        }
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochStats s;
    s.epoch = e;
    s.lr = lr;
    s.train_loss = total / static_cast<double>(n);
    s.samples_per_s = secs > 0 ? static_cast<double>(n) / secs : 0;
    {
      torch::NoGradGuard no_grad;
      net_.module->eval();
      const bool has_val = val_.x.rows > 0;
      torch::Tensor out = net_.forward(has_val ? xv_ : xt_);
      const torch::Tensor& y = has_val ? yv_ : yt_;
      s.val_loss = Loss(out, y).item<double>();
      if (!autoencode_) {  // an autoencoder's metric is its reconstruction error, val_loss
        torch::Tensor scores = Scores(out).contiguous();
        std::vector<float> p(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
        s.val_metrics = classify_ ? ClassificationMetrics(p, spec_.classes, has_val ? val_.y : train_.y)
                                  : RegressionMetrics(p, has_val ? val_.y : train_.y, spec_.target_scale,
                                                      spec_.target_mean);
      }
    }
    double watched = s.val_loss;
    if (spec_.plateau_metric != "val_loss") {
      auto it = s.val_metrics.find(spec_.plateau_metric);
      if (it != s.val_metrics.end()) watched = it->second;
    }
    sched_->EndEpoch(watched);
    epoch_ = e;
    return s;
  }

  MlpTrainSpec spec_;
  Split train_, val_;
  bool classify_ = true;
  bool autoencode_ = false;
  Net net_;
  internal::MlpOptions options_;
  internal::AutoencoderOptions ae_options_;
  int64_t outputs_ = 0;
  torch::Tensor flat_, flat_grad_;
  torch::Tensor xt_, yt_, xv_, yv_;
  std::unique_ptr<torch::optim::Optimizer> opt_;
  std::unique_ptr<LrSchedule> sched_;
  int64_t steps_per_epoch_ = 0;
  double window_loss_ = 0;  // losses since the last step report
  int64_t window_steps_ = 0;
  int64_t epoch_ = 0;
};

}  // namespace

Status ValidateMlpParams(std::string_view params_json) {
  auto options = internal::ParseMlpOptions(params_json);
  if (!options.ok()) return Named(options.error());
  return OkStatus();
}

Status ValidateAutoencoderParams(std::string_view params_json) {
  auto options = internal::ParseAutoencoderOptions(params_json);
  if (!options.ok()) return Named(options.error());
  return OkStatus();
}

Result<std::unique_ptr<MlpTrainer>> MlpTrainer::Create(const MlpTrainSpec& spec, Split train, Split validation) {
  auto t = std::make_unique<TorchMlpTrainer>(spec, std::move(train), std::move(validation));
  C19_TRY(t->Init());
  return std::unique_ptr<MlpTrainer>(std::move(t));
}

}  // namespace c19ai::ml
