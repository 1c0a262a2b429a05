// The k-means trainer: the features prepared without a target (standardised, one-hot), Lloyd's
// algorithm in the ml module, one metrics row per iteration, and the final inertia and silhouette.
// No checkpoints: a run takes seconds, and a restarted job simply trains again from its seed.

#include <chrono>

#include "training/runner.h"

namespace c19ai::training::internal {

namespace {

Json TrainedParams(const Json& params) {
  Json p = params;
  p.erase("__plateau_metric");
  return p;
}

}  // namespace

Status CheckKMeansParams(const Json& params) {
  ml::KMeansSpec spec;
  return ml::ParseKMeansParams(params.dump(), spec);
}

Result<Trained> TrainKMeans(RunContext& ctx) {
  const JobSpec& spec = ctx.job.spec;
  C19_ASSIGN_OR_RETURN(Prepared p, Prepare(spec, ctx.table));
  ml::KMeansSpec k;
  k.seed = spec.seed;
  k.threads = std::max(1, ctx.threads);
  C19_TRY(ml::ParseKMeansParams(spec.params.dump(), k));
  const ml::Matrix& x = p.train.x;
  ctx.log("info", "data: " + std::to_string(x.rows) + " training rows, " + std::to_string(p.validation.x.rows) +
                      " validation rows, " + std::to_string(p.features.size()) + " features (" +
                      std::to_string(x.cols) + " encoded columns); k " + std::to_string(k.k) + ", init " + k.init +
                      ", n_init " + std::to_string(k.n_init));
  if (ctx.resume) ctx.log("info", "k-means keeps no checkpoints: training again from the start");

  const int64_t total = PlannedEpochs(spec);
  int64_t step = 0;
  auto t0 = std::chrono::steady_clock::now();
  C19_ASSIGN_OR_RETURN(ml::KMeansResult r, ml::TrainKMeans(k, x, [&](const ml::KMeansIteration& it) {
    auto t1 = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
    ml::EpochStats s;
    s.epoch = ++step;
    s.train_loss = it.inertia / static_cast<double>(x.rows);
    s.val_loss = s.train_loss;
    s.val_metrics = {{"inertia", it.inertia}, {"run", static_cast<double>(it.run)}, {"shift", it.shift}};
    s.samples_per_s = secs > 0 ? static_cast<double>(x.rows) / secs : 0;
    ctx.record(s, total, false);
    return !ctx.should_stop();
  }));
  if (r.stopped) return Error::Aborted("stopped");

  // Validation: inertia of the held-out rows and the silhouette of their assignment (a sample of at
  // most 5000 rows); the training rows stand in when there is no validation split.
  const ml::Matrix& v = p.validation.x.rows > 1 ? p.validation.x : x;
  double val_inertia = 0;
  std::vector<int32_t> val_labels = ml::NearestCentroids(v, r.centroids, k.threads, &val_inertia);
  auto s0 = std::chrono::steady_clock::now();
  const double silhouette = ml::Silhouette(v, val_labels, 5000, spec.seed, k.threads);
  const double silhouette_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();

  Trained t;
  t.best.epoch = step;
  t.best.train_loss = r.inertia / static_cast<double>(x.rows);
  t.best.val_loss = val_inertia / static_cast<double>(v.rows);
  t.best.val_metrics = {{"inertia", r.inertia},
                        {"silhouette", silhouette},
                        {"val_inertia", val_inertia},
                        {"iterations", static_cast<double>(r.iterations)},
                        {"k", static_cast<double>(k.k)}};
  ctx.record(t.best, step, true);  // converged: the iterations run are the whole job
  ctx.log("info", "best of " + std::to_string(k.n_init) + " run(s): run " + std::to_string(r.best_run) + " after " +
                      std::to_string(r.iterations) + " iterations, inertia " + std::to_string(r.inertia) +
                      ", silhouette " + std::to_string(silhouette) + " (" + std::to_string(silhouette_s) + " s)");

  t.manifest.task = ml::Task::kClustering;
  t.manifest.architecture = "kmeans";
  t.manifest.params_json = TrainedParams(spec.params).dump();
  t.manifest.features = p.features;
  t.weights.centroids = std::move(r.centroids);
  return t;
}

}  // namespace c19ai::training::internal
