#include "sim/sim_server.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/timer.hpp"
#include "http/server.hpp"

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
  return s;
}

}  // namespace

SimServer::SimServer(asio::io_context& io, SimOptions options, const common::Clock& clock)
    : io_(io) {
  if (auto problem = options.Validate()) throw std::runtime_error(*problem);
  auto server_options = ServerOptionsFor(options);
  simulator_ = std::make_unique<Simulator>(std::move(options), clock);
  Simulator* sim = simulator_.get();
  server_ = std::make_unique<http::Server>(
      io, std::move(server_options),
      [sim, &clock](http::Request request) -> asio::awaitable<http::Reply> {
        SimDecision decision = sim->Handle(request);
        if (decision.delay.count() > 0) {
          // On the simulator's clock, so a test on manual time sees service delays in that time.
          common::Timer timer(co_await asio::this_coro::executor, clock.Now() + decision.delay);
          co_await timer.async_wait(asio::use_awaitable);
        }
        sim->Finish(decision.key_index);
        co_return http::Reply{std::move(decision.response), decision.drop_connection};
      });
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

void SimServer::Start() { server_->Start(); }
void SimServer::Stop() { server_->Stop(); }
std::uint16_t SimServer::Port() const { return server_->Port(); }

std::string SimServer::BaseUrl() const {
  return fmt::format("{}://{}", server_->Tls() ? "https" : "http", server_->Address());
}

BackgroundSimulator::BackgroundSimulator(SimOptions options, const common::Clock& clock)
    : io_(std::make_unique<asio::io_context>(1)) {
  server_ = std::make_unique<SimServer>(*io_, std::move(options), clock);
  server_->Start();
  port_ = server_->Port();
  base_url_ = server_->BaseUrl();
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
