#include "coord/coordinator.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"
#include "coord/redis_key_share.hpp"
#include "coord/redis_token_share.hpp"

namespace kisgate::coord {

namespace asio = boost::asio;
using Mode = gate::CoordinationStats::Mode;

namespace {

// KEYS[1] the instances ZSET, KEYS[2] the presences ZSET, KEYS[3] the fallback shares HASH.
// ARGV[1] this instance, ARGV[2] the alive window in ms, ARGV[3] the presence lease in ms (0: do
// not renew it: the instance is in fallback), ARGV[4] the latest Redis time (ms) at which the
// presence may still be renewed, ARGV[5] this instance's fallback share. Scores this instance
// with Redis's clock, drops those not seen within the window; a key of another type (garbage) is
// replaced. Returns {instances alive, Redis's time in ms, 1 if the presence was renewed}.
const Script& HeartbeatScript() {
  static const Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
for i, kind in ipairs({'zset', 'zset', 'hash'}) do
  local k = redis.call('TYPE', KEYS[i])['ok']
  if k ~= 'none' and k ~= kind then redis.call('DEL', KEYS[i]) end
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', 2 * window))
redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[3], string.format('%.0f', 2 * window))
local renewed = 0
local lease = tonumber(ARGV[3])
if lease > 0 and now <= tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now + lease), ARGV[1])
  renewed = 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', 2 * window))
return {redis.call('ZCARD', KEYS[1]), now, renewed}
)lua");
  return script;
}

// KEYS: the instances ZSET, the presences ZSET. ARGV: this instance.
const Script& LeaveScript() {
  static const Script script(R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua");
  return script;
}

std::string DefaultInstance() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  const std::string name = host[0] != '\0' ? std::string(host.data()) : std::string("kisgate");
  return fmt::format("{}-{}", name, ::getpid());
}

RedisClientOptions ClientOptions(const config::CoordinationConfig& config) {
  auto url = ParseRedisUrl(config.url);
  if (!url) throw std::runtime_error(fmt::format("coordination.url: {}", url.error()));
  RedisClientOptions options;
  options.url = std::move(*url);
  if (!config.password.empty()) options.url.password = config.password;
  options.timeout = config.timeout;
  return options;
}

// The count saved by SaveInstances, or 0.
int LoadInstances(const std::filesystem::path& file) {
  if (file.empty()) return 0;
  std::ifstream in(file);
  int n = 0;
  if (!(in >> n) || n < 1 || n > 1000) return 0;
  return n;
}

}  // namespace

Coordinator::Coordinator(asio::any_io_executor executor, const config::CoordinationConfig& config,
                         const common::Clock& clock, CoordinatorOptions options)
    : executor_(std::move(executor)),
      clock_(clock),
      options_(std::move(options)),
      url_for_messages_(MaskRedisUrl(config.url)),
      timeout_(config.timeout),
      instance_(config.instance.empty() ? DefaultInstance() : config.instance),
      client_(executor_, ClientOptions(config)),
      timer_(executor_) {
  const int saved = LoadInstances(options_.state_file);
  instances_ = std::max({1, config.instances > 0 ? config.instances : saved});
  // A lower count from Redis is believed only after the alive window, as any drop.
  instances_seen_at_ = clock_.Now();
  if (instances_ > 1) {
    spdlog::info(
        "coordination: instance '{}' assumes {} instances share each key until Redis tells ({})",
        instance_, instances_,
        config.instances > 0 ? "coordination.instances" : "the count its last run saw");
  }
}

void Coordinator::SaveInstances() const {
  if (options_.state_file.empty()) return;
  std::error_code ec;
  const auto tmp = options_.state_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << instances_ << '\n';
    if (!out) return;
  }
  std::filesystem::rename(tmp, options_.state_file, ec);
}

Coordinator::~Coordinator() { running_ = false; }

std::string Coordinator::KeyId(std::string_view environment, std::string_view app_key) {
  const std::string input = fmt::format("{}:{}", environment, app_key);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string Coordinator::Key(std::string_view key_id, std::string_view what) const {
  if (key_id.empty()) return fmt::format("{}:{}", options_.prefix, what);
  return fmt::format("{}:{{{}}}:{}", options_.prefix, key_id, what);
}

gate::CoordinationStats Coordinator::Stats() const {
  gate::CoordinationStats stats;
  stats.mode = mode_;
  stats.instance = instance_;
  stats.instances = instances_;
  stats.fallbacks = fallbacks_;
  stats.error = error_;
  return stats;
}

void Coordinator::NoteFailure(std::string_view what, std::string_view why) {
  const bool refused = why.find("WRONGPASS") != std::string_view::npos ||
                       why.find("NOAUTH") != std::string_view::npos ||
                       why.find("invalid password") != std::string_view::npos ||
                       why.find("invalid username-password") != std::string_view::npos;
  if (refused && error_.empty()) {
    error_ = fmt::format(
        "Redis at {} refuses this instance's password ({}): set coordination.password (or the "
        "URL's) to Redis's; until then instance '{}' uses its local share (1/{} of each key's "
        "rate)",
        url_for_messages_, why, instance_, instances_);
    spdlog::error("coordination: {}", error_);
  }
  if (mode_ == Mode::kFallback) return;
  mode_ = Mode::kFallback;
  fallbacks_++;
  spdlog::warn(
      "coordination: Redis at {} failed {} ({}); instance '{}' falls back to its local share "
      "(1/{} of each key's rate) until Redis answers in time again",
      url_for_messages_, what, why, instance_, instances_);
}

asio::awaitable<common::Result<Reply>> Coordinator::Command(std::vector<std::string> args) {
  if (mode_ == Mode::kFallback) co_return common::Errc::kCoordinationUnavailable;
  const std::string what = args.empty() ? std::string() : args.front();
  auto op = client_.Command(std::move(args));
  common::Result<Reply> reply = co_await std::move(op);
  if (!reply) NoteFailure(what, client_.last_error());
  co_return reply;
}

asio::awaitable<common::Result<Reply>> Coordinator::EvalSha(const Script& script,
                                                            std::vector<std::string> keys,
                                                            std::vector<std::string> args) {
  if (mode_ == Mode::kFallback) co_return common::Errc::kCoordinationUnavailable;
  auto op = client_.EvalSha(script, std::move(keys), std::move(args));
  common::Result<Reply> reply = co_await std::move(op);
  if (!reply) NoteFailure("EVALSHA", client_.last_error());
  co_return reply;
}

void Coordinator::Spawn(std::string what, const Script& script, std::vector<std::string> keys,
                        std::vector<std::string> args) {
  if (mode_ == Mode::kFallback) return;
  auto task = [](Coordinator* self, std::string what, const Script* script,
                 std::vector<std::string> keys,
                 std::vector<std::string> args) -> asio::awaitable<void> {
    auto op = self->EvalSha(*script, std::move(keys), std::move(args));
    common::Result<Reply> reply = co_await std::move(op);
    self->outstanding_--;
    if (reply && reply->IsError())
      spdlog::warn("coordination: {}: Redis answered {}", what, Describe(*reply));
  };
  std::string name = fmt::format("coordination {}", what);
  outstanding_++;
  asio::co_spawn(executor_, task(this, std::move(what), &script, std::move(keys), std::move(args)),
                 common::LogExceptions{std::move(name)});
}

void Coordinator::Start() {
  if (running_) return;
  running_ = true;
  asio::co_spawn(executor_, Heartbeat(), common::LogExceptions{"coordination heartbeat"});
}

void Coordinator::Stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  if (mode_ == Mode::kShared) {
    auto task = [](Coordinator* self) -> asio::awaitable<void> {
      auto op = self->client_.EvalSha(
          LeaveScript(), {self->Key("", "instances"), self->Key("", "present")}, {self->instance_});
      co_await std::move(op);
    };
    asio::co_spawn(executor_, task(this), common::LogExceptions{"coordination stop"});
  }
}

common::Duration Coordinator::PresenceLease() const {
  return options_.heartbeat + std::chrono::milliseconds(500);
}

common::SteadyTime Coordinator::FallbackFrom() const {
  if (presence_sent_at_ == common::SteadyTime{}) return {};
  // And one second more: the others' schedule slows down when the presence expires, and a 1-s
  // window must not hold both their calls at the whole rate and this instance's alone.
  return presence_sent_at_ + PresenceLease() + 2 * timeout_ + std::chrono::milliseconds(1010);
}

asio::awaitable<void> Coordinator::Beat() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  // The heartbeat bypasses EvalSha's fallback check: in fallback it is the probe. In shared mode
  // it also renews this instance's presence, which stands for a promise: no call on the local
  // fallback share before the presence has expired (FallbackFrom). The renewal counts only if it
  // reaches Redis within about one timeout of being sent, on Redis's clock as last seen in time.
  const common::SteadyTime sent = clock_.Now();
  const auto local_ms = [](common::SteadyTime at) {
    return duration_cast<milliseconds>(at.time_since_epoch()).count();
  };
  const bool renew = mode_ == Mode::kShared && redis_offset_ms_.has_value();
  std::int64_t deadline = 0;
  if (renew) {
    deadline = local_ms(sent) + *redis_offset_ms_ + 2 * timeout_.count();
    presence_sent_at_ = sent;
  }
  auto op = client_.EvalSha(
      HeartbeatScript(), {Key("", "instances"), Key("", "present"), Key("", "shares")},
      {instance_, std::to_string(options_.alive_window.count()),
       std::to_string(renew ? duration_cast<milliseconds>(PresenceLease()).count() : 0),
       std::to_string(deadline), fmt::format("{:.6f}", FallbackShare())});
  common::Result<Reply> reply = co_await std::move(op);
  if (!running_) co_return;
  const bool well_formed =
      reply && reply->kind == Reply::Kind::kArray && reply->elements.size() == 3 &&
      std::all_of(reply->elements.begin(), reply->elements.end(),
                  [](const Reply& e) { return e.kind == Reply::Kind::kInteger; });
  if (!well_formed) {
    NoteFailure("the heartbeat", reply ? Describe(*reply) : client_.last_error());
    co_return;
  }
  const common::SteadyTime now = clock_.Now();
  // Redis's clock as seen now, at most one round trip behind.
  redis_offset_ms_ = reply->elements[1].integer - local_ms(now);
  const int seen = static_cast<int>(std::max<long long>(1, reply->elements[0].integer));
  if (seen >= instances_ || now - instances_seen_at_ >= options_.alive_window) {
    const bool changed = seen != instances_;
    instances_ = seen;
    instances_seen_at_ = now;
    if (changed) SaveInstances();
  }
  error_.clear();
  if (mode_ == Mode::kFallback) {
    mode_ = Mode::kShared;
    shared_since_ = now;
    spdlog::info(
        "coordination: Redis at {} answers again; instance '{}' is back in shared mode "
        "({} instances alive)",
        url_for_messages_, instance_, instances_);
  }
}

asio::awaitable<void> Coordinator::Heartbeat() {
  while (running_) {
    co_await Beat();
    if (!running_) break;
    timer_.expires_after(options_.heartbeat);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

std::unique_ptr<gate::KeyShare> Coordinator::ShareKey(std::string key_id) {
  return std::make_unique<RedisKeyShare>(*this, std::move(key_id));
}

std::unique_ptr<kis::TokenShare> Coordinator::ShareToken(std::string key_id) {
  return std::make_unique<RedisTokenShare>(*this, std::move(key_id));
}

}  // namespace kisgate::coord
