#include "collect/job_loop.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kisgate::collect {

namespace asio = boost::asio;

std::optional<common::WallTime> NextAfterCycle(const Schedule& schedule,
                                               const config::JobConfig& job,
                                               common::WallTime following, common::WallTime now,
                                               common::Duration tolerance) {
  if (now <= following + std::chrono::duration_cast<common::WallTime::duration>(tolerance))
    return following;
  return schedule.NextStart(job, now);
}

struct JobLoop::Impl {
  Impl(asio::any_io_executor executor, gate::Gateway& g, store::Store* s, const Schedule& sc,
       const config::JobConfig& j, std::vector<std::string> c, gate::FlowId f, JobLoopHooks h)
      : timer(std::move(executor)),
        gateway(g),
        store(s),
        schedule(sc),
        job(j),
        codes(std::move(c)),
        flow(f),
        hooks(std::move(h)) {}

  asio::steady_timer timer;
  gate::Gateway& gateway;
  store::Store* store;
  const Schedule& schedule;
  const config::JobConfig& job;
  std::vector<std::string> codes;
  gate::FlowId flow;
  JobLoopHooks hooks;
  bool stopping = false;
  std::shared_ptr<CycleControl> control = std::make_shared<CycleControl>();
};

JobLoop::JobLoop(asio::any_io_executor executor, gate::Gateway& gateway, store::Store* store,
                 const Schedule& schedule, const config::JobConfig& job,
                 std::vector<std::string> codes, gate::FlowId flow, JobLoopHooks hooks)
    : impl_(std::make_shared<Impl>(std::move(executor), gateway, store, schedule, job,
                                   std::move(codes), flow, std::move(hooks))),
      job_(job) {}

JobLoop::~JobLoop() = default;

void JobLoop::Stop(common::SteadyTime close_by) {
  impl_->stopping = true;
  impl_->timer.cancel();
  impl_->control->CloseBy(close_by);
}

asio::awaitable<void> JobLoop::Run() {
  auto impl = impl_;
  const auto& clock = common::SystemClock::Instance();
  const auto& job = impl->job;
  auto next = impl->schedule.NextStart(job, clock.WallNow());
  while (!impl->stopping) {
    if (!next) {
      spdlog::warn("job '{}': none of its sessions occur in the next 14 days", job.name);
      co_return;
    }
    if (impl->hooks.scheduled) impl->hooks.scheduled(*next);
    impl->timer.expires_after(
        std::chrono::duration_cast<common::Duration>(*next - clock.WallNow()));
    boost::system::error_code ec;
    co_await impl->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (impl->stopping) co_return;
    const auto following = impl->schedule.NextStart(job, *next).value_or(*next + job.every);
    // The deadline is the next start, on the steady clock.
    const auto deadline =
        clock.Now() + std::chrono::duration_cast<common::Duration>(following - clock.WallNow());
    if (impl->hooks.started) impl->hooks.started();
    auto cycle = RunCycle(impl->gateway, impl->store, impl->codes,
                          CycleSpec{&job, impl->flow, *next, deadline, impl->control});
    auto report = co_await std::move(cycle);
    if (impl->hooks.finished) impl->hooks.finished(report);
    const auto now = clock.WallNow();
    next = NextAfterCycle(impl->schedule, job, following, now);
    if (next && *next != following) {
      spdlog::warn(
          "job '{}' overran its interval ({:.1f} s): the next start is skipped, not stacked",
          job.name, report.seconds);
    }
  }
}

}  // namespace kisgate::collect
