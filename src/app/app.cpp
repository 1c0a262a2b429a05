#include "app/app.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "app/internal.h"
#include "common/log.h"
#include "common/thread_pool.h"
#include "http/http.h"

namespace c19ai::app {

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

App::~App() {
  if (impl_) impl_->Stop();
}

const http::Router& App::router() const { return impl_->router; }
const Config& App::config() const { return impl_->config; }
int App::port() const { return impl_->server ? impl_->server->port() : 0; }

std::vector<db::MigrationFile> AllMigrations() {
  std::vector<db::MigrationFile> all;
  // Module order matters: later modules' tables may reference earlier ones.
  for (auto&& set : std::initializer_list<std::vector<db::MigrationFile>>{}) {
    all.insert(all.end(), set.begin(), set.end());
  }
  return all;
}

Result<std::vector<std::string>> MigrateDatabase(const Config& config) {
  C19_ASSIGN_OR_RETURN(auto database, db::Open(DatabaseOptions(config)));
  return db::Migrate(*database, AllMigrations());
}

db::Options DatabaseOptions(const Config& config) {
  db::Options o;
  o.url = config.database.url;
  o.pool_size = config.database.pool_size;
  o.busy_timeout_ms = config.database.busy_timeout_ms;
  o.acquire_timeout_ms = config.database.acquire_timeout_ms;
  return o;
}

namespace {
std::string DefaultStaticDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (auto candidate : {exe.parent_path() / ".." / "web" / "dist", exe.parent_path() / "web"}) {
      if (std::filesystem::is_regular_file(candidate / "index.html", ec)) {
        return std::filesystem::weakly_canonical(candidate, ec).string();
      }
    }
  }
  return {};
}
}  // namespace

Result<std::unique_ptr<App>> App::Create(const Config& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->started_ms = NowMs();
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Error::Field("data_dir", "cannot create the data folder \"" + config.data_dir + "\": " + ec.message());
  }
  C19_ASSIGN_OR_RETURN(impl->database, db::Open(DatabaseOptions(config)));
  C19_ASSIGN_OR_RETURN(auto applied, db::Migrate(*impl->database, AllMigrations()));
  for (const auto& id : applied) log::Info("migration applied", {{"id", id}});

  cache::MemoryOptions mem;
  mem.capacity_bytes = config.cache_memory_bytes;
  C19_ASSIGN_OR_RETURN(impl->cache, cache::Open(config.cache_url, mem));
  C19_ASSIGN_OR_RETURN(impl->bus, events::Open(config.events_url));
  impl->pool = std::make_unique<ThreadPool>("c19ai-work", static_cast<size_t>(config.server.worker_threads),
                                            static_cast<size_t>(config.server.worker_queue));

  C19_TRY(RegisterSystemRoutes(*impl));
  return std::unique_ptr<App>(new App(std::move(impl)));
}

Status App::Serve(bool wait_for_signals) {
  const Config& c = impl_->config;
  http::ServerOptions o;
  o.host = c.server.host;
  o.port = c.server.port;
  o.io_threads = c.server.io_threads;
  o.max_connections = c.server.max_connections;
  o.max_header_bytes = c.server.max_header_bytes;
  o.max_body_bytes = c.server.max_body_bytes;
  o.header_timeout_ms = c.server.header_timeout_ms;
  o.body_timeout_ms = c.server.body_timeout_ms;
  o.write_timeout_ms = c.server.write_timeout_ms;
  o.shutdown_timeout_ms = c.server.shutdown_timeout_ms;
  o.tls_cert_file = c.server.tls_cert;
  o.tls_key_file = c.server.tls_key;
  o.cors_origins = c.server.cors_origins;
  o.static_dir = c.server.static_dir.empty() ? DefaultStaticDir() : c.server.static_dir;
  o.access_log = c.server.access_log;
  C19_ASSIGN_OR_RETURN(impl_->server, http::Server::Create(o, impl_->router, *impl_->pool, impl_->authenticator));
  C19_TRY(impl_->server->Start());
  log::Info("listening", {{"address", (o.tls_cert_file.empty() ? "http://" : "https://") + c.server.host + ":" +
                                          std::to_string(impl_->server->port())},
                          {"database", impl_->database->Describe()},
                          {"static_dir", o.static_dir}});
  if (wait_for_signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    log::Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    impl_->Stop();
  } else {
    impl_->server->Wait();
  }
  return OkStatus();
}

void App::Shutdown() { impl_->Stop(); }

void App::Impl::Stop() {
  if (server) server->Stop();
  if (pool) pool->Shutdown();
  log::Flush();
}

}  // namespace c19ai::app
