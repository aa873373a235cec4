#pragma once
// Korea Standard Time (UTC+9, no daylight saving) civil-time helpers on C++20 <chrono> calendar
// types (g++ 12 has year_month_day but not zoned_time), and the KRX market calendar.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/vocabulary.hpp"

namespace kisgate::common {

inline constexpr std::chrono::hours kKstOffset{9};

struct KstTime {
  std::chrono::year_month_day date;
  std::chrono::seconds time_of_day;  // [0, 86400)
};

KstTime ToKst(WallTime t);
WallTime FromKst(std::chrono::year_month_day date, std::chrono::seconds time_of_day);

std::string FormatYmd(std::chrono::year_month_day date);  // "20261124"
std::string FormatHms(std::chrono::seconds time_of_day);  // "093000"
std::string FormatKstDateTime(WallTime t);                // "2026-11-24 09:30:00"
std::string FormatIsoKst(WallTime t);                     // "2026-11-24T09:30:00+09:00"
std::string FormatCompactKst(WallTime t);                 // "20261124093000" (a market_time)

// Strict parsers: exact widths, valid calendar dates and times.
std::optional<std::chrono::year_month_day> ParseYmd(std::string_view s);  // "20261124"
std::optional<std::chrono::seconds> ParseHms(std::string_view s);         // "093000"
// "2026-11-24 09:30:00" or "2026-11-24T09:30:00" (KST).
std::optional<WallTime> ParseKstDateTime(std::string_view s);

// The session's name (common::Name, vocabulary.hpp).
std::string_view ToString(Session s);

// KRX trading days: weekdays that are not KRX holidays. The built-in list covers the years
// kFirstYear to kLastYear (outside them every weekday counts as a trading day); more holidays can
// be added (from the config).
class MarketCalendar {
 public:
  static constexpr int kFirstYear = 2024;
  static constexpr int kLastYear = 2027;

  explicit MarketCalendar(std::vector<std::chrono::year_month_day> extra_holidays = {});

  bool IsTradingDay(std::chrono::year_month_day date) const;
  std::chrono::year_month_day PreviousTradingDay(std::chrono::year_month_day date) const;
  std::chrono::year_month_day NextTradingDay(std::chrono::year_month_day date) const;
  Session SessionAt(WallTime t) const;

  static const std::vector<std::chrono::year_month_day>& BuiltInHolidays();

 private:
  std::vector<std::chrono::year_month_day> holidays_;  // sorted
};

}  // namespace kisgate::common
