#pragma once
// stream::GapFiller: fills a session's Gap from REST. For each code whose trades the session had
// subscribed, it fetches today's minute bars covering the gap through the gateway (background lane:
// the gap is history, never worth an interactive slot) and writes them to the store as bars_minute
// records, then marks the gap filled, or says why it could not be: KIS's minute-bar TR serves
// today's regular session (09:00-15:30 KST) only, so a gap on another day or after hours stays
// open, and a failed call leaves it partly filled with the error.
//
// Thread-safety: one executor; Fill and Enqueue are called from it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "stream/kis_session.hpp"

namespace kisgate::gate {
class Gateway;
}
namespace kisgate::store {
class Store;
}

namespace kisgate::stream {

struct GapFill {
  std::uint64_t gap_id = 0;
  std::string key_name;
  common::WallTime from{}, to{};
  bool filled = false;
  std::string why_not;    // when !filled: what kept it open
  std::size_t bars = 0;   // bars_minute records written
  std::size_t codes = 0;  // codes asked for
};

struct GapFillerOptions {
  common::Duration call_timeout = std::chrono::seconds(60);  // per code, all pages
  std::size_t recent = 32;                                   // results kept for Recent()
};

class GapFiller {
 public:
  GapFiller(boost::asio::any_io_executor executor, gate::Gateway& gateway, store::Store& store,
            const common::Clock& clock, GapFillerOptions options = {});

  // Fills one gap; returns (and keeps) the result.
  boost::asio::awaitable<GapFill> Fill(Gap gap);
  // Queues a gap (from SessionSink::OnGap); gaps are filled one at a time, in order.
  void Enqueue(Gap gap);

  // The latest results, oldest first.
  const std::deque<GapFill>& Recent() const { return recent_; }
  std::size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }

 private:
  boost::asio::awaitable<void> Drain();

  boost::asio::any_io_executor executor_;
  gate::Gateway& gateway_;
  store::Store& store_;
  const common::Clock& clock_;
  GapFillerOptions options_;
  std::deque<Gap> queue_;
  bool busy_ = false;
  std::deque<GapFill> recent_;
};

}  // namespace kisgate::stream
