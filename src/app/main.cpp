// kisgate: wires the modules into one command line (userver style: main only assembles).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/demo_command.hpp"
#include "app/quote_command.hpp"
#include "app/sim_command.hpp"

int main(int argc, char** argv) {
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
