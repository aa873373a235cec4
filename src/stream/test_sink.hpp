#pragma once
// Test-only: a stream::SessionSink that keeps what a KisSession delivers, and the market moment the
// session tests start at (the simulator's day and the tests' wall clock together).

#include <algorithm>
#include <span>
#include <string_view>
#include <vector>

#include "stream/kis_session.hpp"

namespace kisgate::testing {

inline constexpr const char* kMarketStart = "2026-11-24T11:00:00";

struct SessionRecorder final : stream::SessionSink {
  void OnTicks(std::span<const kis::Tick> t) override {
    ticks.insert(ticks.end(), t.begin(), t.end());
  }
  void OnBooks(std::span<const kis::BookSnapshot> b) override {
    books.insert(books.end(), b.begin(), b.end());
  }
  void OnGap(const stream::Gap& gap) override { gaps.push_back(gap); }
  std::size_t TicksOf(std::string_view code) const {
    return static_cast<std::size_t>(std::count_if(
        ticks.begin(), ticks.end(), [&](const kis::Tick& t) { return t.code == code; }));
  }
  std::vector<kis::Tick> ticks;
  std::vector<kis::BookSnapshot> books;
  std::vector<stream::Gap> gaps;
};

}  // namespace kisgate::testing
