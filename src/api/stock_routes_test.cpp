#include "api/stock_routes.hpp"

#include <gtest/gtest.h>

namespace kisgate::api {
namespace {

using namespace std::chrono_literals;

// The query of `target` as the route table matches it; a 404 error when no stock route does.
std::variant<StockQuery, QueryError> Parse(const std::string& target) {
  http::Request r;
  r.method = "GET";
  r.target = target;
  const auto* route = MatchRoute(r.Path());
  if (route == nullptr || !route->dataset) return QueryError{404, "not_found", target, {}};
  return ParseStockQuery(r, *route, config::ApiConfig{}, "20261124");
}

QueryError ErrorOf(const std::string& target) {
  auto p = Parse(target);
  EXPECT_TRUE(std::holds_alternative<QueryError>(p)) << target;
  return std::holds_alternative<QueryError>(p) ? std::get<QueryError>(p) : QueryError{};
}

TEST(StockQuery, DefaultsFromTheConfigAndOverrides) {
  auto q = std::get<StockQuery>(Parse("/v1/stocks/005930/price"));
  EXPECT_EQ(q.code, "005930");
  EXPECT_EQ(q.dataset, common::Dataset::kPrice);
  EXPECT_EQ(q.dataset_name, "price");
  EXPECT_EQ(q.route, StockRoute(common::Dataset::kPrice));
  EXPECT_EQ(q.max_age, 5s);  // [api.max_age] price
  q = std::get<StockQuery>(Parse("/v1/stocks/005930/orderbook?max_age=0.25"));
  EXPECT_EQ(q.max_age, 250ms);
  q = std::get<StockQuery>(Parse("/v1/stocks/0000J0/overtime"));  // letters are valid in codes
  EXPECT_EQ(q.dataset_name, "overtime_price");
  q = std::get<StockQuery>(Parse("/v1/stocks/005930/overtime-orderbook"));
  EXPECT_EQ(q.dataset_name, "overtime_orderbook");
  EXPECT_EQ(q.max_age, 5s);  // [api.max_age] overtime_orderbook
  q = std::get<StockQuery>(Parse("/v1/stocks/005930/bars/daily?to=2026-11-20&format=csv"));
  EXPECT_TRUE(q.csv);
  EXPECT_EQ(q.to, "20261120");
  EXPECT_EQ(q.from, "20260703");  // 140 days before
  q = std::get<StockQuery>(Parse("/v1/stocks/005930/bars/minute?date=20261120"));
  EXPECT_EQ(q.date, "20261120");
  q = std::get<StockQuery>(Parse("/v1/stocks/005930/bars/daily"));
  EXPECT_EQ(q.to, "20261124");  // today
}

TEST(StockQuery, EveryProblemIsNamed) {
  auto e = ErrorOf("/v1/stocks/abc/price");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "invalid_stock_code");
  EXPECT_EQ(ErrorOf("/v1/stocks/0059301/price").code, "invalid_stock_code");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/quote").status, 404);  // no route: the table's 404
  EXPECT_EQ(ErrorOf("/v1/stocks/005930").status, 404);
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/price?max_age=-1").code, "bad_max_age");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/price?max_age=nan").code, "bad_max_age");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/price?max_age=").code, "bad_max_age");
  auto unknown = ErrorOf("/v1/stocks/005930/price?date=2026-11-24");
  EXPECT_EQ(unknown.code, "unknown_parameter");
  EXPECT_NE(unknown.hint.find("max_age"), std::string::npos);
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/bars/minute?format=xlsx").code, "bad_format");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/bars/minute?date=2026-02-30").code, "bad_date");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/bars/daily?from=2026-11-20&to=2026-11-01").code,
            "bad_range");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/bars/daily?from=2010-01-01&to=2026-11-01").code,
            "bad_range");
  EXPECT_EQ(ErrorOf("/v1/stocks/005930/price?max_age=%zz").code, "bad_query");
}

}  // namespace
}  // namespace kisgate::api
