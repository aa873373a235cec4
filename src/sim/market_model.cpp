#include "sim/market_model.hpp"

#include <algorithm>
#include <cmath>

#include "sim/market_clock.hpp"
#include "sim/random.hpp"

namespace kisgate::sim {

using namespace std::chrono;

namespace {

constexpr std::size_t kPathCacheSize = 1024;

// Salts that keep the random streams of different quantities apart.
enum Stream : std::uint64_t {
  kCloseStream = 1,
  kGapStream,
  kHighStream,
  kLowStream,
  kVolumeStream,
  kAnchorStream,
  kWalkStream,
  kWickStream,
  kWeightStream,
  kBookStream,
  kInvestorStream,
  kOvertimeStream,
  kTradeStream,
};

std::int64_t Clamp(std::int64_t v, std::int64_t lo, std::int64_t hi) {
  return std::max(lo, std::min(hi, v));
}

}  // namespace

std::int64_t TickSize(std::int64_t price) {
  if (price < 2'000) return 1;
  if (price < 5'000) return 5;
  if (price < 20'000) return 10;
  if (price < 50'000) return 50;
  if (price < 200'000) return 100;
  if (price < 500'000) return 500;
  return 1'000;
}

std::int64_t RoundToTick(double price) {
  if (price < 1) return 1;
  auto tick = TickSize(static_cast<std::int64_t>(price));
  return std::max<std::int64_t>(tick, std::llround(price / static_cast<double>(tick)) * tick);
}

std::int64_t FloorToTick(double price) {
  auto tick = TickSize(static_cast<std::int64_t>(price));
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(price / static_cast<double>(tick))) * tick);
}

std::int64_t CeilToTick(double price) {
  auto tick = TickSize(static_cast<std::int64_t>(price));
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(price / static_cast<double>(tick))) * tick);
}

// One day's summary, computed by formula from the close series: cheap, so past days never need
// their intraday path; the path is then built to hit exactly these values.
struct MarketModel::DayShape {
  std::int64_t prev_close, open, high, low, close, volume;
  std::int64_t upper_limit, lower_limit;
  int high_minute, low_minute;  // where the path touches the day's high and low
};

// One day's intraday path at one-minute resolution, with each minute's own extremes and the
// cumulative volume and value, so any instant of the day is a lookup plus an interpolation.
struct MarketModel::Path {
  Date date;
  DayShape shape;
  std::array<std::int64_t, kSessionMinutes + 1> at{};  // price at each minute boundary
  std::array<std::int64_t, kSessionMinutes> minute_high{}, minute_low{};
  std::array<std::int64_t, kSessionMinutes + 1> cum_volume{}, cum_value{};
  std::array<std::int64_t, kSessionMinutes + 1> high_before{}, low_before{};  // over minutes < m
};

MarketModel::MarketModel(std::uint64_t seed, const Universe& universe,
                         const common::MarketCalendar& calendar)
    : seed_(seed), calendar_(calendar), closes_(universe.All().size()) {
  // Trading days over the years whose holidays the calendar knows, so that no daily bar falls on a
  // holiday: the history starts on the first trading day of kFirstYear (the anchor).
  const Date end = year{common::MarketCalendar::kLastYear + 1} / January / 1;
  for (Date d = year{common::MarketCalendar::kFirstYear} / January / 1; d < end;
       d = year_month_day{sys_days{d} + days{1}}) {
    if (calendar.IsTradingDay(d)) days_.push_back(d);
  }
}

MarketModel::~MarketModel() = default;

int MarketModel::DayIndex(Date d) const {
  auto it = std::lower_bound(days_.begin(), days_.end(), d);
  return it != days_.end() && *it == d ? static_cast<int>(it - days_.begin()) : -1;
}

int MarketModel::LatestDayAtOrBefore(Date d) const {
  auto it = std::upper_bound(days_.begin(), days_.end(), d);
  if (it == days_.begin()) return 0;
  return static_cast<int>(it - days_.begin()) - 1;
}

void MarketModel::Reference(common::WallTime t, int& day, int& seconds) const {
  auto k = common::ToKst(t);
  const int since_open = static_cast<int>(k.time_of_day.count()) - 9 * 3600;
  const int today = DayIndex(k.date);
  if (today >= 0 && since_open >= 0) {
    day = today;
    seconds = std::min(since_open, kSessionSeconds);
    return;
  }
  // Before today's open, or a closed day: the last finished trading day.
  day = LatestDayAtOrBefore(Date{sys_days{k.date} - days{1}});
  seconds = kSessionSeconds;
}

double MarketModel::Volatility(const StockInfo& s) const {
  return 0.012 + 0.018 * Uniform(Mix(seed_ ^ 0x766f6cULL, s.index));
}

std::int64_t MarketModel::Close(const StockInfo& s, int day) const {
  std::lock_guard lock(mutex_);
  auto& series = closes_[s.index];
  if (series.empty()) series.push_back(RoundToTick(static_cast<double>(s.base_price)));
  const double sigma = Volatility(s);
  while (static_cast<int>(series.size()) <= day) {
    const auto i = series.size();
    const auto prev = static_cast<double>(series.back());
    const double z = Normal(Mix(Mix(seed_, kCloseStream), (std::uint64_t{s.index} << 20) | i));
    // A slight pull towards the base price keeps long runs in a realistic range.
    const double drift = -0.02 * std::log(prev / static_cast<double>(s.base_price));
    double next = prev * std::exp(drift * sigma + sigma * z);
    next = std::clamp(next, prev * 0.7 + 1, prev * 1.3 - 1);  // KRX ±30% daily limits
    series.push_back(RoundToTick(next));
  }
  return series[static_cast<std::size_t>(day)];
}

MarketModel::DayShape MarketModel::Shape(const StockInfo& s, int day) const {
  DayShape d{};
  d.prev_close = day > 0 ? Close(s, day - 1) : Close(s, 0);
  d.close = Close(s, day);
  d.upper_limit = FloorToTick(static_cast<double>(d.prev_close) * 1.3);
  d.lower_limit = CeilToTick(static_cast<double>(d.prev_close) * 0.7);
  const double sigma = Volatility(s);
  const std::uint64_t key = (std::uint64_t{s.index} << 20) | static_cast<std::uint64_t>(day);
  auto h = [&](Stream stream) { return Mix(Mix(seed_, stream), key); };
  const auto prev = static_cast<double>(d.prev_close);
  d.open = Clamp(RoundToTick(prev * std::exp(0.3 * sigma * Normal(h(kGapStream)))), d.lower_limit,
                 d.upper_limit);
  const auto top = static_cast<double>(std::max(d.open, d.close));
  const auto bottom = static_cast<double>(std::min(d.open, d.close));
  d.high = Clamp(RoundToTick(top * (1 + 0.5 * sigma * std::fabs(Normal(h(kHighStream))))),
                 std::max(d.open, d.close), d.upper_limit);
  d.low = Clamp(RoundToTick(bottom * (1 - 0.5 * sigma * std::fabs(Normal(h(kLowStream))))),
                d.lower_limit, std::min(d.open, d.close));
  // Daily turnover of 0.05%–1% of listed shares.
  const double turnover = 0.0005 * std::exp(3.0 * Uniform(h(kVolumeStream)));
  d.volume = std::max<std::int64_t>(
      1000, static_cast<std::int64_t>(static_cast<double>(s.listed_shares) * turnover));
  const std::uint64_t a = h(kAnchorStream);
  d.high_minute = 1 + static_cast<int>(a % (kSessionMinutes - 1));
  d.low_minute = 1 + static_cast<int>((a >> 20) % (kSessionMinutes - 1));
  if (d.low_minute == d.high_minute) d.low_minute = d.high_minute % (kSessionMinutes - 1) + 1;
  return d;
}

std::shared_ptr<const MarketModel::Path> MarketModel::PathFor(const StockInfo& s, int day) const {
  const std::uint64_t key = (std::uint64_t{s.index} << 20) | static_cast<std::uint64_t>(day);
  {
    std::lock_guard lock(mutex_);
    if (auto it = paths_.find(key); it != paths_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  auto path = std::make_shared<Path>();
  Path& p = *path;
  p.date = days_[static_cast<std::size_t>(day)];
  p.shape = Shape(s, day);
  const DayShape& d = p.shape;
  const double sigma_minute = Volatility(s) / std::sqrt(static_cast<double>(kSessionMinutes)) * 1.5;
  auto h = [&](Stream stream, std::uint64_t i) { return Mix(Mix(Mix(seed_, stream), key), i); };

  // Brownian bridges in log price through four fixed points: the open, the day's high, the day's
  // low (in time order) and the close; every point is then held inside [low, high].
  std::array<std::pair<int, std::int64_t>, 4> anchors = {
      {{0, d.open}, {d.high_minute, d.high}, {d.low_minute, d.low}, {kSessionMinutes, d.close}}};
  std::sort(anchors.begin(), anchors.end());
  for (std::size_t seg = 0; seg + 1 < anchors.size(); ++seg) {
    const auto [t0, v0] = anchors[seg];
    const auto [t1, v1] = anchors[seg + 1];
    const int n = t1 - t0;
    const double a = std::log(static_cast<double>(v0));
    const double b = std::log(static_cast<double>(v1));
    std::vector<double> walk(static_cast<std::size_t>(n) + 1, 0.0);
    for (int k = 1; k <= n; ++k) {
      const int minute = t0 + k;
      walk[static_cast<std::size_t>(k)] =
          walk[static_cast<std::size_t>(k - 1)] +
          sigma_minute * Normal(h(kWalkStream, static_cast<std::uint64_t>(minute)));
    }
    for (int k = 0; k <= n; ++k) {
      const int minute = t0 + k;
      const double f = n == 0 ? 0 : static_cast<double>(k) / n;
      const double x = a + (b - a) * f + walk[static_cast<std::size_t>(k)] - walk.back() * f;
      p.at[static_cast<std::size_t>(minute)] = Clamp(RoundToTick(std::exp(x)), d.low, d.high);
    }
  }
  for (const auto& [t, v] : anchors) p.at[static_cast<std::size_t>(t)] = v;

  // Each minute's own extremes: a wick of 0–2 ticks beyond its open/close, inside the day's range.
  for (int m = 0; m < kSessionMinutes; ++m) {
    const auto o = p.at[static_cast<std::size_t>(m)];
    const auto c = p.at[static_cast<std::size_t>(m) + 1];
    const auto wick = h(kWickStream, static_cast<std::uint64_t>(m));
    p.minute_high[static_cast<std::size_t>(m)] = std::min(
        d.high, std::max(o, c) + TickSize(std::max(o, c)) * static_cast<std::int64_t>(wick % 3));
    p.minute_low[static_cast<std::size_t>(m)] =
        std::max(d.low, std::min(o, c) -
                            TickSize(std::min(o, c)) * static_cast<std::int64_t>((wick >> 8) % 3));
  }

  // Volume over the day: heavier at the open and the close, exactly the day's total in sum.
  std::array<double, kSessionMinutes + 1> cum_weight{};
  for (int m = 0; m < kSessionMinutes; ++m) {
    const double u_shape =
        1 + 2 * (std::exp(-m / 30.0) + std::exp(-(kSessionMinutes - 1 - m) / 30.0));
    const double w = u_shape * (0.5 + Uniform(h(kWeightStream, static_cast<std::uint64_t>(m))));
    cum_weight[static_cast<std::size_t>(m) + 1] = cum_weight[static_cast<std::size_t>(m)] + w;
  }
  for (int m = 0; m <= kSessionMinutes; ++m) {
    p.cum_volume[static_cast<std::size_t>(m)] =
        std::llround(static_cast<double>(d.volume) * cum_weight[static_cast<std::size_t>(m)] /
                     cum_weight.back());
  }
  p.high_before[0] = std::numeric_limits<std::int64_t>::min();
  p.low_before[0] = std::numeric_limits<std::int64_t>::max();
  for (int m = 0; m < kSessionMinutes; ++m) {
    const auto i = static_cast<std::size_t>(m);
    const auto volume = p.cum_volume[i + 1] - p.cum_volume[i];
    p.cum_value[i + 1] = p.cum_value[i] + volume * (p.at[i] + p.at[i + 1]) / 2;
    p.high_before[i + 1] = std::max(p.high_before[i], p.minute_high[i]);
    p.low_before[i + 1] = std::min(p.low_before[i], p.minute_low[i]);
  }

  std::lock_guard lock(mutex_);
  if (auto it = paths_.find(key); it != paths_.end()) return it->second.first;  // raced: keep one
  lru_.push_front(key);
  paths_.emplace(key, std::make_pair(path, lru_.begin()));
  if (paths_.size() > kPathCacheSize) {
    paths_.erase(lru_.back());
    lru_.pop_back();
  }
  return path;
}

MinuteBar MarketModel::BarSoFar(const Path& p, int minute, int seconds_into) {
  const auto i = static_cast<std::size_t>(minute);
  MinuteBar bar;
  bar.date = p.date;
  bar.minute = minute;
  bar.open = p.at[i];
  const auto close = p.at[i + 1];
  if (seconds_into >= 60) {
    bar.high = p.minute_high[i];
    bar.low = p.minute_low[i];
    bar.close = close;
    bar.volume = p.cum_volume[i + 1] - p.cum_volume[i];
    bar.value = p.cum_value[i + 1] - p.cum_value[i];
    bar.cum_value = p.cum_value[i + 1];
    return bar;
  }
  const bool rising = close >= bar.open;
  const std::array<std::int64_t, 4> vertex = {bar.open, rising ? p.minute_low[i] : p.minute_high[i],
                                              rising ? p.minute_high[i] : p.minute_low[i], close};
  const int leg = std::min(seconds_into / 20, 2);
  bar.close = PathPrice(p, minute, seconds_into);
  bar.high = std::max(bar.open, bar.close);
  bar.low = std::min(bar.open, bar.close);
  for (int v = 1; v <= leg; ++v) {
    bar.high = std::max(bar.high, vertex[static_cast<std::size_t>(v)]);
    bar.low = std::min(bar.low, vertex[static_cast<std::size_t>(v)]);
  }
  const auto minute_volume = p.cum_volume[i + 1] - p.cum_volume[i];
  bar.volume = minute_volume * seconds_into / 60;
  bar.value = bar.volume * (bar.open + bar.close) / 2;
  bar.cum_value = p.cum_value[i] + bar.value;
  return bar;
}

std::int64_t MarketModel::PathPrice(const Path& p, int minute, double seconds_into) {
  // Inside the minute the price visits open -> one extreme (20 s) -> the other (40 s) -> close,
  // the low first in a rising minute; each leg is a straight line on the tick grid.
  const auto i = static_cast<std::size_t>(minute);
  const auto open = p.at[i];
  const auto close = p.at[i + 1];
  const bool rising = close >= open;
  const std::array<std::int64_t, 4> vertex = {open, rising ? p.minute_low[i] : p.minute_high[i],
                                              rising ? p.minute_high[i] : p.minute_low[i], close};
  const int leg = std::min(static_cast<int>(seconds_into / 20), 2);
  const double f = (seconds_into - leg * 20) / 20.0;
  const double x = static_cast<double>(vertex[static_cast<std::size_t>(leg)]) +
                   f * static_cast<double>(vertex[static_cast<std::size_t>(leg) + 1] -
                                           vertex[static_cast<std::size_t>(leg)]);
  return Clamp(RoundToTick(x), p.minute_low[i], p.minute_high[i]);
}

Ohlcv MarketModel::SoFar(const StockInfo& s, int day, int seconds) const {
  if (seconds >= kSessionSeconds) {
    // A finished day: the formula's summary, which the path reproduces exactly.
    auto d = Shape(s, day);
    auto p = PathFor(s, day);
    return Ohlcv{d.open, d.high, d.low, d.close, d.volume, p->cum_value.back()};
  }
  auto p = PathFor(s, day);
  const int minute = seconds / 60;
  const auto bar = BarSoFar(*p, minute, seconds % 60);
  const auto i = static_cast<std::size_t>(minute);
  Ohlcv o;
  o.open = p->at[0];
  o.high = std::max(p->high_before[i], bar.high);
  o.low = std::min(p->low_before[i], bar.low);
  o.close = bar.close;
  o.volume = p->cum_volume[i] + bar.volume;
  o.value = p->cum_value[i] + bar.value;
  return o;
}

Snapshot MarketModel::QuoteAt(const StockInfo& s, common::WallTime t) const {
  int day = 0;
  int seconds = 0;
  Reference(t, day, seconds);
  const auto shape = Shape(s, day);
  const auto o = SoFar(s, day, seconds);
  Snapshot snap;
  snap.day = days_[static_cast<std::size_t>(day)];
  snap.live = seconds < kSessionSeconds;
  snap.prev_close = shape.prev_close;
  snap.price = o.close;
  snap.open = o.open;
  snap.high = o.high;
  snap.low = o.low;
  snap.volume = o.volume;
  snap.value = o.value;
  snap.upper_limit = shape.upper_limit;
  snap.lower_limit = shape.lower_limit;
  const auto date_of = [&](int i) { return i < 0 ? snap.day : days_[static_cast<std::size_t>(i)]; };
  // Today's extremes count as today's when they beat the earlier days' (earliest date wins) or
  // when there are no earlier days.
  const auto w52 = RangeOver(s, std::max(0, day - 249), day);
  snap.high_52w = std::max(o.high, w52.high);
  snap.high_52w_day = o.high > w52.high ? snap.day : date_of(w52.high_day);
  snap.low_52w = std::min(o.low, w52.low);
  snap.low_52w_day = o.low < w52.low ? snap.day : date_of(w52.low_day);
  const auto first_of_year = static_cast<int>(
      std::lower_bound(days_.begin(), days_.end(), snap.day.year() / January / 1) - days_.begin());
  const auto ytd = RangeOver(s, first_of_year, day);
  snap.year_high = std::max(o.high, ytd.high);
  snap.year_high_day = o.high > ytd.high ? snap.day : date_of(ytd.high_day);
  snap.year_low = std::min(o.low, ytd.low);
  snap.year_low_day = o.low < ytd.low ? snap.day : date_of(ytd.low_day);
  const auto prev = Shape(s, std::max(0, day - 1));
  snap.prev_open = prev.open;
  snap.prev_high = prev.high;
  snap.prev_low = prev.low;
  snap.prev_volume = prev.volume;
  return snap;
}

MarketModel::Range MarketModel::RangeOver(const StockInfo& s, int from, int to) const {
  const std::uint64_t key = (std::uint64_t{s.index} << 40) |
                            (static_cast<std::uint64_t>(from) << 20) |
                            static_cast<std::uint64_t>(to);
  {
    std::lock_guard lock(mutex_);
    if (auto it = ranges_.find(key); it != ranges_.end()) return it->second;
  }
  Range range;
  for (int d = from; d < to; ++d) {
    const auto past = Shape(s, d);
    if (past.high > range.high) {
      range.high = past.high;
      range.high_day = d;
    }
    if (past.low < range.low) {
      range.low = past.low;
      range.low_day = d;
    }
  }
  std::lock_guard lock(mutex_);
  if (ranges_.size() > 100'000) ranges_.clear();  // bounded: a day's worth for every stock fits
  ranges_.emplace(key, range);
  return range;
}

Book MarketModel::BookAt(const StockInfo& s, common::WallTime t) const {
  const auto q = QuoteAt(s, t);
  Book b;
  b.price = q.price;
  b.prev_close = q.prev_close;
  const auto tick = TickSize(q.price);
  const auto second =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  const std::uint64_t key = Mix(
      Mix(seed_, kBookStream), (std::uint64_t{s.index} << 40) ^ static_cast<std::uint64_t>(second));
  // Ten levels each side, one tick apart: bid1 = price < ask1 = price + tick. Sizes scale with
  // the stock's liquidity.
  const std::int64_t lot = std::max<std::int64_t>(1, s.listed_shares / 2'000'000);
  for (std::size_t i = 0; i < 10; ++i) {
    b.ask_price[i] = q.price + tick * static_cast<std::int64_t>(i + 1);
    b.bid_price[i] = q.price - tick * static_cast<std::int64_t>(i);
    if (b.bid_price[i] < q.lower_limit) b.bid_price[i] = 0;
    if (b.ask_price[i] > q.upper_limit) b.ask_price[i] = 0;
    b.ask_qty[i] = b.ask_price[i] != 0 ? lot * static_cast<std::int64_t>(1 + Mix(key, i) % 400) : 0;
    b.bid_qty[i] =
        b.bid_price[i] != 0 ? lot * static_cast<std::int64_t>(1 + Mix(key, i + 10) % 400) : 0;
    b.ask_change[i] = static_cast<std::int64_t>(Mix(key, i + 20) % 41) - 20;
    b.bid_change[i] = static_cast<std::int64_t>(Mix(key, i + 30) % 41) - 20;
    b.total_ask += b.ask_qty[i];
    b.total_bid += b.bid_qty[i];
  }
  // The expected (auction) price: the coming open during the pre-open auction, the current price
  // otherwise.
  const auto session = calendar_.SessionAt(t);
  if (session == common::Session::kPreOpen) {
    const int today = DayIndex(common::ToKst(t).date);
    if (today >= 0) b.expected_price = Shape(s, today).open;
  } else {
    b.expected_price = q.price;
  }
  b.expected_volume =
      session == common::Session::kPreOpen || session == common::Session::kClosingAuction
          ? lot * static_cast<std::int64_t>(1 + Mix(key, 99) % 1000)
          : 0;
  return b;
}

std::vector<MinuteBar> MarketModel::MinuteBars(const StockInfo& s, common::WallTime now,
                                               std::chrono::seconds at_or_before,
                                               std::size_t max) const {
  int day = 0;
  int seconds = 0;
  Reference(now, day, seconds);
  std::vector<MinuteBar> bars;
  const int asked = static_cast<int>(at_or_before.count()) - 9 * 3600;
  if (asked < 0 || seconds <= 0) return bars;
  // A time later than the data means "now" (kis-api.md §4).
  const int last_started =
      std::min(seconds >= kSessionSeconds ? kSessionMinutes - 1 : seconds / 60, asked / 60);
  auto p = PathFor(s, day);
  for (int m = last_started; m >= 0 && bars.size() < max; --m) {
    const int into = seconds >= kSessionSeconds ? 60 : std::min(60, seconds - m * 60);
    bars.push_back(BarSoFar(*p, m, into));
  }
  return bars;
}

std::vector<DayBar> MarketModel::DailyBars(const StockInfo& s, Date from, Date to, char period,
                                           common::WallTime now, std::size_t max) const {
  int ref = 0;
  int seconds = 0;
  Reference(now, ref, seconds);
  std::vector<DayBar> out;
  if (to < from) return out;
  const int last = std::min(ref, LatestDayAtOrBefore(to));
  if (days_[static_cast<std::size_t>(last)] < from || days_.front() > to) return out;
  auto group_of = [period](Date d) -> std::int64_t {
    switch (period) {
      case 'W': {  // weeks starting on Monday
        const auto sd = sys_days{d};
        const auto wd = weekday{sd}.iso_encoding();  // Mon = 1
        return (sd - days{wd - 1}).time_since_epoch().count();
      }
      case 'M':
        return static_cast<int>(d.year()) * 12 + static_cast<int>(static_cast<unsigned>(d.month()));
      case 'Y':
        return static_cast<int>(d.year());
      default:
        return sys_days{d}.time_since_epoch().count();
    }
  };
  for (int day = last; day >= 0 && days_[static_cast<std::size_t>(day)] >= from;) {
    const auto group = group_of(days_[static_cast<std::size_t>(day)]);
    DayBar bar;
    bar.date = days_[static_cast<std::size_t>(day)];  // a period is dated by its last trading day
    bool first = true;
    int d = day;
    for (; d >= 0 && days_[static_cast<std::size_t>(d)] >= from &&
           group_of(days_[static_cast<std::size_t>(d)]) == group;
         --d) {
      const auto o = SoFar(s, d, d == ref ? seconds : kSessionSeconds);
      if (first) {
        bar.close = o.close;
        bar.high = o.high;
        bar.low = o.low;
        first = false;
      }
      bar.open = o.open;
      bar.high = std::max(bar.high, o.high);
      bar.low = std::min(bar.low, o.low);
      bar.volume += o.volume;
      bar.value += o.value;
    }
    bar.prev_close = Shape(s, d + 1).prev_close;
    out.push_back(bar);
    if (out.size() >= max) break;
    day = d;
  }
  return out;
}

std::vector<InvestorDay> MarketModel::Investors(const StockInfo& s, common::WallTime now,
                                                std::size_t count) const {
  int ref = 0;
  int seconds = 0;
  Reference(now, ref, seconds);
  // Today's flows are published after the close.
  int day = seconds >= kSessionSeconds ? ref : ref - 1;
  std::vector<InvestorDay> out;
  for (; day >= 0 && out.size() < count; --day) {
    const auto shape = Shape(s, day);
    InvestorDay row;
    row.date = days_[static_cast<std::size_t>(day)];
    row.close = shape.close;
    row.prev_close = shape.prev_close;
    const std::uint64_t key = Mix(Mix(seed_, kInvestorStream),
                                  (std::uint64_t{s.index} << 20) | static_cast<std::uint64_t>(day));
    // Split the day's volume between the three groups on each side; sells and buys both sum to
    // the volume, so the groups' net quantities sum to zero.
    auto split = [&](std::uint64_t h, std::int64_t total, InvestorGroup& a, InvestorGroup& b,
                     InvestorGroup& c, bool buy) {
      const double fa = 0.15 + 0.25 * Uniform(h);
      const double fb = 0.10 + 0.25 * Uniform(Mix(h, 1));
      const auto qa = static_cast<std::int64_t>(static_cast<double>(total) * fa);
      const auto qb = static_cast<std::int64_t>(static_cast<double>(total) * fb);
      (buy ? a.buy_qty : a.sell_qty) = qa;
      (buy ? b.buy_qty : b.sell_qty) = qb;
      (buy ? c.buy_qty : c.sell_qty) = total - qa - qb;
    };
    split(Mix(key, 1), shape.volume, row.foreigners, row.institutions, row.individuals, true);
    split(Mix(key, 2), shape.volume, row.foreigners, row.institutions, row.individuals, false);
    for (auto* g : {&row.individuals, &row.foreigners, &row.institutions}) {
      g->buy_value = g->buy_qty * shape.close;
      g->sell_value = g->sell_qty * shape.close;
    }
    out.push_back(row);
  }
  return out;
}

Overtime MarketModel::OvertimeAt(const StockInfo& s, common::WallTime now) const {
  int ref = 0;
  int seconds = 0;
  Reference(now, ref, seconds);
  auto k = common::ToKst(now);
  // During today's session the after-hours figures shown are the previous day's.
  int day = seconds >= kSessionSeconds ? ref : std::max(0, ref - 1);
  const bool today = days_[static_cast<std::size_t>(day)] == k.date;
  // The single-price session matches every 10 minutes from 16:10 to 18:00: twelve matches.
  int matches = 12;
  if (today) {
    const int since = static_cast<int>(k.time_of_day.count()) - 16 * 3600;
    matches = std::clamp(since / 600, 0, 12);
  }
  const auto shape = Shape(s, day);
  Overtime o;
  o.day = days_[static_cast<std::size_t>(day)];
  o.base = shape.close;
  o.upper_limit = FloorToTick(static_cast<double>(shape.close) * 1.1);
  o.lower_limit = CeilToTick(static_cast<double>(shape.close) * 0.9);
  o.price = shape.close;
  const std::uint64_t key = Mix(Mix(seed_, kOvertimeStream),
                                (std::uint64_t{s.index} << 20) | static_cast<std::uint64_t>(day));
  double drift = 0;
  for (int j = 1; j <= matches; ++j) {
    drift += 0.004 * Normal(Mix(key, static_cast<std::uint64_t>(j)));
    const auto price = Clamp(RoundToTick(static_cast<double>(shape.close) * (1 + drift)),
                             o.lower_limit, o.upper_limit);
    const auto volume = std::max<std::int64_t>(1, shape.volume / 2000) *
                        static_cast<std::int64_t>(1 + Mix(key, 100 + j) % 20);
    if (j == 1) o.open = o.high = o.low = price;
    o.high = std::max(o.high, price);
    o.low = std::min(o.low, price);
    o.price = price;
    o.volume += volume;
    o.value += volume * price;
    o.last_match_hhmmss = (16 + (j * 10) / 60) * 10000 + ((j * 10) % 60) * 100;
  }
  const auto tick = TickSize(o.price);
  const std::int64_t lot = std::max<std::int64_t>(1, shape.volume / 20000);
  for (std::size_t i = 0; i < 10; ++i) {
    o.ask_price[i] = std::min(o.upper_limit, o.price + tick * static_cast<std::int64_t>(i + 1));
    o.bid_price[i] = std::max(o.lower_limit, o.price - tick * static_cast<std::int64_t>(i));
    o.ask_qty[i] = lot * static_cast<std::int64_t>(1 + Mix(key, 200 + i) % 50);
    o.bid_qty[i] = lot * static_cast<std::int64_t>(1 + Mix(key, 300 + i) % 50);
  }
  o.expected_price = o.price;
  o.expected_qty =
      matches < 12 && today ? lot * static_cast<std::int64_t>(1 + Mix(key, 400) % 30) : 0;
  return o;
}

std::vector<Trade> MarketModel::RecentTrades(const StockInfo& s, common::WallTime now,
                                             std::size_t max) const {
  int day = 0;
  int seconds = 0;
  Reference(now, day, seconds);
  // One trade per 3-second slice that saw volume, priced where the path was at its end.
  constexpr int kSlice = 3;
  const std::uint64_t key = Mix(Mix(seed_, kTradeStream),
                                (std::uint64_t{s.index} << 20) | static_cast<std::uint64_t>(day));
  std::vector<Trade> out;
  Ohlcv at = SoFar(s, day, seconds);
  for (int t = seconds; t > 0 && out.size() < max;) {
    const int earlier = std::max(0, t - kSlice);
    const Ohlcv before = SoFar(s, day, earlier);
    if (at.volume > before.volume) {
      Trade trade;
      trade.date = days_[static_cast<std::size_t>(day)];
      trade.second = t;
      trade.price = at.close;
      trade.volume = at.volume - before.volume;
      // Buying pressure drifts minute by minute around balance (70%–140%).
      trade.strength = 70 + 70 * Uniform(Mix(key, static_cast<std::uint64_t>(t / 60)));
      out.push_back(trade);
    }
    t = earlier;
    at = before;
  }
  return out;
}

StreamSecond MarketModel::StreamTrades(const StockInfo& s, Date date, int second,
                                       double rate) const {
  StreamSecond out;
  out.date = date;
  const int day = DayIndex(date);
  if (day < 0 || second < 0 || second >= kSessionSeconds) return out;
  auto p = PathFor(s, day);
  out.open = p->at[0];
  const int minute = second / 60;
  const int into = second % 60;
  const auto i = static_cast<std::size_t>(minute);
  const auto minute_volume = p->cum_volume[i + 1] - p->cum_volume[i];
  // The same integer split as BarSoFar's, so the volume after this second is the REST volume then.
  const auto before = minute_volume * into / 60;
  const auto after = minute_volume * (into + 1) / 60;
  const auto volume = after - before;
  if (volume <= 0) return out;
  const Ohlcv start = SoFar(s, day, second);
  const Ohlcv end = SoFar(s, day, second + 1);
  const std::uint64_t key =
      Mix(Mix(seed_, kTradeStream), (std::uint64_t{s.index} << 20) ^
                                        (static_cast<std::uint64_t>(day) << 40) ^
                                        static_cast<std::uint64_t>(second));
  // About `rate` trades a second, bunched: uniform in [0, 2 * rate].
  auto n = static_cast<std::int64_t>(std::llround(2 * rate * Uniform(Mix(key, 1))));
  n = std::clamp<std::int64_t>(n, 1, volume);
  // The minute's first trade is at its open, so a minute's trades start at the bar's open price.
  if (into == 0 && volume >= 2) n = std::max<std::int64_t>(n, 2);
  std::int64_t high = start.high;
  std::int64_t low = start.low;
  out.trades.reserve(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) {
    // The second's last trade is at its end, where the REST close of the next second is (and the
    // minute's extremes at 20 s and 40 s are); the others are spread evenly before it.
    double at = 0;
    if (into == 0 && n >= 2) {
      at = static_cast<double>(k) / static_cast<double>(n - 1);
    } else {
      at = into + static_cast<double>(k + 1) / static_cast<double>(n);
    }
    StreamTrade t;
    t.second = second;
    t.price = PathPrice(*p, minute, at);
    const auto done_before = volume * k / n;
    const auto done = volume * (k + 1) / n;
    t.volume = done - done_before;
    t.cum_volume = p->cum_volume[i] + before + done;
    // The day's value is the REST figure at both ends of the second, shared out by volume between.
    t.cum_value = start.value + (end.value - start.value) * done / volume;
    high = std::max(high, t.price);
    low = std::min(low, t.price);
    t.high = high;
    t.low = low;
    out.trades.push_back(t);
  }
  return out;
}

}  // namespace kisgate::sim
