#include "app/collect_command.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "app/api_server.hpp"
#include "app/realtime.hpp"
#include "collect/collector.hpp"
#include "collect/schedule.hpp"
#include "collect/scheduler.hpp"
#include "collect/universe.hpp"
#include "common/spawn.hpp"
#include "config/config.hpp"
#include "coord/coordinator.hpp"
#include "coord/job_leases.hpp"
#include "gate/gateway.hpp"
#include "store/store.hpp"

namespace kisgate::app {

namespace asio = boost::asio;

namespace {

struct CollectFlags {
  std::string config_file;
  std::string job;     // collect --once --job NAME
  std::string listen;  // collect --once --listen ADDR: serve the API during the run
  bool once = false;
};

// Everything a collection run needs, from the config. Throws std::runtime_error with a message
// that names the problem.
struct Wiring {
  config::Config config;
  std::vector<std::string> codes;
  std::unique_ptr<store::Store> store;
  // Before the gateway, whose shares refer to it; destroyed after the io_context stopped running.
  std::unique_ptr<coord::Coordinator> coordinator;
  std::unique_ptr<gate::Gateway> gateway;
  std::unique_ptr<common::MarketCalendar> calendar;
  std::unique_ptr<collect::Schedule> schedule;
  std::unique_ptr<coord::JobLeases> leases;  // [coordination]: each cycle on one instance
  std::unique_ptr<collect::Scheduler> scheduler;

  Wiring(const std::string& path, asio::io_context& io) {
    if (path.empty())
      throw std::runtime_error("--config FILE is required (see configs/example.toml)");
    auto loaded = config::LoadConfig(path);
    if (auto* e = std::get_if<config::ConfigError>(&loaded)) throw std::runtime_error(e->message);
    config = std::get<config::Config>(loaded);
    // What the config cannot check alone: each job's data set against KIS's TR catalogue.
    if (auto problem = collect::CheckJobs(config)) {
      throw std::runtime_error(fmt::format("{}: {}", path, *problem));
    }
    if (auto e = config::PrepareDataDir(config)) throw std::runtime_error(e->message);
    // A config without jobs runs the API and passthrough alone and needs no universe (without one,
    // the API keeps no values: it fetches each from KIS).
    const auto& u = config.universe;
    if (!config.jobs.empty() || !u.codes.empty() || !u.file.empty() || !u.groups.empty()) {
      auto universe = collect::LoadUniverse(config.universe);
      if (auto* e = std::get_if<std::string>(&universe)) throw std::runtime_error(*e);
      codes = std::get<std::vector<std::string>>(universe);
    }
    store = store::Open(config.storage.url, static_cast<std::size_t>(config.storage.max_buffered),
                        config.storage.timeout);
    gate::GatewayOptions go;
    go.token_dir = std::filesystem::path(config.data_dir) / "tokens";
    if (!config.coordination.url.empty()) Coordinate(io, go);
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config,
                                              common::SystemClock::Instance(), go);
    auto plan = collect::PlanBudget(config, codes.size());
    if (plan.fits) {
      spdlog::info("budget: {}", plan.message);
    } else {
      spdlog::warn("budget: {}", plan.message);
    }
  }

  // [coordination]: the keys' budgets and tokens shared with the other instances through Redis.
  void Coordinate(asio::io_context& io, gate::GatewayOptions& go) {
    coord::CoordinatorOptions options;
    options.state_file = std::filesystem::path(config.data_dir) / "coordination-instances";
    coordinator = std::make_unique<coord::Coordinator>(io.get_executor(), config.coordination,
                                                       common::SystemClock::Instance(), options);
    coordinator->Start();
    auto* c = coordinator.get();
    auto key_id = [](const config::KeyConfig& k) {
      return coord::Coordinator::KeyId(
          k.environment == config::KisEnvironment::kMock ? "mock" : "real", k.app_key);
    };
    go.share_key = [c, key_id](const config::KeyConfig& k) { return c->ShareKey(key_id(k)); };
    go.share_token = [c, key_id](const config::KeyConfig& k) { return c->ShareToken(key_id(k)); };
    go.coordination = [c] { return c->Stats(); };
    spdlog::info(
        "coordination: instance '{}' shares its keys' rate, in-flight calls, tokens and cooldowns "
        "with the other instances through Redis",
        c->instance());
  }

  // The scheduler of `jobs` (the config's, or the one --job names) through the gateway into the
  // store; its board is what the API shows.
  void MakeScheduler(asio::io_context& io, const std::vector<const config::JobConfig*>& jobs,
                     collect::SchedulerHooks hooks) {
    calendar = std::make_unique<common::MarketCalendar>(config.calendar.holidays);
    schedule = std::make_unique<collect::Schedule>(*calendar);
    if (coordinator) leases = std::make_unique<coord::JobLeases>(*coordinator);
    scheduler = std::make_unique<collect::Scheduler>(
        io.get_executor(), common::SystemClock::Instance(), *schedule,
        collect::GatewayCycles(*gateway, store.get()), std::move(hooks), leases.get());
    for (const auto* job : jobs)
      scheduler->Add(*job, collect::CodesForJob(*job, config.universe, codes));
  }
};

std::string Summary(const collect::CycleReport& r) {
  std::string failures;
  for (const auto& [code, n] : r.failures) failures += fmt::format(" {}x{}", n, code);
  return fmt::format("{:<20} {:>6} {:>6} {:>6} {:>7} {:>7.1f}s {:>7} {:>8.1f}{}", r.job, r.planned,
                     r.ok, r.failed, r.dropped, r.seconds, r.rows,
                     r.seconds > 0 ? r.upstream_calls / r.seconds : 0.0, failures);
}

constexpr const char* kHeader =
    "job                   codes     ok failed dropped duration    rows  calls/s";

int RunOnce(const CollectFlags& flags) {
  asio::io_context io(1);
  Wiring w(flags.config_file, io);
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  // Every job's cycle at once, as overlapping scheduler jobs run: the gate shares the keys.
  std::vector<const config::JobConfig*> selected;
  for (const auto& job : w.config.jobs) {
    if (flags.job.empty() || job.name == flags.job) selected.push_back(&job);
  }
  std::vector<std::pair<int, int>> progress(selected.size());  // done, planned per job
  collect::SchedulerHooks hooks;
  hooks.progress = [&](std::size_t i, int done, int planned) {
    progress[i] = {done, planned};
    if (!tty) return;
    int all_done = 0;
    int all_planned = 0;
    for (auto [d, p] : progress) {
      all_done += d;
      all_planned += p;
    }
    fmt::print("\r  {} job{} [{:<30}] {}/{}", selected.size(), selected.size() == 1 ? "" : "s",
               std::string(static_cast<std::size_t>(30 * all_done / std::max(1, all_planned)), '#'),
               all_done, all_planned);
    std::fflush(stdout);
  };
  w.MakeScheduler(io, selected, std::move(hooks));
  std::unique_ptr<ApiServer> api;
  if (!flags.listen.empty()) {
    w.config.server.listen = flags.listen;
    api = std::make_unique<ApiServer>(io, w.config, *w.gateway, w.store.get(),
                                      &w.scheduler->board(), w.codes);
    fmt::print("api: http://{}/\n", api->Address());
    std::fflush(stdout);
  }
  if (w.config.jobs.empty()) {
    fmt::print(stderr, "error: {}: no [[jobs]] to run\n", flags.config_file);
    return 2;
  }
  if (selected.empty()) {
    fmt::print(stderr, "error: no job named '{}' in {}\n", flags.job, flags.config_file);
    return 2;
  }
  std::vector<collect::CycleReport> reports;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { reports = co_await w.scheduler->RunOnce(); },
      [&](const std::exception_ptr& e) {
        if (e) common::NoteException("collect --once", e);
        if (tty) fmt::print("\r{}\r", std::string(72, ' '));
        if (api) api->Stop();
      });
  io.run();
  w.store->Flush(std::chrono::seconds(30));
  double limit = 0;
  for (const auto& k : w.config.keys) limit += k.rate;
  fmt::print("{}\n", kHeader);
  bool clean = reports.size() == selected.size();
  for (const auto& r : reports) {
    fmt::print("{}\n", Summary(r));
    clean = clean && r.failed == 0 && r.dropped == 0;
  }
  fmt::print("limit: {:.0f} calls/s over {} key{}; store: {} rows committed\n", limit,
             w.config.keys.size(), w.config.keys.size() == 1 ? "" : "s",
             w.store->Counters().written);
  if (auto ages = w.store->Ages(common::SystemClock::Instance().WallNow()); !ages.empty()) {
    fmt::print("freshness: {} values; oldest {} {} collected {:.1f} s ago\n", ages.size(),
               ages[0].dataset, ages[0].code, ages[0].age_s);
  }
  return clean ? 0 : 1;
}

// After SIGINT/SIGTERM serve exits within 5 s (README; systemd's default stop timeout is 10 s):
// cycles in progress get kShutdownGrace to finish, the store what is left of kShutdownBudget to
// write what is queued (at least kStoreCloseMin); what it cannot write is counted and logged. A
// second signal stops at once.
constexpr std::chrono::seconds kShutdownGrace{3};
constexpr std::chrono::milliseconds kShutdownBudget{4500};
constexpr std::chrono::milliseconds kStoreCloseMin{250};

int RunServe(const CollectFlags& flags) {
  asio::io_context io(1);
  Wiring w(flags.config_file, io);
  if (!flags.listen.empty()) w.config.server.listen = flags.listen;
  collect::SchedulerHooks hooks;
  hooks.finished = [&w](const collect::CycleReport& report) {
    const auto ages = w.store->Ages(common::SystemClock::Instance().WallNow());
    spdlog::info(
        "cycle {} {}: {} ok, {} failed, {} dropped, {:.1f} s, {} rows; oldest value {:.0f} s old",
        report.job, report.cycle_time, report.ok, report.failed, report.dropped, report.seconds,
        report.rows, ages.empty() ? 0.0 : ages[0].age_s);
  };
  std::vector<const config::JobConfig*> jobs;
  for (const auto& job : w.config.jobs) jobs.push_back(&job);
  w.MakeScheduler(io, jobs, std::move(hooks));
  // [[streams]] and API clients' demand over the keys' KIS WebSocket sessions; a key gets a
  // session only once something is to be registered on it.
  Realtime realtime(io, w.config, *w.gateway, w.store.get(), w.coordinator.get(), {}, w.codes);
  ApiServer api(io, w.config, *w.gateway, w.store.get(), &w.scheduler->board(), w.codes, &realtime);
  realtime.Start();
  spdlog::info(
      "serve: API and dashboard on http://{}/ (/v1/stocks/005930/price, /v1/jobs, /v1/budget, "
      "/metrics)",
      api.Address());
  bool scheduler_ended = false;
  bool stopping = false;
  std::chrono::steady_clock::time_point stop_by{};  // the signal's time + kShutdownBudget
  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (stopping) {
          spdlog::warn("serve: signal {} again: stopping now", signal);
          io.stop();
          return;
        }
        stopping = true;
        stop_by = std::chrono::steady_clock::now() + kShutdownBudget;
        spdlog::info("serve: signal {}, finishing the cycles in progress (at most {} s)", signal,
                     kShutdownGrace.count());
        api.Stop();
        // Closes the KIS sessions and gives their leases back, so another instance takes over.
        asio::co_spawn(io, realtime.Stop(), common::LogExceptions{"serve: stopping the streams"});
        w.scheduler->Stop(common::SystemClock::Instance().Now() + kShutdownGrace);
        if (w.coordinator) w.coordinator->Stop();
        if (scheduler_ended) io.stop();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  asio::co_spawn(io, w.scheduler->Run(), [&](const std::exception_ptr& e) {
    if (e) common::NoteException("scheduler", e);
    scheduler_ended = true;
    // Calls of closed cycles may still be in flight: they are dropped, not waited for.
    if (stopping) io.stop();
  });
  if (w.config.jobs.empty()) {
    spdlog::info("serve: no [[jobs]]: the API and passthrough only; Ctrl-C stops");
  } else {
    spdlog::info("serve: {} jobs over {} codes; Ctrl-C stops", w.config.jobs.size(),
                 w.codes.size());
  }
  io.run();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      stop_by - std::chrono::steady_clock::now());
  w.store->Close(stopping ? std::max(left, kStoreCloseMin) : std::chrono::milliseconds(10'000));
  const auto counters = w.store->Counters();
  spdlog::info("serve: stopped; {} rows committed, {} not written", counters.written,
               counters.unwritten);
  return 0;
}

}  // namespace

void AddCollectCommands(CLI::App& parent, int& exit_code) {
  auto flags = std::make_shared<CollectFlags>();
  auto* collect = parent.add_subcommand("collect", "Run the config's collection jobs");
  collect->add_option("--config", flags->config_file, "kisgate config (TOML)")->required();
  collect
      ->add_flag("--once", flags->once, "run each job's cycle once and exit (the only mode so far)")
      ->required();
  collect->add_option("--job", flags->job, "only this job");
  collect->add_option("--listen", flags->listen,
                      "serve the HTTP API on HOST:PORT while the cycles run");
  collect->callback([flags, &exit_code] { exit_code = RunOnce(*flags); });

  auto serve_flags = std::make_shared<CollectFlags>();
  auto* serve = parent.add_subcommand("serve", "Run the scheduler until SIGINT/SIGTERM");
  serve->add_option("--config", serve_flags->config_file, "kisgate config (TOML)")->required();
  serve->add_option("--listen", serve_flags->listen,
                    "HOST:PORT for the API and dashboard (default: server.listen)");
  serve->callback([serve_flags, &exit_code] { exit_code = RunServe(*serve_flags); });
}

}  // namespace kisgate::app
