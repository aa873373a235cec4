#pragma once
// `kisgate sim`: flags (and the same names in a TOML file via --config) for the KIS simulator.

#include <CLI/CLI.hpp>

namespace kisgate::app {

// Adds the `sim` subcommand to `parent`; running it blocks until SIGINT/SIGTERM and stores the
// process exit status in `exit_code`.
void AddSimCommand(CLI::App& parent, int& exit_code);

}  // namespace kisgate::app
