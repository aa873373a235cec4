// Store write throughput: the collector's writes, to SQLite and to PostgreSQL side by side; then
// the real-time stream's trades (issue 14: target 50,000 trades/s per core into SQLite).
//
// The workload has the shape of the seed's collection (configs/demo.toml): each Write is one KIS
// reply's records, as collect::Collector writes them: 30 one-minute bars of one code, 30 days of
// investors' flows, 100 daily bars, and the cycle snapshots (price, order book) of 50 codes at a
// time. Records carry typed columns and a raw JSON of the size of KIS's rows. rows/s = records
// written / (first Write .. Flush returned, everything committed). Each run writes into a fresh
// database: a new SQLite file (WAL, synchronous=NORMAL, as kisgate runs it) and a new database on a
// throw-away PostgreSQL server (initdb/pg_ctl in a temp dir, durable defaults: fsync on,
// synchronous_commit on), reached over loopback TCP. Prints a table (median over the runs,
// min–max) and writes it to --out.
//
// Trades: --trades trades of 40 codes (one session's registrations), a few per second per code
// with their seq, handed to WriteTicks in batches of --batch (what a session delivers from its
// frames). trades/s = trades / (first WriteTicks .. Flush returned); trades per CPU-second = trades
// / this process's CPU time (user + system, all threads) over the same span: for SQLite all the
// work, for PostgreSQL the client's only (the server's processes are not counted).

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/kst.hpp"
#include "kis/realtime.hpp"
#include "store/store.hpp"
#include "support/pg_server.hpp"
#include "support/test_client.hpp"

namespace {

using namespace kisgate;
using Clock = std::chrono::steady_clock;

// A raw row of about KIS's size: its field names with numbers as strings.
std::string RawRow(const std::string& code, const std::string& market_time, std::int64_t value,
                   int fields) {
  std::string raw = fmt::format(R"({{"stck_shrn_iscd":"{}","stck_bsop_date":"{}")", code,
                                market_time.substr(0, 8));
  for (int i = 0; i < fields; ++i) raw += fmt::format(R"(,"fld_{:02}":"{}")", i, value + i);
  return raw + "}";
}

store::Record MakeRecord(const std::string& dataset, const std::string& code,
                         const std::string& market_time, std::int64_t value, int raw_fields) {
  store::Record r;
  r.dataset = dataset;
  r.code = code;
  r.market_time = market_time;
  r.collected_at = common::WallTime{std::chrono::milliseconds(1795482301123)};
  std::int64_t n = 0;
  for (const auto& c : *store::ColumnsOf(dataset)) {
    if (c.type == store::ColumnSpec::kReal) {
      r.columns.emplace_back(c.name, store::Value{0.01 * static_cast<double>(value % 1000)});
    } else {
      r.columns.emplace_back(c.name, store::Value{value + n++});
    }
  }
  r.raw = RawRow(code, market_time, value, raw_fields);
  return r;
}

// The writes of `codes` codes' collection, in the order a collector makes them.
std::vector<std::vector<store::Record>> Workload(int codes) {
  std::vector<std::vector<store::Record>> writes;
  const auto code_of = [](int i) { return fmt::format("{:06}", 100000 + i); };
  for (int c = 0; c < codes; ++c) {
    std::vector<store::Record> minute;
    minute.reserve(30);
    for (int m = 0; m < 30; ++m)
      minute.push_back(MakeRecord("bars_minute", code_of(c), fmt::format("2026112410{:02}00", m),
                                  71000 + m, 12));
    writes.push_back(std::move(minute));
    std::vector<store::Record> investors;
    investors.reserve(30);
    for (int d = 0; d < 30; ++d)
      investors.push_back(
          MakeRecord("investors", code_of(c), fmt::format("202610{:02}", d + 1), 5000 + d, 20));
    writes.push_back(std::move(investors));
    std::vector<store::Record> daily;
    daily.reserve(100);
    for (int d = 0; d < 100; ++d)
      daily.push_back(
          MakeRecord("bars_daily", code_of(c), fmt::format("2026{:04}", 100 + d), 70000 + d, 12));
    writes.push_back(std::move(daily));
  }
  // Snapshots: every cycle's price and order book of 50 codes at a time.
  for (int cycle = 0; cycle < 20; ++cycle) {
    for (const char* dataset : {"price", "orderbook"}) {
      for (int first = 0; first < codes; first += 50) {
        std::vector<store::Record> snapshot;
        for (int c = first; c < std::min(codes, first + 50); ++c)
          snapshot.push_back(MakeRecord(dataset, code_of(c),
                                        fmt::format("20261124{:06}", 100000 + cycle * 100),
                                        71500 + cycle, 30));
        writes.push_back(std::move(snapshot));
      }
    }
  }
  return writes;
}

struct Run {
  double rows_per_s = 0;
  double mean_write_us = 0;  // time in Write() per call: what the collector waits
};

Run Measure(const std::string& url, const std::vector<std::vector<store::Record>>& writes) {
  auto store = store::Open(url);
  std::size_t rows = 0;
  for (const auto& w : writes) rows += w.size();
  const auto start = Clock::now();
  Clock::duration in_write{};
  for (const auto& w : writes) {
    auto copy = w;
    const auto before = Clock::now();
    store->Write(std::move(copy));
    in_write += Clock::now() - before;
  }
  if (!store->Flush(std::chrono::minutes(5))) throw std::runtime_error("flush timed out");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (const auto c = store->Counters(); c.written < rows || c.last_write_failed)
    throw std::runtime_error(
        fmt::format("{} of {} rows written: {}", c.written, rows, c.last_error));
  return {static_cast<double>(rows) / seconds,
          std::chrono::duration<double, std::micro>(in_write).count() /
              static_cast<double>(writes.size())};
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// `count` trades of 40 codes in batches of `batch`, in time order: each code trades a few times
// a second (seq 0..4 within a second).
std::vector<std::vector<kis::Tick>> TradeBatches(int count, int batch) {
  constexpr int kCodes = 40;
  constexpr int kPerSecond = 5;
  std::vector<std::vector<kis::Tick>> batches;
  std::vector<kis::Tick> current;
  const auto start = common::WallTime{std::chrono::milliseconds(1795482301123)};
  for (int n = 0; n < count; ++n) {
    const int code = n % kCodes;
    const int rank = n / kCodes;  // the code's n-th trade
    const int second = 9 * 3600 + rank / kPerSecond;
    kis::Tick t;
    t.code = fmt::format("{:06}", 100000 + code);
    t.date = "20261124";
    t.time = fmt::format("{:02}{:02}{:02}", second / 3600, second / 60 % 60, second % 60);
    t.seq = static_cast<std::uint32_t>(rank % kPerSecond);
    t.price = 70000 + 100 * (rank % 17);
    t.sign = kis::Sign::kUp;
    t.change = 500;
    t.change_pct = 0.71;
    t.vwap = 70412.5;
    t.open = 70000;
    t.high = 71600;
    t.low = 69900;
    t.best_ask = t.price + 100;
    t.best_bid = t.price;
    t.volume = 1 + rank % 50;
    t.cum_volume = 1000 + rank * 25;
    t.cum_value = 70000000 + static_cast<std::int64_t>(rank) * 1750000;
    t.received_at = start + std::chrono::milliseconds(n / 10);
    current.push_back(std::move(t));
    if (static_cast<int>(current.size()) == batch) {
      batches.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

struct TradeRun {
  double trades_per_s = 0;
  double trades_per_cpu_s = 0;
};

TradeRun MeasureTrades(const std::string& url, std::vector<std::vector<kis::Tick>> batches) {
  std::size_t trades = 0;
  for (const auto& b : batches) trades += b.size();
  // Every trade is handed over at once: PostgreSQL's write buffer must hold them all (a session
  // delivers them over time; here the writer's throughput is measured).
  auto store = store::Open(url, std::max(store::kDefaultMaxBuffered, trades));
  const auto cpu_start = CpuSeconds();
  const auto start = Clock::now();
  for (auto& b : batches) store->WriteTicks(std::move(b));
  if (!store->Flush(std::chrono::minutes(5))) throw std::runtime_error("flush timed out");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  if (const auto c = store->Counters(); c.ticks_written < trades || c.last_write_failed)
    throw std::runtime_error(
        fmt::format("{} of {} trades written: {}", c.ticks_written, trades, c.last_error));
  if (store->Count("ticks") != static_cast<std::int64_t>(trades))
    throw std::runtime_error(fmt::format("{} trades stored of {}", store->Count("ticks"), trades));
  return {static_cast<double>(trades) / seconds, static_cast<double>(trades) / cpu};
}

std::string MedianRange(std::vector<double> v, const char* format) {
  std::sort(v.begin(), v.end());
  const auto f = [&](double x) { return fmt::format(fmt::runtime(format), x); };
  return fmt::format("{} ({}–{})", f(v[v.size() / 2]), f(v.front()), f(v.back()));
}

int Main(int argc, char** argv) {
  int runs = 5;
  int codes = 200;
  int trades = 200000;
  int batch = 100;
  std::string out = "bench/results/store.md";
  CLI::App app{"kisgate store write throughput: SQLite and PostgreSQL"};
  app.add_option("--runs", runs, "runs per back end (median reported)")->capture_default_str();
  app.add_option("--codes", codes, "codes collected per run")->capture_default_str();
  app.add_option("--trades", trades, "trades written per run")->capture_default_str();
  app.add_option("--batch", batch, "trades per WriteTicks call")->capture_default_str();
  app.add_option("--out", out, "report file")->capture_default_str();
  std::string json_out;
  app.add_option("--json", json_out, "the figures and their runs, as JSON");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const auto writes = Workload(codes);
  std::size_t rows = 0;
  for (const auto& w : writes) rows += w.size();
  testing::TempDir dir;
  testing::PgServer pg("");  // durable: fsync and synchronous_commit at their defaults
  struct Backend {
    const char* name;
    std::vector<double> rates;
    std::vector<double> write_us;
  };
  std::vector<Backend> backends = {{"SQLite (WAL, synchronous=NORMAL)", {}, {}},
                                   {"PostgreSQL 15 (loopback TCP, fsync on)", {}, {}}};
  for (int run = 0; run < runs; ++run) {
    // Side by side: each run writes to both, so load on the machine hits both alike.
    const auto sqlite = Measure(fmt::format("sqlite://{}/run{}.db", dir.path(), run), writes);
    backends[0].rates.push_back(sqlite.rows_per_s);
    backends[0].write_us.push_back(sqlite.mean_write_us);
    const auto postgres = Measure(pg.Url(pg.CreateDatabase()), writes);
    backends[1].rates.push_back(postgres.rows_per_s);
    backends[1].write_us.push_back(postgres.mean_write_us);
    std::cerr << fmt::format("run {}: SQLite {:.0f} rows/s, PostgreSQL {:.0f} rows/s\n", run + 1,
                             sqlite.rows_per_s, postgres.rows_per_s);
  }
  std::string report = fmt::format(
      "# Store write throughput: SQLite and PostgreSQL\n\n"
      "bench/store_bench.cpp, {} cores. The collector's writes for {} codes: per code 30 minute "
      "bars, 30 days of investors, 100 daily bars (one Write each, as one KIS reply), then 20 "
      "cycles of price and order book snapshots 50 codes per Write; {} writes, {} rows. A fresh "
      "database per run; rows/s from the first Write until Flush returned. Median over {} runs "
      "(min–max). For scale: one key's full collection rate is at most 1,800 rows/s "
      "(store::kDefaultMaxBuffered). The machine's 2 cores were shared with other work: compare "
      "the two columns of one run more than runs of different days.\n\n"
      "| back end | rows/s | time in Write() per call (µs) |\n|---|---:|---:|\n",
      std::thread::hardware_concurrency(), codes, writes.size(), rows, runs);
  for (const auto& b : backends) {
    report += fmt::format("| {} | {} | {} |\n", b.name, MedianRange(b.rates, "{:.0f}"),
                          MedianRange(b.write_us, "{:.1f}"));
  }

  // Trades: the same side by side, each run into fresh databases.
  const auto trade_batches = TradeBatches(trades, batch);
  std::vector<TradeRun> sqlite_trades;
  std::vector<TradeRun> pg_trades;
  for (int run = 0; run < runs; ++run) {
    sqlite_trades.push_back(
        MeasureTrades(fmt::format("sqlite://{}/trades{}.db", dir.path(), run), trade_batches));
    pg_trades.push_back(MeasureTrades(pg.Url(pg.CreateDatabase()), trade_batches));
    std::cerr << fmt::format("run {}: trades: SQLite {:.0f}/s, PostgreSQL {:.0f}/s\n", run + 1,
                             sqlite_trades.back().trades_per_s, pg_trades.back().trades_per_s);
  }
  const auto column = [](const std::vector<TradeRun>& v, double TradeRun::*field) {
    std::vector<double> out;
    out.reserve(v.size());
    for (const auto& r : v) out.push_back(r.*field);
    return out;
  };
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  constexpr double kTarget = 50000;
  const double sqlite_per_cpu = median(column(sqlite_trades, &TradeRun::trades_per_cpu_s));
  report += fmt::format(
      "\n## Trades from the real-time stream (WriteTicks)\n\n"
      "{} trades of 40 codes per run (5 a second per code, each with its seq), {} per WriteTicks "
      "call as a session delivers them, into the `ticks` table (typed columns, no raw JSON; key "
      "(code, date, time, seq), ON CONFLICT DO NOTHING), through the same writer and transactions "
      "as records (at most 500 items each in SQLite, 2,000 in PostgreSQL, whose trades go by COPY "
      "into a temporary table and one INSERT ... SELECT). trades/s from the first WriteTicks until "
      "Flush returned; per "
      "CPU-second: trades / this process's CPU time over the same span (for PostgreSQL the "
      "client's only: the server's processes are not counted; its write buffer raised to hold "
      "every "
      "trade, as they are all handed over at once). Median over {} runs (min–max). "
      "Target (issue 14): 50,000 trades/s per core into SQLite. Command: `{}` (`make bench` "
      "runs it).\n\n"
      "| back end | trades/s | trades per CPU-second | against the target |\n"
      "|---|---:|---:|---:|\n",
      trades, batch, runs,
      fmt::format("build/bench/store_bench --runs {} --codes {} --trades {} --batch {} --out {}",
                  runs, codes, trades, batch, out));
  report += fmt::format("| SQLite (WAL, synchronous=NORMAL) | {} | {} | {:.2f}x |\n",
                        MedianRange(column(sqlite_trades, &TradeRun::trades_per_s), "{:.0f}"),
                        MedianRange(column(sqlite_trades, &TradeRun::trades_per_cpu_s), "{:.0f}"),
                        sqlite_per_cpu / kTarget);
  report += fmt::format("| PostgreSQL 15 (loopback TCP, fsync on) | {} | {} (client only) | – |\n",
                        MedianRange(column(pg_trades, &TradeRun::trades_per_s), "{:.0f}"),
                        MedianRange(column(pg_trades, &TradeRun::trades_per_cpu_s), "{:.0f}"));
  report += fmt::format(
      "\nAgainst the records path (the table above, SQLite): a trade row is written {:.1f}x as "
      "fast as a collected record (median trades/s over median rows/s).\n",
      median(column(sqlite_trades, &TradeRun::trades_per_s)) / median(backends[0].rates));
  std::cout << report;
  std::ofstream(out) << report;
  if (!json_out.empty()) {
    // {"sqlite_rows_per_s": {"value": median, "runs": [...]}, ...}: bench/summary.py records it.
    std::vector<std::string> figures;
    const auto put = [&](const char* name, const std::vector<double>& v) {
      figures.push_back(fmt::format("\"{}\": {{\"value\": {:.1f}, \"runs\": [{:.1f}]}}", name,
                                    median(v), fmt::join(v, ", ")));
    };
    put("sqlite_rows_per_s", backends[0].rates);
    put("postgres_rows_per_s", backends[1].rates);
    put("sqlite_trades_per_s", column(sqlite_trades, &TradeRun::trades_per_s));
    put("sqlite_trades_per_cpu_s", column(sqlite_trades, &TradeRun::trades_per_cpu_s));
    put("postgres_trades_per_s", column(pg_trades, &TradeRun::trades_per_s));
    put("postgres_trades_per_cpu_s", column(pg_trades, &TradeRun::trades_per_cpu_s));
    std::ofstream(json_out) << "{" << fmt::format("{}", fmt::join(figures, ", ")) << "}\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "store_bench: " << e.what() << "\n";
    return 1;
  }
}
