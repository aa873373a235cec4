// The vocabulary and the route table hold together: every data set has its TR, its store table,
// its API route and its max_age default; every lane and session name the config accepts is the
// vocabulary's; and dispatch finds each route the table lists.
#include "api/routes.hpp"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api/stock_routes.hpp"
#include "config/config.hpp"
#include "kis/tr_catalogue.hpp"
#include "store/record.hpp"

namespace kisgate::api {
namespace {

TEST(Vocabulary, EveryDatasetHasATrATableARouteAndAMaxAge) {
  const config::ApiConfig api;
  const auto table_names = store::Datasets();
  const std::set<std::string> tables(table_names.begin(), table_names.end());
  for (auto dataset : common::kAllDatasets) {
    const std::string name(common::Name(dataset));
    SCOPED_TRACE(name);
    EXPECT_EQ(kis::TrInfoFor(dataset).dataset, dataset);
    EXPECT_EQ(kis::FindTrByDataset(name), &kis::TrInfoFor(dataset));
    EXPECT_FALSE(store::ColumnsOf(dataset).empty());
    EXPECT_EQ(store::ColumnsOf(name), &store::ColumnsOf(dataset));
    EXPECT_EQ(tables.count(name), 1u);
    ASSERT_EQ(api.max_age.count(name), 1u);
    EXPECT_EQ(api.max_age.at(name), config::ApiConfig::DefaultMaxAge(dataset));
    EXPECT_GT(api.max_age.at(name).count(), 0);
    const auto* route = StockRoute(dataset);
    ASSERT_NE(route, nullptr);
    EXPECT_EQ(route->handler, Handler::kStock);
    EXPECT_TRUE(route->pattern.starts_with("/v1/stocks/{code}/"));
    EXPECT_EQ(route->label, route->pattern);  // the metric label of a stock route
  }
  EXPECT_EQ(tables.size(), common::kAllDatasets.size());
  EXPECT_EQ(api.max_age.size(), common::kAllDatasets.size());
}

// What a stock route's URL asks for is its data set: the route matched hands it on, and the
// parsed query names it and its TR.
TEST(Vocabulary, EveryStockRouteHandsOnItsDataSet) {
  std::set<common::Dataset> seen;
  for (const auto& route : RouteTable()) {
    if (!route.dataset) continue;
    EXPECT_TRUE(seen.insert(*route.dataset).second) << route.pattern;
    http::Request r;
    r.method = "GET";
    r.target = "/v1/stocks/005930/" +
               std::string(route.pattern.substr(std::string_view("/v1/stocks/{code}/").size()));
    ASSERT_EQ(MatchRoute(r.Path()), &route) << r.target;
    auto parsed = ParseStockQuery(r, route, config::ApiConfig{}, "20261124");
    ASSERT_TRUE(std::holds_alternative<StockQuery>(parsed)) << r.target;
    const auto& q = std::get<StockQuery>(parsed);
    EXPECT_EQ(q.dataset, *route.dataset);
    EXPECT_EQ(q.dataset_name, common::Name(*route.dataset));
    EXPECT_EQ(kis::TrInfoFor(q.tr).dataset, *route.dataset);
    EXPECT_EQ(q.code, "005930");
  }
  EXPECT_EQ(seen.size(), common::kAllDatasets.size());
}

// Every name of the vocabulary is one the config accepts, and nothing else is.
TEST(Vocabulary, TheConfigAcceptsEveryNameAndOnlyThose) {
  const std::string keys = "[[kis.keys]]\nname='a'\napp_key='k'\napp_secret='s'\n";
  const auto parse = [&](const std::string& job) {
    return config::ParseConfig(keys + "[[jobs]]\n" + job, "test.toml",
                               [](const std::string&) { return std::optional<std::string>(); });
  };
  for (auto dataset : common::kAllDatasets) {
    const auto r = parse(fmt::format("dataset='{}'\n", common::Name(dataset)));
    ASSERT_TRUE(std::holds_alternative<config::Config>(r))
        << std::get<config::ConfigError>(r).message;
  }
  for (auto lane : common::kAllLanes) {
    const auto r = parse(fmt::format("dataset='price'\nlane='{}'\n", common::Name(lane)));
    ASSERT_TRUE(std::holds_alternative<config::Config>(r))
        << std::get<config::ConfigError>(r).message;
    EXPECT_EQ(common::ParseLane(std::get<config::Config>(r).jobs.at(0).lane), lane);
  }
  for (auto session : common::kAllSessions) {
    const auto r = parse(fmt::format("dataset='price'\nsessions=['{}']\n", common::Name(session)));
    EXPECT_EQ(std::holds_alternative<config::Config>(r), session != common::Session::kClosed)
        << common::Name(session);
  }
  const auto always = parse("dataset='price'\nsessions=['always']\n");
  EXPECT_TRUE(std::holds_alternative<config::Config>(always));
  // A refusal lists the valid names, from the vocabulary.
  const auto bad = parse("dataset='prices'\n");
  ASSERT_TRUE(std::holds_alternative<config::ConfigError>(bad));
  EXPECT_NE(
      std::get<config::ConfigError>(bad).message.find(common::JoinNames(common::kAllDatasets)),
      std::string::npos);
}

TEST(RouteTable, PatternsMatchSegmentBySegment) {
  EXPECT_TRUE(PatternMatches("/v1/stocks/{code}/price", "/v1/stocks/005930/price"));
  EXPECT_TRUE(
      PatternMatches("/v1/stocks/{code}/price", "/v1/stocks//price"));  // the code is checked later
  EXPECT_FALSE(PatternMatches("/v1/stocks/{code}/price", "/v1/stocks/005930/price/"));
  EXPECT_FALSE(PatternMatches("/v1/stocks/{code}/price", "/v1/stocks/005930"));
  EXPECT_FALSE(PatternMatches("/v1/stocks/{code}/price", "/v1/stocks/a/b/price"));
  EXPECT_TRUE(PatternMatches("/v1/stocks/{code}/bars/minute", "/v1/stocks/005930/bars/minute"));
  EXPECT_FALSE(PatternMatches("/v1/stocks/{code}/bars/minute", "/v1/stocks/005930/bars/daily"));
  EXPECT_TRUE(PatternMatches("/uapi/{path}", "/uapi/domestic-stock/v1/quotations/inquire-price"));
  EXPECT_TRUE(PatternMatches("/uapi/{path}", "/uapi/"));
  EXPECT_FALSE(PatternMatches("/uapi/{path}", "/uapi"));
  EXPECT_FALSE(PatternMatches("/uapi/{path}", "/uapix/a"));
  EXPECT_TRUE(PatternMatches("/", "/"));
  EXPECT_FALSE(PatternMatches("/", "/index.html"));
  EXPECT_FALSE(PatternMatches("/healthz", "/healthz/"));
  EXPECT_FALSE(PatternMatches("/healthz", ""));
}

// Dispatch finds each entry by its own pattern (placeholders filled in), so no entry is shadowed
// by an earlier one; every entry has a label and a summary.
TEST(RouteTable, EveryEntryIsReachable) {
  for (const auto& route : RouteTable()) {
    SCOPED_TRACE(std::string(route.pattern));
    std::string path(route.pattern);
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
      path.replace(open, path.find('}', open) - open + 1, "x");
    }
    EXPECT_EQ(MatchRoute(path), &route);
    EXPECT_FALSE(route.label.empty());
    EXPECT_FALSE(route.summary.empty());
    EXPECT_TRUE(route.method == "GET" || route.method == "POST");
  }
  EXPECT_EQ(MatchRoute("/v1/nothing"), nullptr);
  EXPECT_EQ(MatchRoute("/oauth2/tokenP")->access, Access::kOwnCredentials);
  EXPECT_EQ(MatchRoute("/oauth2/anything")->handler, Handler::kPassthrough);
  EXPECT_EQ(MatchRoute("/healthz")->access, Access::kOpen);
  // A doubled leading slash reaches the passthrough (KIS serves it) and nothing else.
  EXPECT_EQ(MatchRoute("//uapi/domestic-stock/v1/quotations/inquire-price")->handler,
            Handler::kPassthrough);
  EXPECT_EQ(MatchRoute("///oauth2/tokenP")->handler, Handler::kPassthrough);
  EXPECT_EQ(MatchRoute("//v1/stocks/005930/price"), nullptr);
  EXPECT_EQ(MatchRoute("//healthz"), nullptr);
  EXPECT_EQ(MatchRoute("//"), nullptr);
}

}  // namespace
}  // namespace kisgate::api
