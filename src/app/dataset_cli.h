#pragma once
// `c19ai dataset upload|list|profile|validate`: client commands that talk to a running server
// (--url/--token or C19AI_URL/C19AI_TOKEN), with a progress bar for large uploads and queued
// validations, and reports readable by a person (--json for the raw answer).

#include <optional>

namespace CLI {
class App;
}

namespace c19ai::app {

struct DatasetCommands;
DatasetCommands* AddDatasetCommands(CLI::App& cli);
// nullopt when no dataset command was parsed.
std::optional<int> RunDatasetCommands(DatasetCommands* commands);

}  // namespace c19ai::app
