#include "stream/poller.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "kis/records.hpp"
#include "kis/request.hpp"

namespace kisgate::stream {

namespace asio = boost::asio;

namespace {

// The REST data set that stands in for a stream.
kis::Tr RestTr(StreamData data, bool after_hours) {
  switch (data) {
    case StreamData::kTrades:
      return after_hours ? kis::Tr::kOvertimePrice : kis::Tr::kPrice;
    case StreamData::kOrderBook:
      return after_hours ? kis::Tr::kOvertimeOrderBook : kis::Tr::kOrderBook;
  }
  return kis::Tr::kPrice;
}

using Item = std::pair<StreamData, std::string>;

}  // namespace

struct Poller::State {
  State(asio::any_io_executor executor, gate::Gateway& gateway, store::Store* store,
        const common::Clock& clock, PolledCallback on_value, PollerOptions options)
      : executor(std::move(executor)),
        gateway(gateway),
        store(store),
        clock(clock),
        on_value(std::move(on_value)),
        options(std::move(options)),
        timer(this->executor) {}

  asio::any_io_executor executor;
  gate::Gateway& gateway;
  store::Store* store;
  const common::Clock& clock;
  PolledCallback on_value;
  PollerOptions options;
  common::Timer timer;
  bool running = false;
  std::uint64_t generation = 0;  // of Start: a Run of an earlier Start ends
  bool after_hours = false;
  std::chrono::milliseconds interval{0};
  std::map<Item, common::SteadyTime> due;  // the poll set: when each value is polled next
  PollerStats stats;
};

namespace {

asio::awaitable<void> PollOne(std::shared_ptr<Poller::State> state, Item item, bool after_hours,
                              common::SteadyTime deadline) {
  const kis::Tr tr = RestTr(item.first, after_hours);
  state->stats.calls++;
  auto call =
      state->gateway.Call(kis::QuoteRequest(tr, item.second),
                          gate::CallOptions{state->options.lane, state->options.flow, deadline});
  gate::CallResult result = co_await std::move(call);
  auto fail = [&](const std::string& code) {
    state->stats.failed++;
    state->stats.failures[code]++;
  };
  if (!result.ok) {
    fail(result.error.code);
    co_return;
  }
  const auto now = state->clock.WallNow();
  auto converted = kis::ToRecords(tr, item.second, result.body, common::FormatCompactKst(now), now);
  if (auto* c = std::get_if<kis::Classification>(&converted)) {
    fail(c->code);
    co_return;
  }
  auto& records = std::get<std::vector<kis::Record>>(converted);
  state->stats.ok++;
  // Handed on only while the value is still wanted: a plan that dropped it, or Stop, came first.
  if (state->running && state->on_value && state->due.contains(item)) {
    for (const auto& record : records)
      state->on_value(PolledValue{item.first, item.second, record});
  }
  // Only the universe's values are stored: a client's codes must not grow the store nor age the
  // freshness figures (README).
  const auto& stored = state->options.stored_codes;
  if (state->store != nullptr && (!stored || stored->contains(item.second))) {
    state->store->Write(std::move(records));
  }
}

// Polls each value of the set when it is due, then sets it due again an interval later. SetPlan
// and Stop cancel the wait, so a new set is looked at at once.
asio::awaitable<void> Run(std::shared_ptr<Poller::State> state, std::uint64_t generation) {
  while (state->running && state->generation == generation) {
    const auto now = state->clock.Now();
    auto next = state->due.end();
    for (auto it = state->due.begin(); it != state->due.end(); ++it) {
      if (next == state->due.end() || it->second < next->second) next = it;
    }
    if (next != state->due.end() && next->second <= now) {
      const Item item = next->first;
      // Superseded by the next poll of the same value: a call still queued then is dropped.
      const auto deadline = now + state->interval;
      next->second += state->interval;
      if (next->second <= now) next->second = now + state->interval;  // fell behind: no burst
      asio::co_spawn(
          state->executor, PollOne(state, item, state->after_hours, deadline),
          common::LogExceptions{fmt::format("stream poll {} {}", Name(item.first), item.second)});
      continue;
    }
    state->timer.expires_at(next != state->due.end() ? next->second : common::SteadyTime::max());
    boost::system::error_code ec;
    co_await state->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

Poller::Poller(asio::any_io_executor executor, gate::Gateway& gateway, store::Store* store,
               const common::Clock& clock, PolledCallback on_value, PollerOptions options)
    : state_(std::make_shared<State>(std::move(executor), gateway, store, clock,
                                     std::move(on_value), std::move(options))) {}

Poller::~Poller() {
  state_->running = false;
  // cancel() throws only when the OS refuses to cancel a timer; a destructor must not throw, and
  // the loop still ends at its next wake-up (it sees `running` false).
  try {
    state_->timer.cancel();
  } catch (const std::exception& e) {
    spdlog::warn("stream poller: stops at its next wake-up ({})", e.what());
  }
}

void Poller::SetPlan(const Plan& plan) {
  auto& s = *state_;
  const bool session_changed = plan.after_hours != s.after_hours;
  s.after_hours = plan.after_hours;
  s.interval = plan.poll_interval;
  std::map<Item, common::SteadyTime> due;
  if (s.interval.count() > 0) {
    const auto now = s.clock.Now();
    std::vector<Item> fresh;
    for (const auto& want : plan.overflow) {
      Item item{want.data, want.code};
      auto kept = s.due.find(item);
      if (kept != s.due.end() && !session_changed) {
        // Kept in its place, but never later than one new interval away.
        due[item] = std::min(kept->second, now + s.interval);
      } else if (!due.contains(item)) {
        fresh.push_back(item);
        due[item] = now;
      }
    }
    // New values spread over one interval, so a round is not one burst into the gate.
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      due[fresh[i]] =
          now + s.interval * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(fresh.size());
    }
  }
  s.due = std::move(due);
  s.timer.cancel();
}

void Poller::Start() {
  if (state_->running) return;
  state_->running = true;
  asio::co_spawn(state_->executor, Run(state_, ++state_->generation),
                 common::LogExceptions{"stream poller"});
}

void Poller::Stop() {
  state_->running = false;
  state_->timer.cancel();
}

const PollerStats& Poller::stats() const { return state_->stats; }
std::size_t Poller::polling() const { return state_->due.size(); }

}  // namespace kisgate::stream
