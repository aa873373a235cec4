#pragma once
// The coordination of several kisgate instances through one Redis (issue 13): owns the Redis
// client, names this instance, keeps the count of instances alive, and decides whether the
// instance is in shared mode or falls back to its local share of each key's rate.
//
// Health: any command that fails or exceeds coordination.timeout puts the instance in fallback
// (logged once per episode, counted in Stats().fallbacks). While in fallback the shares do not ask
// Redis at all (their callers use their local rules at once); a heartbeat every second doubles as
// the probe, and its first answer in time returns the instance to shared mode (logged once).
//
// Heartbeat: every second this instance scores itself in a ZSET with Redis's own clock (TIME);
// instances alive are those scored in the last 5 s. A count that drops is believed only when the
// higher one has not been seen for that long (after a Redis restart the list starts empty), and
// while in fallback the count last seen stays: the fallback share is never the whole rate because
// of a list Redis lost. At start, before Redis has told, the count is coordination.instances, else
// the one saved in options.state_file by the last run, else 1; each new count is saved there.
//
// Presence (issue 23): while in shared mode each heartbeat also renews this instance's presence
// (PresenceLease, on Redis's clock) and publishes its fallback share. A Reserve spaces the key's
// shared slots so that they leave the fallback share of every instance alive but not present:
// an instance that cannot reach Redis in time stops renewing, waits out its presence
// (FallbackFrom) and only then spends its share alone, which the others leave it by then. So the
// sum over instances stays within the rate whichever of them see Redis late. (An instance Redis
// has not heard from at all within the alive window counts as gone.)
//
// Keys: everything lives under "<prefix>:" ("kisgate:" by default): "kisgate:instances", and per
// app key "kisgate:{<key_id>}:<what>" (the braces keep a key's entries in one cluster slot). The
// key id is a SHA-256 prefix (KeyId); the app key itself is never written to Redis.
//
// Thread-safety: one executor (the caller's single-threaded io_context). Destroy it after its
// io_context has stopped running. The shares it hands out may outlive it (a gateway's state held
// by a coroutine frame is destroyed with the io_context, after the coordinator): from then on
// their fire-and-forget calls (Release, CoolDown, Withdraw) do nothing, and the leases they would
// have ended expire in Redis by themselves.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "common/timer.hpp"
#include "config/config.hpp"
#include "coord/redis_client.hpp"
#include "gate/gateway.hpp"
#include "gate/key_share.hpp"
#include "kis/token_share.hpp"

namespace kisgate::coord {

struct CoordinatorOptions {
  std::string prefix = "kisgate";                // of every Redis key (tests use their own)
  std::chrono::milliseconds heartbeat{1000};     // and the probe's period while in fallback
  std::chrono::milliseconds alive_window{5000};  // an instance seen within this is alive
  // Where the count of instances last seen is kept across restarts (empty: nowhere), so that an
  // instance that cannot reach Redis at start does not assume it is alone.
  std::filesystem::path state_file;
};

class Coordinator {
 public:
  // Throws std::runtime_error naming coordination.url when the URL is not a usable redis:// URL
  // (the password masked). `config.password`, when set, overrides the URL's.
  Coordinator(boost::asio::any_io_executor executor, const config::CoordinationConfig& config,
              const common::Clock& clock, CoordinatorOptions options = {});
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Starts the heartbeat (its first beat at once). Stop ends it and takes this instance off the
  // list of instances alive (fire and forget).
  void Start();
  void Stop();

  gate::CoordinationStats Stats() const;
  const std::string& instance() const { return instance_; }
  bool Shared() const { return mode_ == gate::CoordinationStats::Mode::kShared; }
  // 1 / the instances last seen alive (this one included).
  double FallbackShare() const { return 1.0 / static_cast<double>(instances_); }
  // In fallback, no call on the local share before this: until then the shared schedule may still
  // count this instance present (it renewed its presence) and spend the whole rate without it.
  common::SteadyTime FallbackFrom() const;
  const CoordinatorOptions& options() const { return options_; }
  // When Redis last answered in time again after a fallback (nullopt if it never failed).
  std::optional<common::SteadyTime> shared_since() const { return shared_since_; }

  // The shared budget and the shared token of the app key `key_id` (KeyId). Each share refers to
  // this coordinator while life() has not expired.
  std::unique_ptr<gate::KeyShare> ShareKey(std::string key_id);
  std::unique_ptr<kis::TokenShare> ShareToken(std::string key_id);

  // The app key's id in Redis: the first 16 hex digits of SHA-256("<environment>:<app_key>").
  static std::string KeyId(std::string_view environment, std::string_view app_key);

  // --- For the shares and the job leases built on this coordinator. ---

  // "<prefix>:{<key_id>}:<what>", or "<prefix>:<what>" for an empty key_id.
  std::string Key(std::string_view key_id, std::string_view what) const;

  // A command, or a script, that counts for the health: in fallback it is not sent and fails at
  // once with Errc::kCoordinationUnavailable; a failure or a timeout puts the instance in fallback.
  // A server error reply is returned as it is (the caller decides: NoteFailure if it cannot go on).
  boost::asio::awaitable<common::Result<Reply>> Command(std::vector<std::string> args);
  boost::asio::awaitable<common::Result<Reply>> EvalSha(const Script& script,
                                                        std::vector<std::string> keys,
                                                        std::vector<std::string> args);
  // The same, fire and forget (Release, CoolDown, Withdraw): `what` names it in the log;
  // `script` must outlive the call (a function-local static, as the shares' scripts are).
  void Spawn(std::string what, const Script& script, std::vector<std::string> keys,
             std::vector<std::string> args);

  // Fire-and-forget commands not finished yet (for a graceful stop and for tests).
  int outstanding() const { return outstanding_; }

  // Redis failed `what` (or answered what cannot be used): enter fallback unless already there.
  void NoteFailure(std::string_view what, std::string_view why);

  // Expires when this coordinator is destroyed.
  std::weak_ptr<const bool> life() const { return life_; }

  RedisClient& client() { return client_; }
  const common::Clock& clock() const { return clock_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  boost::asio::awaitable<void> Heartbeat();
  boost::asio::awaitable<void> Beat();
  void SaveInstances() const;
  common::Duration PresenceLease() const;

  boost::asio::any_io_executor executor_;
  const common::Clock& clock_;
  CoordinatorOptions options_;
  std::string url_for_messages_;  // the password masked
  std::chrono::milliseconds timeout_;
  std::string instance_;
  RedisClient client_;
  common::Timer timer_;
  bool running_ = false;
  gate::CoordinationStats::Mode mode_ = gate::CoordinationStats::Mode::kShared;
  int instances_ = 1;
  common::SteadyTime instances_seen_at_{};  // when the count last rose or was last confirmed
  std::uint64_t fallbacks_ = 0;
  std::string error_;  // Redis refused the password (Stats().error)
  std::optional<common::SteadyTime> shared_since_;
  int outstanding_ = 0;
  std::optional<std::int64_t> redis_offset_ms_;  // Redis's ms minus the clock's, last seen in time
  common::SteadyTime presence_sent_at_{};        // the last heartbeat that may renew the presence
  std::shared_ptr<const bool> life_ = std::make_shared<const bool>(true);
};

}  // namespace kisgate::coord
