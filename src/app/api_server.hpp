#pragma once
// The HTTP API of a running kisgate (serve, demo, collect --once --listen): the http::Server on
// server.listen, the api::Service behind it with the dashboard's files, and the once-a-second
// sampling that turns the gate's counters into rates.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "api/service.hpp"
#include "collect/jobs_board.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "store/store.hpp"

namespace kisgate::app {

class Realtime;

class ApiServer {
 public:
  // Binds at once; throws std::runtime_error naming the address when it cannot. The API keeps the
  // values of the `universe` codes in the store; other codes' values are fetched, not kept.
  // `realtime` may be null: then /v1/stream and /v1/ws answer 503 and prices come from the
  // cache, the store or KIS.
  ApiServer(boost::asio::io_context& io, const config::Config& config, gate::Gateway& gateway,
            store::Store* store, collect::JobsBoard* jobs, const std::vector<std::string>& universe,
            Realtime* realtime = nullptr);
  ~ApiServer();

  std::string Address() const;  // "HOST:PORT" bound
  // Stops accepting and sampling; requests in progress finish.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kisgate::app
