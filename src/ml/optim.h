#pragma once
// Optimizer and learning-rate schedule settings for training, and the schedules themselves. The
// schedules are plain arithmetic (no LibTorch here) and follow PyTorch's torch.optim.lr_scheduler
// value for value: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR (its recursive form, as
// PyTorch computes it when stepped once per epoch), ReduceLROnPlateau and OneCycleLR (cosine
// annealing, three-phase off). Their state round-trips through State()/Restore() so that a resumed
// job continues with exactly the learning rate it would have had.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace c19ai::ml {

// Fields as PyTorch names them; each optimizer reads the ones it takes.
struct OptimizerSpec {
  std::string type = "adam";  // sgd | adam | adamw | rmsprop | adagrad | adadelta
  double lr = 1e-3;
  double momentum = 0;         // sgd, rmsprop
  double dampening = 0;        // sgd
  bool nesterov = false;       // sgd (needs momentum > 0 and dampening 0)
  double weight_decay = 0;     // all (adamw: decoupled; default 0.01 there when not given)
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw
  bool amsgrad = false;        // adam, adamw
  double eps = 1e-8;           // adam, adamw, rmsprop, adagrad (1e-10), adadelta (1e-6)
  double alpha = 0.99;         // rmsprop
  bool centered = false;       // rmsprop
  double rho = 0.9;            // adadelta
  double lr_decay = 0;         // adagrad
  double initial_accumulator_value = 0;  // adagrad
};

// invalid_argument naming the field ("optimizer.momentum") for values PyTorch refuses.
Status ValidateOptimizer(const OptimizerSpec& spec);

struct SchedulerSpec {
  std::string type;  // "" (constant) | step | multi_step | exponential | cosine_annealing | reduce_on_plateau | one_cycle
  int64_t step_size = 10;           // step
  double gamma = 0.1;               // step, multi_step, exponential
  std::vector<int64_t> milestones;  // multi_step (epochs, increasing)
  int64_t t_max = 0;                // cosine_annealing (epochs; 0: the job's epochs)
  double eta_min = 0;               // cosine_annealing
  std::string mode = "min";         // reduce_on_plateau: min | max
  double factor = 0.1;              // reduce_on_plateau
  int64_t patience = 10;            // reduce_on_plateau
  double threshold = 1e-4;          // reduce_on_plateau (relative, PyTorch's default threshold_mode)
  int64_t cooldown = 0;             // reduce_on_plateau
  double min_lr = 0;                // reduce_on_plateau
  double max_lr = 0;                // one_cycle (0: the optimizer's lr)
  double pct_start = 0.3;           // one_cycle
  double div_factor = 25;           // one_cycle
  double final_div_factor = 1e4;    // one_cycle
};

// invalid_argument naming the field ("scheduler.gamma").
Status ValidateScheduler(const SchedulerSpec& spec);

// A learning-rate schedule over one optimizer (one parameter group).
//   - epoch schedules (all but one_cycle) change the rate in EndEpoch;
//   - one_cycle changes it in EndStep (after every optimizer step), over epochs * steps_per_epoch steps.
// lr() is the rate for the next optimizer step.
class LrSchedule {
 public:
  // invalid_argument naming the field for impossible settings (e.g. one_cycle without steps).
  static Result<std::unique_ptr<LrSchedule>> Create(const SchedulerSpec& spec, double base_lr, int64_t epochs,
                                                    int64_t steps_per_epoch);
  virtual ~LrSchedule() = default;
  virtual double lr() const = 0;
  virtual void EndStep() = 0;
  // `metric`: the monitored value of the epoch (reduce_on_plateau), ignored by the others.
  virtual void EndEpoch(double metric) = 0;
  // Everything needed to continue (counters, current rate, best value, ...) as JSON text.
  virtual std::string State() const = 0;
  virtual Status Restore(std::string_view state) = 0;
};

}  // namespace c19ai::ml
