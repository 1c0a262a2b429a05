#pragma once
// The object graph App owns, shared by the composition root's translation units.

#include <memory>
#include <thread>

#include "app/app.h"
#include "auth/auth.h"
#include "queue/queue.h"
#include "inference/batch.h"
#include "inference/search.h"
#include "inference/inference.h"
#include "validation/validation.h"
#include "registry/registry.h"
#include "training/training.h"
#include "realtime/realtime.h"
#include "storage/storage.h"
#include "cache/cache.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/thread_pool.h"
#include "db/db.h"
#include "events/events.h"
#include "http/http.h"

namespace c19ai::app {

struct App::Impl {
  Config config;
  int64_t started_ms = 0;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<cache::Cache> cache;
  std::unique_ptr<events::EventBus> bus;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<storage::StorageService> storage;
  std::unique_ptr<queue::Queue> queue;
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<inference::InferenceService> inference;
  std::unique_ptr<inference::BatchPredictions> batch_predictions;
  std::unique_ptr<inference::EmbeddingSearch> embedding_search;  // its threads embed through `inference`
  std::unique_ptr<validation::DatasetService> datasets;
  std::unique_ptr<training::TrainingService> training;
  std::unique_ptr<training::ExperimentService> experiments;
  std::unique_ptr<training::SweepService> sweeps;  // observes `training`: destroyed before it
  // In-process job handlers (workers.embedded); started last, stopped first.
  std::unique_ptr<queue::WorkerRuntime> workers;
  std::unique_ptr<realtime::Hub> hub;
  std::unique_ptr<http::Authenticator> authenticator;
  std::unique_ptr<http::RequestObserver> audit_observer;
  http::Router router;
  std::unique_ptr<http::Server> server;
  cache::Warmups warmups;
  std::thread warmup_thread;

  void Stop();
};

db::Options DatabaseOptions(const Config& config);
std::vector<db::MigrationFile> AllMigrations();
Status RegisterSystemRoutes(App::Impl& app);
// Opens every configured storage backend (local, S3, encrypted) and the service over them.
Result<std::unique_ptr<storage::StorageService>> BuildStorage(const Config& config, db::Database& db);

}  // namespace c19ai::app
