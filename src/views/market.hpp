#pragma once
// How kisgate shows market values and times, one way for every reply: the REST answers
// (/v1/stocks/...), the stream events (/v1/stream, /v1/ws) and the status documents. KIS's typed
// quotes (kis/quotes.hpp, kis/realtime.hpp) become JSON with plain-English field names, numbers
// as numbers, and:
//   - a moment (a KIS time of day on its date, or when kisgate fetched or received something) as
//     ISO 8601 in KST with milliseconds: "2026-11-24T09:30:00.000+09:00";
//   - a day alone as "2026-11-24";
//   - the day's totals as `volume` (shares) and `traded_value_krw`, in a quote and in a trade
//     alike; one trade's own size is `trade_volume`;
//   - an order book's levels best first, without the empty levels KIS pads a thin book with.
// The *Fields functions write into an object the caller opened (it adds its own fields around
// them); the others write a whole value. A test pins the field names and formats.

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "kis/quotes.hpp"
#include "kis/realtime.hpp"
#include "views/json_writer.hpp"

namespace kisgate::views {

// "2026-11-24T09:30:00.123+09:00".
std::string Time(common::WallTime t);
void AppendTime(std::string& out, common::WallTime t);
// KIS's YYYYMMDD and HHMMSS as a moment ("2026-11-24T09:30:00.000+09:00"); a day alone
// ("2026-11-24") without a time of six digits; the text as given when the day is not 8 characters.
std::string MarketTime(std::string_view ymd, std::string_view hms);
std::string Date(std::string_view ymd);

// /v1/stocks/{code}/price, and the price fields of a trade and of a polled price event.
void PriceFields(JsonWriter& w, const kis::PriceQuote& q);
// /v1/stocks/{code}/orderbook: `date` is the day of the book's time (a time of day).
void OrderBookFields(JsonWriter& w, const kis::OrderBook& b, std::string_view date);
void OvertimeFields(JsonWriter& w, const kis::OvertimePrice& p);
// The after-hours book in the order book's shape, without the fields KIS does not send for it.
void OvertimeBookFields(JsonWriter& w, const kis::OvertimeBook& b, std::string_view date);
void InvestorDay(JsonWriter& w, const kis::InvestorDay& d);  // an object
void Bar(JsonWriter& w, const kis::Bar& b);                  // an object

// The stream's events: a trade ("trade"), a book ("book"), a price polled over REST ("price").
void TradeFields(JsonWriter& w, const kis::Tick& t);
void BookFields(JsonWriter& w, const kis::BookSnapshot& b);
void PolledPriceFields(JsonWriter& w, const kis::PriceQuote& q, common::WallTime as_of);

// "time" of a bar: a moment for a minute bar, a day for a daily bar.
std::string BarTime(const kis::Bar& b);
// Header line plus one line per bar, in the order given (RFC 4180; no field needs quoting).
std::string BarsCsv(const std::vector<kis::Bar>& bars);

}  // namespace kisgate::views
