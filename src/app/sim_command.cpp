#include "app/sim_command.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "sim/sim_server.hpp"

namespace kisgate::app {

namespace {

struct SimFlags {
  sim::SimOptions options;
  std::string config_file;
  std::vector<std::string> keys;
  std::string window = "sliding";
  std::string environment = "any";
  std::int64_t token_ttl_s = 24 * 3600;
  std::int64_t token_reuse_s = 6 * 3600;
  std::int64_t token_interval_s = 60;
  double ws_hold_s = 30;
  double ws_ping_s = 10;
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

// Reads `key = value` pairs from a TOML file into the command's options, as if given as flags,
// except for options given on the command line. Unknown keys are errors naming the key.
// (CLI11's own config reader only maps [sim] sections and ignores what it does not know.)
void ApplyConfigFile(CLI::App& cmd, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw CLI::ValidationError("--config", fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                                       e.source().begin.column, e.description()));
  }
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    CLI::Option* option =
        name == "config" || name == "help" ? nullptr : cmd.get_option_no_throw("--" + name);
    if (option == nullptr) {
      std::vector<std::string> known;
      for (const auto* o : cmd.get_options()) {
        if (!o->get_lnames().empty() && o->get_lnames()[0] != "help" &&
            o->get_lnames()[0] != "config") {
          known.push_back(o->get_lnames()[0]);
        }
      }
      throw CLI::ValidationError("--config", fmt::format("{}: unknown key '{}'; known keys: {}",
                                                         path, name, fmt::join(known, ", ")));
    }
    if (option->count() > 0) continue;  // the command line wins
    auto text = [&](const toml::node& n) -> std::string {
      if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
      if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
      if (n.is_floating_point()) return fmt::format("{}", *n.value<double>());
      if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
      throw CLI::ValidationError(
          "--config", fmt::format("{}: '{}' must be a string, number or array", path, name));
    };
    if (const auto* array = node.as_array()) {
      for (const auto& item : *array) option->add_result(text(item));
    } else {
      option->add_result(text(node));
    }
    option->run_callback();
  }
}

int RunSim(SimFlags& flags) {
  auto& o = flags.options;
  for (const auto& spec : flags.keys) {
    std::string error;
    auto key = sim::ParseSimKey(spec, error);
    if (!key) throw CLI::ValidationError("--key", error);
    o.keys.push_back(*key);
  }
  o.window = flags.window == "fixed" ? sim::WindowKind::kFixed : sim::WindowKind::kSliding;
  o.host_environment = flags.environment == "real"   ? sim::HostEnvironment::kReal
                       : flags.environment == "mock" ? sim::HostEnvironment::kMock
                                                     : sim::HostEnvironment::kAny;
  o.tokens.ttl = std::chrono::seconds(flags.token_ttl_s);
  o.tokens.reuse_window = std::chrono::seconds(flags.token_reuse_s);
  o.tokens.issue_interval = std::chrono::seconds(flags.token_interval_s);
  o.ws.hold = Millis(flags.ws_hold_s);
  o.ws.ping_interval = Millis(flags.ws_ping_s);

  boost::asio::io_context io(1);
  sim::SimServer server(io, o);  // throws with a message naming the problem
  server.Start();
  const auto keys = o.EffectiveKeys();
  spdlog::info(
      "kisgate sim listening on {} ({} key{}, {} calls/s real, {} mock, {} window, seed {})",
      server.BaseUrl(), keys.size(), keys.size() == 1 ? "" : "s", o.rate, o.mock_rate, flags.window,
      o.seed);
  spdlog::info("kisgate sim real-time WebSocket on {}/tryitout", server.WsUrl());
  if (o.keys.empty()) {
    spdlog::info("demo key: appkey={} appsecret={}", sim::kDemoAppKey, sim::DemoAppSecret());
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("kisgate sim: signal {}, stopping", signal);
    server.Stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

void AddSimCommand(CLI::App& parent, int& exit_code) {
  auto flags = std::make_shared<SimFlags>();
  auto& o = flags->options;
  auto* cmd = parent.add_subcommand(
      "sim", "Run a KIS-compatible server (tokens, the quotation TRs, KIS's limits and faults)");
  cmd->add_option("--config", flags->config_file,
                  "TOML file with any of these options (flag names without --); flags win");
  cmd->add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--key", flags->keys,
                  "APPKEY:SECRET[:real|mock], repeatable; default: a built-in demo key");
  cmd->add_option("--environment", flags->environment,
                  "which KIS host to act as: any, real (mock keys get EGW02007) or mock")
      ->check(CLI::IsMember({"any", "real", "mock"}))
      ->capture_default_str();
  cmd->add_option("--rate", o.rate, "calls per second per real key")->capture_default_str();
  cmd->add_option("--mock-rate", o.mock_rate, "calls per second per mock key")
      ->capture_default_str();
  cmd->add_option("--window", flags->window,
                  "rate window: sliding (any 1 s) or fixed (clock seconds)")
      ->check(CLI::IsMember({"sliding", "fixed"}))
      ->capture_default_str();
  cmd->add_option("--max-in-flight-per-key", o.max_in_flight_per_key,
                  "drop calls beyond N at once per key without a response (0: off)")
      ->capture_default_str();
  cmd->add_option("--max-connections", o.max_connections,
                  "close connections beyond N at once right after accept (0: off)")
      ->capture_default_str();
  cmd->add_option("--latency-ms", o.latency_ms, "median service delay per call")
      ->capture_default_str();
  cmd->add_option("--latency-sigma", o.latency_sigma, "log-normal tail of the delay (0: constant)")
      ->capture_default_str();
  cmd->add_option("--latency-max-ms", o.latency_max_ms, "cap on any delay")->capture_default_str();
  cmd->add_option("--fault-disconnect", o.fault_disconnect,
                  "probability a quotation call is dropped without a response")
      ->capture_default_str();
  cmd->add_option("--fault-error", o.fault_error, "probability of HTTP 500 EGW00002")
      ->capture_default_str();
  cmd->add_option("--fault-slow", o.fault_slow, "probability of a slow reply (+--slow-ms)")
      ->capture_default_str();
  cmd->add_option("--slow-ms", o.slow_ms, "extra delay of a slow reply")->capture_default_str();
  cmd->add_option("--clock", o.clock, "market time: now, or KST YYYY-MM-DDTHH:MM:SS")
      ->capture_default_str();
  cmd->add_option("--speed", o.speed, "market clock speed (60: one market minute per second)")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for market data, latency and faults")
      ->capture_default_str();
  cmd->add_option("--token-ttl", flags->token_ttl_s, "token lifetime, seconds")
      ->capture_default_str();
  cmd->add_option(
         "--token-reuse", flags->token_reuse_s,
         "a token request within this many seconds of the last issuance gets the same token")
      ->capture_default_str();
  cmd->add_option("--token-interval", flags->token_interval_s,
                  "minimum seconds between token requests per key (else EGW00133)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", o.tls_cert, "PEM certificate: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", o.tls_key, "PEM private key");
  cmd->add_option("--max-body-bytes", o.max_body_bytes, "largest request body accepted")
      ->capture_default_str();
  cmd->add_option("--ws-listen", o.ws.listen,
                  "HOST:PORT of an own WebSocket port like KIS's :21000 (the main listener "
                  "upgrades WebSockets on any path either way)");
  cmd->add_option("--ws-hold-s", flags->ws_hold_s,
                  "seconds a key stays taken after its WebSocket session ends (OPSP8996)")
      ->capture_default_str();
  cmd->add_option("--ws-max-subs", o.ws.max_subs,
                  "registrations per session; one more gets OPSP0008")
      ->capture_default_str();
  cmd->add_option("--ws-ping-s", flags->ws_ping_s, "seconds between PINGPONGs (fractions allowed)")
      ->capture_default_str();
  cmd->add_option("--ws-ping-missed", o.ws.ping_missed,
                  "unanswered PINGPONGs after which the session is closed")
      ->capture_default_str();
  cmd->add_flag("--ws-strict-pingpong", o.ws.strict_pingpong,
                "only a PINGPONG echoed as a text frame answers it (not a protocol-level pong)");
  cmd->add_option("--ws-trades-per-s", o.ws.trades_per_s,
                  "trades per second per subscribed code, on average")
      ->capture_default_str();
  cmd->add_option("--ws-fault-drop", o.ws.fault_drop_per_min,
                  "WebSocket sessions dropped per minute (random, seeded; 0: off)")
      ->capture_default_str();
  cmd->add_option("--ws-queue-frames", o.ws.queue_frames,
                  "frames waiting for a slow WebSocket client before it is cut")
      ->capture_default_str();
  cmd->callback([cmd, flags, &exit_code] {
    if (!flags->config_file.empty()) ApplyConfigFile(*cmd, flags->config_file);
    exit_code = RunSim(*flags);
  });
}

}  // namespace kisgate::app
