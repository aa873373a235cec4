// Store write throughput: the collector's writes, to SQLite and to PostgreSQL side by side.
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

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/kst.hpp"
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

std::string MedianRange(std::vector<double> v, const char* format) {
  std::sort(v.begin(), v.end());
  const auto f = [&](double x) { return fmt::format(fmt::runtime(format), x); };
  return fmt::format("{} ({}–{})", f(v[v.size() / 2]), f(v.front()), f(v.back()));
}

int Main(int argc, char** argv) {
  int runs = 5;
  int codes = 200;
  std::string out = "bench/results/store.md";
  CLI::App app{"kisgate store write throughput: SQLite and PostgreSQL"};
  app.add_option("--runs", runs, "runs per back end (median reported)")->capture_default_str();
  app.add_option("--codes", codes, "codes collected per run")->capture_default_str();
  app.add_option("--out", out, "report file")->capture_default_str();
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
  std::cout << report;
  std::ofstream(out) << report;
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
