// libFuzzer target: any request target under /v1/stocks/ matches no route or gets a StockQuery or
// a QueryError with a 4xx status, never a crash, and what is accepted holds: a stock code, the
// route's data set, dates that are dates, a daily range in order. Input: the target after
// "/v1/stocks/" (path and query).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "api/routes.hpp"
#include "api/stock_routes.hpp"
#include "common/kst.hpp"
#include "common/stock_code.hpp"
#include "config/config.hpp"
#include "http/message.hpp"

using namespace kisgate;

namespace {

void Check(bool holds) {
  if (!holds) std::abort();
}

bool IsDate(const std::string& s) { return s.size() == 8 && common::ParseYmd(s).has_value(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Request request;
  request.method = "GET";
  request.target = "/v1/stocks/" + std::string(in);
  static const config::ApiConfig api;
  const auto* route = api::MatchRoute(request.Path());
  if (route == nullptr || !route->dataset) return 0;  // the route table's 404
  const auto parsed = api::ParseStockQuery(request, *route, api, "20261124");
  if (const auto* e = std::get_if<api::QueryError>(&parsed)) {
    Check(e->status >= 400 && e->status < 500 && !e->code.empty() && !e->message.empty());
    return 0;
  }
  const auto& q = std::get<api::StockQuery>(parsed);
  Check(q.route == route && q.dataset == *route->dataset && common::IsStockCode(q.code) &&
        !q.dataset_name.empty());
  Check(q.max_age.count() >= 0);
  Check(q.date.empty() || IsDate(q.date));
  if (q.tr == kis::Tr::kDailyBars) Check(IsDate(q.from) && IsDate(q.to) && q.from <= q.to);
  // The pieces on their own, as other routes use them.
  (void)http::ParseQuery(request.Query());
  (void)api::ParseDateParam(in);
  return 0;
}
