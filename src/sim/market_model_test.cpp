#include "sim/market_model.hpp"

#include <limits>
#include <set>

#include <gtest/gtest.h>

namespace kisgate::sim {
namespace {

using namespace std::chrono;

common::WallTime At(const char* kst) { return *common::ParseKstDateTime(kst); }

class MarketModelTest : public ::testing::Test {
 protected:
  const Universe& universe_ = Universe::Default();
  common::MarketCalendar calendar_;
  MarketModel market_{7, universe_, calendar_};
  const StockInfo& samsung_ = *universe_.Find("005930");
};

TEST(Universe, WholeMarketSizeWithKnownNames) {
  const auto& u = Universe::Default();
  EXPECT_GE(u.All().size(), 2700u);
  ASSERT_NE(u.Find("005930"), nullptr);
  EXPECT_EQ(u.Find("005930")->name, "삼성전자");
  EXPECT_EQ(u.Find("000660")->name, "SK하이닉스");
  EXPECT_EQ(u.Find("999999"), nullptr);
  std::set<std::string> codes;
  for (const auto& s : u.All()) {
    EXPECT_EQ(s.code.size(), 6u);
    codes.insert(s.code);
  }
  EXPECT_EQ(codes.size(), u.All().size());
}

TEST(TickGrid, KrxBands) {
  EXPECT_EQ(TickSize(1999), 1);
  EXPECT_EQ(TickSize(4995), 5);
  EXPECT_EQ(TickSize(19990), 10);
  EXPECT_EQ(TickSize(49950), 50);
  EXPECT_EQ(TickSize(71500), 100);
  EXPECT_EQ(TickSize(372000), 500);
  EXPECT_EQ(TickSize(985000), 1000);
  EXPECT_EQ(RoundToTick(71549), 71500);
  EXPECT_EQ(RoundToTick(71551), 71600);
}

TEST_F(MarketModelTest, SameSeedSameDataOtherSeedOtherData) {
  MarketModel again(7, universe_, calendar_);
  MarketModel other(8, universe_, calendar_);
  auto t = At("2026-11-24 11:17:45");
  EXPECT_EQ(market_.QuoteAt(samsung_, t).price, again.QuoteAt(samsung_, t).price);
  EXPECT_EQ(market_.QuoteAt(samsung_, t).volume, again.QuoteAt(samsung_, t).volume);
  int differences = 0;
  for (int i = 0; i < 20; ++i) {
    const auto& s = universe_.All()[static_cast<std::size_t>(i)];
    differences += market_.QuoteAt(s, t).price != other.QuoteAt(s, t).price;
  }
  EXPECT_GE(differences, 15);
}

TEST_F(MarketModelTest, PricesOnTickGridAndInsideLimits) {
  for (const char* when : {"2026-11-24 09:00:00", "2026-11-24 10:03:17", "2026-11-24 15:29:59",
                           "2026-11-24 20:00:00", "2026-11-28 12:00:00"}) {
    for (std::size_t i = 0; i < 300; ++i) {
      const auto& s = universe_.All()[i];
      auto q = market_.QuoteAt(s, At(when));
      ASSERT_EQ(q.price % TickSize(q.price), 0) << s.code << " " << when << " " << q.price;
      ASSERT_LE(q.low, q.price);
      ASSERT_LE(q.price, q.high);
      ASSERT_LE(q.high, q.upper_limit);
      ASSERT_GE(q.low, q.lower_limit);
      ASSERT_LE(q.high, q.high_52w);
      ASSERT_GE(q.low, q.low_52w);
    }
  }
}

TEST_F(MarketModelTest, BookStraddlesThePrice) {
  for (const char* when : {"2026-11-24 09:30:00", "2026-11-24 14:59:31"}) {
    for (std::size_t i = 0; i < 100; ++i) {
      const auto& s = universe_.All()[i];
      auto b = market_.BookAt(s, At(when));
      ASSERT_LE(b.bid_price[0], b.price);
      ASSERT_LE(b.price, b.ask_price[0]);
      ASSERT_LT(b.bid_price[0], b.ask_price[0]);
      std::int64_t total_ask = 0;
      for (std::size_t l = 0; l < 10; ++l) total_ask += b.ask_qty[l];
      ASSERT_EQ(total_ask, b.total_ask);
      for (std::size_t l = 0; l + 1 < 10; ++l) {
        if (b.ask_price[l + 1]) {
          ASSERT_LT(b.ask_price[l], b.ask_price[l + 1]);
        }
        if (b.bid_price[l + 1]) {
          ASSERT_GT(b.bid_price[l], b.bid_price[l + 1]);
        }
      }
    }
  }
}

// The day so far equals its minute bars: high, low, volume, open and current price.
TEST_F(MarketModelTest, MinuteBarsAggregateExactlyToTheDay) {
  for (const char* when : {"2026-11-24 09:00:30", "2026-11-24 11:17:45", "2026-11-24 15:29:59",
                           "2026-11-24 17:00:00"}) {
    for (std::size_t i = 0; i < 50; ++i) {
      const auto& s = universe_.All()[i];
      const auto now = At(when);
      const auto q = market_.QuoteAt(s, now);
      // Page back 30 bars at a time from "now", as a client does.
      std::vector<MinuteBar> all;
      seconds cursor{23 * 3600};
      for (;;) {
        auto page = market_.MinuteBars(s, now, cursor, 30);
        all.insert(all.end(), page.begin(), page.end());
        if (page.size() < 30 || page.back().minute == 0) break;
        cursor = seconds{9 * 3600 + (page.back().minute - 1) * 60};
      }
      ASSERT_FALSE(all.empty());
      for (std::size_t k = 0; k + 1 < all.size(); ++k) {
        ASSERT_EQ(all[k].minute, all[k + 1].minute + 1) << "gap or duplicate at " << k;
      }
      EXPECT_EQ(all.back().minute, 0);
      std::int64_t high = 0, low = INT64_MAX, volume = 0;
      for (const auto& b : all) {
        high = std::max(high, b.high);
        low = std::min(low, b.low);
        volume += b.volume;
        ASSERT_LE(b.low, std::min(b.open, b.close));
        ASSERT_GE(b.high, std::max(b.open, b.close));
      }
      ASSERT_EQ(high, q.high) << s.code << " " << when;
      ASSERT_EQ(low, q.low) << s.code << " " << when;
      ASSERT_EQ(volume, q.volume) << s.code << " " << when;
      ASSERT_EQ(all.front().close, q.price);
      ASSERT_EQ(all.back().open, q.open);
    }
  }
}

TEST_F(MarketModelTest, TodaysDailyBarMatchesTheQuote) {
  const auto now = At("2026-11-24 13:45:10");
  auto q = market_.QuoteAt(samsung_, now);
  auto bars = market_.DailyBars(samsung_, year{2026} / 11 / 1, year{2026} / 11 / 24, 'D', now, 100);
  ASSERT_FALSE(bars.empty());
  EXPECT_EQ(bars[0].date, year{2026} / 11 / 24);
  EXPECT_EQ(bars[0].close, q.price);
  EXPECT_EQ(bars[0].high, q.high);
  EXPECT_EQ(bars[0].volume, q.volume);
  EXPECT_EQ(bars[0].prev_close, q.prev_close);
  EXPECT_EQ(bars[1].close, q.prev_close);  // yesterday's close is today's base
  for (std::size_t k = 0; k + 1 < bars.size(); ++k) EXPECT_GT(bars[k].date, bars[k + 1].date);
  EXPECT_EQ(bars.size(), 17u);  // trading days 2026-11-02 .. 11-24
}

TEST_F(MarketModelTest, WeeklyAndMonthlyAggregateDays) {
  const auto now = At("2026-11-24 20:00:00");
  auto days = market_.DailyBars(samsung_, year{2026} / 10 / 1, year{2026} / 10 / 31, 'D', now, 100);
  auto months =
      market_.DailyBars(samsung_, year{2026} / 10 / 1, year{2026} / 10 / 31, 'M', now, 100);
  ASSERT_EQ(months.size(), 1u);
  std::int64_t volume = 0, high = 0;
  for (const auto& d : days) {
    volume += d.volume;
    high = std::max(high, d.high);
  }
  EXPECT_EQ(months[0].volume, volume);
  EXPECT_EQ(months[0].high, high);
  EXPECT_EQ(months[0].close, days.front().close);
  EXPECT_EQ(months[0].open, days.back().open);
  auto weeks =
      market_.DailyBars(samsung_, year{2026} / 10 / 1, year{2026} / 10 / 31, 'W', now, 100);
  EXPECT_GE(weeks.size(), 4u);
  EXPECT_LE(weeks.size(), 5u);
  auto limited =
      market_.DailyBars(samsung_, year{2024} / 1 / 1, year{2026} / 11 / 24, 'D', now, 100);
  EXPECT_EQ(limited.size(), 100u);
}

TEST_F(MarketModelTest, InvestorRowForTodayOnlyAfterTheClose) {
  auto during = market_.Investors(samsung_, At("2026-11-24 14:00:00"), 30);
  auto after = market_.Investors(samsung_, At("2026-11-24 15:45:00"), 30);
  ASSERT_EQ(during.size(), 30u);
  EXPECT_EQ(during[0].date, year{2026} / 11 / 23);
  EXPECT_EQ(after[0].date, year{2026} / 11 / 24);
  for (const auto& d : after) {
    const auto net = (d.individuals.buy_qty - d.individuals.sell_qty) +
                     (d.foreigners.buy_qty - d.foreigners.sell_qty) +
                     (d.institutions.buy_qty - d.institutions.sell_qty);
    EXPECT_EQ(net, 0);
  }
}

TEST_F(MarketModelTest, AfterHoursStaysInsideTenPercentBand) {
  auto before = market_.OvertimeAt(samsung_, At("2026-11-24 15:50:00"));
  EXPECT_EQ(before.volume, 0);
  EXPECT_EQ(before.price, before.base);
  for (std::size_t i = 0; i < 200; ++i) {
    const auto& s = universe_.All()[i];
    auto o = market_.OvertimeAt(s, At("2026-11-24 17:55:00"));
    ASSERT_GE(o.price, o.base * 9 / 10 - TickSize(o.base));
    ASSERT_LE(o.price, o.base * 11 / 10 + TickSize(o.base));
    ASSERT_GT(o.volume, 0);
    ASSERT_EQ(o.last_match_hhmmss, 175000);
  }
}

// The history starts where the holiday calendar does, so every daily bar is a KRX trading day:
// June 2024 has 19 (6 June closed), and nothing exists before 2 January 2024.
TEST_F(MarketModelTest, DailyBarsOnlyOnTradingDaysOfTheCalendar) {
  const auto now = At("2026-11-24 11:00:00");
  EXPECT_EQ(market_.FirstDay(), year{2024} / 1 / 2);
  const auto june =
      market_.DailyBars(samsung_, year{2024} / 6 / 1, year{2024} / 6 / 30, 'D', now, 100);
  EXPECT_EQ(june.size(), 19u);
  for (const auto& b : june) EXPECT_NE(b.date, year{2024} / 6 / 6);
  std::size_t rows = 0;
  for (Date to = year{2026} / 11 / 24; to >= market_.FirstDay();) {
    const auto page = market_.DailyBars(samsung_, market_.FirstDay(), to, 'D', now, 100);
    ASSERT_FALSE(page.empty());
    for (const auto& b : page) {
      EXPECT_TRUE(calendar_.IsTradingDay(b.date)) << common::FormatYmd(b.date);
    }
    rows += page.size();
    to = Date{sys_days{page.back().date} - days{1}};
  }
  // 244 trading days in 2024, 242 in 2025, and 2026 up to 24 November.
  EXPECT_GT(rows, 244u + 242u + 200u);
  // Thirty years of yearly bars (python-kis's yearly chart): the years the history has, no more.
  const auto years =
      market_.DailyBars(samsung_, year{1996} / 1 / 1, year{2026} / 11 / 24, 'Y', now, 100);
  ASSERT_EQ(years.size(), 3u);
  EXPECT_EQ(years.back().date.year(), year{2024});
  EXPECT_TRUE(
      market_.DailyBars(samsung_, year{1996} / 1 / 1, year{2023} / 12 / 31, 'D', now, 100).empty());
}

// The quote's 52-week and year-to-date extremes are the daily bars' extremes, dated by the bar.
TEST_F(MarketModelTest, RangesAreTheDailyBarsExtremes) {
  const auto now = At("2026-11-24 11:00:00");
  const auto q = market_.QuoteAt(samsung_, now);
  const auto bars =
      market_.DailyBars(samsung_, year{2024} / 1 / 1, year{2026} / 11 / 24, 'D', now, 250);
  ASSERT_EQ(bars.size(), 250u);
  std::int64_t high = 0, low = std::numeric_limits<std::int64_t>::max();
  for (const auto& b : bars) {
    high = std::max(high, b.high);
    low = std::min(low, b.low);
  }
  EXPECT_EQ(q.high_52w, high);
  EXPECT_EQ(q.low_52w, low);
  auto bar_on = [&](Date d) {
    for (const auto& b : bars) {
      if (b.date == d) return b;
    }
    ADD_FAILURE() << "no bar on " << common::FormatYmd(d);
    return DayBar{};
  };
  EXPECT_EQ(bar_on(q.high_52w_day).high, q.high_52w);
  EXPECT_EQ(bar_on(q.low_52w_day).low, q.low_52w);
  EXPECT_EQ(bar_on(q.year_high_day).high, q.year_high);
  EXPECT_EQ(q.year_high_day.year(), year{2026});
  EXPECT_LE(q.year_high, q.high_52w);
  EXPECT_GE(q.year_low, q.low_52w);
  EXPECT_EQ(q.prev_volume, bars[1].volume);
  EXPECT_EQ(q.prev_high, bars[1].high);
}

// Recent trades are slices of the path: newest first, the first at the current price, their
// volumes adding up to the day's volume over the span they cover.
TEST_F(MarketModelTest, RecentTradesAreSlicesOfThePath) {
  const auto now = At("2026-11-24 10:15:20");
  const auto trades = market_.RecentTrades(samsung_, now, 30);
  ASSERT_EQ(trades.size(), 30u);
  const auto q = market_.QuoteAt(samsung_, now);
  EXPECT_EQ(trades.front().price, q.price);
  EXPECT_EQ(trades.front().second, (10 - 9) * 3600 + 15 * 60 + 20);
  std::int64_t volume = 0;
  for (std::size_t i = 0; i < trades.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(trades[i].second, trades[i - 1].second);
    }
    EXPECT_GT(trades[i].volume, 0);
    EXPECT_EQ(trades[i].price % TickSize(trades[i].price), 0);
    volume += trades[i].volume;
  }
  const auto earlier =
      market_.QuoteAt(samsung_, now - seconds{trades.front().second - trades.back().second + 3});
  EXPECT_EQ(volume, q.volume - earlier.volume);
}

}  // namespace
}  // namespace kisgate::sim
