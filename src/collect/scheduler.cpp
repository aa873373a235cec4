#include "collect/scheduler.hpp"

#include <algorithm>
#include <exception>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"

namespace kisgate::collect {

namespace asio = boost::asio;

CycleRunner GatewayCycles(gate::Gateway& gateway, store::Store* store) {
  return
      [&gateway, store](const std::vector<std::string>& codes, CycleSpec spec, Progress progress) {
        return RunCycle(gateway, store, codes, std::move(spec), std::move(progress));
      };
}

asio::awaitable<common::Result<Permission>> AlwaysPermit::MayRun(const config::JobConfig& /*job*/,
                                                                 common::WallTime /*start*/) {
  co_return Permission{};
}

void AlwaysPermit::Finished(const config::JobConfig& /*job*/, common::WallTime /*start*/) {}

common::Duration PermitWait(const config::JobConfig& job) {
  return std::min<common::Duration>(job.every / 4, std::chrono::seconds(2));
}

std::optional<common::WallTime> NextAfterCycle(const Schedule& schedule,
                                               const config::JobConfig& job,
                                               common::WallTime following, common::WallTime now,
                                               common::Duration tolerance) {
  if (now <= following + std::chrono::duration_cast<common::WallTime::duration>(tolerance)) {
    return following;
  }
  return schedule.NextStart(job, now);
}

namespace {

// The starts of `job` in [from, to), for saying how many a late cycle skipped. Bounded: a 1-s
// job held up for a day counts 86,400, and the count is only reported.
std::uint64_t StartsBetween(const Schedule& schedule, const config::JobConfig& job,
                            common::WallTime from, common::WallTime to) {
  constexpr std::uint64_t kMaxCounted = 1'000'000;
  std::uint64_t n = 0;
  for (std::optional<common::WallTime> t = from; t && *t < to && n < kMaxCounted;
       t = schedule.NextStart(job, *t)) {
    ++n;
  }
  return n;
}

// Counts what has yet to finish and wakes the waiting coroutine when nothing has: tasks may
// finish before the wait begins, so the count is checked before each wait.
struct Countdown {
  Countdown(const asio::any_io_executor& executor, std::size_t n) : remaining(n), wake(executor) {
    wake.expires_at(common::SteadyTime::max());
  }
  void Done() {
    if (--remaining == 0) wake.cancel();
  }
  asio::awaitable<void> Wait() {
    while (remaining > 0) {
      boost::system::error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  std::size_t remaining;
  common::Timer wake;
};

struct ScheduledJob {
  ScheduledJob(const asio::any_io_executor& executor, config::JobConfig j,
               std::vector<std::string> c, std::size_t i)
      : job(std::move(j)), codes(std::move(c)), index(i), timer(executor) {}

  config::JobConfig job;
  std::vector<std::string> codes;
  std::size_t index;    // in the order of Add; also the job's flow in the gate
  common::Timer timer;  // Run's wait for the next start
  std::shared_ptr<CycleControl> control = std::make_shared<CycleControl>();
  bool permit_failing = false;  // the permit's last answer was "cannot tell" (logged once)
};

// A permit's answer, shared with its completion handler, which may run after the wait gave up.
struct PermitAsk {
  explicit PermitAsk(const asio::any_io_executor& executor) : wake(executor) {}
  std::optional<common::Result<Permission>> answer;
  common::Timer wake;
};

}  // namespace

struct Scheduler::Impl {
  Impl(asio::any_io_executor e, const common::Clock& c, const Schedule& s, CycleRunner r,
       SchedulerHooks h, JobPermit* p)
      : executor(std::move(e)),
        clock(c),
        schedule(s),
        run_cycle(std::move(r)),
        hooks(std::move(h)),
        permit(p != nullptr ? p : &always),
        between_rounds(executor) {
    board.SetInstance(permit->Instance());
  }

  // The steady time at which the wall clock will read `t`: timers wait on steady time.
  common::SteadyTime SteadyAt(common::WallTime t) const {
    return clock.Now() + std::chrono::duration_cast<common::Duration>(t - clock.WallNow());
  }

  asio::any_io_executor executor;
  const common::Clock& clock;
  const Schedule& schedule;
  CycleRunner run_cycle;
  SchedulerHooks hooks;
  AlwaysPermit always;
  JobPermit* permit;
  JobsBoard board;
  std::vector<std::unique_ptr<ScheduledJob>> jobs;
  common::Timer between_rounds;
  bool stopping = false;

  // The coroutines hold the state they use (a closed cycle's late calls may outlive the scheduler).
  using Ptr = std::shared_ptr<Impl>;
  static asio::awaitable<CycleReport> Cycle(Ptr impl, ScheduledJob* job, common::WallTime start,
                                            common::SteadyTime deadline);
  static asio::awaitable<Permission> MayRun(Ptr impl, ScheduledJob* job, common::WallTime start);
  static asio::awaitable<void> Loop(Ptr impl, ScheduledJob* job);
  static asio::awaitable<void> OneOfRound(Ptr impl, ScheduledJob* job, common::WallTime start,
                                          common::SteadyTime deadline,
                                          std::shared_ptr<std::vector<CycleReport>> reports);
  static asio::awaitable<std::vector<CycleReport>> Once(Ptr impl);
  static asio::awaitable<void> Rounds(Ptr impl, RoundOptions options,
                                      std::function<void(const Round&)> on_round);
  static asio::awaitable<void> RunAll(Ptr impl);
};

// One cycle of `job`, on the board; a runner that throws gives a report of failed codes.
asio::awaitable<CycleReport> Scheduler::Impl::Cycle(Ptr impl, ScheduledJob* job,
                                                    common::WallTime start,
                                                    common::SteadyTime deadline) {
  impl->board.Started(job->job.name);
  Progress progress;
  if (impl->hooks.progress) {
    progress = [impl, index = job->index](int done, int planned) {
      impl->hooks.progress(index, done, planned);
    };
  }
  auto cycle = impl->run_cycle(
      job->codes,
      CycleSpec{&job->job, static_cast<gate::FlowId>(job->index), start, deadline, job->control},
      std::move(progress));
  // The spawn boundary of the runner: its exception becomes a failed cycle, not a dead job.
  auto spawned =
      asio::co_spawn(impl->executor, std::move(cycle), asio::as_tuple(asio::use_awaitable));
  auto [error, report] = co_await std::move(spawned);
  if (error) {
    common::NoteException(fmt::format("job '{}'", job->job.name), error);
    report = CycleReport{};
    report.job = job->job.name;
    report.cycle_time = common::FormatCompactKst(start);
    report.planned = static_cast<int>(job->codes.size());
    report.failed = std::max(1, report.planned);
    report.failures["exception"] = report.failed;
  }
  impl->board.Finished(report, impl->clock.WallNow());
  if (impl->hooks.finished) impl->hooks.finished(report);
  co_return report;
}

// Asks the permit who runs the cycle of `job` at `start`, waiting at most PermitWait. A permit
// that cannot tell (an error, an exception, no answer in time) means "run it here": see the header
// for why running twice beats collecting nothing. Logged once per stretch of such answers.
asio::awaitable<Permission> Scheduler::Impl::MayRun(Ptr impl, ScheduledJob* job,
                                                    common::WallTime start) {
  const auto wait = PermitWait(job->job);
  auto ask = std::make_shared<PermitAsk>(impl->executor);
  ask->wake.expires_at(impl->clock.Now() + wait);
  // The spawn boundary of the permit: its exception is an answer it could not give.
  asio::co_spawn(impl->executor, impl->permit->MayRun(job->job, start),
                 [impl, ask, name = job->job.name](const std::exception_ptr& e,
                                                   common::Result<Permission> answer) {
                   if (e) {
                     common::NoteException(fmt::format("job '{}' permit", name), e);
                     answer = common::Errc::kException;
                   }
                   ask->answer = std::move(answer);
                   ask->wake.cancel();
                 });
  while (!ask->answer && impl->clock.Now() < ask->wake.expiry()) {
    boost::system::error_code ec;
    co_await ask->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const auto& config = job->job;
  if (!ask->answer || !ask->answer->has_value()) {
    if (!job->permit_failing) {
      const std::string why =
          ask->answer
              ? ask->answer->error().message()
              : fmt::format("no answer within {} ms",
                            std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
      spdlog::warn(
          "job '{}': cannot tell which instance runs its cycles ({}); running them here until "
          "it can",
          config.name, why);
      job->permit_failing = true;
    }
    co_return Permission{};
  }
  if (job->permit_failing) {
    spdlog::info("job '{}': its cycles are shared between instances again", config.name);
    job->permit_failing = false;
  }
  co_return ask->answer->value();
}

// One job on its schedule until Stop().
asio::awaitable<void> Scheduler::Impl::Loop(Ptr impl, ScheduledJob* job) {
  const auto& clock = impl->clock;
  const auto& config = job->job;
  auto next = impl->schedule.NextStart(config, clock.WallNow());
  while (!impl->stopping) {
    if (!next) {
      spdlog::warn("job '{}': none of its sessions occur in the next 14 days", config.name);
      co_return;
    }
    impl->board.Scheduled(config.name, *next);
    job->timer.expires_at(impl->SteadyAt(*next));
    boost::system::error_code ec;
    co_await job->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (impl->stopping) co_return;
    const auto start = *next;
    const auto following = impl->schedule.NextStart(config, start).value_or(start + config.every);
    auto ask = MayRun(impl, job, start);
    const Permission permission = co_await std::move(ask);
    if (impl->stopping) {
      if (permission.run) impl->permit->Finished(config, start);  // a lease taken is let go
      co_return;
    }
    if (!permission.run) {
      spdlog::debug("job '{}': the cycle of {} is {}'s", config.name,
                    common::FormatKstDateTime(start),
                    permission.instance.empty() ? "another instance" : permission.instance);
      impl->board.RanElsewhere(config.name, start, permission.instance);
      next = following;
      continue;
    }
    // The deadline is the next start: superseded work is dropped, not queued.
    auto cycle = Cycle(impl, job, start, impl->SteadyAt(following));
    const auto report = co_await std::move(cycle);
    impl->permit->Finished(config, start);
    const auto now = clock.WallNow();
    next = NextAfterCycle(impl->schedule, config, following, now);
    if (next && *next != following) {
      const auto skipped = StartsBetween(impl->schedule, config, following, *next);
      impl->board.Skipped(config.name, skipped);
      spdlog::warn(
          "job '{}' overran its interval ({:.1f} s): {} start{} skipped, not stacked; next at {}",
          config.name, report.seconds, skipped, skipped == 1 ? "" : "s",
          common::FormatKstDateTime(*next));
    }
  }
}

asio::awaitable<void> Scheduler::Impl::OneOfRound(
    Ptr impl, ScheduledJob* job, common::WallTime start, common::SteadyTime deadline,
    std::shared_ptr<std::vector<CycleReport>> reports) {
  auto cycle = Cycle(impl, job, start, deadline);
  (*reports)[job->index] = co_await std::move(cycle);
}

asio::awaitable<std::vector<CycleReport>> Scheduler::Impl::Once(Ptr impl) {
  const auto start = impl->clock.WallNow();
  const auto now = impl->clock.Now();
  auto reports = std::make_shared<std::vector<CycleReport>>(impl->jobs.size());
  auto countdown = std::make_shared<Countdown>(impl->executor, impl->jobs.size());
  for (const auto& job : impl->jobs) {
    // Each cycle's deadline is where the job's next one would start.
    asio::co_spawn(impl->executor,
                   OneOfRound(impl, job.get(), start, now + job->job.every, reports),
                   [countdown, name = job->job.name](const std::exception_ptr& e) {
                     if (e) common::NoteException(fmt::format("job '{}'", name), e);
                     countdown->Done();
                   });
  }
  auto wait = countdown->Wait();
  co_await std::move(wait);
  co_return std::move(*reports);
}

asio::awaitable<void> Scheduler::Impl::Rounds(Ptr impl, RoundOptions options,
                                              std::function<void(const Round&)> on_round) {
  const auto& clock = impl->clock;
  const auto first = clock.Now();
  for (int number = 1; !impl->stopping; ++number) {
    const auto round_start = clock.Now();
    const auto wall_start = clock.WallNow();
    auto once = Once(impl);
    Round round;
    round.number = number;
    round.reports = co_await std::move(once);
    round.seconds = std::chrono::duration<double>(clock.Now() - round_start).count();
    for (const auto& job : impl->jobs)
      impl->board.Scheduled(job->job.name, wall_start + options.every);
    if (on_round) on_round(round);
    if (impl->stopping || (options.rounds != 0 && number >= options.rounds)) break;
    if (options.duration > common::Duration::zero() && clock.Now() - first >= options.duration)
      break;
    impl->between_rounds.expires_at(round_start + options.every);
    boost::system::error_code ec;
    co_await impl->between_rounds.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Scheduler::Impl::RunAll(Ptr impl) {
  auto countdown = std::make_shared<Countdown>(impl->executor, impl->jobs.size());
  for (const auto& job : impl->jobs) {
    asio::co_spawn(impl->executor, Loop(impl, job.get()),
                   [countdown, name = job->job.name](const std::exception_ptr& e) {
                     if (e) common::NoteException(fmt::format("job '{}'", name), e);
                     countdown->Done();
                   });
  }
  auto wait = countdown->Wait();
  co_await std::move(wait);
}

Scheduler::Scheduler(asio::any_io_executor executor, const common::Clock& clock,
                     const Schedule& schedule, CycleRunner run_cycle, SchedulerHooks hooks,
                     JobPermit* permit)
    : impl_(std::make_shared<Impl>(std::move(executor), clock, schedule, std::move(run_cycle),
                                   std::move(hooks), permit)) {}

Scheduler::~Scheduler() = default;

void Scheduler::Add(const config::JobConfig& job, std::vector<std::string> codes) {
  impl_->board.Register(job, codes.size());
  impl_->jobs.push_back(
      std::make_unique<ScheduledJob>(impl_->executor, job, std::move(codes), impl_->jobs.size()));
}

std::size_t Scheduler::size() const { return impl_->jobs.size(); }

asio::awaitable<void> Scheduler::Run() { return Impl::RunAll(impl_); }

asio::awaitable<std::vector<CycleReport>> Scheduler::RunOnce() { return Impl::Once(impl_); }

asio::awaitable<void> Scheduler::RunRounds(RoundOptions options,
                                           std::function<void(const Round&)> on_round) {
  return Impl::Rounds(impl_, options, std::move(on_round));
}

void Scheduler::Stop(common::SteadyTime close_by) {
  impl_->stopping = true;
  impl_->between_rounds.cancel();
  for (const auto& job : impl_->jobs) {
    job->timer.cancel();
    job->control->CloseBy(close_by);
  }
}

JobsBoard& Scheduler::board() { return impl_->board; }

}  // namespace kisgate::collect
