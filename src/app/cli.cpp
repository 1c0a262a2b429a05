#include "app/cli.h"

#include <CLI/CLI.hpp>

namespace c19ai::app {

CliCommands AddCommands(CLI::App&) { return {}; }

int RunCommands(const CliCommands&) { return 0; }

}  // namespace c19ai::app
