// TRANSIENT (replaced by the kmeans trainer): accepts no parameters and refuses to train.

#include "training/runner.h"

namespace c19ai::training::internal {

Status CheckKMeansParams([[maybe_unused]] const Json& params) { return Error::Field("model.architecture", "this architecture is being built"); }

Result<Trained> TrainKMeans(RunContext&) { return Error::Internal("this architecture is being built"); }

}  // namespace c19ai::training::internal
