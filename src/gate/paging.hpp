#pragma once
// The paging rules of the chart TRs (kis-api.md §4), on top of Gateway::Call: today's minute bars
// walk back from a time 30 bars at a time; daily bars walk back from a date 100 rows at a time.
// Every page is an ordinary call through the gate, in the caller's lane and deadline.

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "gate/gateway.hpp"
#include "kis/quotes.hpp"

namespace kisgate::gate {

struct PagedBars {
  std::vector<kis::Bar> bars;  // oldest first, no duplicates
  int pages = 0;
  std::vector<std::string> bodies;  // each page's KIS reply, as received (for storage)
};

// Called with each page's reply as it arrives and parses, before the next page is asked for: a
// collector stores pages as they come, so a cut-off walk keeps what it fetched.
using PageSink = std::function<void(const std::string& body)>;

// Today's minute bars from 09:00 up to `until` (HHMMSS; a time after the last bar means now). With
// `after` (HHMMSS), stops once it has every bar later than that: what a later cycle needs.
// On failure, the failed call's result.
boost::asio::awaitable<std::variant<PagedBars, CallResult>> FetchMinuteBars(
    Gateway& gateway, std::string code, CallOptions options, std::string until = "153000",
    std::optional<std::string> after = std::nullopt, PageSink on_page = nullptr);

// Daily bars (period D, W, M or Y) over [from, to] (YYYYMMDD), KIS-adjusted prices.
boost::asio::awaitable<std::variant<PagedBars, CallResult>> FetchDailyBars(
    Gateway& gateway, std::string code, std::string from, std::string to, CallOptions options,
    char period = 'D', PageSink on_page = nullptr);

}  // namespace kisgate::gate
