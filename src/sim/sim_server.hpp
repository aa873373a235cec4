#pragma once
// `kisgate sim` on the network: the Simulator behind an http::Server, with each call's service
// delay waited on a timer (never a sleep), so one thread serves thousands of calls at once.

#include <memory>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "sim/sim_options.hpp"
#include "sim/simulator.hpp"

namespace boost::asio {
class io_context;
}

namespace kisgate::http {
class Server;
}

namespace kisgate::sim {

class RealtimeHub;

// Thread-safety: construct, Start and Stop on the io_context's thread (or before it runs).
class SimServer {
 public:
  // Throws std::runtime_error when the options are invalid or the address cannot be bound.
  SimServer(boost::asio::io_context& io, SimOptions options,
            const common::Clock& clock = common::SystemClock::Instance());
  ~SimServer();

  void Start();
  void Stop();
  std::uint16_t Port() const;
  // "http://127.0.0.1:PORT" (https with TLS).
  std::string BaseUrl() const;
  // Where the real-time WebSocket listens: --ws-listen's port, or the main listener's (which
  // upgrades on any path). WsUrl() is "ws://HOST:PORT" (wss with TLS on the main listener);
  // clients append "/tryitout".
  std::uint16_t WsPort() const;
  std::string WsUrl() const;
  Simulator& simulator() { return *simulator_; }

 private:
  std::unique_ptr<Simulator> simulator_;
  std::unique_ptr<RealtimeHub> hub_;  // before the servers: their sessions run on it
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Server> ws_server_;  // --ws-listen
};

// A simulator on its own thread and io_context: for tests, benchmarks and `kisgate demo`.
class BackgroundSimulator {
 public:
  // `clock` as for SimServer: a test on manual time passes the ManualClock it installed.
  explicit BackgroundSimulator(SimOptions options,
                               const common::Clock& clock = common::SystemClock::Instance());
  ~BackgroundSimulator();  // NOLINT(bugprone-exception-escape): throws only on a bug (the .cpp)
  BackgroundSimulator(const BackgroundSimulator&) = delete;
  BackgroundSimulator& operator=(const BackgroundSimulator&) = delete;

  std::uint16_t Port() const { return port_; }
  std::string BaseUrl() const { return base_url_; }
  std::uint16_t WsPort() const { return ws_port_; }
  std::string WsUrl() const { return ws_url_; }
  Simulator& simulator() { return server_->simulator(); }

 private:
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<SimServer> server_;
  std::uint16_t port_ = 0;
  std::string base_url_;
  std::uint16_t ws_port_ = 0;
  std::string ws_url_;
  std::thread thread_;
};

}  // namespace kisgate::sim
