// kisgate: wires the modules into one command line (userver style: main only assembles).
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "app/collect_command.hpp"
#include "app/demo_command.hpp"
#include "app/quote_command.hpp"
#include "app/sim_command.hpp"

namespace {

int Run(int argc, char** argv) {
  // Logs and errors go to stderr; stdout carries what a command produces (tables, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("kisgate"));
  CLI::App app{"kisgate: one gate per KIS app key for collection and user requests"};
  app.require_subcommand(1);
  app.set_version_flag("--version", KISGATE_VERSION);
  app.add_subcommand("version", "Print the version")->callback([] {
    fmt::print("kisgate {}\n", KISGATE_VERSION);
  });
  int exit_code = 0;
  kisgate::app::AddSimCommand(app, exit_code);
  kisgate::app::AddQuoteCommand(app, exit_code);
  kisgate::app::AddDemoCommand(app, exit_code);
  kisgate::app::AddCollectCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // What escapes Run (a logger that cannot be created, an error while reporting an error) ends
  // the process with a message rather than std::terminate.
  try {
    return Run(argc, argv);
  } catch (...) {
    std::fputs("kisgate: unexpected error\n", stderr);
    return 1;
  }
}
