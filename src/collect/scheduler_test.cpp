#include "collect/scheduler.hpp"

#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/kst.hpp"
#include "common/timer.hpp"

namespace kisgate::collect {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

common::WallTime KstTime(const char* kst) { return *common::ParseKstDateTime(kst); }
std::string KstText(common::WallTime t) { return common::FormatKstDateTime(t); }

config::JobConfig Job(const char* name, common::Duration every,
                      std::vector<std::string> sessions = {"always"}) {
  config::JobConfig j;
  j.name = name;
  j.dataset = "price";
  j.every = std::chrono::duration_cast<std::chrono::milliseconds>(every);
  j.sessions = std::move(sessions);
  return j;
}

// A cycle runner on the manual clock: each cycle "works" for work(job, nth) and then reports
// every code ok; like RunCycle it closes at its deadline or at the time asked through its
// CycleControl (every code dropped), unless honour_deadline is off (a loop held up).
class FakeCycles {
 public:
  struct Call {
    std::string job;
    common::WallTime start;
    common::SteadyTime deadline;
    common::SteadyTime began;
    std::optional<common::SteadyTime> ended;
  };

  explicit FakeCycles(const common::ManualClock& clock) : clock_(clock) {}

  CycleRunner Runner() {
    return [this](const std::vector<std::string>& codes, CycleSpec spec, Progress progress) {
      return Cycle(codes, spec, std::move(progress));
    };
  }

  std::function<common::Duration(const std::string& job, std::size_t nth)> work =
      [](const std::string&, std::size_t) -> common::Duration { return 1s; };
  bool honour_deadline = true;
  std::function<bool(const std::string& job)> throws = [](const std::string&) { return false; };

  std::vector<Call> calls;
  int overlaps = 0;  // a cycle of a job began while another of the same job ran

 private:
  asio::awaitable<CycleReport> Cycle(const std::vector<std::string>& codes, CycleSpec spec,
                                     Progress progress) {
    const std::string job = spec.job->name;
    const std::size_t nth = nth_[job]++;
    const std::size_t index = calls.size();
    calls.push_back(Call{job, spec.start, spec.deadline, clock_.Now(), std::nullopt});
    if (++running_[job] > 1) ++overlaps;
    if (throws(job)) {
      --running_[job];
      throw std::runtime_error("the runner broke");
    }
    const auto done_at = clock_.Now() + work(job, nth);
    common::Timer timer(co_await asio::this_coro::executor);
    auto end = done_at;
    if (honour_deadline) {
      end = std::min(end, spec.deadline);
      if (spec.control && spec.control->close_by()) end = std::min(end, *spec.control->close_by());
      if (spec.control) {
        spec.control->Attach([&timer](common::SteadyTime by) {
          if (by < timer.expiry()) timer.expires_at(by);
        });
      }
    }
    timer.expires_at(end);
    while (clock_.Now() < timer.expiry()) {
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (spec.control) spec.control->Attach(nullptr);
    CycleReport r;
    r.job = job;
    r.cycle_time = common::FormatCompactKst(spec.start);
    r.planned = static_cast<int>(codes.size());
    if (clock_.Now() >= done_at) {
      r.ok = r.planned;
      if (progress) progress(r.ok, r.planned);
    } else {
      r.dropped = r.planned;
    }
    r.seconds = std::chrono::duration<double>(clock_.Now() - calls[index].began).count();
    calls[index].ended = clock_.Now();
    --running_[job];
    co_return r;
  }

  const common::ManualClock& clock_;
  std::map<std::string, std::size_t> nth_;
  std::map<std::string, int> running_;
};

// A permit that answers each start as it is told to: held by another instance, an error (its
// store unreachable), an exception, or an answer that comes too late; any other start is ours.
class Permit final : public JobPermit {
 public:
  enum class Trouble { kError, kThrow, kLate, kSlow };

  asio::awaitable<common::Result<Permission>> MayRun(const config::JobConfig&,
                                                     common::WallTime start) override {
    asked.push_back(start);
    if (auto held = holders.find(start); held != holders.end()) {
      co_return Permission{false, held->second};
    }
    auto trouble = troubles.find(start);
    if (trouble == troubles.end()) co_return Permission{};
    switch (trouble->second) {
      case Trouble::kError:
        co_return common::Errc::kConnectRefused;
      case Trouble::kThrow:
        throw std::runtime_error("the lease store broke");
      case Trouble::kLate:
      case Trouble::kSlow: {
        // Late: after the scheduler has stopped waiting. Slow: within PermitWait, and yes.
        const bool late = trouble->second == Trouble::kLate;
        common::Timer timer(co_await asio::this_coro::executor);
        timer.expires_after(late ? common::Duration(1h) : common::Duration(1s));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!late) co_return Permission{};
        co_return Permission{false, "late"};
      }
    }
    co_return Permission{};
  }
  void Finished(const config::JobConfig&, common::WallTime start) override {
    finished.push_back(start);
  }
  std::string Instance() const override { return instance; }

  std::string instance;
  std::map<common::WallTime, std::string> holders;  // start -> the instance holding it
  std::map<common::WallTime, Trouble> troubles;
  std::vector<common::WallTime> asked, finished;
};

struct World {
  explicit World(const char* kst_start)
      : clock(KstTime(kst_start)), scope(clock), schedule(calendar) {}

  void Make(SchedulerHooks hooks = {}, JobPermit* permit = nullptr) {
    scheduler = std::make_unique<Scheduler>(io.get_executor(), clock, schedule, cycles.Runner(),
                                            std::move(hooks), permit);
  }
  // Scheduler::Run() in the background; `ended` when it returns.
  void StartRun() {
    asio::co_spawn(io, scheduler->Run(), [this](std::exception_ptr e) {
      EXPECT_FALSE(e);
      ended = true;
    });
    io.poll();  // it starts now, not one step of manual time later
  }
  void Advance(common::Duration d, common::Duration step = 100ms) {
    common::AdvanceAndRun(io, clock, d, step);
  }
  // The steady time at which the wall clock reads `t` (the manual clock moves both together).
  common::SteadyTime SteadyFor(common::WallTime t) const {
    return clock.Now() + std::chrono::duration_cast<common::Duration>(t - clock.WallNow());
  }
  std::vector<std::string> Starts(const std::string& job) const {
    std::vector<std::string> out;
    for (const auto& c : cycles.calls) {
      if (c.job == job) out.push_back(KstText(c.start));
    }
    return out;
  }
  const JobStatus& Status(std::size_t i) { return scheduler->board().jobs().at(i); }

  asio::io_context io;  // first: destroyed last, after what its pending handlers hold
  common::ManualClock clock;
  common::ManualTimeScope scope;
  common::MarketCalendar calendar;
  Schedule schedule;
  FakeCycles cycles{clock};
  std::unique_ptr<Scheduler> scheduler;
  bool ended = false;
};

// Starts fall on the interval's boundaries, inside the job's sessions, on trading days only: the
// regular session's last start on a Friday, then Monday's open. The board shows what comes next.
TEST(Scheduler, StartsOnBoundariesInsideSessionsOnTradingDays) {
  World w("2026-11-27 15:12:13");  // a Friday
  w.Make();
  w.scheduler->Add(Job("price", 5min, {"regular"}), {"005930", "000660"});
  w.StartRun();
  w.Advance(1s);
  EXPECT_TRUE(w.cycles.calls.empty());
  ASSERT_TRUE(w.Status(0).next_run);
  EXPECT_EQ(KstText(*w.Status(0).next_run), "2026-11-27 15:15:00");
  EXPECT_FALSE(w.Status(0).running);
  w.Advance(3min - 13s - 1s + 500ms, 50ms);  // half a second into the 15:15 cycle
  ASSERT_EQ(w.cycles.calls.size(), 1u);
  EXPECT_TRUE(w.Status(0).running);
  w.Advance(1s, 50ms);
  EXPECT_FALSE(w.Status(0).running);
  EXPECT_EQ(w.Status(0).totals.cycles, 1u);
  EXPECT_EQ(w.Status(0).recent.back().ok, 2);
  // The regular session ends at 15:20: the next start is Monday's open, past the weekend.
  EXPECT_EQ(KstText(*w.Status(0).next_run), "2026-11-30 09:00:00");
  w.Advance(65h + 43min, 1min);  // to Monday 08:58
  EXPECT_EQ(w.cycles.calls.size(), 1u);
  w.Advance(11min, 1s);  // to 09:09
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-27 15:15:00", "2026-11-30 09:00:00",
                                      "2026-11-30 09:05:00"}));
  // Each cycle began at its start (within one step of manual time).
  for (const auto& c : w.cycles.calls) {
    EXPECT_GE(c.began, w.SteadyFor(c.start)) << KstText(c.start);
    EXPECT_LE(c.began - w.SteadyFor(c.start), 1s) << KstText(c.start);
  }
  w.scheduler->Stop(w.clock.Now());
  w.Advance(1s);
  EXPECT_TRUE(w.ended);
}

// A cycle's deadline is the job's next start (its calls expire then), also across a session's end.
TEST(Scheduler, DeadlineIsTheNextStart) {
  World w("2026-11-24 15:08:00");
  w.Make();
  w.scheduler->Add(Job("price", 5min, {"regular"}), {"005930"});
  w.StartRun();
  w.Advance(4min, 1s);
  ASSERT_EQ(w.cycles.calls.size(), 1u);
  EXPECT_EQ(KstText(w.cycles.calls[0].start), "2026-11-24 15:10:00");
  EXPECT_EQ(w.cycles.calls[0].deadline, w.SteadyFor(KstTime("2026-11-24 15:15:00")));
  w.Advance(5min, 1s);
  ASSERT_EQ(w.cycles.calls.size(), 2u);
  // The session's last start: its deadline is the next session's first.
  EXPECT_EQ(KstText(w.cycles.calls[1].start), "2026-11-24 15:15:00");
  EXPECT_EQ(w.cycles.calls[1].deadline, w.SteadyFor(KstTime("2026-11-25 09:00:00")));
  w.scheduler->Stop(w.clock.Now());
  w.Advance(1s);
  EXPECT_TRUE(w.ended);
}

// A cycle that closes at its deadline (one code hung until then) ends on time: the next start is
// the next boundary, not the one after (a hung code used to halve the job's rate).
TEST(Scheduler, CycleEndingAtTheBoundaryIsNotAnOverrun) {
  common::MarketCalendar calendar;
  Schedule schedule(calendar);
  config::JobConfig job = Job("price", 10s);
  const auto following = KstTime("2026-11-24 11:00:10");
  EXPECT_EQ(NextAfterCycle(schedule, job, following, following), following);
  EXPECT_EQ(NextAfterCycle(schedule, job, following, following + 3ms), following);
  EXPECT_EQ(NextAfterCycle(schedule, job, following, following - 4s), following);
  // Held up well past the boundary: the missed start is skipped, not stacked.
  EXPECT_EQ(NextAfterCycle(schedule, job, following, following + 3s),
            KstTime("2026-11-24 11:00:20"));
}

// The same through a running job: every cycle's calls hang past the 1-s boundary, each cycle
// closes at its deadline with its codes dropped, and still a cycle starts at every boundary.
TEST(Scheduler, HungCallsDoNotSkipStarts) {
  World w("2026-11-24 11:00:00");
  w.cycles.work = [](const std::string&, std::size_t) -> common::Duration { return 3s; };
  w.Make();
  w.scheduler->Add(Job("price", 1s), {"005930", "000660"});
  w.StartRun();
  w.Advance(4500ms, 10ms);
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:01", "2026-11-24 11:00:02",
                                      "2026-11-24 11:00:03", "2026-11-24 11:00:04"}));
  EXPECT_EQ(w.cycles.overlaps, 0);
  const auto& status = w.Status(0);
  ASSERT_EQ(status.recent.size(), 3u);
  for (const auto& r : status.recent) EXPECT_EQ(r.dropped, 2) << r.cycle_time;
  EXPECT_EQ(status.totals.skipped_starts, 0u);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(100ms, 10ms);
  EXPECT_TRUE(w.ended);
}

// A cycle held up past the next start (it did not close at its deadline): no second cycle runs
// beside it; the starts it missed are skipped, counted on the board, and the job resumes on the
// next boundary.
TEST(Scheduler, CycleRunningPastTheNextStartSkipsTheMissedStarts) {
  World w("2026-11-24 11:00:05");
  w.cycles.honour_deadline = false;
  w.cycles.work = [](const std::string&, std::size_t nth) -> common::Duration {
    return nth == 0 ? 25s : 1s;
  };
  w.Make();
  w.scheduler->Add(Job("price", 10s), {"005930"});
  w.StartRun();
  w.Advance(30500ms, 100ms);  // to 11:00:35.5: the first cycle (from 11:00:10) has ended
  EXPECT_EQ(w.cycles.calls.size(), 1u);
  EXPECT_EQ(w.Status(0).totals.skipped_starts, 2u);  // 11:00:20 and 11:00:30
  EXPECT_EQ(KstText(*w.Status(0).next_run), "2026-11-24 11:00:40");
  w.Advance(20s, 100ms);  // to 11:00:55.5
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:10", "2026-11-24 11:00:40",
                                      "2026-11-24 11:00:50"}));
  EXPECT_EQ(w.cycles.overlaps, 0);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(2s);
  EXPECT_TRUE(w.ended);
}

// Stop: no new cycle starts, the one in progress closes by `close_by` (its codes dropped), and
// Run returns then, not when the cycle would have ended.
TEST(Scheduler, StopClosesTheRunningCycleByCloseBy) {
  World w("2026-11-24 10:59:59");
  w.cycles.work = [](const std::string&, std::size_t) -> common::Duration { return 60s; };
  w.Make();
  w.scheduler->Add(Job("price", 5min), {"005930", "000660"});
  w.StartRun();
  w.Advance(11s, 100ms);  // ten seconds into the 11:00 cycle
  ASSERT_EQ(w.cycles.calls.size(), 1u);
  const auto close_by = w.clock.Now() + 3s;
  w.scheduler->Stop(close_by);
  w.Advance(2900ms, 100ms);
  EXPECT_FALSE(w.ended);
  w.Advance(200ms, 100ms);
  EXPECT_TRUE(w.ended);
  ASSERT_TRUE(w.cycles.calls[0].ended);
  EXPECT_GE(*w.cycles.calls[0].ended, close_by);
  EXPECT_LE(*w.cycles.calls[0].ended, close_by + 100ms);
  EXPECT_EQ(w.Status(0).recent.back().dropped, 2);
  EXPECT_FALSE(w.Status(0).running);
  w.Advance(10min, 1s);
  EXPECT_EQ(w.cycles.calls.size(), 1u);
}

// A Stop while a job waits for its next start ends Run at once.
TEST(Scheduler, StopWhileWaitingEndsAtOnce) {
  World w("2026-11-24 11:00:01");
  w.Make();
  w.scheduler->Add(Job("price", 5min), {"005930"});
  w.scheduler->Add(Job("orderbook", 1h), {"005930"});
  w.StartRun();
  w.Advance(1s);
  w.scheduler->Stop(w.clock.Now() + 5s);
  w.Advance(100ms, 10ms);
  EXPECT_TRUE(w.ended);
  EXPECT_TRUE(w.cycles.calls.empty());
}

// The permit seam: a start it refuses is not run here (another instance runs it); the job goes on
// with its next start, and the permit hears when each allowed cycle ended.
TEST(Scheduler, PermitSayingNoSkipsTheCycle) {
  World w("2026-11-24 11:00:05");
  Permit permit;
  permit.holders[KstTime("2026-11-24 11:00:20")] = "b";
  w.Make({}, &permit);
  w.scheduler->Add(Job("price", 10s), {"005930"});
  w.StartRun();
  w.Advance(35500ms, 100ms);  // to 11:00:40.5
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:10", "2026-11-24 11:00:30",
                                      "2026-11-24 11:00:40"}));
  ASSERT_EQ(permit.asked.size(), 4u);
  ASSERT_EQ(permit.finished.size(), 2u);  // 11:00:40 still runs
  EXPECT_EQ(KstText(permit.finished[1]), "2026-11-24 11:00:30");
  EXPECT_EQ(w.Status(0).totals.cycles, 2u);
  EXPECT_EQ(w.Status(0).totals.skipped_starts, 0u);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(2s);
  EXPECT_TRUE(w.ended);
}

// Shared jobs: a cycle another instance holds is on this instance's board with that instance's
// name (or null when the permit could not name it), between the cycles this one ran under its own
// name; it is neither run nor counted here.
TEST(Scheduler, CycleHeldByAnotherInstanceIsOnTheBoardWithItsName) {
  World w("2026-11-24 11:00:05");
  Permit permit;
  permit.instance = "kisgate-a";
  permit.holders[KstTime("2026-11-24 11:00:20")] = "kisgate-b";
  permit.holders[KstTime("2026-11-24 11:00:30")] = "";
  w.Make({}, &permit);
  w.scheduler->Add(Job("price", 10s), {"005930"});
  w.StartRun();
  w.Advance(36500ms, 100ms);  // to 11:00:41.5: the 11:00:40 cycle has ended
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:10", "2026-11-24 11:00:40"}));
  ASSERT_EQ(permit.finished.size(), 2u);
  EXPECT_EQ(KstText(permit.finished[1]), "2026-11-24 11:00:40");
  EXPECT_EQ(w.Status(0).totals.cycles, 2u);
  EXPECT_EQ(w.Status(0).totals.elsewhere, 2u);
  const auto snapshot = w.scheduler->board().Snapshot();
  EXPECT_EQ(snapshot.instance, "kisgate-a");
  const auto& job = snapshot.jobs.at(0);
  EXPECT_EQ(job.cycles_elsewhere, 2u);
  std::vector<std::string> who;
  for (const auto& c : job.recent) {
    const auto& instance = c.elsewhere ? c.instance : snapshot.instance;
    who.push_back(fmt::format("{} {}", c.cycle_time, instance.empty() ? "?" : instance));
  }
  EXPECT_EQ(who, (std::vector<std::string>{"20261124110010 kisgate-a", "20261124110020 kisgate-b",
                                           "20261124110030 ?", "20261124110040 kisgate-a"}));
  EXPECT_FALSE(job.recent.back().elsewhere);
  EXPECT_EQ(job.recent.back().ok, 1);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(2s);
  EXPECT_TRUE(w.ended);
}

// Redis down (issue 13): a permit that cannot tell who runs a cycle (an error, an exception, no
// answer within PermitWait) means the cycle runs here, on time or PermitWait late, with its
// deadline unchanged; once the permit answers again, a cycle held elsewhere is left to its holder.
TEST(Scheduler, PermitThatCannotTellRunsTheCycleHere) {
  World w("2026-11-24 11:00:05");
  Permit permit;
  permit.troubles[KstTime("2026-11-24 11:00:10")] = Permit::Trouble::kError;
  permit.troubles[KstTime("2026-11-24 11:00:20")] = Permit::Trouble::kThrow;
  permit.troubles[KstTime("2026-11-24 11:00:30")] = Permit::Trouble::kLate;
  permit.holders[KstTime("2026-11-24 11:00:50")] = "kisgate-b";
  w.Make({}, &permit);
  w.scheduler->Add(Job("price", 10s), {"005930"});
  w.StartRun();
  w.Advance(50500ms, 100ms);  // to 11:00:55.5
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:10", "2026-11-24 11:00:20",
                                      "2026-11-24 11:00:30", "2026-11-24 11:00:40"}));
  ASSERT_EQ(w.cycles.calls.size(), 4u);
  const auto& late = w.cycles.calls[2];
  EXPECT_EQ(PermitWait(Job("price", 10s)), 2s);
  EXPECT_GE(late.began - w.SteadyFor(late.start), 2s);
  EXPECT_LE(late.began - w.SteadyFor(late.start), 2s + 100ms);
  EXPECT_EQ(late.deadline, w.SteadyFor(KstTime("2026-11-24 11:00:40")));
  EXPECT_EQ(permit.finished.size(), 4u);
  EXPECT_EQ(w.Status(0).totals.cycles, 4u);
  EXPECT_EQ(w.Status(0).totals.elsewhere, 1u);
  EXPECT_EQ(w.cycles.overlaps, 0);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(2s);
  EXPECT_TRUE(w.ended);
}

// Stop while the permit is being asked: the cycle does not run, and a "yes" that comes then is
// handed back at once (Finished), so a lease taken for it is not renewed for a cycle that never
// ran.
TEST(Scheduler, StopWhileAskingHandsBackTheCycle) {
  World w("2026-11-24 11:00:05");
  Permit permit;
  permit.troubles[KstTime("2026-11-24 11:00:10")] = Permit::Trouble::kSlow;
  w.Make({}, &permit);
  w.scheduler->Add(Job("price", 10s), {"005930"});
  w.StartRun();
  w.Advance(5500ms, 100ms);  // to 11:00:10.5: asked, no answer yet
  ASSERT_EQ(permit.asked.size(), 1u);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(1s, 100ms);
  EXPECT_TRUE(w.ended);
  EXPECT_TRUE(w.cycles.calls.empty());
  ASSERT_EQ(permit.finished.size(), 1u);
  EXPECT_EQ(KstText(permit.finished[0]), "2026-11-24 11:00:10");
}

// Run-once: every job's cycle at once, now, each with a deadline one interval of its job away;
// the reports come back in the order the jobs were added, when the last has finished.
TEST(Scheduler, RunOnceReturnsEveryReport) {
  World w("2026-11-24 11:00:07");
  w.cycles.work = [](const std::string& job, std::size_t) -> common::Duration {
    return job == "price" ? 3s : 1s;
  };
  std::vector<std::tuple<std::size_t, int, int>> progress;
  SchedulerHooks hooks;
  hooks.progress = [&](std::size_t job, int done, int planned) {
    progress.emplace_back(job, done, planned);
  };
  w.Make(hooks);
  w.scheduler->Add(Job("price", 20s), {"005930", "000660", "035420"});
  w.scheduler->Add(Job("investors", 5min), {"005930"});
  std::optional<std::vector<CycleReport>> reports;
  asio::co_spawn(
      w.io, [&]() -> asio::awaitable<void> { reports = co_await w.scheduler->RunOnce(); },
      [](std::exception_ptr e) { EXPECT_FALSE(e); });
  w.io.poll();
  const auto start = w.clock.Now();
  w.Advance(2s, 100ms);
  EXPECT_FALSE(reports);
  ASSERT_EQ(w.cycles.calls.size(), 2u);
  for (const auto& c : w.cycles.calls) {
    EXPECT_EQ(c.began, start);
    EXPECT_EQ(KstText(c.start), "2026-11-24 11:00:07");
  }
  EXPECT_EQ(w.cycles.calls[0].deadline, start + 20s);
  EXPECT_EQ(w.cycles.calls[1].deadline, start + 5min);
  w.Advance(2s, 100ms);
  ASSERT_TRUE(reports);
  ASSERT_EQ(reports->size(), 2u);
  EXPECT_EQ((*reports)[0].job, "price");
  EXPECT_EQ((*reports)[0].ok, 3);
  EXPECT_EQ((*reports)[1].job, "investors");
  EXPECT_EQ((*reports)[1].ok, 1);
  EXPECT_EQ(w.Status(0).totals.cycles, 1u);
  EXPECT_EQ(w.Status(1).totals.cycles, 1u);
  EXPECT_EQ(progress, (std::vector<std::tuple<std::size_t, int, int>>{{1, 1, 1}, {0, 3, 3}}));
}

// A runner that throws fails its cycle ("exception"), not the run: the other job's report is
// there, and a scheduled job goes on with its next start.
TEST(Scheduler, RunnerThatThrowsFailsTheCycleOnly) {
  World w("2026-11-24 11:00:07");
  w.cycles.throws = [](const std::string& job) { return job == "broken"; };
  w.Make();
  w.scheduler->Add(Job("broken", 10s), {"005930", "000660"});
  w.scheduler->Add(Job("price", 10s), {"005930"});
  std::optional<std::vector<CycleReport>> reports;
  asio::co_spawn(
      w.io, [&]() -> asio::awaitable<void> { reports = co_await w.scheduler->RunOnce(); },
      [](std::exception_ptr e) { EXPECT_FALSE(e); });
  w.io.poll();
  w.Advance(2s, 100ms);
  ASSERT_TRUE(reports);
  EXPECT_EQ((*reports)[0].job, "broken");
  EXPECT_EQ((*reports)[0].failed, 2);
  EXPECT_EQ((*reports)[0].failures.at("exception"), 2);
  EXPECT_EQ((*reports)[1].ok, 1);
  w.StartRun();
  w.Advance(15s, 100ms);                     // to 11:00:24
  EXPECT_EQ(w.Starts("broken").size(), 3u);  // the run-once, 11:00:10, 11:00:20
  EXPECT_EQ(w.Status(0).totals.failed, 6u);
  w.scheduler->Stop(w.clock.Now());
  w.Advance(2s);
  EXPECT_TRUE(w.ended);
}

// Rounds (the demo): every job's cycle at once, round after round, each round starting one
// interval after the previous one's start, until the count; the board shows the next round.
TEST(Scheduler, RoundsStartAnIntervalApart) {
  World w("2026-11-24 11:00:07");
  w.cycles.work = [](const std::string&, std::size_t nth) -> common::Duration {
    return nth == 1 ? 25s
                    : 2s;  // the second round outlasts the interval: the third follows at once
  };
  w.Make();
  w.scheduler->Add(Job("price", 20s), {"005930"});
  w.scheduler->Add(Job("orderbook", 20s), {"005930"});
  std::vector<Round> rounds;
  bool ended = false;
  asio::co_spawn(w.io,
                 w.scheduler->RunRounds(
                     RoundOptions{20s, 3, {}},
                     [&](const Round& r) {
                       rounds.push_back(r);
                       EXPECT_EQ(KstText(*w.Status(0).next_run),
                                 KstText(KstTime("2026-11-24 11:00:07") + (r.number * 20s)));
                     }),
                 [&](std::exception_ptr e) {
                   EXPECT_FALSE(e);
                   ended = true;
                 });
  w.io.poll();
  w.Advance(2min, 100ms);
  EXPECT_TRUE(ended);
  ASSERT_EQ(rounds.size(), 3u);
  EXPECT_EQ(rounds[2].number, 3);
  ASSERT_EQ(rounds[0].reports.size(), 2u);
  EXPECT_DOUBLE_EQ(rounds[0].seconds, 2.0);
  EXPECT_EQ(rounds[1].reports[0].dropped, 1);  // closed at its deadline, 20 s after its start
  EXPECT_EQ(w.Starts("price"),
            (std::vector<std::string>{"2026-11-24 11:00:07", "2026-11-24 11:00:27",
                                      "2026-11-24 11:00:47"}));
  EXPECT_EQ(w.cycles.overlaps, 0);
}

// Stop during rounds: the round in progress closes by `close_by`, and no other begins.
TEST(Scheduler, StopEndsRounds) {
  World w("2026-11-24 11:00:07");
  w.cycles.work = [](const std::string&, std::size_t) -> common::Duration { return 15s; };
  w.Make();
  w.scheduler->Add(Job("price", 20s), {"005930"});
  std::vector<Round> rounds;
  bool ended = false;
  asio::co_spawn(w.io,
                 w.scheduler->RunRounds(RoundOptions{20s, 0, {}},
                                        [&](const Round& r) { rounds.push_back(r); }),
                 [&](std::exception_ptr e) {
                   EXPECT_FALSE(e);
                   ended = true;
                 });
  w.io.poll();
  w.Advance(25s, 100ms);  // 5 s into the second round
  w.scheduler->Stop(w.clock.Now() + 5s);
  w.Advance(6s, 100ms);
  EXPECT_TRUE(ended);
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[1].reports[0].dropped, 1);
  w.Advance(1min, 1s);
  EXPECT_EQ(w.cycles.calls.size(), 2u);
}

}  // namespace
}  // namespace kisgate::collect
