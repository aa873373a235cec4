#include "common/kst.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace kisgate::common {

using namespace std::chrono;

KstTime ToKst(WallTime t) {
  auto local = floor<seconds>(t) + kKstOffset;
  auto day = floor<days>(local);
  return KstTime{year_month_day{day}, local - day};
}

WallTime FromKst(year_month_day date, seconds time_of_day) {
  return WallTime{duration_cast<WallTime::duration>(sys_days{date}.time_since_epoch() +
                                                    time_of_day - kKstOffset)};
}

std::string FormatYmd(year_month_day d) {
  return fmt::format("{:04d}{:02d}{:02d}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string FormatHms(seconds time_of_day) {
  auto s = time_of_day.count();
  return fmt::format("{:02d}{:02d}{:02d}", s / 3600, s / 60 % 60, s % 60);
}

std::string FormatKstDateTime(WallTime t) {
  auto k = ToKst(t);
  auto s = k.time_of_day.count();
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", static_cast<int>(k.date.year()),
                     static_cast<unsigned>(k.date.month()), static_cast<unsigned>(k.date.day()),
                     s / 3600, s / 60 % 60, s % 60);
}

std::string FormatCompactKst(WallTime t) {
  const auto kst = ToKst(t);
  return FormatYmd(kst.date) + FormatHms(kst.time_of_day);
}

std::string FormatIsoKst(WallTime t) {
  auto text = FormatKstDateTime(t);
  text[10] = 'T';
  return text + "+09:00";
}

namespace {

std::optional<int> Digits(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::optional<year_month_day> MakeDate(std::optional<int> y, std::optional<int> m,
                                       std::optional<int> d) {
  if (!y || !m || !d) return std::nullopt;
  year_month_day date{year{*y}, month{static_cast<unsigned>(*m)}, day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

std::optional<seconds> MakeTime(std::optional<int> h, std::optional<int> m, std::optional<int> s) {
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 59) return std::nullopt;
  return hours{*h} + minutes{*m} + seconds{*s};
}

}  // namespace

std::optional<year_month_day> ParseYmd(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  return MakeDate(Digits(s.substr(0, 4)), Digits(s.substr(4, 2)), Digits(s.substr(6, 2)));
}

std::optional<seconds> ParseHms(std::string_view s) {
  if (s.size() != 6) return std::nullopt;
  return MakeTime(Digits(s.substr(0, 2)), Digits(s.substr(2, 2)), Digits(s.substr(4, 2)));
}

std::optional<WallTime> ParseKstDateTime(std::string_view s) {
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto date = MakeDate(Digits(s.substr(0, 4)), Digits(s.substr(5, 2)), Digits(s.substr(8, 2)));
  auto time = MakeTime(Digits(s.substr(11, 2)), Digits(s.substr(14, 2)), Digits(s.substr(17, 2)));
  if (!date || !time) return std::nullopt;
  return FromKst(*date, *time);
}

std::string_view ToString(Session s) { return Name(s); }

const std::vector<year_month_day>& MarketCalendar::BuiltInHolidays() {
  // KRX closures (weekday ones matter): public holidays, substitute holidays and the year-end
  // closing day. Lunar holidays per the official calendar of each year.
  static const std::vector<year_month_day> kHolidays = [] {
    std::vector<year_month_day> d;
    auto add = [&](int y, unsigned m, unsigned day) {
      d.push_back(year{y} / month{m} / std::chrono::day{day});
    };
    // 2024 (10 April: general election; 1 October: Armed Forces Day, a one-off holiday)
    add(2024, 1, 1);
    add(2024, 2, 9);
    add(2024, 2, 12);
    add(2024, 3, 1);
    add(2024, 4, 10);
    add(2024, 5, 1);
    add(2024, 5, 6);
    add(2024, 5, 15);
    add(2024, 6, 6);
    add(2024, 8, 15);
    add(2024, 9, 16);
    add(2024, 9, 17);
    add(2024, 9, 18);
    add(2024, 10, 1);
    add(2024, 10, 3);
    add(2024, 10, 9);
    add(2024, 12, 25);
    add(2024, 12, 31);
    // 2025
    add(2025, 1, 1);
    add(2025, 1, 27);
    add(2025, 1, 28);
    add(2025, 1, 29);
    add(2025, 1, 30);
    add(2025, 3, 3);
    add(2025, 5, 1);
    add(2025, 5, 5);
    add(2025, 5, 6);
    add(2025, 6, 3);
    add(2025, 6, 6);
    add(2025, 8, 15);
    add(2025, 10, 3);
    add(2025, 10, 6);
    add(2025, 10, 7);
    add(2025, 10, 8);
    add(2025, 10, 9);
    add(2025, 12, 25);
    add(2025, 12, 31);
    // 2026
    add(2026, 1, 1);
    add(2026, 2, 16);
    add(2026, 2, 17);
    add(2026, 2, 18);
    add(2026, 3, 2);
    add(2026, 5, 1);
    add(2026, 5, 5);
    add(2026, 5, 25);
    add(2026, 6, 3);
    add(2026, 8, 17);
    add(2026, 9, 24);
    add(2026, 9, 25);
    add(2026, 10, 5);
    add(2026, 10, 9);
    add(2026, 12, 25);
    add(2026, 12, 31);
    // 2027
    add(2027, 1, 1);
    add(2027, 2, 8);
    add(2027, 2, 9);
    add(2027, 3, 1);
    add(2027, 5, 5);
    add(2027, 5, 13);
    add(2027, 8, 16);
    add(2027, 9, 14);
    add(2027, 9, 15);
    add(2027, 9, 16);
    add(2027, 10, 4);
    add(2027, 10, 11);
    add(2027, 12, 27);
    add(2027, 12, 31);
    std::sort(d.begin(), d.end());
    return d;
  }();
  return kHolidays;
}

MarketCalendar::MarketCalendar(std::vector<year_month_day> extra) : holidays_(BuiltInHolidays()) {
  holidays_.insert(holidays_.end(), extra.begin(), extra.end());
  std::sort(holidays_.begin(), holidays_.end());
  holidays_.erase(std::unique(holidays_.begin(), holidays_.end()), holidays_.end());
}

bool MarketCalendar::IsTradingDay(year_month_day date) const {
  weekday wd{sys_days{date}};
  if (wd == Saturday || wd == Sunday) return false;
  return !std::binary_search(holidays_.begin(), holidays_.end(), date);
}

year_month_day MarketCalendar::PreviousTradingDay(year_month_day date) const {
  sys_days d{date};
  do {
    d -= days{1};
  } while (!IsTradingDay(year_month_day{d}));
  return year_month_day{d};
}

year_month_day MarketCalendar::NextTradingDay(year_month_day date) const {
  sys_days d{date};
  do {
    d += days{1};
  } while (!IsTradingDay(year_month_day{d}));
  return year_month_day{d};
}

Session MarketCalendar::SessionAt(WallTime t) const {
  auto k = ToKst(t);
  if (!IsTradingDay(k.date)) return Session::kClosed;
  auto m = duration_cast<minutes>(k.time_of_day).count();
  if (m >= 8 * 60 + 30 && m < 9 * 60) return Session::kPreOpen;
  if (m >= 9 * 60 && m < 15 * 60 + 20) return Session::kRegular;
  if (m >= 15 * 60 + 20 && m < 15 * 60 + 30) return Session::kClosingAuction;
  if (m >= 15 * 60 + 40 && m < 16 * 60) return Session::kAfterClose;
  if (m >= 16 * 60 && m < 18 * 60) return Session::kAfterHours;
  return Session::kClosed;
}

}  // namespace kisgate::common
