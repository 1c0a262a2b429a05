#!/usr/bin/env python3
"""Reference values for tests/ml/optim_test.cpp, computed by Debian's python3-torch.

Prints one JSON object to stdout:
  schedulers: [{name, spec (SchedulerSpec fields), base_lr, epochs, steps_per_epoch, metrics?, lrs}]
      lrs[0] is the rate before the first step; lrs[k] the rate after k scheduler.step() calls (per
      epoch; per optimizer step for one_cycle).
  problem: {weight (3x4), bias (3), x (6x4), y (6x3)}: a linear layer fitted with mean squared error.
  optimizers: [{name, spec (OptimizerSpec fields), dtype, halve_lr_after, steps: [[w..., b...], ...]}]
      the flattened parameters after every optimizer step; the learning rate is halved after step
      `halve_lr_after`.

Run it with /usr/bin/python3 (the interpreter that sees Debian's packages).
"""

import json
import math
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

EPOCHS = 30

SCHEDULER_DEFAULTS = dict(step_size=10, gamma=0.1, milestones=[], t_max=0, eta_min=0.0, mode="min", factor=0.1,
                          patience=10, threshold=1e-4, cooldown=0, min_lr=0.0, max_lr=0.0, pct_start=0.3,
                          div_factor=25.0, final_div_factor=1e4)


def make_scheduler(opt, spec, epochs, steps_per_epoch, base_lr):
    s = dict(SCHEDULER_DEFAULTS)
    s.update(spec)
    t = spec["type"]
    sched = torch.optim.lr_scheduler
    if t == "step":
        return sched.StepLR(opt, step_size=s["step_size"], gamma=s["gamma"])
    if t == "multi_step":
        return sched.MultiStepLR(opt, milestones=s["milestones"], gamma=s["gamma"])
    if t == "exponential":
        return sched.ExponentialLR(opt, gamma=s["gamma"])
    if t == "cosine_annealing":
        return sched.CosineAnnealingLR(opt, T_max=s["t_max"] or epochs, eta_min=s["eta_min"])
    if t == "reduce_on_plateau":
        return sched.ReduceLROnPlateau(opt, mode=s["mode"], factor=s["factor"], patience=s["patience"],
                                       threshold=s["threshold"], threshold_mode="rel", cooldown=s["cooldown"],
                                       min_lr=s["min_lr"], eps=1e-8)
    if t == "one_cycle":
        return sched.OneCycleLR(opt, max_lr=s["max_lr"] or base_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                pct_start=s["pct_start"], anneal_strategy="cos", cycle_momentum=False,
                                div_factor=s["div_factor"], final_div_factor=s["final_div_factor"],
                                three_phase=False)
    if t == "":
        return None
    raise ValueError(t)


def scheduler_case(name, spec, base_lr, epochs=EPOCHS, steps_per_epoch=1, metrics=None):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = make_scheduler(opt, spec, epochs, steps_per_epoch, base_lr)
    lrs = [opt.param_groups[0]["lr"]]
    n = epochs * steps_per_epoch if spec["type"] == "one_cycle" else epochs
    for i in range(n):
        opt.step()
        if sched is None:
            pass
        elif metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    case = dict(name=name, spec=spec, base_lr=base_lr, epochs=epochs, steps_per_epoch=steps_per_epoch, lrs=lrs)
    if metrics is not None:
        case["metrics"] = metrics
    return case


def plateau_metrics_min():
    # Improves, stalls (also by less than the relative threshold), improves again, stalls for long.
    m = [1.0, 0.8, 0.7, 0.69995, 0.7, 0.71, 0.65, 0.66, 0.66, 0.66, 0.66, 0.5, 0.5, 0.49999, 0.6]
    m += [0.6] * (EPOCHS - len(m))
    return m


def schedulers():
    return [
        scheduler_case("constant", {"type": ""}, 0.01),
        scheduler_case("step", {"type": "step", "step_size": 7, "gamma": 0.5}, 0.1),
        scheduler_case("step_defaults", {"type": "step"}, 0.3),
        scheduler_case("multi_step", {"type": "multi_step", "milestones": [3, 8, 20], "gamma": 0.3}, 0.1),
        scheduler_case("multi_step_zero_and_repeat",
                       {"type": "multi_step", "milestones": [0, 5, 12, 12, 25], "gamma": 0.5}, 0.2),
        scheduler_case("exponential", {"type": "exponential", "gamma": 0.9}, 0.1),
        scheduler_case("cosine", {"type": "cosine_annealing", "t_max": 10, "eta_min": 0.001}, 0.1),
        scheduler_case("cosine_t_max_from_epochs", {"type": "cosine_annealing"}, 0.05),
        scheduler_case("cosine_short", {"type": "cosine_annealing", "t_max": 7}, 0.02),
        scheduler_case("cosine_t_max_1", {"type": "cosine_annealing", "t_max": 1, "eta_min": 0.01}, 0.1),
        scheduler_case("plateau_min",
                       {"type": "reduce_on_plateau", "mode": "min", "factor": 0.5, "patience": 2,
                        "threshold": 0.01, "cooldown": 2, "min_lr": 0.004},
                       0.1, metrics=plateau_metrics_min()),
        scheduler_case("plateau_max",
                       {"type": "reduce_on_plateau", "mode": "max", "factor": 0.3, "patience": 1,
                        "threshold": 1e-4, "cooldown": 0},
                       0.1, metrics=[0.5, 0.6, 0.6, 0.6, 0.7, 0.70001, 0.65, 0.8, 0.8, 0.8, 0.8, 0.81]
                       + [0.81] * (EPOCHS - 12)),
        scheduler_case("plateau_negative_metric",
                       {"type": "reduce_on_plateau", "factor": 0.1, "patience": 3},
                       0.1, metrics=[-1.0, -2.0, -2.1, -2.1001, -2.0, -2.1, -3.0] + [-3.0] * (EPOCHS - 7)),
        scheduler_case("plateau_eps_rule",
                       {"type": "reduce_on_plateau", "factor": 0.5, "patience": 0},
                       5e-8, metrics=[1.0] * EPOCHS),
        scheduler_case("one_cycle", {"type": "one_cycle", "max_lr": 0.1}, 0.01, epochs=5, steps_per_epoch=7),
        scheduler_case("one_cycle_base_lr",
                       {"type": "one_cycle", "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
                       0.05, epochs=4, steps_per_epoch=9),
        scheduler_case("one_cycle_tiny", {"type": "one_cycle", "max_lr": 1.0}, 0.1, epochs=1, steps_per_epoch=2),
        scheduler_case("one_cycle_no_warmup", {"type": "one_cycle", "max_lr": 0.5, "pct_start": 0.0}, 0.1,
                       epochs=3, steps_per_epoch=4),
    ]


def problem():
    def fill(rows, cols, seed, scale):
        return [[scale * math.sin(seed + 3.0 * i + 7.0 * j) for j in range(cols)] for i in range(rows)]

    x = fill(6, 4, 1, 1.5)
    w_true = fill(3, 4, 5, 1.0)
    # Targets from another linear map plus a bend, so the fit never becomes exact.
    y = [[sum(w_true[o][k] * x[r][k] for k in range(4)) + 0.3 * math.cos(r + o) for o in range(3)]
         for r in range(6)]
    return dict(weight=fill(3, 4, 2, 0.5), bias=[0.1 * math.sin(3.0 + i) for i in range(3)], x=x, y=y)


def make_optimizer(spec, params):
    t = spec["type"]
    o = torch.optim
    if t == "sgd":
        return o.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0.0), dampening=spec.get("dampening", 0.0),
                     weight_decay=spec.get("weight_decay", 0.0), nesterov=spec.get("nesterov", False))
    if t in ("adam", "adamw"):
        cls = o.Adam if t == "adam" else o.AdamW
        return cls(params, lr=spec["lr"], betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)),
                   eps=spec.get("eps", 1e-8), weight_decay=spec.get("weight_decay", 0.0),
                   amsgrad=spec.get("amsgrad", False))
    if t == "rmsprop":
        return o.RMSprop(params, lr=spec["lr"], alpha=spec.get("alpha", 0.99), eps=spec.get("eps", 1e-8),
                         weight_decay=spec.get("weight_decay", 0.0), momentum=spec.get("momentum", 0.0),
                         centered=spec.get("centered", False))
    if t == "adagrad":
        return o.Adagrad(params, lr=spec["lr"], lr_decay=spec.get("lr_decay", 0.0),
                         weight_decay=spec.get("weight_decay", 0.0),
                         initial_accumulator_value=spec.get("initial_accumulator_value", 0.0),
                         eps=spec.get("eps", 1e-8))
    if t == "adadelta":
        return o.Adadelta(params, lr=spec["lr"], rho=spec.get("rho", 0.9), eps=spec.get("eps", 1e-8),
                          weight_decay=spec.get("weight_decay", 0.0))
    raise ValueError(t)


STEPS = 20
HALVE_LR_AFTER = 10


def optimizer_case(prob, name, spec, dtype="float64"):
    dt = getattr(torch, dtype)
    w = torch.nn.Parameter(torch.tensor(prob["weight"], dtype=dt))
    b = torch.nn.Parameter(torch.tensor(prob["bias"], dtype=dt))
    x = torch.tensor(prob["x"], dtype=dt)
    y = torch.tensor(prob["y"], dtype=dt)
    opt = make_optimizer(spec, [w, b])
    steps = []
    for i in range(STEPS):
        if i == HALVE_LR_AFTER:
            for g in opt.param_groups:
                g["lr"] = g["lr"] * 0.5
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(torch.nn.functional.linear(x, w, b), y)
        loss.backward()
        opt.step()
        steps.append(w.detach().reshape(-1).tolist() + b.detach().tolist())
    return dict(name=name, spec=spec, dtype=dtype, halve_lr_after=HALVE_LR_AFTER, steps=steps)


def optimizers(prob):
    cases = [
        ("sgd", {"type": "sgd", "lr": 0.1}),
        ("sgd_momentum_dampening_wd",
         {"type": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
        ("sgd_nesterov", {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
        ("adam", {"type": "adam", "lr": 0.01}),
        ("adam_amsgrad_wd", {"type": "adam", "lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6,
                             "weight_decay": 0.01, "amsgrad": True}),
        ("adamw", {"type": "adamw", "lr": 0.01, "weight_decay": 0.01}),
        ("adamw_amsgrad", {"type": "adamw", "lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
        ("rmsprop", {"type": "rmsprop", "lr": 0.01}),
        ("rmsprop_centered_momentum", {"type": "rmsprop", "lr": 0.005, "alpha": 0.9, "eps": 1e-6, "momentum": 0.8,
                                       "centered": True, "weight_decay": 0.01}),
        ("adagrad", {"type": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                     "initial_accumulator_value": 0.1, "eps": 1e-10}),
        ("adadelta", {"type": "adadelta", "lr": 1.0, "rho": 0.9, "eps": 1e-6}),
        ("adadelta_wd", {"type": "adadelta", "lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.05}),
    ]
    out = [optimizer_case(prob, name, spec) for name, spec in cases]
    # The float32 the trainer uses.
    out.append(optimizer_case(prob, "adam_float32", {"type": "adam", "lr": 0.01}, "float32"))
    out.append(optimizer_case(prob, "adadelta_wd_float32",
                              {"type": "adadelta", "lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.05},
                              "float32"))
    return out


def main():
    prob = problem()
    json.dump(dict(torch_version=torch.__version__, schedulers=schedulers(), problem=prob,
                   optimizers=optimizers(prob)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
