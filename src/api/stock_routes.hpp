#pragma once
// /v1/stocks/{code}/...: the request as parsed and checked (pure, so tested without sockets), and
// the rules that decide where an answer comes from. The serving itself is Service::Stock.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::api {

// One kind of stock data: the URL's name, its data set (the config's max_age key) and TR, its
// route template and the query parameters it takes. Made from the route table (routes.hpp).
struct StockKind {
  std::string_view name;  // "price", "bars/minute"
  common::Dataset dataset;
  kis::Tr tr;
  std::string_view route;
  std::vector<std::string_view> params;
};
const std::vector<StockKind>& StockKinds();

struct StockQuery {
  const StockKind* kind = nullptr;
  std::string code;
  std::string dataset;
  common::Duration max_age{};
  bool csv = false;
  std::string date;      // bars/minute: YYYYMMDD, or "" for the latest day held
  std::string from, to;  // bars/daily: YYYYMMDD; to defaults to `today`, from to 140 days before
};

struct QueryError {
  int status;
  std::string code, message, hint;
  std::string route;  // the route template when the kind was recognised, for metrics
};

// Parses "/v1/stocks/{code}/{kind}" with its query; `today` is KST YYYYMMDD.
std::variant<StockQuery, QueryError> ParseStockQuery(const http::Request& request,
                                                     const config::ApiConfig& api,
                                                     const std::string& today);

// "20261124" or "2026-11-24" -> "20261124"; nullopt otherwise.
std::optional<std::string> ParseDateParam(std::string_view v);

}  // namespace kisgate::api
