// The fan-out on one core: N Server-Sent Events clients of /v1/stream (api::Service behind
// http::Server, real sockets on 127.0.0.1) receive the trades a stream::Hub is fed at R trades/s,
// spread over C codes, client i asking for code i mod C (so each trade goes to N/C clients).
// Server, clients and the feed share one io_context thread, so the latency measured (publish -> the
// client has parsed the event) includes everything one core does for all of them. Prints a table
// against the 5 ms target and writes bench/results/stream.md.
//
//   sse_bench [--clients 1000] [--rate 2000] [--seconds 10] [--codes 20] [--out FILE]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "api/service.hpp"
#include "common/spawn.hpp"
#include "gate/gateway.hpp"
#include "http/server.hpp"
#include "stream/hub.hpp"

namespace asio = boost::asio;
using namespace kisgate;
using Clock = std::chrono::steady_clock;

namespace {

struct Run {
  std::unordered_map<std::uint64_t, Clock::time_point> published;  // id -> when
  std::vector<double> latencies_ms;
  std::size_t connected = 0;
  bool measuring = false;
  double sent_seconds = 1;
};

// One client: a raw socket reading the event stream, parsing the "id: N" lines.
asio::awaitable<void> Client(asio::io_context& io, std::uint16_t port, std::string codes,
                             Run& run) {
  asio::ip::tcp::socket socket(io);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  co_await asio::async_write(
      socket,
      asio::buffer(fmt::format("GET /v1/stream?codes={} HTTP/1.1\r\nHost: b\r\n\r\n", codes)),
      asio::use_awaitable);
  run.connected++;
  std::string pending;
  std::array<char, 16 * 1024> buffer{};
  for (;;) {
    auto [ec, n] =
        co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const auto now = Clock::now();
    pending.append(buffer.data(), n);
    std::size_t at = 0;
    for (;;) {
      const auto id_at = pending.find("\nid: ", at);
      if (id_at == std::string::npos) break;
      const auto end = pending.find('\n', id_at + 5);
      if (end == std::string::npos) break;
      const auto id = std::strtoull(pending.c_str() + id_at + 5, nullptr, 10);
      if (run.measuring) {
        if (auto it = run.published.find(id); it != run.published.end()) {
          run.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - it->second).count());
        }
      }
      at = end;
    }
    pending.erase(0, at);
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"SSE fan-out benchmark"};
  int clients = 1000;
  int rate = 2000;
  int seconds = 10;
  int code_count = 20;
  std::string out = "bench/results/stream.md";
  app.add_option("--clients", clients);
  app.add_option("--rate", rate);
  app.add_option("--seconds", seconds);
  app.add_option("--codes", code_count);
  app.add_option("--out", out);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  asio::io_context io(1);
  config::Config config;
  config::KeyConfig k;
  k.name = "bench";
  k.base_url = "http://127.0.0.1:9";
  k.app_key = "PSbenchKEY0000000000000000000000001";
  k.app_secret = "s";
  config.keys.push_back(k);
  const auto& clock = common::SystemClock::Instance();
  gate::Gateway gateway(io.get_executor(), config, clock, gate::GatewayOptions{});
  stream::Hub hub(io.get_executor(), stream::HubOptions{});
  api::ServiceDeps deps;
  deps.config = &config;
  deps.gateway = &gateway;
  deps.clock = &clock;
  deps.hub = &hub;
  api::Service service(std::move(deps));
  http::ServerOptions so;
  so.max_connections = 0;
  http::Server server(io, so, [&](http::Request r) { return service.Handle(std::move(r)); });
  server.Start();

  std::vector<std::string> codes;
  for (int i = 0; i < code_count; ++i) codes.push_back(fmt::format("{:06}", 100000 + i));
  Run run;
  for (int i = 0; i < clients; ++i) {
    asio::co_spawn(
        io, Client(io, server.Port(), codes[static_cast<std::size_t>(i) % codes.size()], run),
        common::LogExceptions{"client"});
  }
  std::uint64_t sent = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io);
        while (run.connected < static_cast<std::size_t>(clients) ||
               hub.Counters().subscribers < static_cast<std::uint64_t>(clients)) {
          timer.expires_after(std::chrono::milliseconds(50));
          co_await timer.async_wait(asio::use_awaitable);
        }
        run.measuring = true;
        // Batches every millisecond, as a session delivers frames.
        const auto start = Clock::now();
        const auto end = start + std::chrono::seconds(seconds);
        auto next = start;
        while (Clock::now() < end) {
          next += std::chrono::milliseconds(1);
          timer.expires_at(next);
          co_await timer.async_wait(asio::use_awaitable);
          // What is owed by now at `rate`: a loop that falls behind sends bigger batches.
          const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
          const auto due = static_cast<std::uint64_t>(elapsed * rate);
          std::vector<kis::Tick> ticks;
          while (sent < due) {
            kis::Tick t;
            t.code = codes[sent % codes.size()];
            t.date = "20261127";
            t.time = "100000";
            t.price = 70000 + static_cast<std::int64_t>(sent % 100);
            t.received_at = std::chrono::system_clock::now();
            ticks.push_back(std::move(t));
            sent++;
          }
          const auto now = Clock::now();
          for (std::size_t i = 0; i < ticks.size(); ++i) run.published[hub.LastId() + 1 + i] = now;
          hub.Publish(ticks);
        }
        timer.expires_after(std::chrono::milliseconds(500));  // the last events arrive
        co_await timer.async_wait(asio::use_awaitable);
        run.measuring = false;
        run.sent_seconds = std::chrono::duration<double>(end - start).count();
        server.Stop();
        io.stop();
      },
      common::LogExceptions{"feed"});
  io.run();

  const auto c = hub.Counters();
  const double expected = static_cast<double>(sent) * clients / code_count;
  auto lat = run.latencies_ms;
  const double p50 = Percentile(lat, 0.50);
  const double p99 = Percentile(lat, 0.99);
  const double max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  const auto table = fmt::format(
      "| clients | trades/s fed | codes | seconds | events received | of those due | cut | p50 ms "
      "| p99 ms | max ms | 5 ms target (p99) |\n"
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n"
      "| {} | {:.0f} | {} | {} | {} | {:.1f}% | {} | {:.2f} | {:.2f} | {:.2f} | {} |\n",
      clients, static_cast<double>(sent) / run.sent_seconds, code_count, seconds, lat.size(),
      expected > 0 ? 100.0 * static_cast<double>(lat.size()) / expected : 0.0, c.cut, p50, p99, max,
      p99 <= 5.0 ? "met" : "missed");
  std::cout << table;
  if (!out.empty()) {
    std::ofstream f(out);
    f << "# The fan-out: SSE clients of /v1/stream on one core\n\n"
      << "bench/sse_bench.cpp: api::Service behind http::Server and the clients (raw sockets "
         "parsing the event stream) share one io_context thread; a stream::Hub is fed trades in "
         "1 ms batches; client i asks for code i mod codes, so each trade goes to clients/codes of "
         "them. Latency: publish to the client having "
         "read the event.\n\n"
      << table;
  }
  return 0;
}
