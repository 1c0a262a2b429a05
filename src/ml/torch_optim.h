#pragma once
// LibTorch optimizers built from an OptimizerSpec (internal; includes <torch/torch.h>, so only ml's
// torch .cpp files may include it). LibTorch 1.13 has SGD, Adam, AdamW, RMSprop and Adagrad; Adadelta
// is implemented here on torch::optim::Optimizer, matching torch.optim.Adadelta step for step.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ml/optim.h"

namespace c19ai::ml::internal {

// invalid_argument naming the field for a bad spec.
Result<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(const OptimizerSpec& spec,
                                                               std::vector<torch::Tensor> parameters);

// Sets the learning rate of every parameter group (what a schedule decides before each step).
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);
double LearningRate(const torch::optim::Optimizer& optimizer);

// The optimizer's per-parameter state (moments, step counts, ...) *and* its group options (learning
// rate) as bytes, and back: torch::load alone does not restore the options.
std::string SaveOptimizer(torch::optim::Optimizer& optimizer);
Status LoadOptimizer(torch::optim::Optimizer& optimizer, std::string_view bytes);

}  // namespace c19ai::ml::internal
