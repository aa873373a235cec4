#pragma once
// The real-time core (realtime.hpp) on real WebSockets: each connection gets a session, its text
// frames go to the core and the acks come back; one pump coroutine polls the core on a timer and
// hands out PINGPONGs, data frames and closes. Writing never blocks the pump: each connection has
// its own bounded queue and writer; a client more than --ws-queue-frames behind is cut and counted
// (a slow client never slows the others).
//
// Thread-safety: one io_context thread (the simulator's): Start, Stop and Serve run on it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "sim/realtime.hpp"

namespace boost::asio {
class io_context;
}

namespace kisgate::http {
class WebSocket;
}

namespace kisgate::sim {

class RealtimeHub {
 public:
  // `period`: how often the pump polls the core (short enough for the PINGPONG interval and for
  // one market second at the simulator's --speed), on common::Timer: a test on manual time moves
  // the pump with the core's clock.
  RealtimeHub(boost::asio::io_context& io, Realtime& core, std::chrono::milliseconds period);
  ~RealtimeHub();
  RealtimeHub(const RealtimeHub&) = delete;
  RealtimeHub& operator=(const RealtimeHub&) = delete;

  void Start();
  // Ends every session (counted as "shutdown") and the pump.
  void Stop();
  // Runs one upgraded connection until it ends (http::Reply::websocket).
  boost::asio::awaitable<void> Serve(std::unique_ptr<http::WebSocket> ws);
  std::size_t Connections() const { return connections_.size(); }

 private:
  struct Connection;
  boost::asio::awaitable<void> Pump();
  boost::asio::awaitable<void> ReadLoop(std::shared_ptr<Connection> c);
  static boost::asio::awaitable<void> WriteLoop(std::shared_ptr<Connection> c);
  void Push(const std::shared_ptr<Connection>& c, std::string text);
  static void Order(const std::shared_ptr<Connection>& c, WsCloseReason reason);

  boost::asio::io_context& io_;
  Realtime& core_;
  std::chrono::milliseconds period_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  struct PumpState;
  std::shared_ptr<PumpState> pump_;
};

}  // namespace kisgate::sim
