// libFuzzer target: any request the HTTP layer could hand the simulator (method, target, headers,
// body) gets a decision, never a crash. Input: lines "METHOD TARGET", then "name: value" headers,
// a blank line, and the body. "$TOKEN" in a header stands for a valid token of key "k", so the
// fuzzer reaches the quotation code behind the token check.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "http/message.hpp"
#include "sim/simulator.hpp"

using namespace kisgate;

namespace {

std::string token;

sim::Simulator& TheSimulator() {
  static common::ManualClock clock;
  static auto simulator = [] {
    sim::SimOptions o;
    o.latency_ms = 0;
    o.tokens.issue_interval = std::chrono::seconds(0);
    o.tokens.ttl = std::chrono::hours(24 * 365 * 10);  // the token outlives any fuzzing run
    o.clock = "2026-11-24T11:00:00";
    o.keys = {sim::SimKey{"k", "s", sim::Environment::kReal},
              sim::SimKey{"m", "s", sim::Environment::kMock}};
    auto sim = std::make_unique<sim::Simulator>(o, clock);
    http::Request issue;
    issue.method = "POST";
    issue.target = "/oauth2/tokenP";
    issue.body = R"({"grant_type":"client_credentials","appkey":"k","appsecret":"s"})";
    const auto reply = sim->Handle(issue).response.body;
    const auto at = reply.find("\"access_token\":\"") + 16;
    token = reply.substr(at, reply.find('"', at) - at);
    return sim;
  }();
  clock.Advance(std::chrono::milliseconds(60));  // under 18 calls a second: past the rate check
  return *simulator;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Request request;
  auto line_end = in.find('\n');
  std::string_view first = in.substr(0, line_end);
  auto space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.target = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  in = line_end == std::string_view::npos ? std::string_view{} : in.substr(line_end + 1);
  while (!in.empty()) {
    line_end = in.find('\n');
    std::string_view line = in.substr(0, line_end);
    in = line_end == std::string_view::npos ? std::string_view{} : in.substr(line_end + 1);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    std::string v(value);
    if (auto t = v.find("$TOKEN"); t != std::string::npos) v.replace(t, 6, token);
    request.headers.emplace_back(http::ToLower(line.substr(0, colon)), v);
  }
  request.body = std::string(in);
  auto& simulator = TheSimulator();
  auto decision = simulator.Handle(request);
  simulator.Finish(decision.key_index);
  return 0;
}
