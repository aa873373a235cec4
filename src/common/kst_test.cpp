#include "common/kst.hpp"

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

using namespace std::chrono;

TEST(Kst, RoundTripsAndFormats) {
  EXPECT_EQ(FormatCompactKst(*ParseKstDateTime("2026-11-24 09:30:05")), "20261124093005");
  auto t = *ParseKstDateTime("2026-11-24 09:30:05");
  EXPECT_EQ(FormatKstDateTime(t), "2026-11-24 09:30:05");
  EXPECT_EQ(FormatIsoKst(t), "2026-11-24T09:30:05+09:00");
  auto k = ToKst(t);
  EXPECT_EQ(FormatYmd(k.date), "20261124");
  EXPECT_EQ(FormatHms(k.time_of_day), "093005");
  // 09:30 KST is 00:30 UTC.
  EXPECT_EQ(duration_cast<seconds>(t.time_since_epoch()).count() % 86400, 30 * 60 + 5);
  EXPECT_EQ(ParseKstDateTime("2026-11-24T09:30:05"), t);
  // Just after midnight KST is the previous day in UTC: the KST date must still be the 25th.
  EXPECT_EQ(FormatYmd(ToKst(*ParseKstDateTime("2026-11-25 00:10:00")).date), "20261125");
}

TEST(Kst, StrictParsers) {
  EXPECT_TRUE(ParseYmd("20260229") == std::nullopt);  // not a leap year
  EXPECT_TRUE(ParseYmd("20280229").has_value());
  EXPECT_FALSE(ParseYmd("2026111").has_value());
  EXPECT_FALSE(ParseYmd("2026-11-").has_value());
  EXPECT_FALSE(ParseHms("240000").has_value());
  EXPECT_FALSE(ParseHms("09300").has_value());
  EXPECT_FALSE(ParseHms("0930a0").has_value());
  EXPECT_EQ(ParseHms("153000"), hours{15} + minutes{30});
  EXPECT_FALSE(ParseKstDateTime("2026-11-24 25:00:00").has_value());
  EXPECT_FALSE(ParseKstDateTime("yesterday").has_value());
}

TEST(MarketCalendar, WeekendsAndHolidays) {
  MarketCalendar cal;
  EXPECT_TRUE(cal.IsTradingDay(year{2026} / 11 / 24));   // Tuesday
  EXPECT_FALSE(cal.IsTradingDay(year{2026} / 11 / 28));  // Saturday
  EXPECT_FALSE(cal.IsTradingDay(year{2026} / 12 / 25));  // Christmas
  EXPECT_FALSE(cal.IsTradingDay(year{2026} / 12 / 31));  // year-end closing
  EXPECT_FALSE(cal.IsTradingDay(year{2026} / 2 / 17));   // Seollal
  EXPECT_EQ(cal.PreviousTradingDay(year{2026} / 11 / 30), year{2026} / 11 / 27);
  EXPECT_EQ(cal.NextTradingDay(year{2026} / 12 / 30), year{2027} / 1 / 4);
  MarketCalendar extra({year{2026} / 11 / 24});
  EXPECT_FALSE(extra.IsTradingDay(year{2026} / 11 / 24));
}

int TradingDaysBetween(const MarketCalendar& cal, year_month_day from, year_month_day to) {
  int n = 0;
  for (sys_days d{from}; d <= sys_days{to}; d += days{1}) n += cal.IsTradingDay(year_month_day{d});
  return n;
}

// The calendar knows 2024 (where the simulator's history starts): KRX counted 244 trading days in
// 2024 and 19 in June 2024 (6 June, Memorial Day, closed).
TEST(MarketCalendar, Knows2024) {
  MarketCalendar cal;
  EXPECT_EQ(TradingDaysBetween(cal, year{2024} / 6 / 1, year{2024} / 6 / 30), 19);
  EXPECT_EQ(TradingDaysBetween(cal, year{2024} / 1 / 1, year{2024} / 12 / 31), 244);
  EXPECT_FALSE(cal.IsTradingDay(year{2024} / 4 / 10));  // general election
  EXPECT_FALSE(cal.IsTradingDay(year{2024} / 10 / 1));  // Armed Forces Day, 2024 only
  EXPECT_TRUE(cal.IsTradingDay(year{2025} / 10 / 1));
  EXPECT_EQ(cal.NextTradingDay(year{2024} / 12 / 30), year{2025} / 1 / 2);
  EXPECT_EQ(MarketCalendar::kFirstYear, 2024);
}
TEST(MarketCalendar, Sessions) {
  MarketCalendar cal;
  auto at = [&](const char* s) { return cal.SessionAt(*ParseKstDateTime(s)); };
  EXPECT_EQ(at("2026-11-24 08:29:59"), Session::kClosed);
  EXPECT_EQ(at("2026-11-24 08:30:00"), Session::kPreOpen);
  EXPECT_EQ(at("2026-11-24 09:00:00"), Session::kRegular);
  EXPECT_EQ(at("2026-11-24 15:19:59"), Session::kRegular);
  EXPECT_EQ(at("2026-11-24 15:25:00"), Session::kClosingAuction);
  EXPECT_EQ(at("2026-11-24 15:35:00"), Session::kClosed);
  EXPECT_EQ(at("2026-11-24 15:45:00"), Session::kAfterClose);
  EXPECT_EQ(at("2026-11-24 17:59:59"), Session::kAfterHours);
  EXPECT_EQ(at("2026-11-24 18:00:00"), Session::kClosed);
  EXPECT_EQ(at("2026-11-28 10:00:00"), Session::kClosed);  // Saturday
}

}  // namespace
}  // namespace kisgate::common

#include "common/stock_code.hpp"

namespace kisgate::common {
namespace {

TEST(StockCode, SixDigitsOrCapitals) {
  EXPECT_TRUE(IsStockCode("005930"));
  EXPECT_TRUE(IsStockCode("0000J0"));
  EXPECT_FALSE(IsStockCode("5930"));
  EXPECT_FALSE(IsStockCode("0059301"));
  EXPECT_FALSE(IsStockCode("00593a"));
  EXPECT_FALSE(IsStockCode("005 30"));
  EXPECT_FALSE(IsStockCode(""));
}

}  // namespace
}  // namespace kisgate::common
