#pragma once
// Everything `kisgate sim` can be told, by flag or by TOML file. Defaults are KIS's 2026 values
// (kis-api.md §2, §5); the burst rules and faults are off unless asked for.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/rate_window.hpp"
#include "sim/token_registry.hpp"

namespace kisgate::sim {

enum class Environment { kReal, kMock };

struct SimKey {
  std::string app_key;
  std::string app_secret;
  Environment environment = Environment::kReal;
};

// The built-in demo key pair, used when no --key is given. Same lengths as KIS's (36 and 180).
inline constexpr std::string_view kDemoAppKey = "PSkisgateDEMOsimulatorAppKey00000001";
std::string DemoAppSecret();

// Which KIS host the simulator pretends to be: keys of the other environment get EGW02004 or
// EGW02007, as they would on the real hosts. "any" serves both.
enum class HostEnvironment { kAny, kReal, kMock };

// The real-time WebSocket (kis-api.md §8): KIS's rules, and knobs for tests and benchmarks.
struct WsOptions {
  std::string listen;                      // "HOST:PORT" of an own WebSocket port; "" = none
  std::chrono::milliseconds hold{30'000};  // a key stays taken this long after its session ends
  std::size_t max_subs = 41;               // (tr_id, tr_key) registrations per session
  std::chrono::milliseconds ping_interval{10'000};
  std::size_t ping_missed = 10;     // unanswered PINGPONGs before the session is closed
  bool strict_pingpong = false;     // only a text echo answers a PINGPONG (not a protocol pong)
  double trades_per_s = 2;          // trades per second per subscribed code, on average
  double fault_drop_per_min = 0;    // sessions dropped per minute (random, seeded)
  std::size_t queue_frames = 4096;  // frames waiting for a slow client before it is cut
  // Benchmarks only (bench/stream_bench.cpp): called on the simulator's thread with each data
  // frame as its connection's writer starts sending it. Empty otherwise.
  std::function<void(std::string_view frame, std::chrono::steady_clock::time_point sent)>
      on_data_frame;
};

struct SimOptions {
  std::string listen = "127.0.0.1:9443";
  std::vector<SimKey> keys;  // empty: the demo key (real environment)
  HostEnvironment host_environment = HostEnvironment::kAny;

  double rate = 18;      // calls per second per real key
  double mock_rate = 1;  // calls per second per mock key
  WindowKind window = WindowKind::kSliding;

  // Burst rules (0 = off): calls beyond N at once for one key are dropped without a response;
  // connections beyond N at once are closed right after accept.
  std::size_t max_in_flight_per_key = 0;
  std::size_t max_connections = 0;

  // Service delay per call: log-normal with this median and shape (sigma of the underlying normal),
  // capped. The cap also bounds the slow-reply fault.
  double latency_ms = 40;
  double latency_sigma = 0.5;
  double latency_max_ms = 5000;

  // Faults, each a probability per quotation call.
  double fault_disconnect = 0;  // close the connection without a response
  double fault_error = 0;       // HTTP 500 EGW00002
  double fault_slow = 0;        // add slow_ms to the delay
  double slow_ms = 3000;

  // Simulated market clock: "now" or a KST time "YYYY-MM-DDTHH:MM:SS", advancing `speed` times
  // faster than real time. Token lifetimes and rate windows always use real time.
  std::string clock = "now";
  double speed = 1;
  std::uint64_t seed = 1;

  TokenRules tokens;
  WsOptions ws;

  std::string tls_cert;
  std::string tls_key;

  // Bounds on what a client can make the simulator hold.
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;

  // Checks ranges and consistency; returns the first problem, naming the flag.
  std::optional<std::string> Validate() const;
  // The keys to serve: `keys`, or the demo key when none was given.
  std::vector<SimKey> EffectiveKeys() const;
};

// Parses "APPKEY:SECRET[:real|mock]". Returns nullopt with `error` set when malformed.
std::optional<SimKey> ParseSimKey(std::string_view spec, std::string& error);

}  // namespace kisgate::sim
