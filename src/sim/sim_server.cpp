#include "sim/sim_server.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/timer.hpp"
#include "http/server.hpp"
#include "sim/realtime.hpp"
#include "sim/realtime_hub.hpp"

namespace kisgate::sim {

namespace asio = boost::asio;

namespace {

http::ServerOptions ServerOptionsFor(const SimOptions& options) {
  http::ServerOptions s;
  s.listen = options.listen;
  s.tls_cert_file = options.tls_cert;
  s.tls_key_file = options.tls_key;
  s.max_body_bytes = options.max_body_bytes;
  s.max_header_bytes = options.max_header_bytes;
  s.max_connections = options.max_connections;
  s.server_header = "kisgate-sim";
  // No protocol-level keep-alive pings: KIS sends none (its heartbeat is the PINGPONG text frame,
  // which closes dead sessions), and every client library's automatic pong would otherwise count
  // as an answer to a PINGPONG.
  s.websocket.idle_timeout = std::chrono::milliseconds(0);
  return s;
}

// The pump polls the real-time core often enough for a quarter of the PINGPONG interval and for
// every market second at --speed, but not more than every 2 ms nor less than every 100 ms.
std::chrono::milliseconds PumpPeriod(const SimOptions& options) {
  using std::chrono::milliseconds;
  const auto per_market_second = milliseconds(static_cast<std::int64_t>(1000 / options.speed));
  return std::clamp(std::min(options.ws.ping_interval / 4, per_market_second), milliseconds(2),
                    milliseconds(100));
}

http::Reply WebSocketReply(RealtimeHub* hub) {
  http::Reply reply;
  reply.websocket = [hub](std::unique_ptr<http::WebSocket> ws) -> asio::awaitable<void> {
    auto serve = hub->Serve(std::move(ws));
    co_await std::move(serve);
  };
  return reply;
}

}  // namespace

SimServer::SimServer(asio::io_context& io, SimOptions options, const common::Clock& clock) {
  if (auto problem = options.Validate()) throw std::runtime_error(*problem);
  auto server_options = ServerOptionsFor(options);
  const auto pump_period = PumpPeriod(options);
  simulator_ = std::make_unique<Simulator>(std::move(options), clock);
  Simulator* sim = simulator_.get();
  hub_ = std::make_unique<RealtimeHub>(io, sim->realtime(), pump_period);
  RealtimeHub* hub = hub_.get();
  server_ = std::make_unique<http::Server>(
      io, std::move(server_options),
      [sim, hub, &clock](http::Request request) -> asio::awaitable<http::Reply> {
        // KIS's WebSocket answers on any path (clients use /tryitout).
        if (http::IsWebSocketUpgrade(request)) co_return WebSocketReply(hub);
        SimDecision decision = sim->Handle(request);
        if (decision.delay.count() > 0) {
          // On the simulator's clock, so a test on manual time sees service delays in that time.
          common::Timer timer(co_await asio::this_coro::executor, clock.Now() + decision.delay);
          co_await timer.async_wait(asio::use_awaitable);
        }
        sim->Finish(decision.key_index);
        http::Reply reply;
        reply.response = std::move(decision.response);
        reply.drop_connection = decision.drop_connection;
        co_return reply;
      });
  if (!sim->options().ws.listen.empty()) {
    // Its own port, like KIS's :21000: WebSocket only.
    http::ServerOptions ws_options = ServerOptionsFor(sim->options());
    ws_options.listen = sim->options().ws.listen;
    ws_options.tls_cert_file.clear();
    ws_options.tls_key_file.clear();
    ws_server_ = std::make_unique<http::Server>(
        io, std::move(ws_options), [hub](http::Request request) -> asio::awaitable<http::Reply> {
          if (http::IsWebSocketUpgrade(request)) co_return WebSocketReply(hub);
          http::Reply reply;
          reply.response.status = 426;
          reply.response.headers.emplace_back("Content-Type", "text/plain");
          reply.response.body = "WebSocket only (connect to ws://HOST:PORT/tryitout)\n";
          co_return reply;
        });
  }
  http::Server* server = server_.get();
  simulator_->SetConnectionStats([server] {
    auto c = server->Counters();
    return fmt::format(
        R"({{"accepted":{},"closed_by_max_connections":{},"active":{},"peak_active":{},)"
        R"("requests":{},"malformed":{},"timeouts":{},"dropped":{}}})",
        c.accepted, c.rejected_over_cap, c.active, c.peak_active, c.requests, c.malformed,
        c.timeouts, c.dropped);
  });
}

SimServer::~SimServer() = default;

void SimServer::Start() {
  hub_->Start();
  server_->Start();
  if (ws_server_) ws_server_->Start();
}

void SimServer::Stop() {
  server_->Stop();
  if (ws_server_) ws_server_->Stop();
  hub_->Stop();
}

std::uint16_t SimServer::Port() const { return server_->Port(); }

std::uint16_t SimServer::WsPort() const { return ws_server_ ? ws_server_->Port() : Port(); }

std::string SimServer::WsUrl() const {
  if (ws_server_) return fmt::format("ws://{}", ws_server_->Address());
  return fmt::format("{}://{}", server_->Tls() ? "wss" : "ws", server_->Address());
}

std::string SimServer::BaseUrl() const {
  return fmt::format("{}://{}", server_->Tls() ? "https" : "http", server_->Address());
}

BackgroundSimulator::BackgroundSimulator(SimOptions options, const common::Clock& clock)
    : io_(std::make_unique<asio::io_context>(1)) {
  server_ = std::make_unique<SimServer>(*io_, std::move(options), clock);
  server_->Start();
  port_ = server_->Port();
  base_url_ = server_->BaseUrl();
  ws_port_ = server_->WsPort();
  ws_url_ = server_->WsUrl();
  thread_ = std::thread([io = io_.get()] {
    auto guard = asio::make_work_guard(*io);
    io->run();
  });
}

// post and join throw only on allocation failure or a join from the simulator's own thread (a
// bug); terminating then is right.
// NOLINTNEXTLINE(bugprone-exception-escape): throws only on a bug, see above
BackgroundSimulator::~BackgroundSimulator() {
  asio::post(*io_, [this] { server_->Stop(); });
  io_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace kisgate::sim
