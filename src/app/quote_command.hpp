#pragma once
// `kisgate quote CODE`: one quotation through the same gate the service uses (interactive lane),
// printed as a readable table or as KIS's JSON.

#include <CLI/CLI.hpp>

namespace kisgate::app {

void AddQuoteCommand(CLI::App& parent, int& exit_code);

}  // namespace kisgate::app
