#pragma once
// The composition root: builds the object graph from the configuration (picking each backend by its
// URL), applies migrations, registers every module's routes and runs the server. The only place that
// knows every module.

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace c19ai::http {
class Router;
}
namespace c19ai::auth {
class AuthService;
}
namespace c19ai::registry {
class Registry;
}
namespace c19ai::storage {
class StorageService;
}

namespace c19ai::app {

class App {
 public:
  // Opens the backends and applies migrations; does not listen yet.
  static Result<std::unique_ptr<App>> Create(const Config& config);
  ~App();

  // Binds the listener and serves until Shutdown() (or SIGINT/SIGTERM when wait_for_signals).
  Status Serve(bool wait_for_signals);
  // Runs the queue's job handlers (no listener) until SIGINT/SIGTERM: `c19ai worker`.
  Status Work();
  void Shutdown();
  int port() const;

  const http::Router& router() const;
  const Config& config() const;
  auth::AuthService& auth();
  storage::StorageService& storage();
  registry::Registry& registry();

  struct Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Routes SIGINT/SIGTERM to a self-pipe, whichever thread the kernel delivers them to (libraries such
// as OpenBLAS start threads before main, so blocking the signals in main's threads is not enough).
// Call once at the start of main, before any thread of ours starts.
void InstallShutdownSignals();
// Blocks until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForShutdownSignal();

// Applies every module's migrations to the configured database; returns the ids applied.
Result<std::vector<std::string>> MigrateDatabase(const Config& config);

// The OpenAPI document kept in docs/openapi.json (embedded at build time).
std::string_view OpenApiDocument();

}  // namespace c19ai::app
