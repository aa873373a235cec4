#pragma once
// `kisgate demo`: the built-in simulator on a free port, and the original system's workload run
// through the gate against it, cycle after cycle, with live progress.

#include <CLI/CLI.hpp>

namespace kisgate::app {

void AddDemoCommand(CLI::App& parent, int& exit_code);

}  // namespace kisgate::app
