#include "gate/paging.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "common/kst.hpp"

namespace kisgate::gate {

namespace asio = boost::asio;

namespace {

constexpr int kMaxPages = 60;  // 390 minute bars need 13; 60 pages of daily rows are 24 years

CallResult Malformed(CallResult r, const kis::Classification& c) {
  r.ok = false;
  r.error = c;
  return r;
}

// One minute before HHMMSS, as HHMM00; nullopt before 00:01.
std::optional<std::string> MinuteBefore(const std::string& hhmmss) {
  auto t = common::ParseHms(hhmmss);
  if (!t || *t < std::chrono::minutes(1)) return std::nullopt;
  auto m = std::chrono::duration_cast<std::chrono::minutes>(*t) - std::chrono::minutes(1);
  return common::FormatHms(m);
}

void Finish(PagedBars& paged) {
  // Pages come newest first; each page is newest first. Sort oldest first and drop overlaps.
  std::sort(paged.bars.begin(), paged.bars.end(), [](const kis::Bar& a, const kis::Bar& b) {
    return std::tie(a.date, a.time) < std::tie(b.date, b.time);
  });
  paged.bars.erase(std::unique(paged.bars.begin(), paged.bars.end(),
                               [](const kis::Bar& a, const kis::Bar& b) {
                                 return a.date == b.date && a.time == b.time;
                               }),
                   paged.bars.end());
}

}  // namespace

asio::awaitable<std::variant<PagedBars, CallResult>> FetchMinuteBars(
    Gateway& gateway, std::string code, CallOptions options, std::string until,
    std::optional<std::string> after, PageSink on_page) {
  PagedBars paged;
  std::string cursor = until;
  for (int page = 0; page < kMaxPages; ++page) {
    KisRequest request = kis::MinuteBarsPage(code, cursor);
    auto call = gateway.Call(std::move(request), options);  // not inside co_await (g++ 12)
    CallResult result = co_await std::move(call);
    if (!result.ok) co_return result;
    paged.pages++;
    paged.bodies.push_back(result.body);
    auto parsed = kis::ParseMinuteBars(result.body);
    if (auto* c = std::get_if<kis::Classification>(&parsed))
      co_return Malformed(std::move(result), *c);
    if (on_page) on_page(paged.bodies.back());
    auto& bars = std::get<std::vector<kis::Bar>>(parsed);
    const std::size_t count = bars.size();
    std::string oldest = count != 0 ? bars.back().time : std::string();
    for (auto& b : bars) {
      if (after && b.time <= *after) continue;
      paged.bars.push_back(std::move(b));
    }
    if (count < 30 || oldest <= "090000" || (after && oldest <= *after)) break;
    auto next = MinuteBefore(oldest);
    if (!next) break;
    cursor = *next;
  }
  Finish(paged);
  co_return paged;
}

asio::awaitable<std::variant<PagedBars, CallResult>> FetchDailyBars(
    Gateway& gateway, std::string code, std::string from, std::string to, CallOptions options,
    char period, PageSink on_page) {
  PagedBars paged;
  std::string cursor = to;
  for (int page = 0; page < kMaxPages && cursor >= from; ++page) {
    KisRequest request = kis::DailyBarsPage(code, from, cursor, period);
    auto call = gateway.Call(std::move(request), options);
    CallResult result = co_await std::move(call);
    if (!result.ok) co_return result;
    paged.pages++;
    paged.bodies.push_back(result.body);
    auto parsed = kis::ParseDailyBars(result.body);
    if (auto* c = std::get_if<kis::Classification>(&parsed))
      co_return Malformed(std::move(result), *c);
    if (on_page) on_page(paged.bodies.back());
    auto& rows = std::get<std::vector<kis::Bar>>(parsed);
    const std::size_t count = rows.size();
    std::string oldest = count != 0 ? rows.back().date : std::string();
    for (auto& r : rows) paged.bars.push_back(std::move(r));
    if (count < 100) break;
    // Next page: the day before the oldest row returned.
    auto oldest_date = common::ParseYmd(oldest);
    if (!oldest_date) break;
    cursor = common::FormatYmd(
        std::chrono::year_month_day{std::chrono::sys_days{*oldest_date} - std::chrono::days{1}});
  }
  Finish(paged);
  co_return paged;
}

}  // namespace kisgate::gate
