// The c19ai command line: serve, migrate, config show, version (later issues add more commands).

#include <signal.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/app.h"
#include "app/cli.h"
#include "c19ai_version.h"
#include "common/log.h"

namespace {

using c19ai::Config;
using c19ai::ConfigSources;

// Flags every command that reads the configuration accepts.
struct ConfigFlags {
  std::string file;
  std::string data_dir, database, cache, storage, queue, events, host, log_level;
  int port = -1;
  std::vector<std::string> sets;

  void Add(CLI::App* cmd, bool server_flags) {
    cmd->add_option("--config", file, "TOML configuration file (or C19AI_CONFIG)");
    cmd->add_option("--data-dir", data_dir, "data folder (default ./c19ai-data)");
    cmd->add_option("--database", database, "sqlite://PATH or postgresql://...");
    cmd->add_option("--cache", cache, "memory:// or redis://...");
    cmd->add_option("--storage", storage, "file://PATH or s3://bucket?endpoint=...");
    cmd->add_option("--queue", queue, "db:// or redis://...");
    cmd->add_option("--events", events, "memory://, redis://... or postgresql://...");
    cmd->add_option("--log-level", log_level, "debug | info | warn | error | off");
    if (server_flags) {
      cmd->add_option("--host", host, "address to listen on (default 127.0.0.1)");
      cmd->add_option("--port", port, "port to listen on (default 8080; 0 picks a free one)");
    }
    cmd->add_option("--set", sets, "any configuration key: --set server.worker_threads=16")->type_name("KEY=VALUE");
  }

  c19ai::Result<Config> Load() const {
    ConfigSources src;
    src.file = file;
    auto put = [&](const char* key, const std::string& v) {
      if (!v.empty()) src.flags[key] = v;
    };
    for (const auto& s : sets) {
      auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) {
        return c19ai::Error::InvalidArgument("--set needs KEY=VALUE, got \"" + s + "\"");
      }
      src.flags[s.substr(0, eq)] = s.substr(eq + 1);
    }
    put("data_dir", data_dir);
    put("database.url", database);
    put("cache.url", cache);
    put("storage.url", storage);
    put("queue.url", queue);
    put("events.url", events);
    put("server.host", host);
    put("log.level", log_level);
    if (port >= 0) src.flags["server.port"] = std::to_string(port);
    return c19ai::LoadConfig(src);
  }
};

int Fail(const c19ai::Error& e) {
  std::fprintf(stderr, "c19ai: %s\n", e.message.c_str());
  return e.code == c19ai::ErrorCode::kInvalidArgument ? 2 : 1;
}

void InitLogging(const Config& config) {
  c19ai::log::Options o;
  c19ai::log::ParseLevel(config.log.level, o.level);
  o.json = config.log.format != "text";
  o.file = config.log.file;
  c19ai::log::Init(o);
  for (const auto& w : config.warnings) c19ai::log::Warn(w);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"C19 AI: data, training, registry and inference in one binary"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("c19ai ") + C19AI_VERSION);

  ConfigFlags serve_flags;
  auto* serve = cli.add_subcommand("serve", "Run the HTTP API, WebSocket and web console (embedded mode by default)");
  serve_flags.Add(serve, true);

  ConfigFlags migrate_flags;
  auto* migrate = cli.add_subcommand("migrate", "Apply pending database migrations and exit");
  migrate_flags.Add(migrate, false);

  auto* config_cmd = cli.add_subcommand("config", "Inspect the configuration");
  config_cmd->require_subcommand(1);
  ConfigFlags show_flags;
  bool show_sources = false;
  auto* show = config_cmd->add_subcommand("show", "Print the effective configuration (secrets masked)");
  show_flags.Add(show, true);
  show->add_flag("--sources", show_sources, "also say where each value came from");

  auto* version = cli.add_subcommand("version", "Print the version");

  c19ai::app::CliCommands extra = c19ai::app::AddCommands(cli);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (*version) {
    std::printf("c19ai %s\n", C19AI_VERSION);
    return 0;
  }
  if (*show) {
    auto config = show_flags.Load();
    if (!config.ok()) return Fail(config.error());
    for (const auto& e : config->Describe(/*mask_secrets=*/true)) {
      if (show_sources) std::printf("%-28s = %-40s # %s\n", e.key.c_str(), e.value.c_str(), e.source.c_str());
      else std::printf("%-28s = %s\n", e.key.c_str(), e.value.c_str());
    }
    return 0;
  }
  if (*migrate) {
    auto config = migrate_flags.Load();
    if (!config.ok()) return Fail(config.error());
    InitLogging(*config);
    auto applied = c19ai::app::MigrateDatabase(*config);
    if (!applied.ok()) return Fail(applied.error());
    std::printf("%zu migration(s) applied\n", applied->size());
    for (const auto& id : *applied) std::printf("  %s\n", id.c_str());
    return 0;
  }
  if (*serve) {
    // Block the shutdown signals in every thread; the main thread waits for them with sigwait.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    auto config = serve_flags.Load();
    if (!config.ok()) return Fail(config.error());
    InitLogging(*config);
    auto app = c19ai::app::App::Create(*config);
    if (!app.ok()) return Fail(app.error());
    auto st = (*app)->Serve(/*wait_for_signals=*/true);
    if (!st.ok()) return Fail(st.error());
    return 0;
  }
  return c19ai::app::RunCommands(extra);
}
