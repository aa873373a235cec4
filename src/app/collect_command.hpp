#pragma once
// `kisgate collect --once` (each job's cycle once, then a summary) and `kisgate serve` (the
// scheduler until SIGINT/SIGTERM), both from one config file.

#include <CLI/CLI.hpp>

namespace kisgate::app {

void AddCollectCommands(CLI::App& parent, int& exit_code);

}  // namespace kisgate::app
