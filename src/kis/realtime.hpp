#pragma once
// KIS real-time data (kis-api.md §8) as kisgate holds it: one trade (H0STCNT0, after hours
// H0STOUP0) or one order-book snapshot (H0STASP0, after hours H0STOAA0), with KIS's string fields
// turned into numbers at the edge and plain-English names. The stream module produces them, the
// store keeps them, the API serves them.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "kis/quotes.hpp"

namespace kisgate::kis {

// The real-time TRs kisgate subscribes to.
inline constexpr std::string_view kTradesTr = "H0STCNT0";          // KRX trades
inline constexpr std::string_view kBookTr = "H0STASP0";            // KRX order book, 10 levels
inline constexpr std::string_view kOvertimeTradesTr = "H0STOUP0";  // after-hours trades
inline constexpr std::string_view kOvertimeBookTr = "H0STOAA0";    // after-hours order book
inline constexpr std::string_view kPingPongTr = "PINGPONG";

// One trade.
struct Tick {
  std::string code;          // MKSC_SHRN_ISCD
  std::string date;          // BSOP_DATE, YYYYMMDD (KST)
  std::string time;          // STCK_CNTG_HOUR, HHMMSS (KST)
  bool after_hours = false;  // from H0STOUP0
  std::int64_t price = 0;    // STCK_PRPR
  Sign sign = Sign::kUnknown;
  std::int64_t change = 0;  // PRDY_VRSS, signed
  double change_pct = 0;    // PRDY_CTRT
  double vwap = 0;          // WGHN_AVRG_STCK_PRC
  std::int64_t open = 0, high = 0, low = 0;
  std::int64_t best_ask = 0, best_bid = 0;  // ASKP1, BIDP1
  std::int64_t volume = 0;                  // CNTG_VOL: this trade
  std::int64_t cum_volume = 0;              // ACML_VOL: the day's so far
  std::int64_t cum_value = 0;               // ACML_TR_PBMN: KRW, the day's so far
  // kisgate's own: when the frame arrived, and the trade's rank among those of its code with the
  // same date and time (0, 1, 2, ...), so (code, date, time, seq) names one trade.
  common::WallTime received_at{};
  std::uint32_t seq = 0;
};

// One order-book snapshot.
struct BookSnapshot {
  std::string code;          // MKSC_SHRN_ISCD
  std::string date;          // YYYYMMDD (KST): the frame has none; the session's trading day
  std::string time;          // BSOP_HOUR, HHMMSS
  bool after_hours = false;  // from H0STOAA0 (9 levels; the 10th stays 0)
  std::array<BookLevel, 10> asks{};  // [0] = best; quantity_change is 0 (the TR has none)
  std::array<BookLevel, 10> bids{};
  std::int64_t total_ask_quantity = 0, total_bid_quantity = 0;
  std::int64_t expected_price = 0, expected_volume = 0;
  std::int64_t cum_volume = 0;  // ACML_VOL
  common::WallTime received_at{};
};

// A trade moves the price fields of a quote (price, change and its sign and percentage, open,
// high, low, the day's volume and traded value) and leaves the rest (limits, PER, sector, ...).
inline void ApplyTrade(PriceQuote& quote, const Tick& trade) {
  quote.code = trade.code;
  quote.price = trade.price;
  quote.change = trade.change;
  quote.sign = trade.sign;
  quote.change_pct = trade.change_pct;
  quote.open = trade.open;
  quote.high = trade.high;
  quote.low = trade.low;
  quote.volume = trade.cum_volume;
  quote.traded_value = trade.cum_value;
}

}  // namespace kisgate::kis
