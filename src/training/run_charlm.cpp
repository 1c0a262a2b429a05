// TRANSIENT (replaced by the charlm trainer): accepts no parameters and refuses to train.

#include "training/runner.h"

namespace c19ai::training::internal {

Status CheckCharModelParams([[maybe_unused]] const std::string& architecture, [[maybe_unused]] const Json& params) { return Error::Field("model.architecture", "this architecture is being built"); }

Result<Trained> TrainCharModel(RunContext&) { return Error::Internal("this architecture is being built"); }

}  // namespace c19ai::training::internal
