// The c19ai command line: serve, worker, migrate, config show, version, and the commands in cli.cpp.

#include <signal.h>
#include <sys/resource.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "app/app.h"
#include "app/cli.h"
#include "app/dataset_cli.h"
#include "app/train_cli.h"
#include "c19ai_version.h"
#include "common/log.h"

using c19ai::app::ConfigFlags;

int main(int argc, char** argv) {
  CLI::App cli{"C19 AI: data, training, registry and inference in one binary"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("c19ai ") + C19AI_VERSION);

  ConfigFlags serve_flags;
  auto* serve = cli.add_subcommand("serve", "Run the HTTP API, WebSocket and web console (embedded mode by default)");
  serve_flags.Add(serve, true);

  ConfigFlags worker_flags;
  auto* worker = cli.add_subcommand(
      "worker", "Run background jobs (batch predictions, validations) from the queue, without the HTTP API");
  worker_flags.Add(worker, false);

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

  auto* commands = c19ai::app::AddCommands(cli);
  auto* dataset_commands = c19ai::app::AddDatasetCommands(cli);
  auto* train_commands = c19ai::app::AddTrainCommands(cli);

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
    if (!config.ok()) return c19ai::app::Fail(config.error());
    for (const auto& e : config->Describe(/*mask_secrets=*/true)) {
      if (show_sources) std::printf("%-28s = %-40s # %s\n", e.key.c_str(), e.value.c_str(), e.source.c_str());
      else std::printf("%-28s = %s\n", e.key.c_str(), e.value.c_str());
    }
    return 0;
  }
  if (*migrate) {
    auto config = migrate_flags.Load();
    if (!config.ok()) return c19ai::app::Fail(config.error());
    c19ai::app::InitLogging(*config);
    auto applied = c19ai::app::MigrateDatabase(*config);
    if (!applied.ok()) return c19ai::app::Fail(applied.error());
    std::printf("%zu migration(s) applied\n", applied->size());
    for (const auto& id : *applied) std::printf("  %s\n", id.c_str());
    return 0;
  }
  if (*serve || *worker) {
    // SIGINT/SIGTERM go to a self-pipe the main thread waits on, from whichever thread receives them.
    c19ai::app::InstallShutdownSignals();
    signal(SIGPIPE, SIG_IGN);
    // Many WebSocket clients need many descriptors: take the hard limit.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    auto config = (*serve ? serve_flags : worker_flags).Load();
    if (!config.ok()) return c19ai::app::Fail(config.error());
    if (*worker) config->workers.embedded = true;  // a worker is nothing but its job handlers
    c19ai::app::InitLogging(*config);
    auto app = c19ai::app::App::Create(*config);
    if (!app.ok()) return c19ai::app::Fail(app.error());
    auto st = *serve ? (*app)->Serve(/*wait_for_signals=*/true) : (*app)->Work();
    if (!st.ok()) return c19ai::app::Fail(st.error());
    return 0;
  }
  if (auto code = c19ai::app::RunDatasetCommands(dataset_commands)) return *code;
  if (auto code = c19ai::app::RunTrainCommands(train_commands)) return *code;
  if (auto code = c19ai::app::RunCommands(commands)) return *code;
  return 0;
}
