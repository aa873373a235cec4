#include "collect/collector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "collect/records.hpp"
#include "common/kst.hpp"
#include "gate/paging.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::collect {

namespace asio = boost::asio;

namespace {

bool Superseded(const std::string& code) {
  return code == "gate_deadline" || code == "deadline_exceeded";
}

// One code of one cycle: the call(s), then the records. Returns the error code, or "" on success.
asio::awaitable<std::string> CollectOne(gate::Gateway& gateway, store::SqliteStore* store,
                                        const std::string& code, const CycleSpec& spec,
                                        const std::string& cycle_time, CycleReport& report) {
  const auto& info = *kis::FindTrByDataset(spec.job->dataset);
  // The config has checked the lane's name.
  const gate::CallOptions options{gate::ParseLane(spec.job->lane).value_or(gate::Lane::kBatch), spec.flow,
                                  spec.deadline};
  const std::string collected_at = common::FormatIsoKst(common::SystemClock::Instance().WallNow());
  std::vector<std::string> bodies;
  if (info.paging == kis::Paging::kNone) {
    auto call = gateway.Call(gate::KisRequest{info.tr, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", code}}, ""},
                             options);
    gate::CallResult result = co_await std::move(call);
    report.upstream_calls++;
    if (!result.ok) co_return result.error.code;
    bodies.push_back(std::move(result.body));
  } else {
    std::variant<gate::PagedBars, gate::CallResult> paged;
    const auto kst = common::ToKst(spec.start);
    if (info.paging == kis::Paging::kTimeCursor) {
      // Only what is new since the last stored bar of today.
      std::optional<std::string> after;
      if (store) {
        const auto last = store->LatestMarketTime(std::string(info.dataset), code);
        if (last.size() == 14 && last.starts_with(common::FormatYmd(kst.date))) after = last.substr(8);
      }
      auto fetch = gate::FetchMinuteBars(gateway, code, options, "153000", after);
      paged = co_await std::move(fetch);
    } else {
      // A range backfill first (100 trading days), then the latest day.
      std::string from = common::FormatYmd(
          std::chrono::year_month_day{std::chrono::sys_days{kst.date} - std::chrono::days{150}});
      if (store) {
        const auto last = store->LatestMarketTime(std::string(info.dataset), code);
        if (last.size() >= 8) from = last.substr(0, 8);
      }
      auto fetch = gate::FetchDailyBars(gateway, code, from, common::FormatYmd(kst.date), options);
      paged = co_await std::move(fetch);
    }
    if (auto* failed = std::get_if<gate::CallResult>(&paged)) co_return failed->error.code;
    auto& pages = std::get<gate::PagedBars>(paged);
    report.upstream_calls += pages.pages;
    bodies = std::move(pages.bodies);
  }
  std::vector<store::Record> records;
  for (const auto& body : bodies) {
    auto converted = ToRecords(info.tr, code, body, cycle_time, collected_at);
    if (auto* c = std::get_if<kis::Classification>(&converted)) co_return c->code;
    auto& more = std::get<std::vector<store::Record>>(converted);
    std::move(more.begin(), more.end(), std::back_inserter(records));
  }
  report.rows += records.size();
  if (store) store->Write(std::move(records));
  co_return std::string();
}

}  // namespace

asio::awaitable<CycleReport> RunCycle(gate::Gateway& gateway, store::SqliteStore* store,
                                      const std::vector<std::string>& codes, CycleSpec spec,
                                      Progress progress) {
  CycleReport report;
  report.job = spec.job->name;
  report.cycle_time = common::FormatCompactKst(spec.start);
  report.planned = static_cast<int>(codes.size());
  const auto started = std::chrono::steady_clock::now();
  auto executor = co_await asio::this_coro::executor;
  int done = 0;
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  for (const auto& code : codes) {
    asio::co_spawn(executor, [&, code]() -> asio::awaitable<void> {
      auto one = CollectOne(gateway, store, code, spec, report.cycle_time, report);
      const std::string error = co_await std::move(one);
      // A call cut by the cycle's deadline while in flight is superseded too, not a failure.
      const bool past_deadline = std::chrono::steady_clock::now() >= spec.deadline;
      if (error.empty()) {
        report.ok++;
      } else if (Superseded(error) || (past_deadline && (error == "timeout" || error == "token_timeout"))) {
        report.dropped++;
      } else {
        report.failed++;
        report.failures[error]++;
      }
      if (progress) progress(++done, report.planned);
      else ++done;
      if (done == report.planned) all_done.cancel();
    }, asio::detached);
  }
  if (!codes.empty()) {
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return report;
}

Plan PlanBudget(const config::Config& config, std::size_t codes) {
  // Calls/s as a person reads them: 36.0 and 17.5, but 0.97 for a mock key and 0.013 for a slow job.
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
  std::vector<std::string> routed, too_long;
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
                                     static_cast<double>(job_codes) / job_per_s, job_codes, every_s));
    }
  }
  plan.fits = plan.needed_per_s <= plan.available_per_s && too_long.empty();
  const std::string jobs = fmt::format("{} job{}", config.jobs.size(), config.jobs.size() == 1 ? "" : "s");
  const std::string keys = fmt::format("{} key{}", config.keys.size(), config.keys.size() == 1 ? "" : "s");
  if (plan.needed_per_s > plan.available_per_s) {
    plan.message = fmt::format(
        "{} codes x {} need {} calls/s; {} {} {}/s: add keys, lengthen the intervals, or split the "
        "universe",
        codes, jobs, rate_text(plan.needed_per_s), keys, config.keys.size() == 1 ? "gives" : "give",
        rate_text(plan.available_per_s));
  } else {
    plan.message = fmt::format("{} codes x {} need {} calls/s of the {}/s the keys give", codes, jobs,
                               rate_text(plan.needed_per_s), rate_text(plan.available_per_s));
  }
  if (!too_long.empty()) {
    plan.message += fmt::format("; a cycle longer than its interval drops codes: {}",
                                fmt::join(too_long, ", "));
  }
  // Every key's first call waits for its token, and the token call counts against the key's rate.
  const std::size_t token_calls = config.keys.size();
  if (calls_at_once > 0 && plan.available_per_s > 0) {
    plan.message += fmt::format(
        "; all jobs at once: {} calls + {} token call{} = about {:.1f} s at {}/s", calls_at_once,
        token_calls, token_calls == 1 ? "" : "s",
        static_cast<double>(calls_at_once + token_calls) / plan.available_per_s, rate_text(plan.available_per_s));
  }
  if (!routed.empty()) {
    plan.message += fmt::format("; real-only job{} {} go{} to the real key{} {} ({}/s): mock keys get EGW02006",
                                routed.size() == 1 ? "" : "s", fmt::join(routed, ", "),
                                routed.size() == 1 ? "es" : "", real_keys.size() == 1 ? "" : "s",
                                fmt::join(real_keys, ", "), rate_text(real_per_s));
  }
  return plan;
}

}  // namespace kisgate::collect
