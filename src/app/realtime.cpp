#include "app/realtime.hpp"

#include <fmt/format.h>

#include "coord/coordinator.hpp"
#include "coord/redis_session_lease.hpp"
#include "kis/records.hpp"

namespace kisgate::app {

namespace asio = boost::asio;

Realtime::Realtime(asio::io_context& io, const config::Config& config, gate::Gateway& gateway,
                   store::Store* store, coord::Coordinator* coordinator,
                   std::function<bool()> after_hours,
                   std::optional<std::vector<std::string>> universe) {
  stream::HubOptions hub_options;
  hub_options.max_codes_per_client = static_cast<std::size_t>(config.stream.max_codes_per_client);
  hub_ = std::make_unique<stream::Hub>(io.get_executor(), hub_options);
  auto* hub = hub_.get();

  stream::StreamsHooks hooks;
  hooks.ticks = [hub](std::span<const kis::Tick> ticks) { hub->Publish(ticks); };
  hooks.books = [hub](std::span<const kis::BookSnapshot> books) { hub->Publish(books); };
  hooks.polled = [hub](const stream::PolledValue& value) {
    // Polled trades arrive as the price data set; a polled order book is stored only (the hub's
    // book events are the session's, and a REST book has another shape).
    if (value.data != stream::StreamData::kTrades || value.record.dataset != "price") return;
    auto quote = kis::PriceOf(value.record);
    if (const auto* q = std::get_if<kis::PriceQuote>(&quote)) {
      hub->PublishPrice(*q, value.record.collected_at);
    }
  };
  stream::StreamsOptions options;
  options.after_hours = std::move(after_hours);
  if (universe) {
    options.stored_codes =
        std::make_shared<const std::unordered_set<std::string>>(universe->begin(), universe->end());
  }
  if (coordinator != nullptr) {
    options.lease = [coordinator](const config::KeyConfig& key) {
      const auto id = coord::Coordinator::KeyId(
          key.environment == config::KisEnvironment::kMock ? "mock" : "real", key.app_key);
      return std::make_unique<coord::RedisSessionLease>(*coordinator, id);
    };
  }
  streams_ = std::make_unique<stream::Streams>(io.get_executor(), config, gateway, store,
                                               common::SystemClock::Instance(), std::move(hooks),
                                               std::move(options));
  // What API clients ask for becomes registrations: one demand per (code, data), so the planner's
  // per-client bound (enforced by the hub per subscriber) does not cap the sum of all clients.
  auto* streams = streams_.get();
  hub_->SetDemandCallback([streams](const std::vector<stream::Demand>& demand) {
    std::vector<stream::ClientDemand> clients;
    clients.reserve(demand.size());
    for (const auto& d : demand) {
      clients.push_back(stream::ClientDemand{
          fmt::format("{} of {} (clients: {})", stream::Name(d.data), d.code, d.clients),
          {d.code},
          {d.data}});
    }
    streams->SetDemand(std::move(clients));
  });
}

Realtime::~Realtime() = default;

void Realtime::Start() { streams_->Start(); }

asio::awaitable<void> Realtime::Stop() { co_await streams_->Stop(); }

std::function<boost::json::object(const std::string&)> Realtime::StatusOf() {
  auto* streams = streams_.get();
  return [streams](const std::string& key) { return streams->KeyStatus(key); };
}

}  // namespace kisgate::app
