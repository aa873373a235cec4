#pragma once
// The vocabulary of the real-time path (issue 14): what one registration on a KIS WebSocket
// session is, the data a stream carries, and the seam that lets exactly one instance hold a key's
// session when several share the key through Redis.

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace kisgate::stream {

// What a [[streams]] entry or an API client asks for.
enum class StreamData : std::uint8_t { kTrades, kOrderBook };
std::string_view Name(StreamData data);  // "trades", "orderbook"
std::optional<StreamData> ParseStreamData(std::string_view name);

// One registration on a session: a (TR, stock code) pair. KIS counts each pair against the
// session's 41, across TRs.
struct Subscription {
  std::string tr_id;  // kis::kTradesTr, kis::kBookTr, ...
  std::string code;   // six characters
  auto operator<=>(const Subscription&) const = default;
};

// The life of a session lease without renewal, and how often its holder renews it while
// connected (and asks again while another holds it): one period for both sides of the seam, the
// lease (coord) and the session, with two renewals' room before it could expire.
inline constexpr std::chrono::milliseconds kSessionLeaseTtl{5'000};
inline constexpr std::chrono::milliseconds kSessionLeaseRenew = kSessionLeaseTtl * 2 / 5;

// Who holds the KIS WebSocket session of one key. Alone, this instance always does (no lease);
// with coordination (Redis), one instance at a time, which renews its lease while connected.
class SessionLease {
 public:
  virtual ~SessionLease() = default;
  // Takes the lease if it is free, or renews it if this instance holds it. True when this
  // instance holds it afterwards; false when another does (Holder() names it) or the lease cannot
  // be decided now (Redis away: then the caller does not connect, and tries again later).
  virtual boost::asio::awaitable<bool> Acquire() = 0;
  // Gives the lease up (this instance disconnects or stops), if it holds it.
  virtual boost::asio::awaitable<void> Release() = 0;
  // The instance that held the lease at the last Acquire, "" when none or unknown.
  virtual std::string Holder() const = 0;
};

}  // namespace kisgate::stream
