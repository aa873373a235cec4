#pragma once
// Tests on manual time: a ManualClock that every common::Timer in the process follows while the
// ManualTime lives (the gate, the gateway's retries and deadlines, the HTTP client's timeouts, the
// simulator's service delays), and a driver that moves it in small steps while this thread's
// io_context runs what became ready.
//
// Real sockets stay real: replies cross the loopback in real microseconds, between two steps. A
// test whose server runs on another thread (the simulator) passes `caught_up`, which the driver
// asks before it moves time on, so the server sees each request at the manual instant it was sent
// and judges its rate limits in the same time as the gate.
//
// Thread-safety: one test thread drives; the clock may be read from any thread.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <stdexcept>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "common/clock.hpp"
#include "common/timer.hpp"

namespace kisgate::testing {

class ManualTime {
 public:
  // The simulators of the tests default to KST dates in November 2026; the wall clock starts
  // there too, so tokens and stored timestamps look like real ones.
  explicit ManualTime(common::WallTime wall_start = common::WallTime{
                          std::chrono::seconds(1795000000)});
  ManualTime(const ManualTime&) = delete;
  ManualTime& operator=(const ManualTime&) = delete;

  common::ManualClock& clock() { return clock_; }
  common::SteadyTime Now() const { return clock_.Now(); }

  // Called before time moves on. `gave_up` is false while the driver waits (in real time) for the
  // other thread, true once when it stops waiting (the request was lost, e.g. its connection was
  // refused): the predicate then counts it as lost.
  using CaughtUp = std::function<bool(bool gave_up)>;

  // How long (real time) a step waits for `caught_up` before it gives up: 50 ms by default, so a
  // lost request costs little. A test whose predicates know when nothing will come (a paused
  // server) waits longer, so that a busy machine never lets manual time run past a reply.
  void SetCatchUpLimit(std::chrono::steady_clock::duration limit) { catch_up_limit_ = limit; }

  // Runs `io` on manual time, `step` at a time, until `done()`; false when `limit` of manual time
  // passed first (a hang, reported by the test rather than by ctest's timeout).
  bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                common::Duration limit = std::chrono::minutes(10), CaughtUp caught_up = nullptr);
  // One step: runs what is ready on `io` (and waits for `caught_up`), then moves time on by kStep
  // and runs what became ready.
  void Step(boost::asio::io_context& io, const CaughtUp& caught_up = nullptr);
  // Runs `io` on manual time for `d` (whatever finishes meanwhile finishes).
  void RunFor(boost::asio::io_context& io, common::Duration d, CaughtUp caught_up = nullptr);

  // Runs `blocking` (a TestClient request, say) on a thread of its own while manual time moves on
  // and `io` runs, and returns its result: a server that waits on a common::Timer can answer.
  template <class Blocking>
  auto WhileRunning(boost::asio::io_context& io, Blocking blocking) -> decltype(blocking()) {
    auto result = std::async(std::launch::async, std::move(blocking));
    RunUntil(io, [&result] {
      return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    return result.get();
  }

  // Runs `task` on `io` on manual time until it completes, and returns what it returns (or
  // rethrows what it throws); throws std::runtime_error when `limit` of manual time passed first.
  template <class T>
  T RunTask(boost::asio::io_context& io, boost::asio::awaitable<T> task,
            CaughtUp caught_up = nullptr, common::Duration limit = std::chrono::minutes(10)) {
    auto result = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    const bool done = RunUntil(
        io,
        [&result] { return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
        limit, std::move(caught_up));
    if (!done) throw std::runtime_error("the task did not finish within its limit of manual time");
    return result.get();
  }

  static constexpr common::Duration kStep = std::chrono::milliseconds(10);

 private:
  // Runs what is ready now, waits for `caught_up`, and for replies already on their way.
  void Settle(boost::asio::io_context& io, const CaughtUp& caught_up);

  common::ManualClock clock_;
  common::ManualTimeScope scope_{clock_};
  std::chrono::steady_clock::duration catch_up_limit_ = std::chrono::milliseconds(50);
};

// A wall start for ManualTime on a market day: the KST moment "2026-11-24 11:00:00" (or with a
// "T", as the simulator's SimOptions::clock is written), so the test's clock and the simulator's
// market clock start together. Throws std::invalid_argument when malformed.
common::WallTime Kst(std::string_view moment);

// The completion of the coroutines a test spawns: an exception leaves io.run() and fails the test
// (never lost in a detached completion).
inline void Rethrow(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

// ManualTime::CaughtUp from two counters: requests this thread has sent (`sent`, e.g. the
// gateway's upstream calls) and requests the server has received (`received`, e.g. the calls the
// simulator counted). Caught up when received catches up with sent since the predicate was made
// (the counts then are the baseline, so make it before sending); requests that never arrive (the
// driver gave up on them) and requests the server got from elsewhere are taken as the new
// baseline.
ManualTime::CaughtUp CountsMatch(std::function<std::int64_t()> sent,
                                 std::function<std::int64_t()> received);

}  // namespace kisgate::testing
