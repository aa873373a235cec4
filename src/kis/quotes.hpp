#pragma once
// Typed results of the seven quotation TRs (kis-api.md §4): KIS's string fields become numbers and
// dates here, at the edge, with plain-English names. The raw JSON stays available to callers that
// need fields not modelled (passthrough, storage of the whole reply).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kis/errors.hpp"

namespace kisgate::kis {

// prdy_vrss_sign: 1 limit-up, 2 up, 3 flat, 4 limit-down, 5 down.
enum class Sign { kUnknown = 0, kLimitUp = 1, kUp = 2, kFlat = 3, kLimitDown = 4, kDown = 5 };
// "up", "down", "flat", "limit_up", "limit_down", "unknown": the API's and the stream's word.
std::string_view Name(Sign sign);

struct PriceQuote {
  std::string code;
  std::int64_t price = 0;
  std::int64_t change = 0;
  Sign sign = Sign::kUnknown;
  double change_pct = 0;
  std::int64_t open = 0, high = 0, low = 0;
  std::int64_t upper_limit = 0, lower_limit = 0, base_price = 0;
  std::int64_t volume = 0;
  std::int64_t traded_value = 0;  // KRW
  double foreign_ownership_pct = 0;
  std::int64_t foreign_net_buy = 0;
  double per = 0, pbr = 0, eps = 0, bps = 0;
  std::int64_t market_cap_100m_krw = 0;  // hts_avls, in 억원
  std::int64_t high_52w = 0, low_52w = 0;
  std::int64_t tick_size = 0;
  std::string sector;
  std::string status_code;
  bool halted = false;
};

struct BookLevel {
  std::int64_t price = 0;
  std::int64_t quantity = 0;
  std::int64_t quantity_change = 0;
};

struct OrderBook {
  std::string time;                  // HHMMSS
  std::array<BookLevel, 10> asks{};  // [0] = best
  std::array<BookLevel, 10> bids{};
  std::int64_t total_ask_quantity = 0, total_bid_quantity = 0;
  std::int64_t expected_price = 0, expected_volume = 0;
  std::int64_t expected_change = 0;
  Sign expected_sign = Sign::kUnknown;
  double expected_change_pct = 0;
};

struct InvestorFlow {
  std::int64_t net_quantity = 0, net_value = 0;  // value in million KRW (as KIS sends it)
  std::int64_t buy_quantity = 0, buy_value = 0;
  std::int64_t sell_quantity = 0, sell_value = 0;
};

struct InvestorDay {
  std::string date;  // YYYYMMDD
  std::int64_t close = 0, change = 0;
  Sign sign = Sign::kUnknown;
  InvestorFlow individuals, foreigners, institutions;
};

struct OvertimePrice {
  std::int64_t price = 0, change = 0;
  Sign sign = Sign::kUnknown;
  double change_pct = 0;
  std::int64_t volume = 0, traded_value = 0;
  std::int64_t upper_limit = 0, lower_limit = 0, open = 0, high = 0, low = 0;
  std::int64_t expected_price = 0, expected_quantity = 0, base_price = 0;
  std::int64_t best_bid = 0, best_ask = 0;
};

struct OvertimeBook {
  std::string time;  // HHMMSS
  std::array<BookLevel, 10> asks{};
  std::array<BookLevel, 10> bids{};
  std::int64_t total_ask_quantity = 0, total_bid_quantity = 0;
};

struct Bar {
  std::string date;  // YYYYMMDD
  std::string time;  // HHMMSS for minute bars, empty for daily bars
  std::int64_t open = 0, high = 0, low = 0, close = 0;
  std::int64_t volume = 0;
  std::int64_t traded_value = 0;
};

template <class T>
using Parsed = std::variant<T, Classification>;

// Each parser takes a whole reply body that Classify() called a success; a body without the
// expected output, or with a field that is not a number where one is due, comes back as a
// Classification with code "malformed_reply". Never throws.
Parsed<PriceQuote> ParsePrice(std::string_view body);
Parsed<OrderBook> ParseOrderBook(std::string_view body);
// The row parsers also give, when `rows` is not null, each parsed row's own JSON object
// (serialized, one per returned element, in the same order), from the same single parse.
Parsed<std::vector<InvestorDay>> ParseInvestors(std::string_view body,
                                                std::vector<std::string>* rows = nullptr);
Parsed<OvertimePrice> ParseOvertimePrice(std::string_view body);
Parsed<OvertimeBook> ParseOvertimeBook(std::string_view body);
// Newest first, as sent.
Parsed<std::vector<Bar>> ParseMinuteBars(std::string_view body,
                                         std::vector<std::string>* rows = nullptr);
Parsed<std::vector<Bar>> ParseDailyBars(std::string_view body,
                                        std::vector<std::string>* rows = nullptr);
// One row of ParseInvestors' `output` array on its own (as the store keeps it).
Parsed<InvestorDay> ParseInvestorRow(std::string_view row);

}  // namespace kisgate::kis
