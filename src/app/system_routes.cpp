// /health, /ready, /metrics, /api/v1/system/info and /api/v1/openapi.json.

#include <unistd.h>

#include <fstream>

#include "app/internal.h"
#include "c19ai_version.h"
#include "common/json.h"
#include "common/metrics.h"

namespace c19ai::app {

namespace {

std::string Scheme(const std::string& url) {
  auto p = url.find(':');
  return p == std::string::npos ? url : url.substr(0, p);
}

// Process figures read from /proc at scrape time.
void ProcessMetrics(std::vector<metrics::Family>& out, int64_t started_ms) {
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  double cpu = 0;
  int threads = 0;
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // After the command: state(0) ... utime(11) stime(12) ... num_threads(17)
    if (f.size() > 17) {
      long ticks = sysconf(_SC_CLK_TCK);
      cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(ticks);
      threads = std::stoi(f[17]);
    }
  }
  int fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  out.push_back({"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
                 {{"", {}, static_cast<double>(resident * page)}}});
  out.push_back({"process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
                 {{"", {}, static_cast<double>(size * page)}}});
  out.push_back({"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
                 {{"", {}, cpu}}});
  out.push_back({"process_open_fds", "Number of open file descriptors.", "gauge", {{"", {}, static_cast<double>(fds)}}});
  out.push_back({"process_threads", "Number of OS threads.", "gauge", {{"", {}, static_cast<double>(threads)}}});
  out.push_back({"process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "gauge",
                 {{"", {}, static_cast<double>(started_ms) / 1000.0}}});
  out.push_back({"c19ai_uptime_seconds", "Seconds since the server started.", "gauge",
                 {{"", {}, static_cast<double>(NowMs() - started_ms) / 1000.0}}});
}

}  // namespace

Status RegisterSystemRoutes(App::Impl& app) {
  using http::Exec;
  using http::Method;
  using http::Request;
  using http::Response;
  auto& r = app.router;
  auto* impl = &app;

  metrics::Registry::Default().AddCollector(
      [started = app.started_ms](std::vector<metrics::Family>& out) { ProcessMetrics(out, started); });
  metrics::Registry::Default().AddCollector([impl](std::vector<metrics::Family>& out) {
    if (!impl->database) return;
    auto s = impl->database->Stats();
    out.push_back({"c19ai_db_pool_connections", "Database connections by state", "gauge",
                   {{"", {{"state", "open"}}, static_cast<double>(s.size)},
                    {"", {{"state", "in_use"}}, static_cast<double>(s.in_use)}}});
    out.push_back({"c19ai_db_pool_timeouts_total", "Connection acquisitions that gave up", "counter",
                   {{"", {}, static_cast<double>(s.timeouts)}}});
  });

  C19_TRY(r.Add({.method = Method::kGet, .path = "/health", .permission = std::string(http::kPublic),
                 .summary = "Liveness: the process answers", .tag = "system", .exec = Exec::kInline,
                 .handler = [](Request&) -> Result<Response> { return Response::Json(200, "{\"status\":\"ok\"}"); }}));

  C19_TRY(r.Add({.method = Method::kGet, .path = "/ready", .permission = std::string(http::kPublic),
                 .summary = "Readiness: every dependency is reachable", .tag = "system", .exec = Exec::kBlocking,
                 .handler = [impl](Request&) -> Result<Response> {
                   Json checks = Json::object();
                   bool ready = true;
                   int64_t t0 = SteadyNowUs();
                   Status db = impl->database->Ping();
                   Json d = {{"status", db.ok() ? "ok" : "unavailable"},
                             {"backend", Scheme(impl->config.database.url)},
                             {"latency_ms", static_cast<double>(SteadyNowUs() - t0) / 1000.0}};
                   if (!db.ok()) {
                     d["error"] = db.error().message;
                     ready = false;
                   }
                   checks["database"] = d;
                   checks["cache"] = {{"status", "ok"}, {"backend", Scheme(impl->config.cache_url)}};
                   checks["events"] = {{"status", "ok"}, {"backend", Scheme(impl->config.events_url)}};
                   Json body = {{"status", ready ? "ready" : "unavailable"}, {"checks", checks}};
                   Response res = Response::Json(ready ? 200 : 503, DumpJson(body));
                   if (!ready) res.headers.emplace_back("Retry-After", "1");
                   return res;
                 }}));

  C19_TRY(r.Add({.method = Method::kGet, .path = "/metrics", .permission = std::string(http::kPublic),
                 .summary = "Prometheus metrics (text exposition format 0.0.4)", .tag = "system",
                 // Some collectors query the database (queue depth): not on an io thread.
                 .exec = Exec::kBlocking, .handler = [](Request&) -> Result<Response> {
                   return Response::Text(200, metrics::Registry::Default().Expose(),
                                         "text/plain; version=0.0.4; charset=utf-8");
                 }}));

  C19_TRY(r.Add({.method = Method::kGet, .path = "/api/v1/openapi.json", .permission = std::string(http::kPublic),
                 .summary = "This API's OpenAPI 3.1 document", .tag = "system", .exec = Exec::kInline,
                 .handler = [](Request&) -> Result<Response> {
                   return Response::Json(200, std::string(OpenApiDocument()));
                 }}));

  C19_TRY(r.Add({.method = Method::kGet, .path = "/api/v1/system/info", .permission = std::string(http::kPublic),
                 .summary = "Version, backends and uptime", .tag = "system", .exec = Exec::kInline,
                 .handler = [impl](Request&) -> Result<Response> {
                   const Config& c = impl->config;
                   Json body = {
                       {"name", "c19ai"},
                       {"version", C19AI_VERSION},
                       {"started_at", FormatRfc3339(impl->started_ms)},
                       {"uptime_seconds", static_cast<double>(NowMs() - impl->started_ms) / 1000.0},
                       {"backends",
                        {{"database", Scheme(c.database.url)},
                         {"cache", Scheme(c.cache_url)},
                         {"storage", Scheme(c.storage_url)},
                         {"queue", Scheme(c.queue_url)},
                         {"events", Scheme(c.events_url)}}},
                       {"mode", Scheme(c.database.url) == "sqlite" ? "embedded" : "distributed"},
                   };
                   return Response::Json(200, DumpJson(body));
                 }}));
  return OkStatus();
}

}  // namespace c19ai::app
