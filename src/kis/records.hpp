#pragma once
// KIS replies <-> records (kis/record.hpp), both directions in one place.
//
// Into records: single-value data sets (price, order book, after-hours) become one record keyed
// by the cycle's time; row data sets (investor flows, bars) one record per row, keyed by the row's
// own date (and time). Each record keeps the JSON it came from: the whole reply for a single
// value, the row's own object for a row.
//
// Out of records: the typed values the API renders, read from a record's typed columns where they
// hold everything (bars) and from its raw JSON otherwise; never by rebuilding a KIS reply.

#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "kis/errors.hpp"
#include "kis/quotes.hpp"
#include "kis/record.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::kis {

// `market_time` is the cycle's scheduled start, KST "YYYYMMDDHHMMSS" (the key of single values);
// `collected_at` when the reply came. A reply without the expected output is a Classification
// ("malformed_reply").
std::variant<std::vector<Record>, Classification> ToRecords(Tr tr, const std::string& code,
                                                            const std::string& body,
                                                            const std::string& market_time,
                                                            common::WallTime collected_at);

// A stored bar (bars_minute or bars_daily) from its key and typed columns.
Bar BarOf(const Record& record);
// A stored day of investor flows, from the row's JSON.
Parsed<InvestorDay> InvestorDayOf(const Record& record);
// A stored single value, from the reply it keeps.
Parsed<PriceQuote> PriceOf(const Record& record);
Parsed<OrderBook> OrderBookOf(const Record& record);
Parsed<OvertimePrice> OvertimePriceOf(const Record& record);
Parsed<OvertimeBook> OvertimeBookOf(const Record& record);

// A single value (price, order book, after-hours price or book), typed: what the API keeps of the
// latest value of a code.
using SingleValue = std::variant<PriceQuote, OrderBook, OvertimePrice, OvertimeBook>;
bool IsSingleValue(Tr tr);
// The typed value of a stored single value of `tr`'s data set ("malformed_reply" when it cannot
// be read, or when `tr` is not a single value).
Parsed<SingleValue> SingleValueOf(Tr tr, const Record& record);
// A reply of a single-value TR read once: its record (as ToRecords makes it) and its typed value.
struct SingleValueRecord {
  Record record;
  SingleValue value;
};
std::variant<SingleValueRecord, Classification> ToSingleValue(Tr tr, const std::string& code,
                                                              const std::string& body,
                                                              const std::string& market_time,
                                                              common::WallTime collected_at);

}  // namespace kisgate::kis
