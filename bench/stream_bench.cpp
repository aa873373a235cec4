// The real-time path end to end (issue 14 item 7): `kisgate sim`'s WebSocket sends trades, and
// kisgate's side as the app assembles it (app::Realtime: stream::Streams with one KisSession on
// the key, the stream::Hub, a SQLite store) serves them on /v1/stream (api::Service behind a real
// http::Server) to Server-Sent Events clients over loopback sockets. Measured: the latency from
// the simulator starting to write a trade's frame (WsOptions::on_data_frame) to a client having
// read the event, matched by (code, ACML_VOL); events delivered per second; clients cut; the CPU
// time of kisgate's one io_context thread per 1,000 events delivered.
//
// Three threads: the simulator's, kisgate's (session, hub, HTTP server; the store writes on its
// own thread) and the clients'. bench/sse_bench.cpp measures the hub and /v1/stream alone (a feed
// calls Hub::Publish, server and clients share one thread); this one adds the simulator, the
// WebSocket session and its parser, and keeps the clients off kisgate's thread.
//
//   stream_bench [--runs 3] [--seconds 10] [--per-code 98,50,40] [--speeds 1,10,40]
//                [--latency-clients 4] [--fanout-clients 1000] [--out FILE] [--json FILE]
//
// --json writes each scenario's figures and runs, named "latency_<ms>ms_<figure>" (the clients of
// all 41 codes) and "fanout_<ms>ms_<figure>" (one code each), <ms> the bursts' period
// (bench/summary.py records them in bench/results/summary.json; bench/quick.py reads them).
#include <sys/resource.h>
#include <ctime>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "api/service.hpp"
#include "app/realtime.hpp"
#include "common/spawn.hpp"
#include "gate/gateway.hpp"
#include "http/server.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "store/store.hpp"
#include "support/test_client.hpp"

namespace asio = boost::asio;
using namespace kisgate;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAppKey = "PSstreamBENCHkey000000000000000000001";
constexpr const char* kSecret = "stream-bench-secret";
constexpr std::size_t kCodes = 41;        // one session's registrations
constexpr std::size_t kTradeFields = 46;  // H0STCNT0
constexpr std::size_t kAcmlVol = 13;      // ACML_VOL's column

// A trade named across the wire: its code and the day's volume after it (increasing per code).
std::string TradeKey(std::string_view code, std::string_view cum_volume) {
  std::string k(code);
  k.push_back(':');
  k.append(cum_volume);
  return k;
}

// The simulator's side: each H0STCNT0 record's send time (only while `recording`).
struct Sends {
  std::mutex mutex;
  std::vector<std::pair<std::string, Clock::time_point>> sent;
  std::atomic<bool> recording{false};

  void OnFrame(std::string_view frame, Clock::time_point at) {
    if (!recording.load(std::memory_order_relaxed)) return;
    // 0|H0STCNT0|NNN|f0^f1^...: records of kTradeFields fields each, joined by '^'.
    if (!frame.starts_with("0|H0STCNT0|")) return;
    auto body = frame.substr(frame.find('|', 11) + 1);
    std::lock_guard lock(mutex);
    std::size_t field = 0;
    std::string_view code;
    while (!body.empty()) {
      const auto end = body.find('^');
      const auto value = body.substr(0, end);
      const auto column = field % kTradeFields;
      if (column == 0) code = value;
      if (column == kAcmlVol) sent.emplace_back(TradeKey(code, value), at);
      field++;
      if (end == std::string_view::npos) break;
      body.remove_prefix(end + 1);
    }
  }
};

// The clients' side, touched only on the clients' thread until they are stopped.
struct Receipts {
  std::vector<std::pair<std::string, Clock::time_point>> got;
  std::atomic<std::size_t> connected{0};
  std::atomic<std::size_t> ended{0};  // streams that ended before the bench stopped them
  std::atomic<bool> stopping{false};
  bool recording = false;
};

// The number after `"name":` in one JSON line.
std::string_view JsonField(std::string_view line, std::string_view name) {
  const auto at = line.find(name);
  if (at == std::string_view::npos) return {};
  auto rest = line.substr(at + name.size());
  if (!rest.empty() && rest.front() == '"') rest.remove_prefix(1);
  const auto end = rest.find_first_of(",\"}");
  return rest.substr(0, end);
}

// One SSE client on a raw socket: reads the event stream and notes each trade's receipt.
asio::awaitable<void> Client(std::uint16_t port, std::string codes, Receipts& r) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  const auto request =
      fmt::format("GET /v1/stream?codes={}&data=trades HTTP/1.1\r\nHost: bench\r\n\r\n", codes);
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  r.connected++;
  std::string pending;
  std::array<char, 32 * 1024> buffer{};
  for (;;) {
    auto [ec, n] =
        co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (!r.stopping) r.ended++;
      co_return;
    }
    const auto now = Clock::now();
    pending.append(buffer.data(), n);
    std::size_t at = 0;
    for (;;) {
      const auto line_at = pending.find("\ndata: ", at);
      if (line_at == std::string::npos) break;
      const auto end = pending.find('\n', line_at + 7);
      if (end == std::string::npos) break;
      const std::string_view line(pending.data() + line_at, end - line_at);
      if (r.recording && line.find("\"event\":\"trade\"") != std::string_view::npos) {
        r.got.emplace_back(TradeKey(JsonField(line, "\"code\":"), JsonField(line, "\"volume\":")),
                           now);
      }
      at = end;
    }
    pending.erase(0, at);
  }
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double LoadAverage() {
  std::array<double, 1> load{};
  return getloadavg(load.data(), 1) == 1 ? load[0] : 0;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

struct Scenario {
  std::string name;
  std::string id;  // the JSON's prefix
  std::size_t clients = 0;
  bool all_codes = false;  // each client all 41 codes; else client i code i mod 41
  double speed = 1;        // the simulator's market clock: a burst of trades every 1/speed s
  // Trades asked of the simulator per code and real second (ws.trades_per_s x speed). A code's
  // trades in a market second are at most its volume then (and at least one), so the rate asked
  // is not the rate sent: 98 at speed 1, 50 at speed 10 and 40 at speed 40 give about 2,000
  // trades/s over the 41 codes from 09:01 (the table says what was sent).
  double per_code = 98;
};

struct Result {
  double sent_per_s = 0;
  double delivered_per_s = 0;
  double due_pct = 0;
  std::size_t cut = 0;
  double cpu_per_1000 = 0;  // kisgate thread's CPU ms per 1,000 events delivered
  double kisgate_busy = 0;  // its CPU time over the window, %
  double clients_busy = 0;  // the clients' thread's, %
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  double load = 0;  // 1-minute load average at the end
};

struct Options {
  int seconds = 10;
};

Result RunOnce(const Scenario& scenario, const Options& opt, int run) {
  Sends sends;
  sim::SimOptions so;
  so.listen = "127.0.0.1:0";
  so.keys = {sim::SimKey{kAppKey, kSecret, sim::Environment::kReal}};
  so.latency_ms = 1;
  so.latency_sigma = 0;
  so.clock = "2026-11-27T09:01:00";  // a Friday, the busy start of the regular session
  so.speed = scenario.speed;
  so.seed = static_cast<std::uint64_t>(run) + 1;
  // trades_per_s is per code and market second.
  so.ws.trades_per_s = scenario.per_code / scenario.speed;
  so.ws.on_data_frame = [&sends](std::string_view frame, Clock::time_point at) {
    sends.OnFrame(frame, at);
  };
  sim::BackgroundSimulator simulator(so);

  testing::TempDir dir;
  asio::io_context io(1);
  config::Config config;
  config::KeyConfig key;
  key.name = "bench";
  key.base_url = simulator.BaseUrl();
  key.app_key = kAppKey;
  key.app_secret = kSecret;
  key.rate = 18;
  config.keys = {key};
  config.stream.max_codes_per_client = 100;
  config::StreamConfig hot;
  hot.name = "hot";
  // The 41 most traded (most listed shares): the simulator's trades of a second are at most its
  // volume then, which would hold thinly traded codes below the rate asked for.
  auto all = sim::Universe::Default().All();
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.listed_shares > b.listed_shares; });
  std::vector<std::string> codes;
  for (std::size_t i = 0; i < kCodes; ++i) codes.push_back(all.at(i).code);
  hot.codes = codes;
  config.streams = {hot};
  const auto& clock = common::SystemClock::Instance();
  gate::Gateway gateway(io.get_executor(), config, clock);
  auto store = store::Open("sqlite://" + dir.path() + "/kisgate.db");
  app::Realtime realtime(io, config, gateway, store.get(), nullptr, [] { return false; });
  api::ServiceDeps deps;
  deps.config = &config;
  deps.gateway = &gateway;
  deps.store = store.get();
  deps.clock = &clock;
  deps.hub = &realtime.hub();
  api::Service service(std::move(deps));
  http::ServerOptions server_options;
  server_options.max_connections = 0;
  http::Server server(io, server_options,
                      [&](http::Request r) { return service.Handle(std::move(r)); });
  server.Start();
  realtime.Start();

  // The clients on their own thread.
  Receipts receipts;
  asio::io_context client_io(1);
  auto work = asio::make_work_guard(client_io);
  std::string every_code;
  for (const auto& c : codes) every_code += (every_code.empty() ? "" : ",") + c;
  std::vector<std::size_t> clients_of(kCodes, 0);
  for (std::size_t i = 0; i < scenario.clients; ++i) {
    if (scenario.all_codes) {
      for (auto& n : clients_of) n++;
    } else {
      clients_of[i % kCodes]++;
    }
    asio::co_spawn(
        client_io,
        Client(server.Port(), scenario.all_codes ? every_code : codes[i % kCodes], receipts),
        common::LogExceptions{"bench client"});
  }
  std::thread client_thread([&] { client_io.run(); });

  Result result;
  double cpu_start = 0;
  double cpu_end = 0;
  std::atomic<double> client_cpu_start{0};
  std::atomic<double> client_cpu_end{0};
  std::uint64_t delivered_start = 0;
  std::uint64_t delivered_end = 0;
  Clock::time_point window_start;
  Clock::time_point window_end;
  bool ready = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io);
        const auto give_up = Clock::now() + 60s;
        for (;;) {
          const auto s = realtime.streams().Sessions();
          if (!s.empty() && s[0].state == stream::SessionState::kConnected &&
              s[0].registrations == kCodes && receipts.connected == scenario.clients &&
              realtime.hub().Counters().subscribers == scenario.clients &&
              realtime.hub().Counters().published > 0) {
            ready = true;
            break;
          }
          if (Clock::now() > give_up) break;
          timer.expires_after(50ms);
          co_await timer.async_wait(asio::use_awaitable);
        }
        if (ready) {
          timer.expires_after(2s);
          co_await timer.async_wait(asio::use_awaitable);  // warm-up
          // The clients' flag is theirs: set it on their thread.
          asio::post(client_io, [&] { receipts.recording = true; });
          timer.expires_after(100ms);
          co_await timer.async_wait(asio::use_awaitable);
          sends.recording = true;
          window_start = Clock::now();
          cpu_start = ThreadCpuSeconds();
          asio::post(client_io, [&] { client_cpu_start = ThreadCpuSeconds(); });
          delivered_start = realtime.hub().Counters().delivered;
          for (int i = 1; i <= opt.seconds; ++i) {
            timer.expires_after(1s);
            co_await timer.async_wait(asio::use_awaitable);
            std::cerr << fmt::format("\r  {} run {}: {}/{} s", scenario.name, run + 1, i,
                                     opt.seconds)
                      << std::flush;
          }
          sends.recording = false;
          window_end = Clock::now();
          cpu_end = ThreadCpuSeconds();
          asio::post(client_io, [&] { client_cpu_end = ThreadCpuSeconds(); });
          delivered_end = realtime.hub().Counters().delivered;
          timer.expires_after(1500ms);
          co_await timer.async_wait(asio::use_awaitable);  // the last events arrive
          result.cut = realtime.hub().Counters().cut;
        }
        receipts.stopping = true;  // the streams end from here on: not a cut
        auto stop = realtime.Stop();
        co_await std::move(stop);
        server.Stop();
        io.stop();
      },
      common::LogExceptions{"bench driver"});
  io.run();
  io.restart();
  io.run_for(500ms);  // the connections the server closed end
  std::cerr << "\n";
  receipts.stopping = true;
  work.reset();
  client_io.stop();
  client_thread.join();
  if (!ready) throw std::runtime_error("the session or the clients were not ready within 60 s");

  std::unordered_map<std::string, Clock::time_point> sent_at;
  std::size_t due = 0;
  {
    std::lock_guard lock(sends.mutex);
    sent_at.reserve(sends.sent.size());
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < kCodes; ++i) index[codes[i]] = i;
    for (const auto& [k, at] : sends.sent) {
      sent_at.emplace(k, at);
      due += clients_of.at(index.at(k.substr(0, 6)));
    }
  }
  std::vector<double> latencies;
  latencies.reserve(receipts.got.size());
  for (const auto& [k, at] : receipts.got) {
    auto it = sent_at.find(k);
    if (it == sent_at.end()) continue;  // sent before or after the window
    latencies.push_back(std::chrono::duration<double, std::milli>(at - it->second).count());
  }
  const double window = std::chrono::duration<double>(window_end - window_start).count();
  const auto delivered = static_cast<double>(delivered_end - delivered_start);
  result.sent_per_s = static_cast<double>(sent_at.size()) / window;
  result.delivered_per_s = static_cast<double>(latencies.size()) / window;
  result.due_pct =
      due > 0 ? 100.0 * static_cast<double>(latencies.size()) / static_cast<double>(due) : 0;
  result.cut += receipts.ended;
  result.cpu_per_1000 = delivered > 0 ? 1000.0 * (cpu_end - cpu_start) / delivered * 1000.0 : 0;
  result.kisgate_busy = 100 * (cpu_end - cpu_start) / window;
  result.clients_busy = 100 * (client_cpu_end - client_cpu_start) / window;
  result.p50 = Percentile(latencies, 0.50);
  result.p90 = Percentile(latencies, 0.90);
  result.p99 = Percentile(latencies, 0.99);
  result.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  result.load = LoadAverage();
  std::cerr << fmt::format(
      "  {} run {}: {:.0f} trades/s sent, {:.0f} events/s received ({:.1f}% of due), cut {}, "
      "p50 {:.2f} p99 {:.2f} max {:.2f} ms, kisgate thread {:.2f} CPU ms per 1,000 events, "
      "load {:.1f}\n",
      scenario.name, run + 1, result.sent_per_s, result.delivered_per_s, result.due_pct, result.cut,
      result.p50, result.p99, result.max, result.cpu_per_1000, result.load);
  return result;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  CLI::App app{"The real-time path end to end: simulator -> kisgate -> SSE clients"};
  int runs = 3;
  Options opt;
  std::size_t latency_clients = 4;
  std::size_t fanout_clients = 1000;
  std::string out = "bench/results/stream_e2e.md";
  std::string json_out;
  app.add_option("--runs", runs, "runs of each scenario (medians are reported)");
  app.add_option("--seconds", opt.seconds, "measured seconds per run");
  std::vector<double> speeds = {1, 10, 40};
  app.add_option("--speeds", speeds,
                 "the simulator's market clock speeds (the trades of each market second are sent "
                 "once it is over: a burst every 1/speed s)")
      ->delimiter(',');
  std::vector<double> per_code = {98, 50, 40};
  app.add_option("--per-code", per_code,
                 "for each speed, trades per code and second asked of the simulator (a code's "
                 "trades are at most its volume)")
      ->delimiter(',');
  app.add_option("--latency-clients", latency_clients, "clients of all 41 codes (0: skip)");
  app.add_option("--fanout-clients", fanout_clients, "clients of one code each (0: skip)");
  app.add_option("--out", out, "the Markdown report ('' for none)");
  app.add_option("--json", json_out, "each scenario's figures and runs, as JSON");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  std::vector<Scenario> scenarios;
  if (per_code.size() != speeds.size()) {
    std::cerr << "--per-code needs one value for each of --speeds\n";
    return 2;
  }
  for (std::size_t i = 0; i < speeds.size(); ++i) {
    const double speed = speeds[i];
    const auto every = fmt::format("bursts every {:.0f} ms", 1000 / speed);
    if (latency_clients > 0) {
      scenarios.push_back(Scenario{fmt::format("{} clients x 41 codes, {}", latency_clients, every),
                                   fmt::format("latency_{:.0f}ms", 1000 / speed), latency_clients,
                                   true, speed, per_code[i]});
    }
    if (fanout_clients > 0) {
      scenarios.push_back(Scenario{fmt::format("{} clients x 1 code, {}", fanout_clients, every),
                                   fmt::format("fanout_{:.0f}ms", 1000 / speed), fanout_clients,
                                   false, speed, per_code[i]});
    }
  }
  const double load_before = LoadAverage();
  std::string rows;
  std::string runs_detail;
  boost::json::object figures;
  for (const auto& scenario : scenarios) {
    std::vector<Result> results;
    for (int run = 0; run < runs; ++run) {
      results.push_back(RunOnce(scenario, opt, run));
      const auto& r = results.back();
      runs_detail += fmt::format(
          "| {} | {} | {:.0f} | {:.0f} | {:.1f}% | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | "
          "{:.2f} | {:.0f}% | {:.0f}% | {:.1f} |\n",
          scenario.name, run + 1, r.sent_per_s, r.delivered_per_s, r.due_pct, r.cut, r.p50, r.p90,
          r.p99, r.max, r.cpu_per_1000, r.kisgate_busy, r.clients_busy, r.load);
    }
    auto med = [&](double Result::*field) {
      std::vector<double> v;
      v.reserve(results.size());
      for (const auto& r : results) v.push_back(r.*field);
      return Median(v);
    };
    std::size_t cut = 0;
    for (const auto& r : results) cut += r.cut;
    auto put = [&](const char* figure, double Result::*field) {
      boost::json::array runs_of;
      for (const auto& r : results) runs_of.emplace_back(r.*field);
      figures[scenario.id + "_" + figure] =
          boost::json::object{{"value", med(field)}, {"runs", std::move(runs_of)}};
    };
    put("sent_per_s", &Result::sent_per_s);
    put("delivered_per_s", &Result::delivered_per_s);
    put("due_pct", &Result::due_pct);
    put("p50_ms", &Result::p50);
    put("p90_ms", &Result::p90);
    put("p99_ms", &Result::p99);
    put("max_ms", &Result::max);
    put("cpu_ms_per_1000_events", &Result::cpu_per_1000);
    put("kisgate_busy_pct", &Result::kisgate_busy);
    put("clients_busy_pct", &Result::clients_busy);
    figures[scenario.id + "_cut"] = boost::json::object{{"value", cut}};
    const double p99 = med(&Result::p99);
    rows += fmt::format(
        "| {} | {:.0f} | {:.0f} | {:.1f}% | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | "
        "{:.0f}% | {:.0f}% | {} |\n",
        scenario.name, med(&Result::sent_per_s), med(&Result::delivered_per_s),
        med(&Result::due_pct), cut, med(&Result::p50), med(&Result::p90), p99, med(&Result::max),
        med(&Result::cpu_per_1000), med(&Result::kisgate_busy), med(&Result::clients_busy),
        p99 <= 5.0 ? "met" : "missed");
  }
  const double load_after = LoadAverage();
  const std::string header =
      "| scenario | trades/s sent | events/s received | of due | clients cut | p50 ms | p90 ms "
      "| p99 ms | max ms | kisgate CPU ms / 1,000 events | kisgate thread busy | clients thread "
      "busy | 5 ms p99 target |\n"
      "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n";
  const std::string table = header + rows;
  std::cout << table;
  if (!json_out.empty()) std::ofstream(json_out) << boost::json::serialize(figures) << "\n";
  if (!out.empty()) {
    std::ofstream f(out);
    f << "# The real-time path end to end: simulator -> kisgate -> SSE clients\n\n"
      << "bench/stream_bench.cpp. `kisgate sim` (its own thread) streams H0STCNT0 for 41 codes on "
         "one WebSocket session; kisgate's side as the app assembles it (app::Realtime: "
         "stream::Streams with the key's KisSession, stream::Hub, a SQLite store; api::Service "
         "behind http::Server) runs on one io_context thread (the store writes on its own); SSE "
         "clients of `/v1/stream` read over loopback sockets on a third thread. Latency: from "
         "the simulator's writer starting a frame (WsOptions::on_data_frame) to a client having "
         "read the event, each trade matched by (code, ACML_VOL). The simulator sends the trades "
         "of each market second once it is over (several records per frame, up to 50), so at "
         "speed 1 the 2,000 trades of a second arrive as one burst of 41 frames: the later "
         "trades of a burst wait for the earlier ones to be parsed, published and written. "
         "kisgate CPU: the thread CPU time of kisgate's io_context thread over the measured "
         "window per 1,000 events handed to SSE connections; busy: a thread's CPU time over the "
         "window. \"of due\": events received of "
         "those the clients' filters asked for. bench/sse_bench.cpp (bench/results/stream.md) "
         "measures the hub and /v1/stream alone (no simulator nor session: a timer calls "
         "Hub::Publish), with server, feed and clients on one thread.\n\n"
      << fmt::format(
             "Command: `build/bench/stream_bench --runs {} --seconds {} --per-code {} "
             "--speeds {} --latency-clients {} --fanout-clients {}`\n\n",
             runs, opt.seconds, fmt::join(per_code, ","), fmt::join(speeds, ","), latency_clients,
             fanout_clients)
      << fmt::format(
             "Machine: {} cores, 1-minute load average {:.1f} before and {:.1f} after "
             "(other work shared the cores).\n\n",
             std::thread::hardware_concurrency(), load_before, load_after)
      << "Medians of the runs (clients cut: the sum):\n\n"
      << table << "\nEach run:\n\n"
      << "| scenario | run | trades/s sent | events/s received | of due | cut | p50 ms | p90 ms "
         "| p99 ms | max ms | CPU ms / 1,000 | kisgate busy | clients busy | load |\n"
         "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      << runs_detail;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "stream_bench: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "stream_bench: an unknown exception\n";
  }
  return 1;
}
