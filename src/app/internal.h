#pragma once
// The object graph App owns, shared by the composition root's translation units.

#include <memory>

#include "app/app.h"
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
  http::Authenticator* authenticator = nullptr;
  http::Router router;
  std::unique_ptr<http::Server> server;

  void Stop();
};

db::Options DatabaseOptions(const Config& config);
std::vector<db::MigrationFile> AllMigrations();
Status RegisterSystemRoutes(App::Impl& app);

}  // namespace c19ai::app
