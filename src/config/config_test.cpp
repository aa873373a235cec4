#include "config/config.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
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
                    const EnvLookup& env = FakeEnv({{"KIS_APP_KEY", "k"},
                                                    {"KIS_APP_SECRET", "s"}})) {
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
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nrate=-1\n")
                .find("kis.keys[0].rate: must be in (0, 1000]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nbase_url='openapi:9443'\n")
                .find("kis.keys[0].base_url: must be an http(s) URL"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[kis.keys]]\napp_key='k'\napp_secret='s'\nenvironment='paper'\n")
                .find("kis.keys[0].environment"),
            std::string::npos);
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='prices'\n")
                .find("jobs[0].dataset: \"prices\" is not a data set"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='price'\nevery='0s'\n").find("jobs[0].every"),
            std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[[jobs]]\ndataset='price'\nevery='5 minutes'\n")
                .find("jobs[0].every: must be a duration"),
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
)",
                     env);
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

  EXPECT_NE(
      ErrorOf(keys + "[api.max_age]\nprices='1s'\n").find("api.max_age.prices: is not a data set"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(keys + "[api.max_age]\nprice=5\n").find("api.max_age.price: must be a duration"),
      std::string::npos);
  EXPECT_NE(ErrorOf(keys + "[passthrough]\nallow_trading='yes'\n")
                .find("passthrough.allow_trading: must be true or false"),
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
)",
                     FakeEnv({}));
  EXPECT_EQ(c.universe.groups.size(), 2u);
  EXPECT_EQ(c.universe.groups["large"].size(), 2u);
  EXPECT_EQ(c.jobs[0].universe, "large");
  EXPECT_EQ(c.jobs[0].priority, std::vector<std::string>{"000660"});
  auto e = ErrorOf(
      keys +
      "[universe.groups]\nlarge = ['005930']\n[[jobs]]\ndataset='price'\nuniverse='small'\n");
  EXPECT_NE(e.find("jobs[0].universe: no group 'small' in [universe.groups] (groups: large)"),
            std::string::npos)
      << e;
  EXPECT_NE(ErrorOf(keys + "[universe.groups]\nlarge = ['5930']\n")
                .find("universe.groups.large: entry 1"),
            std::string::npos);
}

TEST(Config, ExtraHolidays) {
  std::string keys = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";
  auto c = MustParse(keys + "[calendar]\nholidays = ['2026-11-25']\n", FakeEnv({}));
  ASSERT_EQ(c.calendar.holidays.size(), 1u);
  EXPECT_EQ(c.calendar.holidays[0], std::chrono::year{2026} / 11 / 25);
  EXPECT_NE(
      ErrorOf(keys + "[calendar]\nholidays = ['2026-13-01']\n").find("calendar.holidays: entry 1"),
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
  for (const char* name : {"/configs/sim.toml", "/configs/demo.toml", "/configs/mock.toml"}) {
    auto other = LoadConfig(std::string(KISGATE_SOURCE_DIR) + name,
                            FakeEnv({{"KIS_APP_KEY", "k"}, {"KIS_APP_SECRET", "s"}}));
    EXPECT_TRUE(std::holds_alternative<Config>(other))
        << name << ": " << std::get<ConfigError>(other).message;
  }
}

}  // namespace
}  // namespace kisgate::config

namespace kisgate::config {
namespace {

// Issue 11, "configs that start instead of failing": each is refused in one line naming the key.
constexpr std::string_view kKey = "[[kis.keys]]\napp_key='k'\napp_secret='s'\n";

std::string WithKey(std::string_view rest) { return std::string(kKey) + std::string(rest); }

// Without storage.url the database sits in data_dir, beside the tokens, wherever data_dir is.
TEST(ConfigAtStart, DatabaseLivesUnderDataDirByDefault) {
  auto c = MustParse("data_dir = '/srv/kisgate'\n" + WithKey(""), FakeEnv({}));
  EXPECT_EQ(c.storage.url, "sqlite:///srv/kisgate/kisgate.db");
  auto given = MustParse(WithKey("[storage]\nurl = 'sqlite:///tmp/x.db'\n"), FakeEnv({}));
  EXPECT_EQ(given.storage.url, "sqlite:///tmp/x.db");
}

// [coordination] (issue 13): absent is single-instance mode; the password may come from the
// environment; a URL that is not redis://, a zero timeout or an instance name with spaces is
// refused naming the key.
TEST(ConfigAtStart, CoordinationSection) {
  EXPECT_TRUE(MustParse(WithKey(""), FakeEnv({})).coordination.url.empty());
  auto c = MustParse(WithKey("[coordination]\nurl = 'redis://127.0.0.1:6390/2'\n"
                             "password = '${REDIS_PASSWORD}'\ninstance = 'blue-1'\n"
                             "timeout = '80ms'\n"),
                     FakeEnv({{"REDIS_PASSWORD", "pw"}}));
  EXPECT_EQ(c.coordination.url, "redis://127.0.0.1:6390/2");
  EXPECT_EQ(c.coordination.password, "pw");
  EXPECT_EQ(c.coordination.instance, "blue-1");
  EXPECT_EQ(c.coordination.timeout, std::chrono::milliseconds(80));
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"url = 'http://x'\n", "coordination.url"},
           {"url = 'redis://x'\ntimeout = '0ms'\n", "coordination.timeout"},
           {"url = 'redis://x'\ninstance = 'a b'\n", "coordination.instance"},
           {"url = 'redis://x'\nurls = 'y'\n", "coordination.urls"}}) {
    SCOPED_TRACE(text);
    const auto e = ErrorOf(WithKey("[coordination]\n" + text));
    EXPECT_NE(e.find(key), std::string::npos) << e;
  }
}

// [storage] max_buffered: the write buffer for a PostgreSQL outage, 100,000 records unless given.
TEST(ConfigAtStart, StorageMaxBuffered) {
  EXPECT_EQ(MustParse(WithKey(""), FakeEnv({})).storage.max_buffered, 100'000);
  auto c =
      MustParse(WithKey("[storage]\nurl = 'postgresql://kisgate:${PGPASSWORD}@db:5432/kisgate'\n"
                        "max_buffered = 500000\n"),
                FakeEnv({{"PGPASSWORD", "pw"}}));
  EXPECT_EQ(c.storage.max_buffered, 500'000);
  EXPECT_EQ(c.storage.url, "postgresql://kisgate:pw@db:5432/kisgate");
  for (const auto* text : {"max_buffered = 0\n", "max_buffered = 'many'\n"}) {
    SCOPED_TRACE(text);
    const auto e = ErrorOf(WithKey(std::string("[storage]\n") + text));
    EXPECT_NE(e.find("storage.max_buffered"), std::string::npos) << e;
  }
}

// [storage] timeout: each wait on the database, 3 s unless given; not 0.
TEST(ConfigAtStart, StorageTimeout) {
  EXPECT_EQ(MustParse(WithKey(""), FakeEnv({})).storage.timeout, std::chrono::seconds(3));
  EXPECT_EQ(MustParse(WithKey("[storage]\nurl = 'sqlite://x.db'\ntimeout = '750ms'\n"), FakeEnv({}))
                .storage.timeout,
            std::chrono::milliseconds(750));
  for (const auto* text : {"timeout = '0s'\n", "timeout = 'soon'\n"}) {
    SCOPED_TRACE(text);
    const auto e = ErrorOf(WithKey(std::string("[storage]\n") + text));
    EXPECT_NE(e.find("storage.timeout"), std::string::npos) << e;
  }
}

TEST(ConfigAtStart, SqliteUrlWithoutAFileIsRefused) {
  const auto e = ErrorOf(WithKey("[storage]\nurl = 'sqlite://'\n"));
  EXPECT_NE(e.find("storage.url: names no file"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

// "250ms" was accepted and the job never ran: the schedule counts whole seconds.
TEST(ConfigAtStart, IntervalsBelowOneSecondAreRefused) {
  for (const char* every : {"250ms", "999ms", "1500ms"}) {
    SCOPED_TRACE(every);
    const auto e = ErrorOf(WithKey(fmt::format("[[jobs]]\ndataset='price'\nevery='{}'\n", every)));
    EXPECT_NE(e.find("jobs[0].every: must be a whole number of seconds, at least 1 s"),
              std::string::npos)
        << e;
  }
  auto c = MustParse(WithKey("[[jobs]]\ndataset='price'\nevery='1s'\n"), FakeEnv({}));
  EXPECT_EQ(c.jobs[0].every, std::chrono::seconds(1));
}

TEST(ConfigAtStart, BaseUrlPortOutsideTheRangeIsRefused) {
  for (const char* port : {"99999", "0", "65536"}) {
    SCOPED_TRACE(port);
    const auto e = ErrorOf(WithKey(fmt::format("base_url = 'http://127.0.0.1:{}'\n", port)));
    EXPECT_NE(e.find(fmt::format("kis.keys[0].base_url: port '{}' is not in 1..65535", port)),
              std::string::npos)
        << e;
  }
  auto c = MustParse(WithKey("base_url = 'http://127.0.0.1:65535'\n"), FakeEnv({}));
  EXPECT_EQ(c.keys[0].base_url, "http://127.0.0.1:65535");
}

// A mock key takes the mock host and KIS's mock rate. (Whether a job's data set works on a mock key
// is the TR catalogue's to say: collect::CheckJobs, collect/collector_test.cpp.)
TEST(ConfigAtStart, MockKeyTakesTheMockHostAndRate) {
  const std::string mock =
      "[[kis.keys]]\nname='paper'\nenvironment='mock'\napp_key='k'\napp_secret='s'\n";
  auto price = MustParse(mock + "[[jobs]]\ndataset='price'\n", FakeEnv({}));
  EXPECT_EQ(price.keys[0].rate, 1);
  EXPECT_EQ(price.keys[0].base_url, kMockBaseUrl);
}

// The AIMD floor is a documented key, a share of rate x safety.
TEST(ConfigAtStart, MinRateShareIsAGateKey) {
  auto c = MustParse(WithKey("[gate]\nmin_rate_share = 0.2\n"), FakeEnv({}));
  EXPECT_EQ(c.gate.min_rate_share, 0.2);
  EXPECT_NE(ErrorOf(WithKey("[gate]\nmin_rate_share = 0\n"))
                .find("gate.min_rate_share: must be in (0, 1]"),
            std::string::npos);
}

// An unwritable data_dir used to warn at every token write, so each start issued a new token.
// Root ignores permission bits, so the folder is made unwritable by putting it under a file.
TEST(ConfigAtStart, UnwritableDataDirFailsAtStart) {
  char dir_template[] = "/tmp/kisgate-config-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  Config ok;
  ok.data_dir = (dir / "data").string();
  EXPECT_EQ(PrepareDataDir(ok), std::nullopt);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "data" / "tokens"));
  EXPECT_TRUE(std::filesystem::is_empty(dir / "data" / "tokens"));  // the probe is gone
  std::ofstream(dir / "file") << "x";
  Config bad;
  bad.data_dir = (dir / "file" / "data").string();
  const auto e = PrepareDataDir(bad);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("data_dir: cannot write to '"), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("set data_dir to one that is"), std::string::npos) << e->message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kisgate::config

namespace kisgate::config {
namespace {

// Issue 14: [stream] and [[streams]].
constexpr std::string_view kStreamKey =
    "[[kis.keys]]\napp_key='k'\napp_secret='s'\n[universe.groups]\nlarge = ['005930', '000660']\n";

std::string WithStreamKey(std::string_view rest) {
  return std::string(kStreamKey) + std::string(rest);
}

TEST(ConfigStreams, DefaultsWithoutTheSections) {
  auto c = MustParse(WithStreamKey(""), FakeEnv({}));
  EXPECT_TRUE(c.stream.client_demand);
  EXPECT_EQ(c.stream.max_codes_per_client, 20);
  EXPECT_EQ(c.stream.hold, std::chrono::seconds(60));
  EXPECT_EQ(c.stream.poll_share, 0.25);
  EXPECT_EQ(c.stream.max_registrations, 41);
  EXPECT_TRUE(c.streams.empty());
}

TEST(ConfigStreams, SectionsParse) {
  auto c = MustParse(WithStreamKey(R"(
[stream]
client_demand = false
max_codes_per_client = 5
hold = "90s"
poll_share = 0.5
min_poll_interval = "2s"
max_registrations = 10

[[streams]]
name = "hot"
data = "trades"
universe = "large"
priority = 1

[[streams]]
name = "books"
data = "orderbook"
codes = ["005930"]
priority = 2
)"),
                     FakeEnv({}));
  EXPECT_FALSE(c.stream.client_demand);
  EXPECT_EQ(c.stream.max_codes_per_client, 5);
  EXPECT_EQ(c.stream.hold, std::chrono::seconds(90));
  EXPECT_EQ(c.stream.poll_share, 0.5);
  EXPECT_EQ(c.stream.min_poll_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.stream.max_registrations, 10);
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[0].name, "hot");
  EXPECT_EQ(c.streams[0].universe, "large");
  EXPECT_TRUE(c.streams[0].codes.empty());
  EXPECT_EQ(c.streams[1].data, "orderbook");
  EXPECT_EQ(c.streams[1].codes, std::vector<std::string>{"005930"});
  EXPECT_EQ(c.streams[1].priority, 2);
}

// Each mistake is refused in one line that names the key and the fix.
TEST(ConfigStreams, BadEntriesNameTheKey) {
  EXPECT_EQ(ErrorOf(WithStreamKey("[[streams]]\ndata = 'trade'\ncodes = ['005930']\n")),
            "test.toml: streams[0].data: must be trades or orderbook, got 'trade'");
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\nuniverse = 'small'\n"))
                .find("streams[0].universe: no group 'small' in [universe.groups] (groups: large)"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\nname = 'a'\ncodes = ['005930']\n"
                                  "[[streams]]\nname = 'a'\ncodes = ['000660']\n"))
                .find("streams[1].name: \"a\" is used twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\ncodes = ['005930']\nuniverse = 'large'\n"))
                .find("streams[0].codes: and universe are both set"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(WithStreamKey("[[streams]]\nname = 'x'\n")).find("streams[0].codes: is missing"),
      std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\ncodes = ['5930']\n"))
                .find("streams[0].codes: entry 1 (\"5930\") is not a six-character stock code"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\ncodes = ['005930']\npriority = 0\n"))
                .find("streams[0].priority: must be >= 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[[streams]]\ncodes = ['005930']\nevery = '1s'\n"))
                .find("unknown key 'streams[0].every'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[stream]\npoll_share = 1.5\n"))
                .find("stream.poll_share: must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[stream]\nmax_codes_per_client = 0\n"))
                .find("stream.max_codes_per_client: must be in [1, 1000]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[stream]\nmax_registrations = 0\n"))
                .find("stream.max_registrations: must be in [1, 1000]"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(WithStreamKey("[stream]\nhold = '0s'\n")).find("stream.hold: must be longer than 0"),
      std::string::npos);
  EXPECT_NE(ErrorOf(WithStreamKey("[stream]\nclient_demnd = true\n"))
                .find("did you mean 'client_demand'"),
            std::string::npos);
}

}  // namespace
}  // namespace kisgate::config
