#pragma once
// Training over HTTP (target c19ai_training_http): submit, list, get, cancel, resume, metrics,
// checkpoints and logs of training jobs.

#include "http/http.h"
#include "training/training.h"

namespace c19ai::training {

Status RegisterRoutes(http::Router& router, TrainingService& service);
Json JobJson(const Job& job);

}  // namespace c19ai::training
