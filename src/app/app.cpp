#include "app/app.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <filesystem>

#include "app/internal.h"
#include "auth/routes.h"
#include "cache/routes.h"
#include "queue/routes.h"
#include "registry/routes.h"
#include "inference/routes.h"
#include "training/routes.h"
#include "validation/routes.h"
#include "ml/ml.h"
#include "storage/routes.h"
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
auth::AuthService& App::auth() { return *impl_->auth; }
storage::StorageService& App::storage() { return *impl_->storage; }
registry::Registry& App::registry() { return *impl_->registry; }
int App::port() const { return impl_->server ? impl_->server->port() : 0; }

std::vector<db::MigrationFile> AllMigrations() {
  std::vector<db::MigrationFile> all;
  // Module order matters: later modules' tables may reference earlier ones.
  for (auto&& set : {auth::Migrations(), storage::Migrations(), queue::Migrations(), registry::Migrations(),
                     inference::Migrations(), validation::Migrations(),
                     training::Migrations()}) {
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

Status BuildAuth(App::Impl& impl) {
  const AuthConfig& c = impl.config.auth;
  auth::Options o;
  o.allow_registration = c.allow_registration;
  o.policy.min_length = c.password_min_length;
  o.policy.reject_common = c.password_reject_common;
  o.argon2_memory_bytes = static_cast<uint64_t>(c.argon2_memory_bytes);
  o.argon2_iterations = static_cast<uint64_t>(c.argon2_iterations);
  o.jwt_secret = c.jwt_secret;
  o.access_ttl_ms = c.access_token_ttl_ms;
  o.refresh_ttl_ms = c.refresh_token_ttl_ms;
  o.principal_cache_ttl_ms = c.revocation_delay_ms;
  o.login_max_failures = c.login_max_failures;
  o.lockout_base_ms = c.lockout_base_ms;
  o.lockout_max_ms = c.lockout_max_ms;
  if (c.argon2_memory_bytes < (19 << 20) || c.argon2_iterations < 2) {
    log::Warn("Argon2id parameters are below OWASP's minimum (19 MiB, 2 passes): use them for tests only",
              {{"memory_bytes", c.argon2_memory_bytes}, {"iterations", c.argon2_iterations}});
  }
  C19_ASSIGN_OR_RETURN(impl.auth, auth::AuthService::Create(*impl.database, *impl.cache, *impl.bus, o));
  if (!c.admin_password.empty()) {
    C19_ASSIGN_OR_RETURN(bool created, auth::BootstrapAdmin(*impl.auth, c.admin_user, c.admin_password));
    if (created) log::Info("created the first admin from C19AI_ADMIN_PASSWORD", {{"username", c.admin_user}});
  } else if (impl.auth->CountUsers() == 0) {
    log::Warn("there are no users yet: create the first admin with `c19ai user create --admin --username admin "
              "--email you@example.com` or start once with C19AI_ADMIN_PASSWORD set");
  }
  impl.authenticator = auth::MakeAuthenticator(*impl.auth);
  impl.audit_observer = auth::MakeAuditObserver(*impl.auth);
  return OkStatus();
}

// Datasets and validation. Deleting a dataset is refused while a model version's lineage names it:
// the registry keeps lineage as JSON text, so the composition root looks for the id there.
Status BuildDatasets(App::Impl& impl) {
  const Config& c = impl.config;
  validation::Options o;
  o.spool_dir = c.data_dir + "/tmp";
  o.max_upload_bytes = c.validation.max_upload_size;
  o.inline_max_bytes = c.validation.inline_max_size;
  o.max_examples_per_rule = c.validation.max_examples;
  o.max_issues = c.validation.max_issues;
  o.audit = &impl.auth->audit();
  o.bus = impl.bus.get();
  o.queue = impl.queue.get();  // jobs run on embedded workers or on `c19ai worker` processes
  db::Database* database = impl.database.get();
  o.lineage_users = [database](const std::string& id) -> Result<std::vector<std::string>> {
    C19_ASSIGN_OR_RETURN(auto rows, database->Query("SELECT m.name, v.version FROM registry_versions v JOIN registry_models m "
                                                    "ON m.id = v.model_id WHERE v.lineage LIKE ?",
                                                    {"%" + id + "%"}));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.Text(0) + "/" + r.Text(1));
    return out;
  };
  C19_ASSIGN_OR_RETURN(impl.datasets, validation::DatasetService::Create(*impl.database, *impl.storage, o));
  return validation::RegisterRoutes(impl.router, *impl.datasets, {.max_upload_bytes = c.validation.max_upload_size});
}

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
  cache::RedisOptions redis;
  redis.pool_size = config.cache_redis_pool;
  redis.timeout_ms = static_cast<int>(config.cache_redis_timeout_ms);
  redis.l1_ttl_ms = config.cache_l1_ttl_ms;
  C19_ASSIGN_OR_RETURN(impl->cache, cache::Open(config.cache_url, mem, redis));
  cache::RegisterMetrics(*impl->cache);
  C19_ASSIGN_OR_RETURN(impl->bus, events::Open(config.events_url));
  impl->pool = std::make_unique<ThreadPool>("c19ai-work", static_cast<size_t>(config.server.worker_threads),
                                            static_cast<size_t>(config.server.worker_queue));

  C19_TRY(BuildAuth(*impl));
  C19_ASSIGN_OR_RETURN(impl->storage, BuildStorage(config, *impl->database));
  C19_TRY(RegisterSystemRoutes(*impl));
  C19_TRY(auth::RegisterRoutes(impl->router, *impl->auth, *impl->pool));
  C19_TRY(storage::RegisterRoutes(impl->router, *impl->storage, {.max_file_size = config.storage.max_file_size}));
  C19_TRY(cache::RegisterRoutes(impl->router, *impl->cache));
  C19_ASSIGN_OR_RETURN(impl->queue, queue::Open(config.queue_url, *impl->database));
  queue::RegisterMetrics(*impl->queue);
  C19_TRY(queue::RegisterRoutes(impl->router, *impl->queue));
  ml::Init(config.ml.intra_op_threads);
  registry::Options reg;
  reg.spool_dir = config.data_dir + "/tmp";
  reg.max_artifact_bytes = config.registry.max_artifact_size;
  reg.audit = &impl->auth->audit();
  reg.bus = impl->bus.get();
  reg.cache = impl->cache.get();
  C19_ASSIGN_OR_RETURN(impl->registry, registry::Registry::Create(*impl->database, *impl->storage, reg));
  C19_TRY(registry::RegisterRoutes(impl->router, *impl->registry,
                                   {.max_artifact_bytes = config.registry.max_artifact_size}));
  inference::Options inf;
  inf.defaults.batching.max_batch_size = config.inference.max_batch_size;
  inf.defaults.batching.max_queue_delay_us = config.inference.max_queue_delay_us;
  inf.defaults.batching.max_queue_size = config.inference.max_queue_size;
  inf.defaults.instances = config.inference.instances;
  inf.memory_budget_bytes = config.inference.memory_budget;
  inf.default_timeout_ms = config.inference.timeout_ms;
  inf.resolve_interval_ms = config.inference.resolve_interval_ms;
  inf.cache = impl->cache.get();
  inf.bus = impl->bus.get();
  inf.completions = impl->pool.get();
  C19_ASSIGN_OR_RETURN(impl->inference, inference::InferenceService::Create(*impl->database, *impl->registry, inf));
  C19_TRY(inference::RegisterRoutes(impl->router, *impl->inference, *impl->registry, *impl->pool,
                                    {.max_request_bytes = config.inference.max_request_size, .defaults = inf.defaults}));
  inference::BatchOptions batch;
  batch.bus = impl->bus.get();
  // Batch predictions over dataset versions read the object the datasets module stored.
  batch.resolve_dataset = [app = impl.get()](const std::string& name,
                                             const std::string& version) -> Result<inference::BatchSource> {
    if (!app->datasets) return Error::FailedPrecondition("datasets are not available on this server");
    C19_ASSIGN_OR_RETURN(validation::Dataset d, app->datasets->Get(version.empty() ? name : name + "@" + version));
    if (!d.header) return Error::Field("dataset", "batch predictions need a dataset with a header row");
    return inference::BatchSource{.ns = storage::Namespace::kDatasets,
                                  .key = d.storage_key,
                                  .format = std::string(validation::FormatName(d.format)),
                                  .delimiter = d.delimiter};
  };
  impl->batch_predictions = inference::BatchPredictions::Create(*impl->database, *impl->storage, *impl->queue,
                                                                *impl->inference, batch);
  C19_TRY(inference::RegisterBatchRoutes(impl->router, *impl->batch_predictions));
  // Embedding search reads dataset versions through the same resolver.
  impl->embedding_search = inference::EmbeddingSearch::Create(*impl->storage, *impl->inference,
                                                              {.resolve_dataset = batch.resolve_dataset});
  C19_TRY(inference::RegisterEmbeddingRoutes(impl->router, *impl->inference, *impl->embedding_search, *impl->pool,
                                             {.max_request_bytes = config.inference.max_request_size}));
  C19_TRY(BuildDatasets(*impl));
  training::Options tr;
  tr.bus = impl->bus.get();
  tr.max_threads_per_job = config.workers.training_threads;
  impl->training = training::TrainingService::Create(*impl->database, *impl->storage, *impl->queue, *impl->registry,
                                                     *impl->datasets, tr);
  impl->experiments = training::ExperimentService::Create(*impl->database, *impl->training, Clock::System());
  impl->sweeps = training::SweepService::Create(*impl->database, *impl->training, tr);
  C19_TRY(training::RegisterRoutes(impl->router, *impl->training, *impl->experiments, *impl->sweeps));
  if (config.workers.embedded) {
    impl->workers = std::make_unique<queue::WorkerRuntime>(*impl->queue, "embedded");
    validation::DatasetService* datasets = impl->datasets.get();
    impl->workers->Register(std::string(validation::kValidationTopic),
                            {.name = "validations", .concurrency = config.workers.validations, .lease_ms = 120'000},
                            [datasets](queue::Message& m, const std::function<bool()>&) { return datasets->RunJob(m.body); });
    inference::BatchPredictions* batches = impl->batch_predictions.get();
    impl->workers->Register(std::string(inference::kBatchTopic),
                            {.name = "batch-predictions", .concurrency = config.workers.batch_predictions},
                            [batches](queue::Message& m, const std::function<bool()>& stopping) {
                              return batches->Run(m, stopping);
                            });
    training::TrainingService* trainer = impl->training.get();
    impl->workers->Register(std::string(training::kTrainingTopic),
                            {.name = "training",
                             .concurrency = config.workers.training,
                             .lease_ms = 30'000,
                             .heartbeat_ms = 10'000,
                             .poll_ms = 50},
                            [trainer](queue::Message& m, const std::function<bool()>& stopping) {
                              return trainer->Run(m, stopping);
                            });
  }
  realtime::HubOptions hub;
  hub.auth_timeout_ms = config.realtime.auth_timeout_ms;
  hub.max_connections_per_user = config.realtime.max_connections_per_user;
  hub.history_per_room = static_cast<size_t>(config.realtime.history_per_room);
  impl->hub = realtime::Hub::Create(*impl->bus, *impl->auth, *impl->pool, hub);
  C19_TRY(impl->hub->RegisterRoutes(impl->router));
  auth::AuthService* auth_service = impl->auth.get();
  impl->warmups.Add("auth.recent_sessions", [auth_service](cache::Cache&) { return auth_service->WarmCache(); });
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
  o.observer = impl_->audit_observer.get();
  o.ws_max_message_bytes = static_cast<size_t>(c.realtime.max_message_bytes);
  o.ws_max_queued_bytes = static_cast<size_t>(c.realtime.max_queued_bytes);
  C19_ASSIGN_OR_RETURN(impl_->server,
                       http::Server::Create(o, impl_->router, *impl_->pool, impl_->authenticator.get()));
  C19_TRY(impl_->server->Start());
  impl_->storage->Start();
  impl_->inference->Start();
  if (impl_->workers) impl_->workers->Start();
  impl_->warmup_thread = std::thread([impl = impl_.get()] { impl->warmups.RunAll(*impl->cache); });
  log::Info("listening", {{"address", (o.tls_cert_file.empty() ? "http://" : "https://") + c.server.host + ":" +
                                          std::to_string(impl_->server->port())},
                          {"database", impl_->database->Describe()},
                          {"static_dir", o.static_dir}});
  if (wait_for_signals) {
    int sig = WaitForShutdownSignal();
    log::Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    impl_->Stop();
  } else {
    impl_->server->Wait();
  }
  return OkStatus();
}

Status App::Work() {
  if (!impl_->workers) return Error::FailedPrecondition("workers.embedded is off: this process runs no jobs");
  impl_->storage->Start();
  impl_->inference->Start();
  impl_->workers->Start();
  log::Info("worker started", {{"database", impl_->database->Describe()}, {"queue", impl_->queue->backend()}});
  int sig = WaitForShutdownSignal();
  log::Info("worker stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                                {"processed", std::to_string(impl_->workers->processed())}});
  impl_->Stop();
  return OkStatus();
}

void App::Shutdown() { impl_->Stop(); }

namespace {
int g_signal_pipe[2] = {-1, -1};

void OnShutdownSignal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}
}  // namespace

void InstallShutdownSignals() {
  if (g_signal_pipe[0] >= 0) return;
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
  struct sigaction action {};
  action.sa_handler = OnShutdownSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // Our own threads (started after this) keep the signals blocked so they are never interrupted;
  // the waiting thread unblocks them in WaitForShutdownSignal.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  InstallShutdownSignals();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  unsigned char byte = 0;
  while (true) {
    const auto n = read(g_signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return SIGTERM;  // the pipe broke: treat it as a request to stop
  }
}

void App::Impl::Stop() {
  if (warmup_thread.joinable()) warmup_thread.join();
  if (hub) hub->Stop();  // closes the sockets (1001) while the server can still send the close frames
  if (server) server->Stop();
  if (workers) workers->Stop(5'000);  // running jobs go back to the queue and resume elsewhere
  if (inference) inference->Stop();
  if (pool) pool->Shutdown();
  if (storage) storage->Stop();
  if (auth) auth->FlushAudit();
  log::Flush();
}

}  // namespace c19ai::app
