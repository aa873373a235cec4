#pragma once
// kisgate's configuration: one TOML file (DESIGN.md "Configuration") turned into typed structs.
// Secrets come from the environment through "${NAME}" (or "${NAME:-default}") in string values.
// Every problem is reported with the key's full path and what to do about it; unknown keys are
// errors, so a typo never silently falls back to a default.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/vocabulary.hpp"

namespace kisgate::config {

enum class KisEnvironment { kReal, kMock };

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string api_token;  // optional bearer token for /v1/*
  // With api_token set: /metrics, /readyz and /openapi.json need it too (/healthz and the
  // dashboard's static files stay open; its data comes from /v1/). For listening beyond loopback.
  bool protect_all = false;
  int max_connections = 512;                       // connections beyond this are closed at accept
  std::chrono::milliseconds read_timeout{10'000};  // a whole request must arrive within this
};

// The REST API's freshness rules (DESIGN.md "Interfaces").
struct ApiConfig {
  // A request that must go to KIS waits at most this long before the last stored value is served
  // (marked stale) or an error returned.
  std::chrono::milliseconds deadline{3000};
  // Per data set (common::Name): a collected value older than this is fetched again (overridden by
  // ?max_age=). Holds every data set: DefaultMaxAge, then [api.max_age].
  std::map<std::string, std::chrono::milliseconds> max_age = DefaultMaxAges();

  // A data set's max_age when [api.max_age] does not set it.
  static std::chrono::milliseconds DefaultMaxAge(common::Dataset dataset);
  static std::map<std::string, std::chrono::milliseconds> DefaultMaxAges();
};

// /uapi/... and /oauth2/tokenP for existing KIS clients.
struct PassthroughConfig {
  bool enabled = true;
  // Beyond the quotation paths: anything under /uapi/ (trading, accounts) and POSTs other than
  // tokenP. Off by default: a passthrough that can place orders must be asked for.
  bool allow_trading = false;
  std::vector<std::string>
      allow_paths;  // extra path prefixes allowed, e.g. "/uapi/domestic-stock/v1/ranking/"
};

struct StorageConfig {
  // Empty in the file: "sqlite://<data_dir>/kisgate.db", so the database lives beside the tokens.
  std::string url;
  // Records, trades and snapshots waiting for the writer at most, for either back end (a server
  // that is unreachable, a disk that is full or locked); beyond it the oldest are dropped and
  // counted. The default, store::kDefaultMaxBuffered (its arithmetic is there), covers a 30-s
  // outage at one key's full collection rate.
  int max_buffered = 100'000;
  // Each wait on the database at most: connecting, a statement, a read. A read past it is
  // answered 503 (store_timeout) by the API and fails its code in a collection cycle; a write
  // past it is retried.
  std::chrono::milliseconds timeout{3000};
};

// [coordination]: several kisgate instances sharing their keys' budgets, tokens and jobs through
// Redis (issue 13). An absent section (empty url) is single-instance mode.
struct CoordinationConfig {
  std::string url;       // "redis://host:port/db" (db optional, default 0)
  std::string password;  // optional; "${REDIS_PASSWORD}" keeps it out of the file
  std::string instance;  // this instance's name in Redis and on /v1/jobs; empty: "<host>-<pid>"
  // A Redis command slower than this counts as Redis unavailable: the instance falls back to its
  // local share of each key's rate until Redis answers in time again.
  std::chrono::milliseconds timeout{50};
  // How many instances share each key, assumed until Redis has told: a fallback share of 1/this
  // when Redis cannot be reached at start. 0: the count this instance last saw (kept in data_dir),
  // or 1 when it never saw one.
  int instances = 0;
};

struct KeyConfig {
  std::string name;
  KisEnvironment environment = KisEnvironment::kReal;
  std::string base_url;  // defaults by environment to KIS's hosts
  std::string app_key;
  std::string app_secret;
  double rate = 18;       // calls per second KIS allows this key
  int max_in_flight = 5;  // calls between dispatch and reply, at most
  std::string ca_file;    // extra CA bundle for TLS verification (optional)
};

// The gate's knobs (DESIGN.md "The gate"); defaults are the design's.
struct GateConfig {
  double safety = 0.97;  // fraction of the key's rate the gate plans for
  // AIMD floor: EGW00201 cuts never take a key below this share of its rate x safety (18/s:
  // 0.87/s; a mock key at 1/s: one call in about 20 s).
  double min_rate_share = 0.05;
  double interactive_max_share = 0.6;        // of the rate, while batch work waits
  int interactive_reserved_slots = 1;        // in-flight slots batch never takes
  int max_in_flight_limit = 10;              // adaptive in-flight cap ceiling
  double retry_budget = 0.1;                 // retries as a fraction of calls
  std::chrono::milliseconds cooldown{1000};  // after EGW00201, for the whole key
  std::chrono::milliseconds default_deadline{10'000};
};

struct UniverseConfig {
  std::vector<std::string> codes;
  std::string file;                                        // one code per line, '#' comments
  std::map<std::string, std::vector<std::string>> groups;  // [universe.groups] name = [codes]
};

// Extra KRX closures beyond the built-in list (which covers 2025–2027).
struct CalendarConfig {
  std::vector<std::chrono::year_month_day> holidays;
};

// A job's interval is at least this: the schedule counts whole seconds.
inline constexpr std::chrono::seconds kMinJobInterval{1};

struct JobConfig {
  std::string name;
  std::string dataset;
  std::chrono::milliseconds every{300'000};
  std::vector<std::string> sessions{"regular"};
  std::string lane = "batch";
  std::string universe;               // a [universe.groups] name; empty: the whole universe
  std::vector<std::string> priority;  // codes collected first in each cycle
};

// [stream]: what all real-time streams share (issue 14). TOML cannot hang keys on [[streams]], so
// they live in their own table.
struct StreamSettings {
  // API clients may add codes to stream (GET /v1/stream, /v1/ws); false: only [[streams]].
  bool client_demand = true;
  int max_codes_per_client = 20;  // codes one client may add; the rest of its ask is ignored
  // Wait before reconnecting after KIS answered OPSP8996 (the key's session still held).
  std::chrono::milliseconds hold{60'000};
  // The part of the keys' REST budget (rate x gate.safety) that polling what did not fit the
  // sessions may use; 0: what does not fit is not polled.
  double poll_share = 0.25;
  // Overflow is never polled more often than this, however much budget is left.
  std::chrono::milliseconds min_poll_interval{1000};
  // Registrations per KIS WebSocket session: KIS gives 41 (kis-api.md §8); lower for a simulator
  // started with --ws-max-subs.
  int max_registrations = 41;
};

// One [[streams]] entry: codes streamed over KIS WebSocket (or polled when they do not fit).
struct StreamConfig {
  std::string name;
  std::string data = "trades";     // "trades" | "orderbook"
  std::vector<std::string> codes;  // these codes, or
  std::string universe;            // a [universe.groups] name (exactly one of the two)
  int priority = 1;                // 1 = first; entries of equal priority in file order
};

struct Config {
  std::string data_dir = "./data";
  ServerConfig server;
  ApiConfig api;
  PassthroughConfig passthrough;
  StorageConfig storage;
  CoordinationConfig coordination;
  std::vector<KeyConfig> keys;
  GateConfig gate;
  UniverseConfig universe;
  CalendarConfig calendar;
  std::vector<JobConfig> jobs;
  StreamSettings stream;
  std::vector<StreamConfig> streams;
};

struct ConfigError {
  std::string message;  // "config.toml: kis.keys[0].rate: must be > 0, got -1"
};

// Reads environment variables; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

std::variant<Config, ConfigError> ParseConfig(std::string_view toml_text, std::string_view source,
                                              const EnvLookup& env = ProcessEnv());
std::variant<Config, ConfigError> LoadConfig(const std::string& path,
                                             const EnvLookup& env = ProcessEnv());

// Creates data_dir and its tokens folder and proves they are writable (by writing a file:
// permission bits do not tell for root or a read-only mount). A folder kisgate cannot write would
// make every start issue a new token, so the commands refuse to start. Error: "data_dir: cannot
// write ...".
std::optional<ConfigError> PrepareDataDir(const Config& config);

// KIS's REST hosts (kis-api.md §1).
inline constexpr std::string_view kRealBaseUrl = "https://openapi.koreainvestment.com:9443";
inline constexpr std::string_view kMockBaseUrl = "https://openapivts.koreainvestment.com:29443";

}  // namespace kisgate::config
