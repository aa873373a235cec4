#include "sim/realtime_hub.hpp"

#include <deque>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "http/websocket.hpp"

namespace kisgate::sim {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

struct RealtimeHub::Connection {
  explicit Connection(const asio::any_io_executor& executor) : wake(executor) {}
  std::uint64_t id = 0;
  std::unique_ptr<http::WebSocket> ws;
  std::deque<std::string> queue;
  asio::steady_timer wake;             // the writer waits on it; cancelled when there is work
  bool done = false;                   // the reader saw the end of the connection
  std::optional<WsCloseReason> close;  // the core or the hub ended the session
  std::uint64_t control_seen = 0;
  const WsOptions* options = nullptr;  // for on_data_frame
};

struct RealtimeHub::PumpState {
  explicit PumpState(asio::io_context& io) : timer(io) {}
  common::Timer timer;  // the clock the core reads (manual time in tests)
  bool stopped = false;
};

RealtimeHub::RealtimeHub(asio::io_context& io, Realtime& core, std::chrono::milliseconds period)
    : io_(io), core_(core), period_(period), pump_(std::make_shared<PumpState>(io)) {}

RealtimeHub::~RealtimeHub() = default;

void RealtimeHub::Start() {
  asio::co_spawn(io_, Pump(), common::LogExceptions{"sim websocket pump"});
}

void RealtimeHub::Stop() {
  pump_->stopped = true;
  pump_->timer.cancel();
  for (auto& [id, c] : connections_) {
    core_.Closed(id, WsCloseReason::kShutdown);
    Order(c, WsCloseReason::kShutdown);
  }
}

void RealtimeHub::Order(const std::shared_ptr<Connection>& c, WsCloseReason reason) {
  if (c->close) return;
  c->close = reason;
  // Abort ends a pending Read and Write at once; a heartbeat close says goodbye first (WriteLoop).
  if (reason != WsCloseReason::kPingMissed) c->ws->Abort();
  c->wake.cancel();
}

void RealtimeHub::Push(const std::shared_ptr<Connection>& c, std::string text) {
  if (c->close || c->done) return;
  if (c->queue.size() >= core_.options().queue_frames) {
    core_.Closed(c->id, WsCloseReason::kSlowClient);
    Order(c, WsCloseReason::kSlowClient);
    return;
  }
  c->queue.push_back(std::move(text));
  c->wake.cancel();
}

asio::awaitable<void> RealtimeHub::Serve(std::unique_ptr<http::WebSocket> ws) {
  auto c = std::make_shared<Connection>(co_await asio::this_coro::executor);
  c->ws = std::move(ws);
  c->id = core_.Open();
  c->options = &core_.options();
  connections_[c->id] = c;
  auto loops = ReadLoop(c) && WriteLoop(c);
  co_await std::move(loops);
  connections_.erase(c->id);
  core_.Closed(c->id, WsCloseReason::kClient);  // nothing when the core or the hub closed it
}

asio::awaitable<void> RealtimeHub::ReadLoop(std::shared_ptr<Connection> c) {
  while (true) {
    auto read = c->ws->Read();
    auto message = co_await std::move(read);
    if (!message) break;
    for (auto& reply : core_.OnText(c->id, *message)) Push(c, std::move(reply));
  }
  c->done = true;
  c->wake.cancel();
}

asio::awaitable<void> RealtimeHub::WriteLoop(std::shared_ptr<Connection> c) {
  while (true) {
    if (c->close) {
      if (*c->close == WsCloseReason::kPingMissed) {
        auto close = c->ws->Close("PINGPONG not answered");
        co_await std::move(close);
        c->ws->Abort();
      }
      break;
    }
    if (c->done) break;
    if (c->queue.empty()) {
      boost::system::error_code ec;
      c->wake.expires_at(asio::steady_timer::time_point::max());
      co_await c->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::string text = std::move(c->queue.front());
    c->queue.pop_front();
    if (c->options->on_data_frame && text.starts_with("0|")) {
      c->options->on_data_frame(text, std::chrono::steady_clock::now());
    }
    auto write = c->ws->Write(std::move(text));
    if (!co_await std::move(write)) {
      c->ws->Abort();
      break;
    }
  }
}

asio::awaitable<void> RealtimeHub::Pump() {
  auto state = pump_;  // outlives the hub's own pointer while this frame runs
  while (!state->stopped) {
    boost::system::error_code ec;
    state->timer.expires_after(period_);
    co_await state->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped) break;
    // A protocol-level pong (or ping) from the client since the last round answers a PINGPONG
    // unless --ws-strict-pingpong.
    for (auto& [id, c] : connections_) {
      const auto seen = c->ws->control_frames();
      if (seen != c->control_seen) {
        c->control_seen = seen;
        core_.OnPong(id);
      }
    }
    for (auto& out : core_.Poll()) {
      auto it = connections_.find(out.session);
      if (it == connections_.end()) continue;
      const auto c = it->second;  // a copy: Push may order a close
      if (out.close) {
        Order(c, out.reason);
      } else {
        Push(c, std::move(out.text));
      }
    }
  }
}

}  // namespace kisgate::sim
