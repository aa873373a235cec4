#pragma once
// collect::Scheduler: when the jobs' cycles run, in the three ways kisgate runs them, and the jobs
// board that shows it.
//   Run()        each job on its schedule (`serve`): a cycle at each of the job's starts (multiples
//                of its interval inside its sessions, on trading days; see Schedule), never two
//                cycles of one job at once, each cycle's deadline the job's next start. A cycle
//                closes at that deadline at the latest, so the next start is kept; only a cycle
//                that ends later than that (the loop was held up) skips the starts it missed, and
//                says so (logged, and counted on the board).
//   RunOnce()    every job's cycle at once, now, and the reports when all have finished
//                (`collect --once`); each cycle's deadline is one interval of its job from now.
//   RunRounds()  RunOnce again at a fixed interval from the first round (`demo`).
// Stop(close_by) ends any of them: nothing new starts, a cycle in progress closes by `close_by`
// (its codes still running then count as dropped), and the running call returns.
//
// What a cycle does is the CycleRunner's (RunCycle through the gate in the app, a fake in tests).
// Before each scheduled cycle of Run(), a JobPermit is asked who runs it: the seam where several
// instances sharing jobs (a lease per job and start) plug in. A cycle another instance holds is
// not run here; the board shows it with that instance's name. A permit that cannot tell (its
// shared store is down or slow, or it throws) means the cycle runs here: every instance then runs
// every job, and the gate's fallback budget (a share of the key's rate per instance) keeps the
// key within its limit, while the store's idempotent writes absorb the duplicate rows. Collecting
// twice for a while is better than collecting nothing until the store answers again.
//
// Time: wall time from the injected Clock's WallNow(), waits on common::Timer with expiries from
// its Now(): tests run the scheduler on a ManualClock (common::ManualTimeScope).
// Thread-safety: one executor (a single-threaded io_context); call everything from it. One of
// Run, RunOnce, RunRounds at a time.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "collect/collector.hpp"
#include "collect/jobs_board.hpp"
#include "collect/schedule.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "store/store.hpp"

namespace kisgate::collect {

// Runs one cycle of `spec.job` over `codes` (which outlive the cycle). It must return by
// spec.deadline, or by the time asked through spec.control, whichever is first: RunCycle does.
using CycleRunner = std::function<boost::asio::awaitable<CycleReport>(
    const std::vector<std::string>& codes, CycleSpec spec, Progress progress)>;

// RunCycle through `gateway` into `store` (which may be null): the runner the app uses.
CycleRunner GatewayCycles(gate::Gateway& gateway, store::Store* store);

// A JobPermit's answer for one cycle: run it here, or leave it to the instance that holds it.
struct Permission {
  bool run = true;
  // When !run: the instance that holds the cycle (runs it), shown on the board; empty when the
  // permit could not tell (the holder's lease ended between taking and naming).
  std::string instance;
};

// "Who runs this cycle?", asked before each scheduled cycle of Scheduler::Run.
// One instance: always this one (AlwaysPermit). Several instances sharing jobs: an implementation
// takes a lease on (job, start) in a shared store and answers whether it got it or who holds it;
// it releases the lease or lets it expire in Finished. MayRun should answer well within the job's
// interval: the cycle's deadline does not move while it is asked, and the scheduler waits at most
// PermitWait(job) before it runs the cycle itself. An error (the shared store cannot be reached)
// is "cannot tell": the scheduler then runs the cycle here (see Scheduler). RunOnce and RunRounds
// (an operator's command to run now) do not ask. Thread-safety: the scheduler's executor.
class JobPermit {
 public:
  virtual ~JobPermit() = default;
  virtual boost::asio::awaitable<common::Result<Permission>> MayRun(const config::JobConfig& job,
                                                                    common::WallTime start) = 0;
  // The cycle MayRun allowed has ended (also one the scheduler ran because MayRun could not tell
  // in time: a permit must accept Finished for a start it does not hold).
  virtual void Finished(const config::JobConfig& job, common::WallTime start) = 0;
  // This instance's name, shown on the jobs board beside each cycle it ran; empty (the default)
  // when it runs alone, and then /v1/jobs is what it was before instances were shared.
  virtual std::string Instance() const { return {}; }
};

class AlwaysPermit final : public JobPermit {
 public:
  boost::asio::awaitable<common::Result<Permission>> MayRun(const config::JobConfig& job,
                                                            common::WallTime start) override;
  void Finished(const config::JobConfig& job, common::WallTime start) override;
};

// How long Scheduler::Run waits for a permit's answer before it runs the cycle itself: a quarter
// of the job's interval, at most 2 s (a Redis round trip is a millisecond; its timeout 50 ms).
common::Duration PermitWait(const config::JobConfig& job);

// For the command line; each may be empty.
struct SchedulerHooks {
  // A job's cycle made progress; `job` is its index in the order of Add.
  std::function<void(std::size_t job, int done, int planned)> progress;
  // A job's cycle ended (the board already has it).
  std::function<void(const CycleReport& report)> finished;
};

// The start to run after a cycle whose successor was due at `following`, now that it ended at
// `now`: `following` itself when the cycle ended by then or within `tolerance` after it (a cycle
// closes at its deadline, which is `following`: that is on time, not an overrun), else the first
// start after `now`.
std::optional<common::WallTime> NextAfterCycle(
    const Schedule& schedule, const config::JobConfig& job, common::WallTime following,
    common::WallTime now, common::Duration tolerance = std::chrono::seconds(1));

// One round of RunRounds: every job's report, in the order of Add, and how long the round took.
struct Round {
  int number = 0;  // from 1
  std::vector<CycleReport> reports;
  double seconds = 0;
};

struct RoundOptions {
  common::Duration every{};     // from one round's start to the next's
  int rounds = 0;               // 0: until Stop
  common::Duration duration{};  // no round starts after this much time; 0: no limit
};

class Scheduler {
 public:
  // `schedule` (used by Run only) and `clock` outlive the scheduler; `permit` null: AlwaysPermit.
  Scheduler(boost::asio::any_io_executor executor, const common::Clock& clock,
            const Schedule& schedule, CycleRunner run_cycle, SchedulerHooks hooks = {},
            JobPermit* permit = nullptr);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Registers `job` over `codes`, on the board too. Its flow in the gate is its index. Before any
  // Run*.
  void Add(const config::JobConfig& job, std::vector<std::string> codes);
  std::size_t size() const;

  // Every job on its schedule until Stop(), or until none of a job's sessions occur in the next 14
  // days (that job's loop ends, and says so). Returns when every job's loop has ended.
  boost::asio::awaitable<void> Run();
  // Every job's cycle at once, now; the reports in the order of Add. A runner that throws gives a
  // report with every code failed ("exception").
  boost::asio::awaitable<std::vector<CycleReport>> RunOnce();
  // Rounds of RunOnce every `options.every` from the first round's start (a round that takes
  // longer is followed at once), `on_round` after each, until `options.rounds` or
  // `options.duration` or Stop().
  boost::asio::awaitable<void> RunRounds(RoundOptions options,
                                         std::function<void(const Round&)> on_round);
  // No new cycle starts; cycles in progress close by `close_by`, and Run* return.
  void Stop(common::SteadyTime close_by);

  JobsBoard& board();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace kisgate::collect
