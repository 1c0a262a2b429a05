// What the architecture trainers share.

#include "training/runner.h"

namespace c19ai::training::internal {

bool IsRunnerArchitecture(const std::string& a) {
  return a == "kmeans" || a == "char_rnn" || a == "char_transformer" || a == "autoencoder";
}

int64_t PlannedEpochs(const JobSpec& spec) {
  if (spec.architecture == "gbtree") return spec.params.value("num_rounds", int64_t{100});
  if (spec.architecture == "kmeans") {  // every iteration of every run is one metrics row
    return spec.params.value("max_iter", int64_t{300}) * spec.params.value("n_init", int64_t{1});
  }
  return spec.epochs;
}

}  // namespace c19ai::training::internal
