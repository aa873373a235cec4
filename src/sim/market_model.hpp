#pragma once
// Deterministic market data for the simulator: for a seed and a (simulated) time, every stock has a
// daily close series, and every trading day an intraday path from 09:00 to 15:30 on the KRX tick
// grid. All TRs are views of that one path, so they agree with each other the way KIS's do: the
// order book straddles the current price, and the minute bars aggregate exactly to the day's
// open/high/low/close/volume so far.
//
// Thread-safety: const methods may be called from any thread (caches are mutex-protected).

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/kst.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {

using Date = std::chrono::year_month_day;

// The KRX tick size for a price (the unified grid since 2023).
std::int64_t TickSize(std::int64_t price);
std::int64_t RoundToTick(double price);
std::int64_t FloorToTick(double price);
std::int64_t CeilToTick(double price);

struct Ohlcv {
  std::int64_t open = 0, high = 0, low = 0, close = 0;
  std::int64_t volume = 0;
  std::int64_t value = 0;  // KRW
};

struct DayBar : Ohlcv {
  Date date;
  std::int64_t prev_close = 0;
};

struct MinuteBar : Ohlcv {
  Date date;
  int minute = 0;              // minutes after 09:00; the bar covers [minute, minute + 1)
  std::int64_t cum_value = 0;  // the day's traded value up to the end of this bar (so far)
};

// A stock as of an instant.
struct Snapshot {
  Date day;           // the trading day the values belong to
  bool live = false;  // that day's session is in progress
  std::int64_t prev_close = 0;
  std::int64_t price = 0, open = 0, high = 0, low = 0;
  std::int64_t volume = 0, value = 0;
  std::int64_t upper_limit = 0, lower_limit = 0;
  std::int64_t high_52w = 0, low_52w = 0;  // over the last 250 trading days, this one included
  Date high_52w_day{}, low_52w_day{};
  std::int64_t year_high = 0, year_low = 0;  // since the first trading day of the year
  Date year_high_day{}, year_low_day{};
  // The previous trading day (the day itself on the first day of the history).
  std::int64_t prev_open = 0, prev_high = 0, prev_low = 0, prev_volume = 0;
};

// One trade of the recent-trades list (inquire-ccnl): a slice of the intraday path.
struct Trade {
  Date date;
  int second = 0;  // seconds after 09:00
  std::int64_t price = 0, volume = 0;
  double strength = 100;  // buy volume / sell volume, percent (KIS's tday_rltv)
};

// One trade of the real-time stream (H0STCNT0): trades are laid on the same intraday path, so a
// minute's trades aggregate exactly to that minute's bar (open = first, close = last, high/low,
// volume sum) and the cumulative volume after a second's last trade is what the REST TRs report
// once that second has passed.
struct StreamTrade {
  int second = 0;  // seconds after 09:00: the trade's STCK_CNTG_HOUR second
  std::int64_t price = 0, volume = 0;
  std::int64_t cum_volume = 0, cum_value = 0;  // the day's, this trade included
  std::int64_t high = 0, low = 0;              // the day's so far, this trade included
};

struct StreamSecond {
  Date date;              // the trading day
  std::int64_t open = 0;  // the day's open
  std::vector<StreamTrade> trades;
};

struct Book {
  std::array<std::int64_t, 10> ask_price{}, bid_price{}, ask_qty{}, bid_qty{}, ask_change{},
      bid_change{};
  std::int64_t total_ask = 0, total_bid = 0;
  std::int64_t expected_price = 0, expected_volume = 0;
  std::int64_t price = 0, prev_close = 0;
};

struct InvestorGroup {
  std::int64_t buy_qty = 0, sell_qty = 0, buy_value = 0, sell_value = 0;  // values in KRW
};

struct InvestorDay {
  Date date;
  std::int64_t close = 0, prev_close = 0;
  InvestorGroup individuals, foreigners, institutions;
};

struct Overtime {
  Date day;
  std::int64_t base = 0;  // the day's close
  std::int64_t price = 0, open = 0, high = 0, low = 0, volume = 0, value = 0;
  std::int64_t upper_limit = 0, lower_limit = 0;
  std::int64_t expected_price = 0, expected_qty = 0;
  int last_match_hhmmss = 0;  // 0 when no match yet
  std::array<std::int64_t, 10> ask_price{}, bid_price{}, ask_qty{}, bid_qty{};
};

class MarketModel {
 public:
  MarketModel(std::uint64_t seed, const Universe& universe, const common::MarketCalendar& calendar);
  ~MarketModel();

  Snapshot QuoteAt(const StockInfo& stock, common::WallTime t) const;
  Book BookAt(const StockInfo& stock, common::WallTime t) const;
  // The latest trading day's minute bars starting at or before `at_or_before` (seconds of the day,
  // KST), newest first, at most `max`; the first is the minute in progress.
  std::vector<MinuteBar> MinuteBars(const StockInfo& stock, common::WallTime now,
                                    std::chrono::seconds at_or_before, std::size_t max) const;
  // Bars over [from, to] by period 'D', 'W', 'M' or 'Y', newest first, at most `max`.
  std::vector<DayBar> DailyBars(const StockInfo& stock, Date from, Date to, char period,
                                common::WallTime now, std::size_t max) const;
  // Daily investor flows, newest first; today's row only once the session has closed.
  std::vector<InvestorDay> Investors(const StockInfo& stock, common::WallTime now,
                                     std::size_t count) const;
  Overtime OvertimeAt(const StockInfo& stock, common::WallTime now) const;
  // The latest trades of the current (or last) session, newest first, at most `max`: the path
  // sliced every few seconds, so their volumes add up to the day's.
  std::vector<Trade> RecentTrades(const StockInfo& stock, common::WallTime now,
                                  std::size_t max) const;
  // The stream's trades of one second [second, second + 1) of the regular session of `date` (a
  // trading day the model covers), about `rate` per second (at least one in a second that saw
  // volume, never more than its volume). Deterministic: the same arguments give the same trades.
  StreamSecond StreamTrades(const StockInfo& stock, Date date, int second, double rate) const;

  // The trading days the model covers: those of the calendar's built-in years, from the first
  // trading day of MarketCalendar::kFirstYear (2 January 2024) to the last of kLastYear. Nothing
  // exists before; past the end the last day stays current.
  Date FirstDay() const { return days_.front(); }
  Date LastDay() const { return days_.back(); }

 private:
  struct Path;
  struct DayShape;

  int DayIndex(Date d) const;  // -1 when not a covered trading day
  int LatestDayAtOrBefore(Date d) const;
  // The trading day whose data is current at `t`, and seconds since 09:00 (capped at the close).
  void Reference(common::WallTime t, int& day, int& seconds) const;
  std::int64_t Close(const StockInfo& s, int day) const;
  DayShape Shape(const StockInfo& s, int day) const;
  std::shared_ptr<const Path> PathFor(const StockInfo& s, int day) const;
  Ohlcv SoFar(const StockInfo& s, int day, int seconds) const;  // the day up to `seconds`
  static MinuteBar BarSoFar(const Path& p, int minute, int seconds_into);
  // The path's price at `seconds_into` (0..60) of `minute`, between whole seconds too.
  static std::int64_t PathPrice(const Path& p, int minute, double seconds_into);
  double Volatility(const StockInfo& s) const;

  // Highest high and lowest low over the finished days [from, to) and the days they happened
  // (the earliest on a tie), cached: a 52-week range costs a few hundred formula evaluations.
  struct Range {
    std::int64_t high = 0, low = std::numeric_limits<std::int64_t>::max();
    int high_day = -1, low_day = -1;
  };
  Range RangeOver(const StockInfo& s, int from, int to) const;

  std::uint64_t seed_;
  const common::MarketCalendar& calendar_;
  std::vector<Date> days_;  // trading days from the anchor on

  mutable std::mutex mutex_;
  mutable std::vector<std::vector<std::int64_t>> closes_;  // per stock index, grown on demand
  mutable std::unordered_map<std::uint64_t, Range> ranges_;
  mutable std::list<std::uint64_t> lru_;
  mutable std::unordered_map<
      std::uint64_t, std::pair<std::shared_ptr<const Path>, std::list<std::uint64_t>::iterator>>
      paths_;
};

}  // namespace kisgate::sim
