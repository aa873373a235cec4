#include "collect/collector.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/error.hpp"
#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "gate/paging.hpp"
#include "kis/records.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::collect {

namespace asio = boost::asio;

namespace {

// A code whose call failed because the cycle's deadline came (its calls expire at that deadline)
// is superseded by the next cycle, not failed: the deadline itself, or, once it has passed, a
// timeout on the wire or while waiting for a token.
bool Superseded(const std::string& code, bool past_deadline) {
  const auto kind = common::ErrcFromName(code);
  if (!kind) return false;  // KIS's own codes
  switch (*kind) {
    case common::Errc::kGateDeadline:
    case common::Errc::kDeadlineExceeded:
      return true;
    case common::Errc::kTimeout:
    case common::Errc::kTokenTimeout:
      return past_deadline;
    case common::Errc::kInvalidStockCode:
    case common::Errc::kRealOnlyTr:
    case common::Errc::kMalformedReply:
    case common::Errc::kTooManyRequests:
    case common::Errc::kUnavailable:
    case common::Errc::kCoordinationUnavailable:
    case common::Errc::kUnknownTr:
    case common::Errc::kKisRejected:
    case common::Errc::kKisBadRequest:
    case common::Errc::kBadUrl:
    case common::Errc::kResolve:
    case common::Errc::kConnectRefused:
    case common::Errc::kConnectTimeout:
    case common::Errc::kTlsHandshake:
    case common::Errc::kClosedWithoutResponse:
    case common::Errc::kReplyTooLarge:
    case common::Errc::kProtocol:
    case common::Errc::kException:
      return false;
  }
  return false;
}

// HHMM00 one minute before HHMMSS; nullopt at or before 00:01.
std::optional<std::string> MinuteBefore(const std::string& hhmmss) {
  auto t = common::ParseHms(hhmmss);
  if (!t || *t < std::chrono::minutes(1)) return std::nullopt;
  return common::FormatHms(std::chrono::duration_cast<std::chrono::minutes>(*t) -
                           std::chrono::minutes(1));
}

std::string DayBefore(const std::string& yyyymmdd) {
  auto d = common::ParseYmd(yyyymmdd);
  if (!d) return yyyymmdd;
  return common::FormatYmd(
      std::chrono::year_month_day{std::chrono::sys_days{*d} - std::chrono::days{1}});
}

// What a code fails with when the database does not answer a read in time (storage.timeout).
constexpr const char* kStoreTimeout = "store_timeout";

// The oldest market_time stored for (dataset, code) in [from, to]; "" when none. Read on the
// store's reader thread: the database may be slow or stalled.
asio::awaitable<store::ReadResult<std::string>> OldestStored(const store::Store& store,
                                                             std::string dataset, std::string code,
                                                             std::string from, std::string to) {
  // Newest first; a day of minute bars is 390 rows, 150 days of daily rows about 100.
  auto read =
      store.RangeAsync(std::move(dataset), std::move(code), std::move(from), std::move(to), 2000);
  auto rows = co_await std::move(read);
  store::ReadResult<std::string> out{{}, rows.error, std::move(rows.message)};
  if (!rows.value.empty()) out.value = rows.value.back().market_time;
  co_return out;
}

// One code of one cycle: the call(s), then the records. Returns the error code, or "" on success.
// Everything is taken by value: a cycle closed at its deadline returns before a late call ends.
asio::awaitable<std::string> CollectOne(gate::Gateway& gateway, store::Store* store,
                                        std::string code, CycleSpec spec, std::string cycle_time,
                                        std::shared_ptr<CycleReport> report) {
  // The config has parsed the data set's name; value() throws (the spawn boundary logs it) for a
  // JobConfig made in code with a name that is not one.
  const auto& info = kis::TrInfoFor(common::ParseDataset(spec.job->dataset).value());
  const std::string dataset(common::Name(info.dataset));
  // The config has checked the lane's name.
  const gate::CallOptions options{gate::ParseLane(spec.job->lane).value_or(gate::Lane::kBatch),
                                  spec.flow, spec.deadline};
  const auto collected_at = gateway.clock().WallNow();
  // Each reply's records go to the store as soon as the reply is in (writes are idempotent): a
  // paged walk cut by the deadline, a crash or a failed page keeps the pages it got.
  std::string conversion_error;
  auto keep = [&](const std::string& body) {
    if (!conversion_error.empty()) return;
    auto converted = kis::ToRecords(info.tr, code, body, cycle_time, collected_at);
    if (auto* c = std::get_if<kis::Classification>(&converted)) {
      conversion_error = c->code;
      return;
    }
    auto& records = std::get<std::vector<store::Record>>(converted);
    report->rows += records.size();
    if (store) store->Write(std::move(records));
  };
  if (info.paging == kis::Paging::kNone) {
    auto call = gateway.Call(kis::QuoteRequest(info.tr, code), options);
    gate::CallResult result = co_await std::move(call);
    // Sent upstream by this call (retries included; none when the gate refused it or it shared
    // another caller's call).
    report->upstream_calls += result.coalesced ? 0 : result.attempts;
    if (!result.ok) co_return result.error.code;
    keep(result.body);
    co_return conversion_error;
  }
  // A paged data set: the walks to make, newest first, as (until, after) or (to, from).
  struct Walk {
    std::string newest;
    std::optional<std::string> oldest;
  };
  std::vector<Walk> walks;
  const auto kst = common::ToKst(spec.start);
  const std::string today = common::FormatYmd(kst.date);
  if (info.paging == kis::Paging::kTimeCursor) {
    // What is new since the last stored bar of today; then, if an earlier walk was cut off, the
    // bars older than the oldest stored one, down to the open.
    Walk fresh{"153000", std::nullopt};
    std::optional<Walk> rest;
    if (store) {
      auto read_last = store->LatestMarketTimeAsync(dataset, code);
      const auto read = co_await std::move(read_last);
      if (read.error == store::ReadError::kTimeout) co_return kStoreTimeout;
      const auto& last = read.value;
      if (last.size() == 14 && last.starts_with(today)) {
        fresh.oldest = last.substr(8);
        auto read_oldest = OldestStored(*store, dataset, code, today + "000000", today + "235959");
        const auto stored = co_await std::move(read_oldest);
        if (stored.error == store::ReadError::kTimeout) co_return kStoreTimeout;
        const auto& oldest = stored.value;
        if (oldest.size() == 14 && oldest.substr(8) > "090000") {
          if (auto until = MinuteBefore(oldest.substr(8))) rest = Walk{*until, std::nullopt};
        }
      }
    }
    walks.push_back(fresh);
    if (rest) walks.push_back(*rest);
  } else {
    // A range backfill first (150 calendar days, about 100 trading days), then the latest day;
    // and, if an earlier backfill was cut off, the range older than the oldest stored row.
    const std::string backfill_from = common::FormatYmd(
        std::chrono::year_month_day{std::chrono::sys_days{kst.date} - std::chrono::days{150}});
    Walk fresh{today, backfill_from};
    std::optional<Walk> rest;
    if (store) {
      auto read_last = store->LatestMarketTimeAsync(dataset, code);
      const auto read = co_await std::move(read_last);
      if (read.error == store::ReadError::kTimeout) co_return kStoreTimeout;
      const auto& last = read.value;
      if (last.size() >= 8) {
        fresh.oldest = last.substr(0, 8);
        auto read_oldest = OldestStored(*store, dataset, code, backfill_from, "");
        const auto stored = co_await std::move(read_oldest);
        if (stored.error == store::ReadError::kTimeout) co_return kStoreTimeout;
        const auto& oldest = stored.value;
        // Holidays leave up to about two weeks without rows after `backfill_from`: a gap wider than
        // that is a cut-off walk (or a young listing, which costs one short page).
        const std::string slack = common::FormatYmd(std::chrono::year_month_day{
            std::chrono::sys_days{kst.date} - std::chrono::days{150 - 14}});
        if (oldest.size() >= 8 && oldest.substr(0, 8) > slack) {
          rest = Walk{DayBefore(oldest.substr(0, 8)), backfill_from};
        }
      }
    }
    walks.push_back(fresh);
    if (rest) walks.push_back(*rest);
  }
  auto keep_page = [&](const std::string& body) {
    report->upstream_calls++;
    keep(body);
  };
  for (const auto& walk : walks) {
    std::variant<gate::PagedBars, gate::CallResult> paged;
    if (info.paging == kis::Paging::kTimeCursor) {
      auto fetch =
          gate::FetchMinuteBars(gateway, code, options, walk.newest, walk.oldest, keep_page);
      paged = co_await std::move(fetch);
    } else {
      auto fetch =
          gate::FetchDailyBars(gateway, code, *walk.oldest, walk.newest, options, 'D', keep_page);
      paged = co_await std::move(fetch);
    }
    if (auto* failed = std::get_if<gate::CallResult>(&paged)) {
      report->upstream_calls += failed->attempts;
      co_return failed->error.code;
    }
    if (!conversion_error.empty()) co_return conversion_error;
  }
  co_return std::string();
}

// The state a cycle's codes share with the cycle: it outlives a cycle closed at its deadline.
struct Join {
  explicit Join(const asio::any_io_executor& executor) : wake(executor) {}
  std::shared_ptr<CycleReport> report;
  int done = 0;
  bool closed = false;  // RunEachCode has returned: late codes were counted as dropped
  Progress progress;
  common::Timer wake;
};

}  // namespace

asio::awaitable<CycleReport> RunEachCode(const std::vector<std::string>& codes, CycleReport report,
                                         common::SteadyTime deadline, CodeTask task,
                                         Progress progress, std::shared_ptr<CycleControl> control) {
  // The clock common::Timer follows: the deadline's clock (manual time in tests).
  const auto started = common::TimerClock::now();
  auto executor = co_await asio::this_coro::executor;
  auto join = std::make_shared<Join>(executor);
  join->report = std::make_shared<CycleReport>(std::move(report));
  join->report->planned = static_cast<int>(codes.size());
  join->progress = std::move(progress);
  join->wake.expires_at(control && control->close_by() ? std::min(deadline, *control->close_by())
                                                       : deadline);
  if (control) {
    // Moving the expiry aborts the wait below, which then waits again for the earlier time.
    control->Attach([weak = std::weak_ptr<Join>(join)](common::SteadyTime by) {
      if (auto j = weak.lock(); j && !j->closed && by < j->wake.expiry()) j->wake.expires_at(by);
    });
  }
  for (const auto& code : codes) {
    auto one = task(code, join->report);
    // A code may finish inline, before this loop ends (a failure that never suspends): the count
    // is checked before every wait, so the order does not matter.
    asio::co_spawn(executor, std::move(one),
                   [join, code, deadline](const std::exception_ptr& e, std::string error) {
                     auto& r = *join->report;
                     if (e) {
                       common::NoteException(fmt::format("job '{}' code {}", r.job, code), e);
                       error = common::Name(common::Errc::kException);
                     }
                     if (join->closed) return;  // already counted as dropped
                     // A call cut by the cycle's deadline while in flight is superseded too, not a
                     // failure.
                     const bool past_deadline = common::TimerClock::now() >= deadline;
                     if (error.empty()) {
                       r.ok++;
                     } else if (Superseded(error, past_deadline)) {
                       r.dropped++;
                     } else {
                       r.failed++;
                       r.failures[error]++;
                     }
                     ++join->done;
                     if (join->progress) join->progress(join->done, r.planned);
                     if (join->done == r.planned) join->wake.cancel();
                   });
  }
  while (join->done < join->report->planned) {
    boost::system::error_code ec;
    co_await join->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec != asio::error::operation_aborted) break;  // the deadline: close the cycle now
  }
  // Codes still running at the deadline are superseded: their calls expire at that deadline too,
  // and whatever they fetch is stored; the next cycle starts on time.
  join->closed = true;
  if (control) control->Attach(nullptr);
  CycleReport result = *join->report;
  result.dropped += result.planned - join->done;
  result.seconds = std::chrono::duration<double>(common::TimerClock::now() - started).count();
  co_return result;
}

asio::awaitable<CycleReport> RunCycle(gate::Gateway& gateway, store::Store* store,
                                      const std::vector<std::string>& codes, CycleSpec spec,
                                      Progress progress) {
  CycleReport report;
  report.job = spec.job->name;
  report.cycle_time = common::FormatCompactKst(spec.start);
  CodeTask task = [&gateway, store, spec, cycle_time = report.cycle_time](
                      std::string code, std::shared_ptr<CycleReport> r) {
    return CollectOne(gateway, store, std::move(code), spec, cycle_time, std::move(r));
  };
  auto join = RunEachCode(codes, std::move(report), spec.deadline, std::move(task),
                          std::move(progress), spec.control);
  co_return co_await std::move(join);
}

std::optional<std::string> CheckJobs(const config::Config& config) {
  // With a real key in the pool the gateway routes real-only calls there.
  const bool any_real = std::any_of(config.keys.begin(), config.keys.end(), [](const auto& k) {
    return k.environment == config::KisEnvironment::kReal;
  });
  if (any_real || config.keys.empty()) return std::nullopt;
  for (std::size_t i = 0; i < config.jobs.size(); ++i) {
    const auto& job = config.jobs[i];
    const auto* info = kis::FindTrByDataset(job.dataset);
    if (info == nullptr || !info->real_only) continue;
    return fmt::format(
        "jobs[{}] '{}': data set {} ({}) is real-only, and key '{}' is a mock key (KIS answers "
        "EGW02006): add a real key to [[kis.keys]] or remove the job",
        i, job.name, job.dataset, info->tr_id, config.keys.front().name);
  }
  return std::nullopt;
}

Plan PlanBudget(const config::Config& config, std::size_t codes) {
  // Calls/s as a person reads them: 36.0 and 17.5, but 0.97 for a mock key and 0.013 for a slow
  // job.
  const auto rate_text = [](double per_s) {
    if (per_s >= 10) return fmt::format("{:.1f}", per_s);
    if (per_s >= 0.1) return fmt::format("{:.2f}", per_s);
    return fmt::format("{:.2g}", per_s);
  };
  Plan plan;
  double real_per_s = 0;
  std::vector<std::string> real_keys;
  for (const auto& key : config.keys) {
    plan.available_per_s += key.rate * config.gate.safety;
    if (key.environment == config::KisEnvironment::kReal) {
      real_per_s += key.rate * config.gate.safety;
      real_keys.push_back(key.name);
    }
  }
  const bool mixed = !real_keys.empty() && real_keys.size() < config.keys.size();
  // One call per code per cycle: paged data sets need more on their first cycle only (a day of
  // minute bars is 13 pages), then one page per cycle. A job on a group collects the group only.
  std::size_t calls_at_once = 0;
  std::vector<std::string> routed;
  std::vector<std::string> too_long;
  for (const auto& job : config.jobs) {
    std::size_t job_codes = codes;
    if (!job.universe.empty()) {
      auto group = config.universe.groups.find(job.universe);
      if (group != config.universe.groups.end()) job_codes = group->second.size();
    }
    const double every_s = std::chrono::duration<double>(job.every).count();
    plan.needed_per_s += static_cast<double>(job_codes) / every_s;
    calls_at_once += job_codes;
    const auto* info = kis::FindTrByDataset(job.dataset);
    const bool real_only = info != nullptr && info->real_only && mixed;
    if (real_only) routed.push_back(fmt::format("'{}' ({})", job.name, job.dataset));
    // A cycle alone longer than the interval drops codes every time, whatever the average says.
    const double job_per_s = real_only ? real_per_s : plan.available_per_s;
    if (job_per_s > 0 && static_cast<double>(job_codes) / job_per_s > every_s) {
      too_long.push_back(fmt::format("'{}' needs {:.1f} s for {} calls every {:.0f} s", job.name,
                                     static_cast<double>(job_codes) / job_per_s, job_codes,
                                     every_s));
    }
  }
  plan.fits = plan.needed_per_s <= plan.available_per_s && too_long.empty();
  const std::string jobs =
      fmt::format("{} job{}", config.jobs.size(), config.jobs.size() == 1 ? "" : "s");
  const std::string keys =
      fmt::format("{} key{}", config.keys.size(), config.keys.size() == 1 ? "" : "s");
  if (plan.needed_per_s > plan.available_per_s) {
    plan.message = fmt::format(
        "{} codes x {} need {} calls/s; {} {} {}/s: add keys, lengthen the intervals, or split the "
        "universe",
        codes, jobs, rate_text(plan.needed_per_s), keys, config.keys.size() == 1 ? "gives" : "give",
        rate_text(plan.available_per_s));
  } else {
    plan.message = fmt::format("{} codes x {} need {} calls/s of the {}/s the keys give", codes,
                               jobs, rate_text(plan.needed_per_s), rate_text(plan.available_per_s));
  }
  if (!too_long.empty()) {
    plan.message += fmt::format("; a cycle longer than its interval drops codes: {}",
                                fmt::join(too_long, ", "));
  }
  // Every key's first call waits for its token, and the token call counts against the key's rate.
  const std::size_t token_calls = config.keys.size();
  if (calls_at_once > 0 && plan.available_per_s > 0) {
    plan.message +=
        fmt::format("; all jobs at once: {} calls + {} token call{} = about {:.1f} s at {}/s",
                    calls_at_once, token_calls, token_calls == 1 ? "" : "s",
                    static_cast<double>(calls_at_once + token_calls) / plan.available_per_s,
                    rate_text(plan.available_per_s));
  }
  if (!routed.empty()) {
    plan.message += fmt::format(
        "; real-only job{} {} go{} to the real key{} {} ({}/s): mock keys get EGW02006",
        routed.size() == 1 ? "" : "s", fmt::join(routed, ", "), routed.size() == 1 ? "es" : "",
        real_keys.size() == 1 ? "" : "s", fmt::join(real_keys, ", "), rate_text(real_per_s));
  }
  return plan;
}

}  // namespace kisgate::collect
