#include "stream/gap_filler.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "gate/gateway.hpp"
#include "gate/paging.hpp"
#include "kis/records.hpp"
#include "store/store.hpp"

namespace kisgate::stream {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {

// KIS's minute-bar TR covers the regular session: the bars of 09:00 to 15:30 KST, today's only.
constexpr seconds kOpen{9 * 3600};
constexpr seconds kClose{15 * 3600 + 30 * 60};

seconds FloorMinute(seconds t) { return t - t % 60; }

}  // namespace

GapFiller::GapFiller(asio::any_io_executor executor, gate::Gateway& gateway, store::Store& store,
                     const common::Clock& clock, GapFillerOptions options)
    : executor_(std::move(executor)),
      gateway_(gateway),
      store_(store),
      clock_(clock),
      options_(options) {}

asio::awaitable<GapFill> GapFiller::Fill(Gap gap) {
  GapFill result;
  result.gap_id = gap.id;
  result.key_name = gap.key_name;
  result.from = gap.from;
  result.to = gap.to;
  result.codes = gap.codes.size();
  const auto today = common::ToKst(clock_.WallNow()).date;
  const auto from = common::ToKst(gap.from);
  const auto to = common::ToKst(gap.to);
  seconds start = from.date == today ? from.time_of_day : seconds{0};
  const seconds end = std::min(to.time_of_day, kClose);
  start = std::max(start, kOpen);
  if (to.date != today) {
    result.why_not = "the gap is not of today: KIS serves today's minute bars only";
  } else if (start > end) {
    result.why_not =
        "the gap is outside the regular session (09:00-15:30 KST): KIS has no minute bars for it";
  } else {
    const std::string day = common::FormatYmd(today);
    const std::string first = day + common::FormatHms(FloorMinute(start));
    const std::string last = day + common::FormatHms(end);
    const std::string after = common::FormatHms(FloorMinute(start) - seconds{60});
    std::vector<std::string> errors;
    for (const auto& code : gap.codes) {
      gate::CallOptions call{common::Lane::kBackground, 0, clock_.Now() + options_.call_timeout};
      auto fetch = gate::FetchMinuteBars(gateway_, code, call, common::FormatHms(end), after);
      auto paged = co_await std::move(fetch);
      if (auto* failed = std::get_if<gate::CallResult>(&paged)) {
        errors.push_back(fmt::format("{}: {} {}", code, failed->error.code, failed->error.message));
        continue;
      }
      std::vector<kis::Record> keep;
      for (const auto& body : std::get<gate::PagedBars>(paged).bodies) {
        auto converted = kis::ToRecords(kis::Tr::kMinuteBars, code, body, last, clock_.WallNow());
        if (auto* error = std::get_if<kis::Classification>(&converted)) {
          errors.push_back(fmt::format("{}: {} {}", code, error->code, error->message));
          break;
        }
        for (auto& record : std::get<std::vector<kis::Record>>(converted)) {
          if (record.market_time >= first && record.market_time <= last) {
            keep.push_back(std::move(record));
          }
        }
      }
      result.bars += keep.size();
      if (!keep.empty()) store_.Write(std::move(keep));
    }
    result.filled = errors.empty();
    if (!errors.empty()) {
      result.why_not = fmt::format("{} of {} codes failed: {}", errors.size(), gap.codes.size(),
                                   fmt::join(errors, "; "));
    }
  }
  spdlog::info("stream session '{}': gap {} {} ({} bars of {} codes){}", result.key_name,
               result.gap_id, result.filled ? "filled" : "not filled", result.bars, result.codes,
               result.why_not.empty() ? "" : ": " + result.why_not);
  recent_.push_back(result);
  while (recent_.size() > options_.recent) recent_.pop_front();
  co_return result;
}

void GapFiller::Enqueue(Gap gap) {
  queue_.push_back(std::move(gap));
  if (busy_) return;
  busy_ = true;
  asio::co_spawn(executor_, Drain(), common::LogExceptions{"stream gap filler"});
}

asio::awaitable<void> GapFiller::Drain() {
  struct NotBusy {
    explicit NotBusy(bool& b) : busy(b) {}
    NotBusy(const NotBusy&) = delete;
    NotBusy& operator=(const NotBusy&) = delete;
    ~NotBusy() { busy = false; }
    bool& busy;
  } not_busy(busy_);
  while (!queue_.empty()) {
    Gap gap = std::move(queue_.front());
    queue_.pop_front();
    auto fill = Fill(std::move(gap));
    co_await std::move(fill);
  }
}

}  // namespace kisgate::stream
