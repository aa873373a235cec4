#include "stream/streams.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "store/store.hpp"

namespace kisgate::stream {

namespace asio = boost::asio;
namespace json = boost::json;

struct Streams::KeySlot {
  const config::KeyConfig* key = nullptr;
  std::unique_ptr<SessionLease> lease;
  std::unique_ptr<KisSession> session;  // made when the key first gets registrations
};

Streams::Streams(asio::any_io_executor executor, const config::Config& config,
                 gate::Gateway& gateway, store::Store* store, const common::Clock& clock,
                 StreamsHooks hooks, StreamsOptions options)
    : executor_(std::move(executor)),
      config_(config),
      gateway_(gateway),
      store_(store),
      clock_(clock),
      hooks_(std::move(hooks)),
      options_(std::move(options)),
      planner_(config),
      alive_(std::make_shared<bool>(true)) {
  if (!options_.after_hours) {
    auto calendar = std::make_shared<common::MarketCalendar>(config.calendar.holidays);
    const common::Clock* c = &clock_;
    options_.after_hours = [calendar, c] {
      return calendar->SessionAt(c->WallNow()) == common::Session::kAfterHours;
    };
  }
  if (!options_.session.calendar) {
    options_.session.calendar = std::make_shared<common::MarketCalendar>(config.calendar.holidays);
  }
  for (const auto& key : config_.keys) {
    auto slot = std::make_unique<KeySlot>();
    slot->key = &key;
    keys_.push_back(std::move(slot));
  }
  PollerOptions poller_options;
  poller_options.stored_codes = options_.stored_codes;
  poller_ =
      std::make_unique<Poller>(executor_, gateway_, store_, clock_, hooks_.polled, poller_options);
  if (store_ != nullptr) {
    filler_ = std::make_unique<GapFiller>(executor_, gateway_, *store_, clock_);
  }
}

Streams::~Streams() { *alive_ = false; }

bool Streams::enabled() const { return !config_.streams.empty() || config_.stream.client_demand; }

void Streams::Start() {
  if (started_) return;
  started_ = true;
  after_hours_ = options_.after_hours();
  Replan();
  const auto& plan = planner_.plan();
  if (plan.wanted > 0) {
    if (plan.fits) {
      spdlog::info("streams: {}", plan.message);
    } else {
      spdlog::warn("streams: {}", plan.message);
    }
  }
  poller_->Start();
  asio::co_spawn(executor_, WatchSession(), common::LogExceptions{"streams: session check"});
}

asio::awaitable<void> Streams::Stop() {
  *alive_ = false;
  poller_->Stop();
  for (auto& slot : keys_) {
    if (slot->session) co_await slot->session->Stop();
  }
}

void Streams::SetDemand(std::vector<ClientDemand> demand) {
  if (!config_.stream.client_demand) return;  // the planner would ignore it anyway
  demand_ = std::move(demand);
  if (started_) Replan();
}

void Streams::Replan() {
  const auto& plan = planner_.Update(demand_, after_hours_);
  for (const auto& kp : plan.keys) {
    KeySlot* slot = nullptr;
    for (auto& s : keys_) {
      if (s->key->name == kp.key) slot = s.get();
    }
    if (slot == nullptr) continue;
    if (!slot->session) {
      if (kp.subscriptions.empty()) continue;  // no session until there is something to register
      auto session_options = options_.session;
      session_options.key_name = slot->key->name;
      session_options.ws_url = WsUrlFor(*slot->key);
      session_options.max_registrations =
          static_cast<std::size_t>(config_.stream.max_registrations);
      session_options.hold = config_.stream.hold;
      if (options_.lease) {
        // Renewed every kSessionLeaseRenew (session_options.lease_renew), the lease's own period.
        slot->lease = options_.lease(*slot->key);
      }
      slot->session = std::make_unique<KisSession>(executor_, gateway_, clock_, session_options,
                                                   *this, slot->lease.get());
      slot->session->Start();
    }
    slot->session->SetSubscriptions(kp.subscriptions);
  }
  poller_->SetPlan(plan);
}

asio::awaitable<void> Streams::WatchSession() {
  auto alive = alive_;
  common::Timer timer(executor_);
  while (*alive) {
    timer.expires_after(options_.session_check);
    co_await timer.async_wait(asio::use_awaitable);
    if (!*alive) break;
    const bool after_hours = options_.after_hours();
    if (after_hours == after_hours_) continue;
    after_hours_ = after_hours;
    spdlog::info("streams: the market is {} now: registering {}",
                 after_hours ? "after hours" : "in its day session",
                 after_hours ? "H0STOUP0/H0STOAA0" : "H0STCNT0/H0STASP0");
    Replan();
  }
}

void Streams::OnTicks(std::span<const kis::Tick> ticks) {
  if (store_ != nullptr) store_->WriteTicks(std::vector<kis::Tick>(ticks.begin(), ticks.end()));
  if (hooks_.ticks) hooks_.ticks(ticks);
}

void Streams::OnBooks(std::span<const kis::BookSnapshot> books) {
  if (store_ != nullptr) {
    store_->WriteBooks(std::vector<kis::BookSnapshot>(books.begin(), books.end()));
  }
  if (hooks_.books) hooks_.books(books);
}

void Streams::OnGap(const Gap& gap) {
  spdlog::info(
      "streams: key '{}' received nothing for {:.1f} s ({} codes); filling from minute bars",
      gap.key_name, std::chrono::duration<double>(gap.to - gap.from).count(), gap.codes.size());
  if (filler_) filler_->Enqueue(gap);
  if (hooks_.gap) hooks_.gap(gap);
}

std::vector<SessionStatus> Streams::Sessions() const {
  std::vector<SessionStatus> out;
  for (const auto& slot : keys_) {
    if (slot->session) out.push_back(slot->session->Status());
  }
  return out;
}

json::object Streams::KeyStatus(const std::string& key_name) const {
  json::object out;
  const KeySlot* slot = nullptr;
  for (const auto& s : keys_) {
    if (s->key->name == key_name) slot = s.get();
  }
  const auto& plan = planner_.plan();
  for (const auto& kp : plan.keys) {
    if (kp.key != key_name) continue;
    out["streamed"] = kp.subscriptions.size();
    out["polled"] = kp.polled;
    out["poll_every_s"] = std::chrono::duration<double>(plan.poll_interval).count();
    out["summary"] = kp.summary;
  }
  out["max_registrations"] = config_.stream.max_registrations;
  if (slot == nullptr || !slot->session) {
    out["state"] = "idle";  // nothing to register on this key
    out["registrations"] = 0;
    out["reconnects"] = 0;
    out["gaps"] = 0;
    return out;
  }
  const auto s = slot->session->Status();
  out["state"] = Name(s.state);
  out["registrations"] = s.registrations;
  out["refused"] = s.refused.size();
  out["connects"] = s.connects;
  out["reconnects"] = s.reconnects;
  out["held_elsewhere"] = s.held_elsewhere;
  out["gaps"] = s.gaps;
  std::size_t filled = 0;
  if (filler_) {
    for (const auto& g : filler_->Recent()) {
      if (g.key_name == key_name && g.filled) filled++;
    }
  }
  out["gaps_filled"] = filled;
  out["records"] = s.records;
  out["parse_errors"] = s.parse_errors;
  out["unregistered_records"] = s.unregistered_records;
  out["unanswered"] = s.unanswered;
  out["pings_dropped"] = s.pings_dropped;
  out["changes_coalesced"] = s.changes_coalesced;
  out["books_repeated"] = s.books_repeated;
  if (!s.last_error.empty()) out["last_error"] = s.last_error;
  if (slot->lease) out["holder"] = slot->lease->Holder();
  return out;
}

}  // namespace kisgate::stream
