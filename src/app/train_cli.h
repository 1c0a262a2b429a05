#pragma once
// `c19ai train submit|list|show|cancel|resume`, `c19ai experiment list|compare` and
// `c19ai sweep submit|show`: client commands for training on a running server (--url/--token or
// C19AI_URL/C19AI_TOKEN). `--follow` shows live progress until the job or sweep ends.

#include <optional>

namespace CLI {
class App;
}

namespace c19ai::app {

struct TrainCommands;
TrainCommands* AddTrainCommands(CLI::App& cli);
// nullopt when no train command was parsed.
std::optional<int> RunTrainCommands(TrainCommands* commands);

}  // namespace c19ai::app
