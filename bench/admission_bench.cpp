// What sharing a key's budget through Redis costs each call (issue 13): the time from asking the
// gate for admission to being admitted, on an idle key (so no rate slot is waited for), with the
// key's budget local (one instance) and shared through a real redis-server on loopback. The rate
// is set far above KIS's so that only the admission's own work is measured.
//
//   build/bench/admission_bench [--calls N] [--runs N] [--out bench/results/admission.md]
//
// Prints a table (p50/p99/mean in microseconds per call, median over the runs) and writes it.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"
#include "common/spawn.hpp"
#include "coord/coordinator.hpp"
#include "gate/budget.hpp"
#include "gate/key_gate.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using namespace kisgate;

namespace {

struct Figures {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::min<double>(v.size() - 1, p * (v.size() - 1) + 0.5))];
}

// `calls` admissions one after another on one key; with `redis_url` the key's budget is shared.
Figures Run(int calls, const std::string& redis_url) {
  asio::io_context io(1);
  const auto& clock = common::SystemClock::Instance();
  gate::BudgetConfig config;
  config.rate = 1e6;  // far above any real key: the slot never waits
  gate::Budget budget(config);
  gate::KeyGate gate(io.get_executor(), budget, clock);
  std::unique_ptr<coord::Coordinator> coordinator;
  std::unique_ptr<gate::KeyShare> share;
  if (!redis_url.empty()) {
    config::CoordinationConfig c;
    c.url = redis_url;
    c.instance = "bench";
    coord::CoordinatorOptions options;
    options.prefix = fmt::format("bench{}", ::getpid());
    coordinator = std::make_unique<coord::Coordinator>(io.get_executor(), c, clock, options);
    coordinator->Start();
    share = coordinator->ShareKey(coord::Coordinator::KeyId("real", "bench-key"));
    gate.SetShare(share.get(), std::chrono::seconds(10));
  }
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(calls));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < calls; ++i) {
          const auto start = std::chrono::steady_clock::now();
          auto acquire = gate.Acquire(
              gate::CallSpec{gate::Lane::kBatch, 0, clock.Now() + std::chrono::seconds(5), false});
          const gate::Ticket t = co_await std::move(acquire);
          us.push_back(
              std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                  .count());
          if (t.admitted) gate.Complete(t.id, gate::Outcome::kOk);
        }
        // The Redis connection would keep the io_context running.
        io.stop();
      },
      common::LogExceptions{"admission bench"});
  io.run();
  Figures f;
  if (coordinator && coordinator->Stats().fallbacks > 0) {
    // Then some calls were admitted on the local fallback: not the figure this bench is for.
    throw std::runtime_error("the shared run fell back to the local budget (Redis too slow?)");
  }
  f.p50_us = Percentile(us, 0.5);
  f.p99_us = Percentile(us, 0.99);
  for (double v : us) f.mean_us += v / static_cast<double>(us.size());
  return f;
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"admission overhead per call: local budget vs shared through Redis"};
  int calls = 5000;
  int runs = 3;
  std::string out = "bench/results/admission.md";
  app.add_option("--calls", calls, "admissions per run")->capture_default_str();
  app.add_option("--runs", runs, "runs per mode (the table shows medians)")->capture_default_str();
  app.add_option("--out", out, "report file (markdown)")->capture_default_str();
  std::string json_out;
  app.add_option("--json", json_out,
                 "the figures and their runs, as JSON (local_p50_us, shared_p99_us, ...)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  testing::RedisServer redis;
  struct Row {
    std::string mode;
    std::vector<double> p50, p99, mean;
  };
  std::vector<Row> rows{{"local (one instance)", {}, {}, {}},
                        {"shared (Redis, loopback)", {}, {}, {}}};
  for (int r = 0; r < runs; ++r) {
    for (std::size_t m = 0; m < rows.size(); ++m) {
      fmt::print(stderr, "run {}/{}: {} ...\n", r + 1, runs, rows[m].mode);
      const auto f = Run(calls, m == 0 ? "" : redis.Url());
      rows[m].p50.push_back(f.p50_us);
      rows[m].p99.push_back(f.p99_us);
      rows[m].mean.push_back(f.mean_us);
    }
  }
  std::string table = fmt::format(
      "Admission overhead per call, {} calls per run, median of {} runs (µs; KIS's own spacing at "
      "18 calls/s is 57,300 µs)\n\n"
      "| budget | p50 µs | p99 µs | mean µs |\n|---|---:|---:|---:|\n",
      calls, runs);
  for (const auto& row : rows) {
    table += fmt::format("| {} | {:.1f} | {:.1f} | {:.1f} |\n", row.mode, Median(row.p50),
                         Median(row.p99), Median(row.mean));
  }
  const double extra = Median(rows[1].p50) - Median(rows[0].p50);
  table += fmt::format(
      "\nSharing adds {:.0f} µs at the median: {:.2f}% of one slot of the key's rate.\n", extra,
      100.0 * extra / 57'300.0);
  fmt::print("{}", table);
  if (!json_out.empty()) {
    // {"local_p50_us": {"value": median, "runs": [...]}, ...}: bench/summary.py records it.
    std::vector<std::string> figures;
    const auto put = [&](const char* name, const std::vector<double>& v) {
      figures.push_back(fmt::format("\"{}\": {{\"value\": {:.2f}, \"runs\": [{:.2f}]}}", name,
                                    Median(v), fmt::join(v, ", ")));
    };
    put("local_p50_us", rows[0].p50);
    put("local_p99_us", rows[0].p99);
    put("local_mean_us", rows[0].mean);
    put("shared_p50_us", rows[1].p50);
    put("shared_p99_us", rows[1].p99);
    put("shared_mean_us", rows[1].mean);
    std::ofstream(json_out) << "{" << fmt::format("{}", fmt::join(figures, ", ")) << "}\n";
  }
  if (!out.empty()) {
    std::ofstream file(out);
    file << "# Admission overhead: local vs Redis\n\n"
         << "`build/bench/admission_bench --calls " << calls << " --runs " << runs << "`\n\n"
         << table;
  }
  return 0;
}
