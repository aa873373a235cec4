// configs/multi-instance.toml, the README's example of three instances on one key, passes the
// config validation kisgate runs at start (there is no `serve --check`: this is the same parser),
// for each of the three instances, whose settings differ only where the environment says.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace kisgate::config {
namespace {

constexpr const char* kPath = KISGATE_SOURCE_DIR "/configs/multi-instance.toml";

std::map<std::string, std::string> SharedEnv() {
  return {{"KIS_APP_KEY", "PSexampleKey"},
          {"KIS_APP_SECRET", "exampleSecret"},
          {"REDIS_PASSWORD", "redis-pw"},
          {"PGPASSWORD", "pg-pw"}};
}

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

Config Instance(const std::string& name, const std::string& listen) {
  auto vars = SharedEnv();
  vars["KISGATE_INSTANCE"] = name;
  vars["KISGATE_LISTEN"] = listen;
  auto result = LoadConfig(kPath, Env(vars));
  if (auto* e = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << e->message;
    return {};
  }
  return std::get<Config>(result);
}

TEST(MultiInstanceConfig, EachOfThreeInstancesParses) {
  for (const auto& [name, listen] :
       {std::pair{"a", "127.0.0.1:8081"}, {"b", "127.0.0.1:8082"}, {"c", "127.0.0.1:8083"}}) {
    SCOPED_TRACE(name);
    const Config c = Instance(name, listen);
    EXPECT_EQ(c.coordination.url, "redis://redis.internal:6379/0");
    EXPECT_EQ(c.coordination.password, "redis-pw");
    EXPECT_EQ(c.coordination.instance, name);
    EXPECT_EQ(c.coordination.timeout, std::chrono::milliseconds(50));
    EXPECT_EQ(c.storage.url, "postgresql://kisgate:pg-pw@db.internal:5432/kisgate");
    EXPECT_EQ(c.data_dir, std::string("./") + name);
    EXPECT_EQ(c.server.listen, listen);
    ASSERT_EQ(c.keys.size(), 1U);
    EXPECT_EQ(c.keys[0].app_key, "PSexampleKey");
    EXPECT_EQ(c.keys[0].rate, 18);
    EXPECT_EQ(c.jobs.size(), 5U);
  }
}

// The instances share the key, the universe and the jobs: everything but their names, folders
// and addresses is equal.
TEST(MultiInstanceConfig, InstancesShareKeysUniverseAndJobs) {
  const Config a = Instance("a", "127.0.0.1:8081");
  const Config b = Instance("b", "127.0.0.1:8082");
  EXPECT_EQ(a.universe.codes, b.universe.codes);
  EXPECT_EQ(a.keys[0].app_key, b.keys[0].app_key);
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    EXPECT_EQ(a.jobs[i].name, b.jobs[i].name);
    EXPECT_EQ(a.jobs[i].every, b.jobs[i].every);
  }
  EXPECT_EQ(a.storage.url, b.storage.url);
  EXPECT_EQ(a.coordination.url, b.coordination.url);
  EXPECT_NE(a.coordination.instance, b.coordination.instance);
  EXPECT_NE(a.data_dir, b.data_dir);
}

// An instance started without its name is refused, not given a shared default folder.
TEST(MultiInstanceConfig, MissingInstanceNameIsAnError) {
  auto result = LoadConfig(kPath, Env(SharedEnv()));
  const auto* e = std::get_if<ConfigError>(&result);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("KISGATE_INSTANCE"), std::string::npos) << e->message;
}

}  // namespace
}  // namespace kisgate::config
