#include "coord/redis_session_lease.hpp"

#include <random>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "coord/coordinator.hpp"

namespace kisgate::coord {

namespace asio = boost::asio;

namespace {

// KEYS: the lease. ARGV: our value, the TTL in ms. Takes a free lease, renews ours; returns
// {1, value} when ours afterwards, {0, holder's value} otherwise.
const Script& AcquireScript() {
  static const Script script(R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, ARGV[1]} end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {2, holder}
end
return {0, holder or ''}
)lua");
  return script;
}

// KEYS: the lease. ARGV: our value. Deletes the lease while it is ours.
const Script& ReleaseLeaseScript() {
  static const Script script(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");
  return script;
}

// The instance part of "<instance>/<nonce>".
std::string InstanceOf(const std::string& value) { return value.substr(0, value.rfind('/')); }

}  // namespace

RedisSessionLease::RedisSessionLease(Coordinator& coordinator, const std::string& key_id,
                                     RedisSessionLeaseOptions options)
    : coordinator_(coordinator), key_(coordinator.Key(key_id, "ws-session")), options_(options) {
  std::random_device random;
  const std::uint64_t nonce = (static_cast<std::uint64_t>(random()) << 32) | random();
  value_ = fmt::format("{}/{:016x}", coordinator.instance(), nonce);
}

asio::awaitable<bool> RedisSessionLease::Acquire() {
  const common::SteadyTime sent = coordinator_.clock().Now();
  // Back from a Redis outage (a restarted Redis may have lost the lease): for one TTL only the
  // holder that kept the session through it may take the lease, so a free key is not a free slot.
  const auto back = coordinator_.shared_since();
  if (!held_ && coordinator_.Shared() && back &&
      sent < *back + options_.ttl + coordinator_.options().heartbeat) {
    holder_.clear();
    co_return false;
  }
  auto op =
      coordinator_.EvalSha(AcquireScript(), {key_}, {value_, std::to_string(options_.ttl.count())});
  common::Result<Reply> reply = co_await std::move(op);
  const bool answered = reply && reply->kind == Reply::Kind::kArray &&
                        reply->elements.size() == 2 &&
                        reply->elements[0].kind == Reply::Kind::kInteger &&
                        reply->elements[1].kind == Reply::Kind::kString;
  if (!answered) {
    ++stats_.failures;
    if (reply) coordinator_.NoteFailure("the session lease", Describe(*reply));
    // The rule of the header: the holder keeps the session while Redis is away.
    if (held_) {
      if (!away_logged_ && coordinator_.clock().Now() >= held_until_) {
        away_logged_ = true;
        spdlog::warn(
            "stream: session lease {}: Redis has not answered for its TTL ({} ms); keeping the "
            "session (KIS refuses a second one) and renewing the lease once Redis answers",
            key_, options_.ttl.count());
      }
      co_return true;
    }
    holder_.clear();
    co_return false;
  }
  const long long code = reply->elements[0].integer;
  holder_ = InstanceOf(reply->elements[1].str);
  if (held_ && code == 0) {
    spdlog::warn("stream: session lease {}: {} took it while Redis was away; giving the session up",
                 key_, holder_);
  }
  held_ = code != 0;
  away_logged_ = false;
  if (held_) {
    held_until_ = sent + options_.ttl;
    ++(code == 1 ? stats_.taken : stats_.renewed);
  } else {
    ++stats_.refused;
  }
  co_return held_;
}

asio::awaitable<void> RedisSessionLease::Release() {
  if (!held_) co_return;
  held_ = false;
  holder_.clear();
  auto op = coordinator_.EvalSha(ReleaseLeaseScript(), {key_}, {value_});
  common::Result<Reply> reply = co_await std::move(op);
  // Not deleted (Redis away): the lease expires after its TTL.
  if (reply && reply->IsError())
    coordinator_.NoteFailure("the session lease release", Describe(*reply));
}

}  // namespace kisgate::coord
