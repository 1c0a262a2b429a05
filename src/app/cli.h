#pragma once
// Client and admin commands beyond serve/migrate/config/version; each issue adds its own here.

namespace CLI {
class App;
}

namespace c19ai::app {

struct CliCommands {
  int unused = 0;
};

CliCommands AddCommands(CLI::App& cli);
// Runs whichever added command was parsed; returns the process exit code.
int RunCommands(const CliCommands& commands);

}  // namespace c19ai::app
