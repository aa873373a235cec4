#pragma once
// The REST API's view of KIS data: typed quotes (kis/quotes.hpp) as JSON with plain-English field
// names, numbers as numbers and times as ISO 8601 with +09:00; bars also as CSV. Pure functions,
// so the shapes are tested without sockets and documented once in openapi.json.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "kis/quotes.hpp"

namespace kisgate::api {

boost::json::object PriceJson(const kis::PriceQuote& q);
boost::json::object OrderBookJson(const kis::OrderBook& b, std::string_view date);
boost::json::object InvestorDayJson(const kis::InvestorDay& d);
boost::json::object OvertimeJson(const kis::OvertimePrice& p);
// The after-hours book in the order book's shape, without the fields KIS does not send for it
// (quantity changes, the expected price).
boost::json::object OvertimeBookJson(const kis::OvertimeBook& b, std::string_view date);
boost::json::object BarJson(const kis::Bar& b);

// KIS's date and time fields as ISO 8601: "20261124" + "093000" -> "2026-11-24T09:30:00+09:00";
// without a time, the date alone ("2026-11-24").
std::string IsoKst(std::string_view ymd, std::string_view hms);

// "time" of a bar: "2026-11-24T09:01:00+09:00" for a minute bar, "2026-11-24" for a daily bar.
std::string BarTime(const kis::Bar& b);
// Header line plus one line per bar, oldest first (RFC 4180; no field needs quoting).
std::string BarsCsv(const std::vector<kis::Bar>& bars);

}  // namespace kisgate::api
