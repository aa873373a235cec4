#pragma once
// /v1/stocks/{code}/{price|orderbook|investors|overtime|overtime-orderbook|bars/minute|bars/daily}:
// the request as parsed and checked (pure, so tested without sockets), and StockHandler, which
// answers it: fresh data held when there is some (the latest-value cache, the store), else a call
// to KIS on the interactive lane (identical requests share it), else the last value held, marked
// stale.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/latest_cache.hpp"
#include "api/metrics.hpp"
#include "api/routes.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "http/message.hpp"
#include "kis/tr_catalogue.hpp"
#include "store/store.hpp"
#include "stream/hub.hpp"

namespace kisgate::api {

struct StockQuery {
  const Route* route = nullptr;
  common::Dataset dataset = common::Dataset::kPrice;
  kis::Tr tr = kis::Tr::kPrice;
  std::string code;
  std::string dataset_name;  // "price", "bars_minute": the config's and the store's name
  common::Duration max_age{};
  bool csv = false;
  std::string date;      // bars/minute: YYYYMMDD, or "" for the latest day held
  std::string from, to;  // bars/daily: YYYYMMDD; to defaults to `today`, from to 140 days before
};

struct QueryError {
  int status;
  std::string code, message, hint;
};

// The request of a stock data route (`route`, matched by the route table: it names the data set
// and the query parameters taken; the code is the path's third segment); `today` is KST YYYYMMDD.
std::variant<StockQuery, QueryError> ParseStockQuery(const http::Request& request,
                                                     const Route& route,
                                                     const config::ApiConfig& api,
                                                     const std::string& today);

// "20261124" or "2026-11-24" -> "20261124"; nullopt otherwise.
std::optional<std::string> ParseDateParam(std::string_view v);

struct StockDeps {
  const config::Config* config = nullptr;
  gate::Gateway* gateway = nullptr;
  store::Store* store = nullptr;  // may be null: then nothing is stored
  const common::Clock* clock = nullptr;
  // The codes whose values are kept in the store; null: every code. Other codes' single values
  // are held in memory only (the latest-value cache, at most `recent_values` of them).
  std::shared_ptr<const std::unordered_set<std::string>> universe;
  std::size_t recent_values = 1000;
  stream::Hub* hub = nullptr;  // may be null: no price moves with the stream's trades
  ApiCounters* counters = nullptr;
};

struct Provenance;

class StockHandler {
 public:
  explicit StockHandler(StockDeps deps);
  StockHandler(const StockHandler&) = delete;
  StockHandler& operator=(const StockHandler&) = delete;

  boost::asio::awaitable<http::Response> Handle(const http::Request& request, const Route& route);

 private:
  struct Context;
  boost::asio::awaitable<http::Response> SingleValue(Context ctx);
  boost::asio::awaitable<http::Response> Investors(Context ctx);
  boost::asio::awaitable<http::Response> MinuteBars(Context ctx);
  boost::asio::awaitable<http::Response> DailyBars(Context ctx);
  // The latest value of a single-value data set as it stands (the store's, with the stream's
  // newest trade on a price), rendered once per change; null when nothing is held.
  // `newest_row`: the newest row of the store's table, read by the caller when nothing was
  // written since the store was opened. `unreadable`: the stored value cannot be read (counted
  // and logged).
  const LatestValue* Latest(const Context& ctx, std::optional<store::Record> newest_row,
                            bool& unreadable);
  // Stores the records of KIS replies and returns them; nullopt when one is unreadable.
  std::optional<std::vector<store::Record>> Keep(const Context& ctx,
                                                 const std::vector<std::string>& bodies,
                                                 kis::Classification& problem);
  http::Response Answer(const Context& ctx, std::string body, std::string_view source, bool stale);
  http::Response BarsResponse(const Context& ctx, const std::vector<kis::Bar>& bars,
                              const Provenance& p, const std::string& label);

  StockDeps deps_;
  LatestCache latest_;
};

}  // namespace kisgate::api
