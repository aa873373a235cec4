#include "app/demo_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "app/api_server.hpp"
#include "app/realtime.hpp"
#include "collect/collector.hpp"
#include "collect/schedule.hpp"
#include "collect/scheduler.hpp"
#include "common/spawn.hpp"
#include "gate/gateway.hpp"
#include "kis/tr_catalogue.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "store/store.hpp"

namespace kisgate::app {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Codes of the demo's universe streamed over the key's KIS WebSocket session (the rest are polled
// by the jobs only).
constexpr std::size_t kDemoStreamedCodes = 10;

struct DemoFlags {
  int cycles = 0;  // 0: until Ctrl-C
  int every_s = 20;
  int codes = 53;
  int duration_s = 0;                     // 0: no limit
  std::string listen = "127.0.0.1:8080";  // the API and dashboard
  bool mock = false;                      // a paper-trading key at KIS's mock limit, 1 call/s
  bool codes_given = false;
};

// The original system's four collectors plus its minute-bar collector, as kisgate jobs. A mock key
// has no after-hours TRs (KIS answers EGW02006), so its demo leaves that job out.
std::vector<config::JobConfig> DemoJobs(int every_s, bool mock) {
  std::vector<config::JobConfig> jobs;
  for (auto [name, dataset] : {std::pair{"price", "price"},
                               {"orderbook", "orderbook"},
                               {"investors", "investors"},
                               {"overtime", "overtime_price"},
                               {"bars", "bars_minute"}}) {
    if (mock && kis::FindTrByDataset(dataset)->real_only) continue;
    config::JobConfig j;
    j.name = name;
    j.dataset = dataset;
    j.every = std::chrono::seconds(every_s);
    j.sessions = {"always"};
    jobs.push_back(j);
  }
  return jobs;
}

int RunDemo(const DemoFlags& flags) {
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  spdlog::set_level(spdlog::level::warn);
  sim::SimOptions so;
  so.listen = "127.0.0.1:0";
  so.clock = "2026-11-24T09:10:00";  // a Tuesday, early in the regular session
  so.speed = 10;                     // ten market seconds a second: bars and prices move visibly
  so.max_in_flight_per_key = 10;     // the burst rules that broke the original system, armed
  so.max_connections = 40;
  config::KeyConfig key;
  key.name = "demo";
  key.app_key = std::string(sim::kDemoAppKey);
  key.app_secret = sim::DemoAppSecret();
  if (flags.mock) {
    // The simulator's mock limit is KIS's (1 call/s), and the key is planned at 1 x 0.97.
    so.keys.push_back(sim::SimKey{key.app_key, key.app_secret, sim::Environment::kMock});
    so.mock_rate = 1;
    key.name = "paper";
    key.environment = config::KisEnvironment::kMock;
    key.rate = 1;
  }
  sim::BackgroundSimulator sim(so);
  key.base_url = sim.BaseUrl();
  config::Config config;
  config.keys.push_back(key);
  const auto jobs = DemoJobs(flags.every_s, flags.mock);
  config.jobs = jobs;

  std::string dir_template = "/tmp/kisgate-demo-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr)
    throw std::runtime_error("cannot create a temp dir for the demo");
  const std::string db_path = dir_template + "/kisgate.db";
  const auto opened_store = store::Open("sqlite://" + db_path);
  store::Store& store = *opened_store;

  asio::io_context io(1);
  gate::Gateway gateway(io.get_executor(), config, common::SystemClock::Instance());
  const auto& universe = sim::Universe::Default().All();
  int wanted = flags.codes;
  if (flags.mock && !flags.codes_given) {
    // Sized to fit: a cycle's calls (and the token call) in 80 % of the interval at 0.97 calls/s.
    const double per_cycle = flags.every_s * key.rate * config.gate.safety - 1;
    wanted = std::max(1, static_cast<int>(0.8 * per_cycle / static_cast<double>(jobs.size())));
  }
  std::vector<std::string> codes;
  for (int i = 0; i < std::clamp(wanted, 1, static_cast<int>(universe.size())); ++i) {
    codes.push_back(universe[static_cast<std::size_t>(i)].code);
  }
  const int planned = static_cast<int>(codes.size() * jobs.size());
  // Every job's cycle at once, round after round every `--every` seconds: the jobs overlap, as the
  // original scheduler's did; each cycle's calls expire when the next round starts.
  int round_number = 1;
  std::vector<int> done(jobs.size());  // codes finished per job in this round
  collect::SchedulerHooks hooks;
  hooks.progress = [&](std::size_t job, int job_done, int) {
    done[job] = job_done;
    if (!tty) return;
    int all_done = 0;
    for (int d : done) all_done += d;
    const int width = 40;
    const int filled = width * std::min(all_done, planned) / planned;
    fmt::print("\r  cycle {:>3} [{}{}] {:>4}/{}", round_number,
               std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(width - filled), '.'), all_done, planned);
    std::fflush(stdout);
  };
  common::MarketCalendar calendar;
  collect::Schedule schedule(calendar);
  collect::Scheduler scheduler(io.get_executor(), common::SystemClock::Instance(), schedule,
                               collect::GatewayCycles(gateway, &store), std::move(hooks));
  for (const auto& job : jobs) scheduler.Add(job, codes);
  config.server.listen = flags.listen;
  // The hottest codes live over the key's KIS WebSocket session while the jobs poll them all; the
  // market's session (day or after hours) is the simulator's.
  config::StreamConfig hot;
  hot.name = "hot";
  hot.data = "trades";
  hot.codes.assign(codes.begin(), codes.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(
                                                      kDemoStreamedCodes, codes.size())));
  config::StreamConfig hot_books = hot;
  hot_books.name = "hot-books";
  hot_books.data = "orderbook";
  hot_books.codes.resize(std::min<std::size_t>(3, hot.codes.size()));
  hot_books.priority = 2;
  config.streams = {hot, hot_books};
  const common::MarketCalendar& market_calendar = calendar;
  Realtime realtime(io, config, gateway, &store, nullptr, [&sim, &market_calendar] {
    return market_calendar.SessionAt(sim.simulator().market_clock().Now()) ==
           common::Session::kAfterHours;
  });
  ApiServer api(io, config, gateway, &store, &scheduler.board(), codes, &realtime);
  realtime.Start();
  std::vector<std::string> job_names;
  job_names.reserve(jobs.size());
  for (const auto& job : jobs) job_names.push_back(job.dataset);
  fmt::print(
      "kisgate demo: simulator at {} ({} key, {:g} call{}/s, burst rules on); {} stocks x {} jobs "
      "({}) "
      "= {} calls every {} s through one gate, stored in {}.\nCtrl-C stops.\n",
      sim.BaseUrl(), flags.mock ? "mock" : "real", key.rate, key.rate == 1 ? "" : "s", codes.size(),
      jobs.size(), fmt::join(job_names, ", "), planned, flags.every_s, db_path);
  fmt::print("{}\n", collect::PlanBudget(config, codes.size()).message);
  fmt::print("streams: {} (live on the dashboard's ticker)\n", realtime.streams().plan().message);
  fmt::print("dashboard: http://{}/\n", api.Address());
  std::fflush(stdout);
  bool stopping = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  // Ctrl-C: the cycles in progress close within 5 s (their calls still running count as dropped).
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    stopping = true;
    scheduler.Stop(common::SystemClock::Instance().Now() + std::chrono::seconds(5));
  });
  int exit_code = 0;
  auto on_round = [&](const collect::Round& round) {
    int ok = 0;
    int failed = 0;
    int dropped = 0;
    int calls = 0;
    for (const auto& r : round.reports) {
      ok += r.ok;
      failed += r.failed;
      dropped += r.dropped;
      calls += r.upstream_calls;
    }
    store.Flush(std::chrono::seconds(5));
    auto stats = gateway.Stats().keys[0];
    const double took = round.seconds;
    fmt::print(
        "{}  cycle {:>3}: {} calls, {} ok, {} failed, {} dropped, {:.1f} s ({:.2f}x the limit), "
        "{:.2f} calls/s of {:g}; EGW00201 so far: {}; rows written: {}\n",
        tty ? "\r" : "", round.number, calls, ok, failed, dropped, took, took / (calls / key.rate),
        calls / took, key.rate, stats.errors.contains("EGW00201") ? stats.errors.at("EGW00201") : 0,
        store.Counters().written);
    if (failed != 0 || dropped != 0) exit_code = 1;
    round_number = round.number + 1;
    std::fill(done.begin(), done.end(), 0);
  };
  const collect::RoundOptions rounds{std::chrono::seconds(flags.every_s), flags.cycles,
                                     std::chrono::seconds(flags.duration_s)};
  asio::co_spawn(io, scheduler.RunRounds(rounds, on_round), [&](const std::exception_ptr& e) {
    if (e) {
      common::NoteException("demo", e);
      exit_code = 1;
      io.stop();
      return;
    }
    signals.cancel();
    api.Stop();
    // Calls of cycles closed by Ctrl-C are dropped, not waited for.
    if (stopping) {
      io.stop();
      return;
    }
    // The KIS session closes; then nothing is left to run.
    asio::co_spawn(io, realtime.Stop(), [&io](const std::exception_ptr& e) {
      if (e) common::NoteException("demo: stopping the streams", e);
      io.stop();
    });
  });
  io.run();
  store.Flush(std::chrono::seconds(10));
  for (const auto& session : realtime.streams().Sessions()) {
    fmt::print(
        "the KIS WebSocket session of key '{}': {} trades and books received over {} "
        "registrations, {} reconnects, {} parse errors; events sent to API clients: {}\n",
        session.key_name, session.records, session.wanted, session.reconnects, session.parse_errors,
        realtime.hub().Counters().delivered);
  }
  const auto key_stats = json::parse(sim.simulator().StatsJson()).at("keys").at(0);
  fmt::print(
      "the simulator saw: {} calls, busiest second {} (limit {:g}), EGW00201 {}, connections "
      "dropped by its burst rules {}\nrows stored: price {}, orderbook {}, investors {}, "
      "overtime {}, minute bars {} ({}; integrity {})\n",
      key_stats.at("calls").to_number<std::uint64_t>(),
      key_stats.at("max_calls_in_1s").to_number<std::uint64_t>(), key.rate,
      key_stats.at("errors").as_object().contains("EGW00201")
          ? key_stats.at("errors").at("EGW00201").to_number<std::uint64_t>()
          : 0,
      key_stats.at("dropped_over_in_flight").to_number<std::uint64_t>(), store.Count("price"),
      store.Count("orderbook"), store.Count("investors"), store.Count("overtime_price"),
      store.Count("bars_minute"), db_path, store.IntegrityCheck());
  return exit_code;
}

}  // namespace

void AddDemoCommand(CLI::App& parent, int& exit_code) {
  auto flags = std::make_shared<DemoFlags>();
  auto* cmd = parent.add_subcommand(
      "demo",
      "The built-in simulator, and the original system's collection jobs (53 stocks) through "
      "the gate into SQLite");
  cmd->add_option("--cycles", flags->cycles, "cycles to run (0: until Ctrl-C)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--every", flags->every_s, "seconds between cycles")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  auto* codes = cmd->add_option("--codes", flags->codes, "stocks per cycle (--mock: sized to fit)")
                    ->check(CLI::Range(1, 100'000))
                    ->capture_default_str();
  cmd->add_option("--duration", flags->duration_s, "stop after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--mock", flags->mock,
                "a paper-trading (mock) key at KIS's mock limit of 1 call/s, without the real-only "
                "after-hours job, and a universe sized to fit");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT of the API and dashboard (port 0: any free port)")
      ->capture_default_str();
  cmd->callback([flags, codes, &exit_code] {
    flags->codes_given = codes->count() > 0;
    exit_code = RunDemo(*flags);
  });
}

}  // namespace kisgate::app
