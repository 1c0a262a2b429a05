#pragma once
// Training over HTTP (target c19ai_training_http): submit, list, get, cancel, resume, register,
// metrics, checkpoints and logs of training jobs; experiments (runs, compare, archive); sweeps.

#include "http/http.h"
#include "training/training.h"

namespace c19ai::training {

Status RegisterRoutes(http::Router& router, TrainingService& service, ExperimentService& experiments,
                      SweepService& sweeps);
Json JobJson(const Job& job);
Json SweepJson(const Sweep& sweep);

}  // namespace c19ai::training
