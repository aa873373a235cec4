#pragma once
// The real-time path of a running kisgate (serve, demo): the fan-out hub behind /v1/stream and
// /v1/ws, and stream::Streams (the keys' KIS WebSocket sessions, the planner, the overflow poller,
// the gap filler) feeding it and the store. API clients' demand flows back from the hub to the
// planner. Assembly only: the logic is in src/stream.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include "config/config.hpp"
#include "stream/hub.hpp"
#include "stream/streams.hpp"

namespace kisgate::coord {
class Coordinator;
}

namespace kisgate::app {

class Realtime {
 public:
  // `coordinator` may be null (this instance alone holds every key's session). `after_hours` may be
  // empty (from the system clock and the calendar): the demo passes its simulator's. `universe`:
  // the codes whose polled values are stored (nullopt: every code, as the demo does).
  Realtime(boost::asio::io_context& io, const config::Config& config, gate::Gateway& gateway,
           store::Store* store, coord::Coordinator* coordinator,
           std::function<bool()> after_hours = {},
           std::optional<std::vector<std::string>> universe = std::nullopt);
  ~Realtime();
  Realtime(const Realtime&) = delete;
  Realtime& operator=(const Realtime&) = delete;

  void Start();
  boost::asio::awaitable<void> Stop();

  stream::Hub& hub() { return *hub_; }
  stream::Streams& streams() { return *streams_; }
  // For /v1/budget: each key's stream object.
  std::function<boost::json::object(const std::string& key)> StatusOf();

 private:
  std::unique_ptr<stream::Hub> hub_;
  std::unique_ptr<stream::Streams> streams_;
};

}  // namespace kisgate::app
