#include "app/api_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/realtime.hpp"
#include "collect/metrics.hpp"
#include "common/spawn.hpp"
#include "gate/metrics.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"
#include "store/metrics.hpp"
#include "stream/metrics.hpp"
#include "web_assets/web_assets.hpp"

namespace kisgate::app {

namespace asio = boost::asio;

namespace {

std::optional<http::Response> Asset(std::string_view path) {
  const auto* asset = web::FindAsset(path);
  if (asset == nullptr) return std::nullopt;
  http::Response r;
  r.SetHeader("content-type", std::string(asset->content_type));
  r.SetHeader("cache-control", "no-cache");
  r.body = std::string(asset->body);
  return r;
}

}  // namespace

struct ApiServer::Impl {
  std::unique_ptr<http::Server> server;
  api::Service service;
  asio::steady_timer sampler;
  bool stopped = false;

  Impl(asio::io_context& io, api::ServiceDeps deps) : service(std::move(deps)), sampler(io) {}
};

ApiServer::ApiServer(asio::io_context& io, const config::Config& config, gate::Gateway& gateway,
                     store::Store* store, collect::JobsBoard* jobs,
                     const std::vector<std::string>& universe, Realtime* realtime) {
  api::ServiceDeps deps;
  deps.config = &config;
  deps.gateway = &gateway;
  deps.store = store;
  deps.clock = &common::SystemClock::Instance();
  // /metrics: each module's families, from the stats it owns (the HTTP server's once it exists).
  deps.metrics.emplace_back([&config, &gateway](common::MetricsWriter& w) {
    gate::WriteMetrics(w, gateway.Stats(), config);
  });
  if (jobs != nullptr) {
    deps.jobs = [jobs] { return jobs->Snapshot(); };
    deps.metrics.emplace_back(
        [jobs](common::MetricsWriter& w) { collect::WriteMetrics(w, *jobs); });
  }
  deps.metrics.emplace_back([store, clock = deps.clock](common::MetricsWriter& w) {
    store::WriteFreshnessMetrics(w, store != nullptr
                                        ? store::SummariseFreshness(store->Ages(clock->WallNow()))
                                        : std::vector<store::DatasetFreshness>{});
  });
  if (store != nullptr) {
    deps.metrics.emplace_back(
        [store](common::MetricsWriter& w) { store::WriteMetrics(w, store->Counters()); });
  }
  deps.assets = Asset;
  deps.universe =
      std::make_shared<const std::unordered_set<std::string>>(universe.begin(), universe.end());
  if (realtime != nullptr) {
    deps.hub = &realtime->hub();
    deps.stream_status = realtime->StatusOf();
    deps.metrics.emplace_back(
        [hub = deps.hub](common::MetricsWriter& w) { stream::WriteMetrics(w, hub->Counters()); });
  }
  impl_ = std::make_unique<Impl>(io, std::move(deps));
  http::ServerOptions options;
  options.listen = config.server.listen;
  options.max_connections = static_cast<std::size_t>(config.server.max_connections);
  options.read_timeout = config.server.read_timeout;
  auto* impl = impl_.get();
  try {
    impl->server = std::make_unique<http::Server>(io, options, [impl](http::Request request) {
      return impl->service.Handle(std::move(request));
    });
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(
        fmt::format("{} (choose another address with --listen or server.listen; "
                    "port 0 picks a free one)",
                    e.what()));
  }
  // The service reads the server's counters for /metrics; both live as long as this object.
  impl->service.AddMetrics(
      [impl](common::MetricsWriter& w) { http::WriteMetrics(w, impl->server->Counters()); });
  impl->server->Start();
  asio::co_spawn(
      io,
      [impl]() -> asio::awaitable<void> {
        while (!impl->stopped) {
          impl->service.Sample();
          impl->sampler.expires_after(std::chrono::seconds(1));
          boost::system::error_code ec;
          co_await impl->sampler.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
      },
      common::LogExceptions{"api: metrics sampler"});
}

ApiServer::~ApiServer() {
  // Stop throws only when the OS refuses to cancel a timer or close the listener; a destructor
  // must not throw, and the process is ending the server anyway.
  try {
    Stop();
  } catch (const std::exception& e) {
    spdlog::warn("api: stopping the server failed: {}", e.what());
  } catch (...) {
    spdlog::warn("api: stopping the server failed");
  }
}

std::string ApiServer::Address() const { return impl_->server->Address(); }

void ApiServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->sampler.cancel();
  impl_->server->Stop();
}

}  // namespace kisgate::app
