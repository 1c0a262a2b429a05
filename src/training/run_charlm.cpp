// The char_rnn / char_transformer trainer: the target column read as one text (rows joined by "\n" in
// dataset order), its last validation_split held out (contiguous), next-character training through
// ml::CharTrainer, the best epoch by the job's metric kept, early stopping and checkpoints as for the mlp.

#include <algorithm>
#include <optional>

#include "common/json.h"
#include "training/runner.h"

namespace c19ai::training::internal {

namespace {

// The target column's values in dataset order, joined by "\n"; missing values are skipped.
Result<std::string> ReadText(const Table& table, const std::string& column) {
  auto it = std::find(table.columns.begin(), table.columns.end(), column);
  if (it == table.columns.end()) return Error::Field("target", "the dataset has no column \"" + column + "\"");
  const size_t c = static_cast<size_t>(it - table.columns.begin());
  std::string text;
  bool first = true;
  for (const auto& row : table.rows) {
    if (c >= row.size() || !row[c]) continue;
    if (!first) text.push_back('\n');
    text += *row[c];
    first = false;
  }
  return text;
}

// Where the last `fraction` of the text begins, moved back to the start of a UTF-8 character.
size_t SplitPoint(const std::string& text, double fraction) {
  size_t cut = text.size() - static_cast<size_t>(static_cast<double>(text.size()) * fraction);
  while (cut > 0 && cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

// What a run needs besides the trainer's own state to continue exactly: the best epoch and its
// weights, and the early-stopping counters.
struct RunState {
  std::optional<double> best_value, stop_best;
  int64_t since_best = 0;
  ml::EpochStats best_stats;
  std::string best_weights;
};

Json StatsJson(const ml::EpochStats& s) {
  return {{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"val_loss", s.val_loss}, {"lr", s.lr},
          {"metrics", s.val_metrics}};
}

// A JSON line (the run state, the trainer checkpoint's length), the trainer checkpoint, the best weights.
std::string PackCheckpoint(const RunState& r, const std::string& trainer) {
  Json head = {{"since_best", r.since_best}, {"best_stats", StatsJson(r.best_stats)},
               {"trainer_bytes", trainer.size()}};
  if (r.best_value) head["best_value"] = *r.best_value;
  if (r.stop_best) head["stop_best"] = *r.stop_best;
  return DumpJson(head) + "\n" + trainer + r.best_weights;
}

Result<std::string> UnpackCheckpoint(const std::string& blob, RunState& r) {
  const size_t nl = blob.find('\n');
  Json head = nl == std::string::npos ? Json() : Json::parse(blob.substr(0, nl), nullptr, false);
  if (!head.is_object() || !head.contains("trainer_bytes") || !head["trainer_bytes"].is_number_unsigned() ||
      head["trainer_bytes"].get<size_t>() > blob.size() - nl - 1) {
    return Error::Unprocessable("not a character model checkpoint");
  }
  const size_t n = head["trainer_bytes"].get<size_t>();
  if (head.contains("best_value")) r.best_value = head["best_value"].get<double>();
  if (head.contains("stop_best")) r.stop_best = head["stop_best"].get<double>();
  r.since_best = head.value("since_best", int64_t{0});
  const Json& b = head.contains("best_stats") ? head["best_stats"] : Json::object();
  r.best_stats.epoch = b.value("epoch", int64_t{0});
  r.best_stats.train_loss = b.value("train_loss", 0.0);
  r.best_stats.val_loss = b.value("val_loss", 0.0);
  r.best_stats.lr = b.value("lr", 0.0);
  r.best_stats.val_metrics = b.value("metrics", std::map<std::string, double>{});
  r.best_weights = blob.substr(nl + 1 + n);
  return blob.substr(nl + 1, n);
}

// val_loss or perplexity: lower is better for both.
double MetricOf(const ml::EpochStats& s, const std::string& metric) {
  if (metric == "val_loss") return s.val_loss;
  auto it = s.val_metrics.find(metric);
  return it == s.val_metrics.end() ? s.val_loss : it->second;
}

}  // namespace

Status CheckCharModelParams(const std::string& architecture, const Json& params) {
  C19_TRY(ml::ResolveCharModelParams(architecture, params.dump()));
  return OkStatus();
}

Result<Trained> TrainCharModel(RunContext& ctx) {
  const JobSpec& spec = ctx.job.spec;
  C19_ASSIGN_OR_RETURN(std::string text, ReadText(ctx.table, spec.target));
  const size_t cut = SplitPoint(text, spec.validation_split);
  ml::CharTrainSpec cs;
  cs.architecture = spec.architecture;
  Json params = spec.params;
  params.erase("__plateau_metric");  // val_loss and perplexity plateau together
  cs.params_json = params.dump();
  cs.optimizer = spec.optimizer;
  cs.scheduler = spec.scheduler;
  cs.epochs = spec.epochs;
  cs.batch_size = spec.batch_size;
  cs.seed = spec.seed;
  cs.shuffle = spec.shuffle;
  const std::string_view all(text);
  C19_ASSIGN_OR_RETURN(auto trainer, ml::CharTrainer::Create(cs, all.substr(0, cut), all.substr(cut)));
  ctx.log("info", "text: " + std::to_string(cut) + " bytes for training, " + std::to_string(text.size() - cut) +
                      " for validation; vocabulary of " + std::to_string(trainer->vocabulary_size() - 1) +
                      " characters and the unknown symbol");
  text.clear();

  RunState run;
  if (ctx.resume) {
    C19_ASSIGN_OR_RETURN(std::string checkpoint, UnpackCheckpoint(ctx.resume->second, run));
    C19_TRY(trainer->Restore(checkpoint));
    ctx.log("info", "continuing from the checkpoint of epoch " + std::to_string(trainer->epochs_done()));
  }
  const std::string& metric = ctx.job.metric.empty() ? spec.metric : ctx.job.metric;
  const std::string& stop_metric = spec.early_stopping_metric;
  for (int64_t e = trainer->epochs_done() + 1; e <= spec.epochs; ++e) {
    C19_ASSIGN_OR_RETURN(ml::EpochStats s, trainer->RunEpoch(ctx.should_stop));
    const double v = MetricOf(s, metric);
    const bool best = !run.best_value || v < *run.best_value;
    if (best) {
      run.best_value = v;
      run.best_weights = trainer->Weights();
      run.best_stats = s;
    }
    ctx.record(s, spec.epochs, best);
    bool stop = false;
    if (!stop_metric.empty()) {
      const double sv = MetricOf(s, stop_metric);
      if (!run.stop_best || sv < *run.stop_best - spec.min_delta) {
        run.stop_best = sv;
        run.since_best = 0;
      } else if (++run.since_best >= spec.patience) {
        stop = true;
      }
    }
    if (spec.checkpoint_every > 0 && (e % spec.checkpoint_every == 0 || e == spec.epochs || stop)) {
      C19_TRY(ctx.save_checkpoint(e, PackCheckpoint(run, trainer->Checkpoint())));
    }
    if (stop) {
      ctx.log("info", "early stopping: " + stop_metric + " did not improve for " + std::to_string(spec.patience) +
                          " epochs");
      break;
    }
    if (ctx.should_stop()) return Error::Aborted("stopped");
  }

  Trained t;
  t.manifest.task = ml::Task::kGeneration;
  t.manifest.architecture = spec.architecture;
  t.manifest.params_json = trainer->ParamsJson();
  t.manifest.target = spec.target;
  t.weights.torch_state = run.best_weights.empty() ? trainer->Weights() : run.best_weights;
  t.weights.extra = trainer->Vocabulary();
  t.best = run.best_stats;
  return t;
}

}  // namespace c19ai::training::internal
