#pragma once
// coord::JobLeases: which instance runs each job cycle when several instances share jobs (issue
// 13, "Jobs"), as the scheduler's collect::JobPermit, through Redis.
//
// One lease per (job, start): the key "<prefix>:job:<job>:<start in unix ms>" (the coordinator's
// prefix) holds the name of the instance that runs that cycle. The first instance to ask takes it
// (a Lua script: GET, else SET PX; atomic and one round trip, so the answer that refuses the lease
// names its holder); every other instance is told the holder's name. The lease lives for the
// job's interval plus `margin` and is renewed every third of that while its cycle runs (compare
// and PEXPIRE: only while it is still ours), so a cycle held up past its interval keeps it.
//
// Finished does not delete the lease: it stops renewing and leaves the key to expire. Deleting it
// would let an instance that asks for the same start later (its clock behind, its loop held up, a
// restart) take it and run the cycle a second time; keeping it until the interval (and margin) has
// passed costs one small key per cycle. A holder that dies stops renewing; its lease expires, and
// since each start has its own key, the next start goes to whoever asks first anyway.
//
// Redis goes through the Coordinator, so the leases count for its health and follow its mode: in
// fallback (Redis unreachable, slower than coordination.timeout, answering errors) MayRun returns
// the error at once without asking, and the scheduler runs the cycle here (see collect::Scheduler:
// running twice while Redis is down beats collecting nothing; the gate's fallback share keeps the
// key safe). A renewal that fails is tried again at the next third; one that finds the lease gone
// or another's is logged and counted (stats().lost), and the cycle goes on.
//
// Config: `margin` (below); the lease's life follows the job's interval; the instance's name and
// the keys' prefix are the coordinator's.
//
// Thread-safety: the coordinator's executor, which is the scheduler's (one single-threaded
// io_context). The coordinator outlives the leases; destroying the leases stops their renewals.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "collect/scheduler.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "coord/coordinator.hpp"

namespace kisgate::coord {

struct JobLeasesOptions {
  // A lease lasts the job's interval plus this, from when it was taken or last renewed: longer
  // than any clock difference between instances, so no instance asks for a start after its lease
  // has gone.
  std::chrono::milliseconds margin{5000};
};

struct JobLeasesStats {
  std::uint64_t taken = 0;      // cycles this instance got to run
  std::uint64_t elsewhere = 0;  // cycles another instance held
  std::uint64_t failures = 0;   // MayRun could not tell (Redis failed or answered an error)
  std::uint64_t renewals = 0;   // leases renewed
  std::uint64_t lost = 0;       // renewals that found the lease gone or another's
};

class JobLeases final : public collect::JobPermit {
 public:
  explicit JobLeases(Coordinator& coordinator, JobLeasesOptions options = {});
  ~JobLeases() override;
  JobLeases(const JobLeases&) = delete;
  JobLeases& operator=(const JobLeases&) = delete;

  boost::asio::awaitable<common::Result<collect::Permission>> MayRun(
      const config::JobConfig& job, common::WallTime start) override;
  void Finished(const config::JobConfig& job, common::WallTime start) override;
  std::string Instance() const override;

  // The lease's key of `job`'s cycle at `start`.
  std::string Key(const config::JobConfig& job, common::WallTime start) const;
  // How long a lease of `job` lasts without renewal.
  std::chrono::milliseconds Ttl(const config::JobConfig& job) const;
  const JobLeasesStats& stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the renewals, which may outlive a call
};

}  // namespace kisgate::coord
