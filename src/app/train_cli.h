#pragma once
// `c19ai train submit|list|show|cancel|resume`: client commands for training jobs on a running server
// (--url/--token or C19AI_URL/C19AI_TOKEN). `--follow` shows a live progress line (epoch, loss,
// validation metric) until the job ends.

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
