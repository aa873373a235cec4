#include "app/demo_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gate/gateway.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"

namespace kisgate::app {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct DemoFlags {
  int cycles = 0;        // 0: until Ctrl-C
  int every_s = 15;
  int codes = 53;
  int duration_s = 0;    // 0: no limit
};

// The four data sets the original system collected every 5 minutes.
constexpr kis::Tr kDataSets[] = {kis::Tr::kPrice, kis::Tr::kOrderBook, kis::Tr::kInvestors,
                                 kis::Tr::kOvertimePrice};

int RunDemo(const DemoFlags& flags) {
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  spdlog::set_level(spdlog::level::warn);
  sim::SimOptions so;
  so.listen = "127.0.0.1:0";
  so.clock = "2026-11-24T10:00:00";  // a Tuesday morning: the regular session
  so.speed = 10;
  so.max_in_flight_per_key = 10;  // the burst rules that broke the original system, armed
  so.max_connections = 40;
  sim::BackgroundSimulator sim(so);
  config::Config config;
  config::KeyConfig key;
  key.name = "demo";
  key.base_url = sim.BaseUrl();
  key.app_key = std::string(sim::kDemoAppKey);
  key.app_secret = sim::DemoAppSecret();
  config.keys.push_back(key);

  asio::io_context io(1);
  gate::Gateway gateway(io.get_executor(), config, common::SystemClock::Instance());
  const auto& universe = sim::Universe::Default().All();
  const int codes = std::clamp(flags.codes, 1, static_cast<int>(universe.size()));
  const int planned = codes * static_cast<int>(std::size(kDataSets));
  fmt::print("kisgate demo: simulator at {} (18 calls/s, burst rules on), {} codes x {} data sets = "
             "{} calls every {} s through one gate; the physical limit is {:.1f} s a cycle.\n"
             "Ctrl-C stops.\n",
             sim.BaseUrl(), codes, std::size(kDataSets), planned, flags.every_s, planned / 18.0);
  bool stopping = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) stopping = true;
  });
  const auto started = Clock::now();
  int exit_code = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io);
    for (int cycle = 1; !stopping && (flags.cycles == 0 || cycle <= flags.cycles); ++cycle) {
      const auto cycle_start = Clock::now();
      // A cycle's calls expire when the next cycle starts: superseded work is dropped.
      const auto deadline = cycle_start + std::chrono::seconds(flags.every_s);
      int done = 0, ok = 0;
      std::map<std::string, int> failures;
      for (std::size_t d = 0; d < std::size(kDataSets); ++d) {
        for (int c = 0; c < codes; ++c) {
          asio::co_spawn(io, [&, d, c]() -> asio::awaitable<void> {
            gate::KisRequest request{kDataSets[d],
                                     {{"FID_COND_MRKT_DIV_CODE", "J"},
                                      {"FID_INPUT_ISCD", universe[static_cast<std::size_t>(c)].code}},
                                     ""};
            auto call = gateway.Call(std::move(request), gate::CallOptions{gate::Lane::kBatch, d, deadline});
            gate::CallResult r = co_await std::move(call);
            done++;
            if (r.ok) {
              ok++;
            } else {
              failures[r.error.code]++;
            }
            if (tty) {
              const int width = 40, filled = width * done / planned;
              fmt::print("\r  cycle {:>3} [{}{}] {:>4}/{}", cycle, std::string(static_cast<std::size_t>(filled), '#'),
                         std::string(static_cast<std::size_t>(width - filled), '.'), done, planned);
              std::fflush(stdout);
            }
          }, asio::detached);
        }
      }
      while (done < planned) {
        timer.expires_after(std::chrono::milliseconds(50));
        co_await timer.async_wait(asio::use_awaitable);
      }
      const double took = std::chrono::duration<double>(Clock::now() - cycle_start).count();
      auto stats = gateway.Stats().keys[0];
      std::string failed = failures.empty() ? "0 failed" : "";
      for (const auto& [code, n] : failures) failed += fmt::format("{} {} ", n, code);
      fmt::print("{}  cycle {:>3}: {} calls, {} ok, {}, {:.1f} s ({:.2f}x the limit), {:.1f} calls/s "
                 "of 18; EGW00201 so far: {}\n",
                 tty ? "\r" : "", cycle, planned, ok, failed, took, took / (planned / 18.0),
                 planned / took, stats.errors.count("EGW00201") ? stats.errors.at("EGW00201") : 0);
      if (ok != planned) exit_code = 1;
      if (flags.cycles != 0 && cycle >= flags.cycles) break;
      if (flags.duration_s > 0 && Clock::now() - started >= std::chrono::seconds(flags.duration_s)) break;
      // Wait for the next cycle.
      timer.expires_at(cycle_start + std::chrono::seconds(flags.every_s));
      co_await timer.async_wait(asio::use_awaitable);
    }
    signals.cancel();
  }, asio::detached);
  io.run();
  // The simulator's own view (it runs in this process).
  const auto key_stats = json::parse(sim.simulator().StatsJson()).at("keys").at(0);
  fmt::print("the simulator saw: {} calls, busiest second {} (limit 18), EGW00201 {}, connections "
             "dropped by its burst rules {}\n",
             key_stats.at("calls").to_number<std::uint64_t>(),
             key_stats.at("max_calls_in_1s").to_number<std::uint64_t>(),
             key_stats.at("errors").as_object().contains("EGW00201")
                 ? key_stats.at("errors").at("EGW00201").to_number<std::uint64_t>()
                 : 0,
             key_stats.at("dropped_over_in_flight").to_number<std::uint64_t>());
  return exit_code;
}

}  // namespace

void AddDemoCommand(CLI::App& parent, int& exit_code) {
  auto flags = std::make_shared<DemoFlags>();
  auto* cmd = parent.add_subcommand(
      "demo", "The built-in simulator and the seed workload (53 codes x 4 data sets) through the gate");
  cmd->add_option("--cycles", flags->cycles, "cycles to run (0: until Ctrl-C)")->capture_default_str();
  cmd->add_option("--every", flags->every_s, "seconds between cycles")->capture_default_str();
  cmd->add_option("--codes", flags->codes, "stocks per cycle")->capture_default_str();
  cmd->add_option("--duration", flags->duration_s, "stop after this many seconds (0: no limit)")
      ->capture_default_str();
  cmd->callback([flags, &exit_code] { exit_code = RunDemo(*flags); });
}

}  // namespace kisgate::app
