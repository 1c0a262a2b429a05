#pragma once
// The command line beyond `serve` and `migrate`: configuration flags shared by every command, and the
// client and admin commands that each issue adds (user ...).

#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace c19ai::app {

// Flags every command that reads the configuration accepts.
struct ConfigFlags {
  std::string file;
  std::string data_dir, database, cache, storage, queue, events, host, log_level;
  int port = -1;
  std::vector<std::string> sets;

  void Add(CLI::App* cmd, bool server_flags);
  Result<Config> Load() const;
};

struct Commands;
// Registers the commands on `cli`; returns state consulted after parsing.
Commands* AddCommands(CLI::App& cli);
// Runs whichever added command was parsed; nullopt when none of them was.
std::optional<int> RunCommands(Commands* commands);

int Fail(const Error& e);
void InitLogging(const Config& config, bool quiet = false);

}  // namespace c19ai::app
