#include "coord/job_leases.hpp"

#include <exception>
#include <map>
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

namespace kisgate::coord {

namespace asio = boost::asio;

namespace {

// KEYS[1] the lease, ARGV[1] this instance, ARGV[2] its ttl in ms. Returns the holder's name when
// the lease is held (ours included), nil when this call took it: taking and naming the holder in
// one atomic step, so a refusal always comes with a name.
const Script& TakeScript() {
  static const Script script(R"lua(
local holder = redis.call('GET', KEYS[1])
if holder then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
)lua");
  return script;
}

// KEYS[1] the lease, ARGV[1] this instance, ARGV[2] the ttl in ms. 1 when the lease was still
// ours and now lasts the ttl again; 0 when it is gone or another's (never taken from it).
const Script& RenewScript() {
  static const Script script(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
)lua");
  return script;
}

}  // namespace

// One lease this instance holds, while its cycle runs: the renewal waits on `timer`.
struct Held {
  explicit Held(const asio::any_io_executor& executor) : timer(executor) {}
  common::Timer timer;
  bool done = false;  // Finished, or the leases destroyed: renew no more
};

struct JobLeases::State {
  State(Coordinator& c, JobLeasesOptions o) : coordinator(c), options(o) {}

  Coordinator& coordinator;
  JobLeasesOptions options;
  JobLeasesStats stats;
  std::map<std::string, std::shared_ptr<Held>> held;  // by key
  // The keys MayRun is asking Redis for, and whether Finished came meanwhile: the scheduler ran
  // the cycle without waiting for the answer (see collect::PermitWait), and a lease taken after
  // its cycle ended must not be renewed.
  std::map<std::string, bool> asking;

  static asio::awaitable<void> Renew(std::shared_ptr<State> state, std::shared_ptr<Held> held,
                                     std::string key, std::chrono::milliseconds ttl);
};

// Renews `key` every third of `ttl` until `held` is done or the lease is no longer ours.
asio::awaitable<void> JobLeases::State::Renew(std::shared_ptr<State> state,
                                              std::shared_ptr<Held> held, std::string key,
                                              std::chrono::milliseconds ttl) {
  bool failed = false;  // the last renewal failed (logged once)
  while (!held->done) {
    held->timer.expires_after(ttl / 3);
    boost::system::error_code ec;
    co_await held->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (held->done) co_return;
    auto renew = state->coordinator.EvalSha(
        RenewScript(), {key}, {state->coordinator.instance(), fmt::format("{}", ttl.count())});
    const auto reply = co_await std::move(renew);
    if (held->done) co_return;
    if (!reply || reply->IsError()) {
      if (!failed) {
        spdlog::warn("job lease {}: cannot renew it ({}); trying again in {} ms", key,
                     reply ? Describe(*reply) : reply.error().message(), (ttl / 3).count());
      }
      failed = true;
      continue;
    }
    failed = false;
    if (reply->integer != 1) {
      spdlog::warn("job lease {}: lost (expired or taken) while its cycle runs", key);
      state->stats.lost++;
      co_return;
    }
    state->stats.renewals++;
  }
}

JobLeases::JobLeases(Coordinator& coordinator, JobLeasesOptions options)
    : state_(std::make_shared<State>(coordinator, options)) {}

JobLeases::~JobLeases() {
  for (auto& [key, held] : state_->held) held->done = true;
  // cancel() throws only when the OS refuses to cancel a timer; a destructor must not throw, and
  // a renewal not woken here still ends at its next wake-up (it sees `done`).
  try {
    for (auto& [key, held] : state_->held) held->timer.cancel();
  } catch (const std::exception& e) {
    spdlog::warn("job leases: a renewal goes on until its next wake-up ({})", e.what());
  }
}

std::string JobLeases::Key(const config::JobConfig& job, common::WallTime start) const {
  return state_->coordinator.Key({}, fmt::format("job:{}:{}", job.name, common::UnixMillis(start)));
}

std::chrono::milliseconds JobLeases::Ttl(const config::JobConfig& job) const {
  return job.every + state_->options.margin;
}

std::string JobLeases::Instance() const { return state_->coordinator.instance(); }

const JobLeasesStats& JobLeases::stats() const { return state_->stats; }

asio::awaitable<common::Result<collect::Permission>> JobLeases::MayRun(const config::JobConfig& job,
                                                                       common::WallTime start) {
  auto state = state_;
  auto key = Key(job, start);
  const auto ttl = Ttl(job);
  const auto& instance = state->coordinator.instance();
  state->asking[key] = false;
  auto take =
      state->coordinator.EvalSha(TakeScript(), {key}, {instance, fmt::format("{}", ttl.count())});
  const auto reply = co_await std::move(take);
  const auto asked = state->asking.extract(key);
  const bool finished = !asked.empty() && asked.mapped();
  // A failure has put the coordinator in fallback (it logs that once; the scheduler logs once
  // that the job runs here).
  if (!reply) {
    state->stats.failures++;
    co_return reply.error();
  }
  if (reply->IsError() || !(reply->IsNil() || reply->kind == Reply::Kind::kString)) {
    state->stats.failures++;
    state->coordinator.NoteFailure(fmt::format("job '{}' lease", job.name), Describe(*reply));
    co_return common::Errc::kProtocol;
  }
  // Our own name: this instance took it before under the same configured name (a restart within
  // the lease's life); it is ours to run and renew.
  if (reply->IsNil() || reply->str == instance) {
    state->stats.taken++;
    if (finished) co_return collect::Permission{};  // the lease expires unrenewed
    auto held = std::make_shared<Held>(state->coordinator.executor());
    if (auto old = state->held.find(key); old != state->held.end()) {
      old->second->done = true;
      old->second->timer.cancel();
    }
    state->held[key] = held;
    asio::co_spawn(state->coordinator.executor(), State::Renew(state, held, key, ttl),
                   [key](const std::exception_ptr& e) {
                     if (e) common::NoteException(fmt::format("job lease {} renewal", key), e);
                   });
    co_return collect::Permission{};
  }
  state->stats.elsewhere++;
  co_return collect::Permission{false, reply->str};
}

void JobLeases::Finished(const config::JobConfig& job, common::WallTime start) {
  // Not deleted: see the header (the same start must not run twice).
  const auto key = Key(job, start);
  if (auto asking = state_->asking.find(key); asking != state_->asking.end()) {
    asking->second = true;
    return;
  }
  auto it = state_->held.find(key);
  if (it == state_->held.end()) return;  // run without a lease (MayRun could not tell)
  it->second->done = true;
  it->second->timer.cancel();
  state_->held.erase(it);
}

}  // namespace kisgate::coord
