#include "coord/redis_key_share.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "coord/coordinator.hpp"

namespace kisgate::coord {

namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

// KEYS: tat, inflight, cooldown, and the coordinator's instances, presences and fallback shares.
// ARGV: the lease's name, interval µs, in-flight cap, lease µs, the longest wait µs of a
// kInFlightFull answer, this instance, the alive window in ms, the latest tat this instance saw,
// the instances it last saw. Returns
// {status, wait µs, now µs, slot µs, and when granted the tat after it}; status 0 granted, 1 in
// flight full, 2 cooling down. Times are µs of Redis's TIME (below 2^53: exact in Lua's doubles);
// string.format('%.0f') keeps all their digits where tostring would round. The slots are spaced
// for `(1 - reserved)` of the interval's rate less one call a second, where `reserved` is the sum
// of the fallback shares of the other instances alive but not present (they may be spending their
// share alone). A value that is
// not what the script wrote (garbage, or a key of another type) is replaced, never a reason to
// fail.
const Script& ReserveScript() {
  static const Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now / 1000)
local cooling = redis.call('PTTL', KEYS[3])
if cooling > 0 then return {2, cooling * 1000, now, 0} end
local interval = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local function is(key, kind)
  local k = redis.call('TYPE', key)['ok']
  if k ~= 'none' and k ~= kind then redis.call('DEL', key) return false end
  return k == kind
end
local reserved = 0
if is(KEYS[4], 'zset') then
  local present = is(KEYS[5], 'zset')
  local shares = is(KEYS[6], 'hash')
  local alive = redis.call('ZRANGEBYSCORE', KEYS[4], string.format('%.0f', now_ms - tonumber(ARGV[7])), '+inf')
  for _, other in ipairs(alive) do
    if other ~= ARGV[6] then
      local until_ms = present and tonumber(redis.call('ZSCORE', KEYS[5], other) or '') or nil
      if until_ms == nil or until_ms < now_ms then
        local share = shares and tonumber(redis.call('HGET', KEYS[6], other) or '') or nil
        if share == nil or share ~= share or share < 0 or share > 1 then share = 1 / #alive end
        reserved = reserved + share
      end
    end
  end
end
if reserved > 0.9 then reserved = 0.9 end
if reserved > 0 then
  -- Two schedules side by side (this one and an absent instance's alone) may each put one call
  -- more than their rate in a 1-s window: leave one call a second for that.
  local r = 1000000 / interval * (1 - reserved) - 1
  if r < 0.5 then r = 0.5 end
  interval = 1000000 / r
end
is(KEYS[2], 'zset')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[2]) >= cap then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local wait = tonumber(first[2]) - now
  if wait > tonumber(ARGV[5]) then wait = tonumber(ARGV[5]) end
  if wait < 0 then wait = 0 end
  return {1, wait, now, 0}
end
local tat = nil
if is(KEYS[1], 'string') then tat = tonumber(redis.call('GET', KEYS[1])) end
if tat == nil or tat ~= tat or tat > now + 5000000 then
  -- Lost (FLUSHALL, a Redis restart) or garbage: the schedule goes on after the slots already
  -- handed out, at most one ahead per instance past the tat this instance last saw.
  tat = now
  local seen = tonumber(ARGV[8]) or 0
  if seen > now - 1000000 then tat = seen + (tonumber(ARGV[9]) - 1) * interval end
end
local slot = now
if tat > now then slot = tat end
local next_tat = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
           'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000) + 1))
local expiry = slot + lease
redis.call('ZADD', KEYS[2], string.format('%.0f', expiry), ARGV[1])
local ttl = math.ceil((expiry - now) / 1000) + 1
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], string.format('%.0f', ttl))
end
return {0, slot - now, now, slot, next_tat}
)lua");
  return script;
}

// KEYS: cooldown. ARGV: ms. Sets the cooldown, only ever extending one in force.
const Script& CoolDownScript() {
  static const Script script(R"lua(
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
)lua");
  return script;
}

// KEYS: inflight. ARGV: the lease's name.
const Script& ReleaseInflightScript() {
  static const Script script("return redis.call('ZREM', KEYS[1], ARGV[1])");
  return script;
}

std::string Micros(common::Duration d) {
  return std::to_string(std::max<std::int64_t>(0, duration_cast<microseconds>(d).count()));
}

}  // namespace

RedisKeyShare::RedisKeyShare(Coordinator& coordinator, std::string key_id)
    : coordinator_(coordinator),
      coordinator_life_(coordinator.life()),
      key_id_(std::move(key_id)),
      tat_key_(coordinator.Key(key_id_, "tat")),
      inflight_key_(coordinator.Key(key_id_, "inflight")),
      cooldown_key_(coordinator.Key(key_id_, "cooldown")) {}

asio::awaitable<std::optional<SharedGrant>> RedisKeyShare::ReserveSlot(std::string call,
                                                                       common::Duration interval,
                                                                       int in_flight_cap,
                                                                       common::Duration lease) {
  auto op = coordinator_.EvalSha(
      ReserveScript(),
      {tat_key_, inflight_key_, cooldown_key_, coordinator_.Key("", "instances"),
       coordinator_.Key("", "present"), coordinator_.Key("", "shares")},
      {fmt::format("{}:{}", coordinator_.instance(), call), Micros(interval),
       std::to_string(in_flight_cap), Micros(lease), Micros(kMaxFullWait), coordinator_.instance(),
       std::to_string(coordinator_.options().alive_window.count()), std::to_string(last_tat_us_),
       std::to_string(coordinator_.Stats().instances)});
  common::Result<Reply> reply = co_await std::move(op);
  if (!reply) co_return std::nullopt;
  const bool well_formed =
      reply->kind == Reply::Kind::kArray && reply->elements.size() >= 4 &&
      std::all_of(reply->elements.begin(), reply->elements.end(),
                  [](const Reply& e) { return e.kind == Reply::Kind::kInteger; });
  if (!well_formed) {
    coordinator_.NoteFailure("the reserve script", Describe(*reply));
    co_return std::nullopt;
  }
  SharedGrant out;
  switch (reply->elements[0].integer) {
    case 0:
      out.grant.status = gate::SlotGrant::Status::kGranted;
      break;
    case 1:
      out.grant.status = gate::SlotGrant::Status::kInFlightFull;
      break;
    default:
      out.grant.status = gate::SlotGrant::Status::kCoolingDown;
      break;
  }
  out.grant.wait = microseconds(reply->elements[1].integer);
  out.now_us = reply->elements[2].integer;
  out.slot_us = reply->elements[3].integer;
  if (reply->elements.size() > 4)
    last_tat_us_ = std::max<std::int64_t>(last_tat_us_, reply->elements[4].integer);
  co_return out;
}

asio::awaitable<std::optional<gate::SlotGrant>> RedisKeyShare::Reserve(std::string call,
                                                                       common::Duration interval,
                                                                       int in_flight_cap,
                                                                       common::Duration lease) {
  auto op = ReserveSlot(std::move(call), interval, in_flight_cap, lease);
  std::optional<SharedGrant> grant = co_await std::move(op);
  if (!grant) co_return std::nullopt;
  co_return grant->grant;
}

void RedisKeyShare::Release(std::string call) {
  if (coordinator_life_.expired()) return;  // shutting down: the lease expires by itself
  coordinator_.Spawn("release", ReleaseInflightScript(), {inflight_key_},
                     {fmt::format("{}:{}", coordinator_.instance(), call)});
}

void RedisKeyShare::CoolDown(common::Duration duration) {
  if (coordinator_life_.expired()) return;
  const auto ms = std::max<std::int64_t>(1, duration_cast<milliseconds>(duration).count());
  coordinator_.Spawn("cooldown", CoolDownScript(), {cooldown_key_}, {std::to_string(ms)});
}

bool RedisKeyShare::Shared() const { return !coordinator_life_.expired() && coordinator_.Shared(); }

common::SteadyTime RedisKeyShare::FallbackFrom() const {
  return coordinator_life_.expired() ? common::SteadyTime{} : coordinator_.FallbackFrom();
}

double RedisKeyShare::FallbackShare() const {
  return coordinator_life_.expired() ? 1.0 : coordinator_.FallbackShare();
}

}  // namespace kisgate::coord
