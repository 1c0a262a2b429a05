// TRANSIENT (replaced by the autoencoder trainer): accepts no parameters and refuses to train.

#include "training/runner.h"

namespace c19ai::training::internal {

Status CheckAutoencoderParams([[maybe_unused]] const Json& params) { return Error::Field("model.architecture", "this architecture is being built"); }

Result<Trained> TrainAutoencoder(RunContext&) { return Error::Internal("this architecture is being built"); }

}  // namespace c19ai::training::internal
