// The autoencoder trainer: the features prepared without a target, the ml module's MLP trainer in its
// embedding mode (MSE reconstruction through an embedding_dim bottleneck), the best epoch by val_loss
// kept, early stopping, and checkpoints that resume the run exactly.

#include <array>
#include <cstring>

#include "training/runner.h"

namespace c19ai::training::internal {

namespace {

constexpr std::string_view kMagic = "C19AE1\n";

// A checkpoint: the trainer's own state, the best weights so far and the loop's state (JSON).
std::string Pack(const std::string& trainer, const std::string& best_weights, const Json& state) {
  std::string out(kMagic);
  for (const std::string& part : {trainer, best_weights, state.dump()}) {
    const uint64_t n = part.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += part;
  }
  return out;
}

Result<std::array<std::string, 3>> Unpack(std::string_view in) {
  if (!in.starts_with(kMagic)) return Error::Unprocessable("not an autoencoder checkpoint");
  in.remove_prefix(kMagic.size());
  std::array<std::string, 3> parts;
  for (auto& part : parts) {
    uint64_t n = 0;
    if (in.size() < sizeof n) return Error::Unprocessable("autoencoder checkpoint is truncated");
    std::memcpy(&n, in.data(), sizeof n);
    in.remove_prefix(sizeof n);
    if (in.size() < n) return Error::Unprocessable("autoencoder checkpoint is truncated");
    part = std::string(in.substr(0, n));
    in.remove_prefix(n);
  }
  return parts;
}

Json StatsToJson(const ml::EpochStats& s) {
  return {{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"val_loss", s.val_loss}, {"lr", s.lr}};
}

ml::EpochStats StatsFromJson(const Json& j) {
  ml::EpochStats s;
  s.epoch = j.value("epoch", int64_t{0});
  s.train_loss = j.value("train_loss", 0.0);
  s.val_loss = j.value("val_loss", 0.0);
  s.lr = j.value("lr", 0.0);
  return s;
}

}  // namespace

Status CheckAutoencoderParams(const Json& params) { return ml::ValidateAutoencoderParams(params.dump()); }

Result<Trained> TrainAutoencoder(RunContext& ctx) {
  const JobSpec& spec = ctx.job.spec;
  C19_ASSIGN_OR_RETURN(Prepared p, Prepare(spec, ctx.table));
  Json params = spec.params;
  params.erase("__plateau_metric");
  ctx.log("info", "data: " + std::to_string(p.train.x.rows) + " training rows, " +
                      std::to_string(p.validation.x.rows) + " validation rows, " + std::to_string(p.features.size()) +
                      " features (" + std::to_string(p.train.x.cols) + " encoded columns)");
  ml::MlpTrainSpec m;
  m.task = ml::Task::kEmbedding;
  m.params_json = params.dump();
  m.optimizer = spec.optimizer;
  m.scheduler = spec.scheduler;
  m.plateau_metric = "val_loss";
  m.epochs = spec.epochs;
  m.batch_size = spec.batch_size;
  m.seed = spec.seed;
  m.shuffle = spec.shuffle;
  m.noise_std = spec.noise_std;  // a denoising autoencoder: noisy inputs, clean targets
  m.mixup_alpha = spec.mixup_alpha;
  C19_ASSIGN_OR_RETURN(auto trainer, ml::MlpTrainer::Create(m, p.train, p.validation));

  Trained t;
  std::string best_weights;
  std::optional<double> stop_best;
  int64_t since_best = 0;
  if (ctx.resume) {
    C19_ASSIGN_OR_RETURN(auto parts, Unpack(ctx.resume->second));
    C19_TRY(trainer->Restore(parts[0]));
    best_weights = std::move(parts[1]);
    Json state = Json::parse(parts[2], nullptr, false);
    if (state.is_object()) {
      t.best = StatsFromJson(state.value("best", Json::object()));
      since_best = state.value("since_best", int64_t{0});
      if (state.contains("stop_best")) stop_best = state["stop_best"].get<double>();
    }
    ctx.log("info", "continuing from the checkpoint of epoch " + std::to_string(trainer->epochs_done()));
  }
  for (int64_t e = trainer->epochs_done() + 1; e <= spec.epochs; ++e) {
    C19_ASSIGN_OR_RETURN(ml::EpochStats s, trainer->RunEpoch(ctx.should_stop));
    const bool best = best_weights.empty() || s.val_loss < t.best.val_loss;
    if (best) {
      best_weights = trainer->Weights();
      t.best = s;
    }
    ctx.record(s, spec.epochs, best);
    bool stop = false;
    if (!spec.early_stopping_metric.empty()) {  // val_loss: the only metric of an embedding model
      if (!stop_best || s.val_loss < *stop_best - spec.min_delta) {
        stop_best = s.val_loss;
        since_best = 0;
      } else if (++since_best >= spec.patience) {
        stop = true;
      }
    }
    if (spec.checkpoint_every > 0 && (e % spec.checkpoint_every == 0 || e == spec.epochs || stop)) {
      Json state = {{"best", StatsToJson(t.best)}, {"since_best", since_best}};
      if (stop_best) state["stop_best"] = *stop_best;
      C19_TRY(ctx.save_checkpoint(e, Pack(trainer->Checkpoint(), best_weights, state)));
    }
    if (stop) {
      ctx.log("info", "early stopping: val_loss did not improve for " + std::to_string(spec.patience) + " epochs");
      break;
    }
    if (ctx.should_stop()) return Error::Aborted("stopped");
  }
  t.manifest.task = ml::Task::kEmbedding;
  t.manifest.architecture = "autoencoder";
  t.manifest.params_json = params.dump();
  t.manifest.features = p.features;
  t.weights.torch_state = std::move(best_weights);
  return t;
}

}  // namespace c19ai::training::internal
