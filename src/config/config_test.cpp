#include "config/config.hpp"

#include <map>

#include <gtest/gtest.h>

namespace kisgate::config {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

constexpr std::string_view kMinimal = R"(
[[kis.keys]]
app_key = "${KIS_APP_KEY}"
app_secret = "${KIS_APP_SECRET}"
)";

Config MustParse(std::string_view text, const EnvLookup& env) {
  auto result = ParseConfig(text, "test.toml", env);
  if (auto* e = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << e->message;
    return {};
  }
  return std::get<Config>(result);
}

std::string ErrorOf(std::string_view text,
                    const EnvLookup& env = FakeEnv({{"KIS_APP_KEY", "k"}, {"KIS_APP_SECRET", "s"}})) {
  auto result = ParseConfig(text, "test.toml", env);
  if (auto* e = std::get_if<ConfigError>(&result)) return e->message;
  ADD_FAILURE() << "expected an error for:\n" << text;
  return {};
}

TEST(Config, MinimalConfigTakesDefaultsAndSecretsFromEnv) {
  auto c = MustParse(kMinimal, FakeEnv({{"KIS_APP_KEY", "PSabc"}, {"KIS_APP_SECRET", "xyz"}}));
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.keys[0].name, "key1");
  EXPECT_EQ(c.keys[0].app_key, "PSabc");
  EXPECT_EQ(c.keys[0].app_secret, "xyz");
  EXPECT_EQ(c.keys[0].base_url, kRealBaseUrl);
  EXPECT_EQ(c.keys[0].rate, 18);
  EXPECT_EQ(c.keys[0].max_in_flight, 5);
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.gate.safety, 0.97);
}

TEST(Config, FullDesignExampleParses) {
  auto c = MustParse(R"(
[server]
listen = "127.0.0.1:9090"
api_token = "${KISGATE_API_TOKEN:-}"

[storage]
url = "sqlite://./data/kisgate.db"

[[kis.keys]]
name = "main"
environment = "real"
base_url = "http://127.0.0.1:9443"
app_key = "${KIS_APP_KEY}"
app_secret = "${KIS_APP_SECRET}"
rate = 18
max_in_flight = 5

[[kis.keys]]
name = "paper"
environment = "mock"
app_key = "m"
app_secret = "n"

[gate]
safety = 0.9
cooldown = "1500ms"

[universe]
codes = ["005930", "000660"]

[[jobs]]
name = "price"
dataset = "price"
every = "5m"
sessions = ["regular"]
)",
                     FakeEnv({{"KIS_APP_KEY", "k"}, {"KIS_APP_SECRET", "s"}}));
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.keys[1].base_url, kMockBaseUrl);
  EXPECT_EQ(c.keys[1].rate, 1);  // KIS's 2026 mock limit
  EXPECT_EQ(c.server.api_token, "");
  EXPECT_EQ(c.gate.cooldown, std::chrono::milliseconds(1500));
  ASSERT_EQ(c.jobs.size(), 1u);
  EXPECT_EQ(c.jobs[0].every, std::chrono::minutes(5));
  EXPECT_EQ(c.universe.codes.size(), 2u);
}

TEST(Config, UnknownKeyIsNamedWithASuggestion) {
  auto e = ErrorOf(R"(
[[kis.keys]]
app_key = "k"
app_secert = "s"
)");
  EXPECT_NE(e.find("unknown key 'kis.keys[0].app_secert'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'app_secret'"), std::string::npos) << e;
}

TEST(Config, MissingSecretNamesTheVariable) {
  auto e = ErrorOf(kMinimal, FakeEnv({{"KIS_APP_KEY", "k"}}));
  EXPECT_NE(e.find("kis.keys[0].app_secret"), std::string::npos) << e;
  EXPECT_NE(e.find("KIS_APP_SECRET is not set"), std::string::npos) << e;
}

TEST(Config, BadValuesNameTheKey) {
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nrate=-1\n").find("kis.keys[0].rate: must be in (0, 1000]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nbase_url='openapi:9443'\n")
                .find("kis.keys[0].base_url: must be an http(s) URL"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nenvironment='paper'\n")
                .find("kis.keys[0].environment"),
            std::string::npos);
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='prices'\n").find("jobs[0].dataset: \"prices\" is not a data set"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='price'\nevery='0s'\n").find("jobs[0].every"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='price'\nevery='5 minutes'\n").find("jobs[0].every: must be a duration"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[universe]\ncodes=['005930','5930']\n").find("entry 2 (\"5930\")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[gate]\nsafety=1.5\n").find("gate.safety: must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[storage]\nurl='mysql://x'\n").find("storage.url"), std::string::npos);
}

TEST(Config, ApiAndPassthroughSettings) {
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  auto env = FakeEnv({});
  auto c = MustParse(keys + R"(
[api]
deadline = "2s"
[api.max_age]
price = "1s"
bars_daily = "2h"
[passthrough]
allow_trading = true
allow_paths = ["/uapi/domestic-stock/v1/ranking/"]
)", env);
  EXPECT_EQ(c.api.deadline, std::chrono::seconds(2));
  EXPECT_EQ(c.api.max_age.at("price"), std::chrono::seconds(1));
  EXPECT_EQ(c.api.max_age.at("bars_daily"), std::chrono::hours(2));
  EXPECT_EQ(c.api.max_age.at("orderbook"), std::chrono::seconds(2));  // default kept
  EXPECT_TRUE(c.passthrough.enabled);
  EXPECT_TRUE(c.passthrough.allow_trading);
  ASSERT_EQ(c.passthrough.allow_paths.size(), 1u);

  auto defaults = MustParse(keys, env);
  EXPECT_FALSE(defaults.passthrough.allow_trading);
  EXPECT_EQ(defaults.server.max_connections, 512);

  EXPECT_NE(ErrorOf(keys + "[api.max_age]\nprices='1s'\n").find("api.max_age.prices: is not a data set"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[api.max_age]\nprice=5\n").find("api.max_age.price: must be a duration"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[passthrough]\nallow_trading='yes'\n").find("passthrough.allow_trading: must be true or false"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[passthrough]\nallow_paths=['/v1/']\n").find("must start with /uapi/"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[server]\nmax_conections=5\n").find("did you mean 'max_connections'"),
            std::string::npos);
}

TEST(Config, UniverseGroupsAndJobPriority) {
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  auto c = MustParse(keys + R"(
[universe]
codes = ["005930"]
[universe.groups]
large = ["005930", "000660"]
bio = ["207940"]
[[jobs]]
dataset = "price"
universe = "large"
priority = ["000660"]
)", FakeEnv({}));
  EXPECT_EQ(c.universe.groups.size(), 2u);
  EXPECT_EQ(c.universe.groups["large"].size(), 2u);
  EXPECT_EQ(c.jobs[0].universe, "large");
  EXPECT_EQ(c.jobs[0].priority, std::vector<std::string>{"000660"});
  auto e = ErrorOf(keys + "[universe.groups]\nlarge = ['005930']\n[[jobs]]\ndataset='price'\nuniverse='small'\n");
  EXPECT_NE(e.find("jobs[0].universe: no group 'small' in [universe.groups] (groups: large)"), std::string::npos) << e;
  EXPECT_NE(ErrorOf(keys + "[universe.groups]\nlarge = ['5930']\n").find("universe.groups.large: entry 1"),
            std::string::npos);
}

TEST(Config, ExtraHolidays) {
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  auto c = MustParse(keys + "[calendar]\nholidays = ['2026-11-25']\n", FakeEnv({}));
  ASSERT_EQ(c.calendar.holidays.size(), 1u);
  EXPECT_EQ(c.calendar.holidays[0], std::chrono::year{2026} / 11 / 25);
  EXPECT_NE(ErrorOf(keys + "[calendar]\nholidays = ['2026-13-01']\n").find("calendar.holidays: entry 1"),
            std::string::npos);
}

TEST(Config, SyntaxErrorsCarryLineAndColumn) {
  auto e = ErrorOf("[server\nlisten = 1\n");
  EXPECT_EQ(e.rfind("test.toml:1:", 0), 0u) << e;
}

TEST(Config, NoKeysIsAnError) {
  EXPECT_NE(ErrorOf("[server]\nlisten='127.0.0.1:1'\n").find("no [[kis.keys]]"), std::string::npos);
}

TEST(Config, DollarDollarEscapes) {
  auto c = MustParse("[[kis.keys]]\napp_key='$${literal}'\napp_secret='s'\n", FakeEnv({}));
  EXPECT_EQ(c.keys[0].app_key, "${literal}");
}

TEST(Config, MissingFileIsAClearError) {
  auto r = LoadConfig("/nonexistent/kisgate.toml");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_NE(std::get<ConfigError>(r).message.find("cannot read config file"), std::string::npos);
}

}  // namespace
}  // namespace kisgate::config

namespace kisgate::config {
namespace {

// The documented example must stay valid: it is what users copy.
TEST(Config, ShippedExampleParses) {
  auto r = LoadConfig(KISGATE_SOURCE_DIR "/configs/example.toml",
                      FakeEnv({{"KIS_APP_KEY", "k"}, {"KIS_APP_SECRET", "s"}}));
  ASSERT_TRUE(std::holds_alternative<Config>(r)) << std::get<ConfigError>(r).message;
  const auto& c = std::get<Config>(r);
  EXPECT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.jobs.size(), 2u);
  for (const char* name : {"/configs/sim.toml", "/configs/demo.toml"}) {
    auto other = LoadConfig(std::string(KISGATE_SOURCE_DIR) + name, FakeEnv({}));
    EXPECT_TRUE(std::holds_alternative<Config>(other)) << name << ": " << std::get<ConfigError>(other).message;
  }
}

}  // namespace
}  // namespace kisgate::config
