#include "config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <boost/url/parse.hpp>

#include "common/duration.hpp"
#include "common/kst.hpp"
#include "common/stock_code.hpp"

namespace kisgate::config {

namespace {

// Raised inside the parser and turned into a ConfigError at the boundary.
struct Problem {
  std::string message;
};

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t next =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

// One TOML table being read: hands out typed values by key, remembers which keys were read, and
// reports the rest as unknown.
class Table {
 public:
  Table(const toml::table& table, std::string path, const EnvLookup& env)
      : table_(table), path_(std::move(path)), env_(env) {}

  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  const toml::node* Node(std::string_view key) {
    known_.insert(std::string(key));
    return table_.get(key);
  }

  void String(std::string_view key, std::string& out) {
    if (const auto* n = Node(key)) {
      auto v = n->value<std::string>();
      if (!v || !n->is_string()) Fail(key, "must be a string");
      out = Expand(key, *v);
    }
  }
  void Number(std::string_view key, double& out) {
    if (const auto* n = Node(key)) {
      if (!n->is_number()) Fail(key, "must be a number");
      out = *n->value<double>();
    }
  }
  void Integer(std::string_view key, int& out) {
    if (const auto* n = Node(key)) {
      if (!n->is_integer()) Fail(key, "must be a whole number");
      out = static_cast<int>(*n->value<std::int64_t>());
    }
  }
  void Duration(std::string_view key, std::chrono::milliseconds& out) {
    if (const auto* n = Node(key)) {
      auto text = n->value<std::string>();
      auto parsed = text && n->is_string() ? common::ParseDuration(*text) : std::nullopt;
      if (!parsed) Fail(key, "must be a duration such as \"250ms\", \"30s\", \"5m\" or \"1h\"");
      out = *parsed;
    }
  }
  void Bool(std::string_view key, bool& out) {
    if (const auto* n = Node(key)) {
      if (!n->is_boolean()) Fail(key, "must be true or false");
      out = *n->value<bool>();
    }
  }
  void Strings(std::string_view key, std::vector<std::string>& out) {
    if (const auto* n = Node(key)) {
      const auto* array = n->as_array();
      if (array == nullptr) Fail(key, "must be an array of strings");
      out.clear();
      for (const auto& item : *array) {
        auto v = item.value<std::string>();
        if (!v || !item.is_string()) Fail(key, "must be an array of strings");
        out.push_back(Expand(key, *v));
      }
    }
  }
  // Sub-table `key`, or nullopt when absent.
  std::optional<Table> Sub(std::string_view key) {
    if (const auto* n = Node(key)) {
      if (!n->is_table()) Fail(key, "must be a table");
      return Table(*n->as_table(), Path(key), env_);
    }
    return std::nullopt;
  }
  // Array of tables `[[key]]`.
  std::vector<Table> Tables(std::string_view key) {
    std::vector<Table> out;
    if (const auto* n = Node(key)) {
      const auto* array = n->as_array();
      if (array == nullptr)
        Fail(key, fmt::format("must be an array of tables ([[{}]])", Path(key)));
      std::size_t i = 0;
      for (const auto& item : *array) {
        if (!item.is_table())
          Fail(key, fmt::format("must be an array of tables ([[{}]])", Path(key)));
        out.emplace_back(*item.as_table(), fmt::format("{}[{}]", Path(key), i++), env_);
      }
    }
    return out;
  }

  // All keys of this table (for tables whose keys are names the user chooses).
  std::vector<std::string> Keys() {
    std::vector<std::string> keys;
    for (const auto& [key, node] : table_) {
      keys.emplace_back(key.str());
      known_.insert(keys.back());
    }
    return keys;
  }

  // Every key not read is a typo or a misplaced setting: say which, and the closest known one.
  void RejectUnknown() const {
    for (const auto& [key, node] : table_) {
      std::string name(key.str());
      if (known_.contains(name)) continue;
      std::string hint;
      std::size_t best = 3;
      for (const auto& k : known_) {
        auto d = EditDistance(name, k);
        if (d < best) {
          best = d;
          hint = fmt::format(" (did you mean '{}'?)", k);
        }
      }
      std::vector<std::string> sorted(known_.begin(), known_.end());
      throw Problem{fmt::format("unknown key '{}'{}; known keys here: {}", Path(name), hint,
                                fmt::join(sorted, ", "))};
    }
  }

  [[noreturn]] void Fail(std::string_view key, std::string_view what) const {
    throw Problem{fmt::format("{}: {}", Path(key), what)};
  }

 private:
  // "${NAME}" and "${NAME:-default}" inside strings; "$${" stays literal "${".
  std::string Expand(std::string_view key, std::string_view value) const {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value.substr(i).starts_with("$${")) {
        out += "${";
        i += 2;
        continue;
      }
      if (!value.substr(i).starts_with("${")) {
        out.push_back(value[i]);
        continue;
      }
      auto close = value.find('}', i);
      if (close == std::string_view::npos) Fail(key, "has '${' without a closing '}'");
      std::string_view inner = value.substr(i + 2, close - i - 2);
      std::optional<std::string> fallback;
      if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
        fallback = std::string(inner.substr(sep + 2));
        inner = inner.substr(0, sep);
      }
      auto resolved = env_(std::string(inner));
      if (!resolved || resolved->empty()) {
        if (!fallback) {
          Fail(key, fmt::format("environment variable {} is not set (export {}=... or put the "
                                "value in the file)",
                                inner, inner));
        }
        resolved = fallback;
      }
      out += *resolved;
      i = close;
    }
    return out;
  }

  const toml::table& table_;
  std::string path_;
  const EnvLookup& env_;
  std::set<std::string> known_;
};

// Every entry of a code list must be a stock code; the error names the entry.
void CheckCodes(const Table& t, std::string_view key, const std::vector<std::string>& codes) {
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (!common::IsStockCode(codes[i])) {
      t.Fail(key,
             fmt::format("entry {} (\"{}\") is not a six-character stock code such as \"005930\"",
                         i + 1, codes[i]));
    }
  }
}

void ReadKey(Table& t, KeyConfig& key, std::size_t index) {
  key.name = fmt::format("key{}", index + 1);
  t.String("name", key.name);
  std::string environment = "real";
  t.String("environment", environment);
  if (environment == "real") {
    key.environment = KisEnvironment::kReal;
  } else if (environment == "mock") {
    key.environment = KisEnvironment::kMock;
  } else {
    t.Fail("environment", fmt::format("must be \"real\" or \"mock\", got \"{}\"", environment));
  }
  key.base_url =
      std::string(key.environment == KisEnvironment::kMock ? kMockBaseUrl : kRealBaseUrl);
  key.rate = key.environment == KisEnvironment::kMock ? 1 : 18;
  t.String("base_url", key.base_url);
  t.String("app_key", key.app_key);
  t.String("app_secret", key.app_secret);
  t.Number("rate", key.rate);
  t.Integer("max_in_flight", key.max_in_flight);
  t.String("ca_file", key.ca_file);
  t.RejectUnknown();

  auto url = boost::urls::parse_absolute_uri(key.base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    t.Fail("base_url", fmt::format("must be an http(s) URL such as \"{}\", got \"{}\"",
                                   kRealBaseUrl, key.base_url));
  }
  // boost::url takes any digits as a port; a port past 65535 would only fail at the first call.
  if (url->has_port()) {
    const std::string_view port = url->port();
    int number = 0;
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) number = std::stoi(std::string(port));
    if (!digits || number < 1 || number > 65535) {
      t.Fail("base_url",
             fmt::format("port '{}' is not in 1..65535 (e.g. \"{}\"), got \"{}\"", port,
                         key.environment == KisEnvironment::kMock ? kMockBaseUrl : kRealBaseUrl,
                         key.base_url));
    }
  }
  if (key.app_key.empty()) t.Fail("app_key", "is required (e.g. app_key = \"${KIS_APP_KEY}\")");
  if (key.app_secret.empty()) {
    t.Fail("app_secret", "is required (e.g. app_secret = \"${KIS_APP_SECRET}\")");
  }
  if (!(key.rate > 0 && key.rate <= 1000)) {
    t.Fail("rate", fmt::format("must be in (0, 1000] calls per second, got {}", key.rate));
  }
  if (key.max_in_flight < 1 || key.max_in_flight > 100) {
    t.Fail("max_in_flight", fmt::format("must be in [1, 100], got {}", key.max_in_flight));
  }
}

void ReadGate(Table& t, GateConfig& g) {
  t.Number("safety", g.safety);
  t.Number("min_rate_share", g.min_rate_share);
  t.Number("interactive_max_share", g.interactive_max_share);
  t.Integer("interactive_reserved_slots", g.interactive_reserved_slots);
  t.Integer("max_in_flight_limit", g.max_in_flight_limit);
  t.Number("retry_budget", g.retry_budget);
  t.Duration("cooldown", g.cooldown);
  t.Duration("default_deadline", g.default_deadline);
  t.RejectUnknown();
  if (!(g.safety > 0 && g.safety <= 1)) {
    t.Fail("safety", fmt::format("must be in (0, 1], got {}", g.safety));
  }
  if (!(g.min_rate_share > 0 && g.min_rate_share <= 1)) {
    t.Fail("min_rate_share", fmt::format("must be in (0, 1], got {}", g.min_rate_share));
  }
  if (!(g.interactive_max_share > 0 && g.interactive_max_share <= 1)) {
    t.Fail("interactive_max_share",
           fmt::format("must be in (0, 1], got {}", g.interactive_max_share));
  }
  if (g.interactive_reserved_slots < 0) t.Fail("interactive_reserved_slots", "must be >= 0");
  if (g.max_in_flight_limit < 1) t.Fail("max_in_flight_limit", "must be >= 1");
  if (!(g.retry_budget >= 0 && g.retry_budget <= 1)) {
    t.Fail("retry_budget", fmt::format("must be in [0, 1], got {}", g.retry_budget));
  }
  if (g.default_deadline.count() <= 0) t.Fail("default_deadline", "must be longer than 0");
}

void ReadJob(Table& t, JobConfig& job, std::size_t index) {
  job.name = fmt::format("job{}", index + 1);
  t.String("name", job.name);
  t.String("dataset", job.dataset);
  t.Duration("every", job.every);
  t.Strings("sessions", job.sessions);
  t.String("lane", job.lane);
  t.String("universe", job.universe);
  t.Strings("priority", job.priority);
  t.RejectUnknown();
  CheckCodes(t, "priority", job.priority);
  if (!common::ParseDataset(job.dataset)) {
    t.Fail("dataset", fmt::format("\"{}\" is not a data set; use one of: {}", job.dataset,
                                  common::JoinNames(common::kAllDatasets)));
  }
  // The schedule counts whole seconds: "250ms" would never start a cycle.
  if (job.every < kMinJobInterval ||
      job.every % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    t.Fail("every",
           fmt::format(
               "must be a whole number of seconds, at least {} s (e.g. \"1s\", \"5m\"), got {} ms",
               kMinJobInterval.count(), job.every.count()));
  }
  for (const auto& s : job.sessions) {
    if (!common::IsJobSession(s)) {
      t.Fail("sessions",
             fmt::format("\"{}\" is not a session; use any of: {}", s, common::JobSessionNames()));
    }
  }
  if (!common::ParseLane(job.lane)) {
    t.Fail("lane", fmt::format("\"{}\" is not a lane; use one of: {}", job.lane,
                               common::JoinNames(common::kAllLanes)));
  }
}

void ReadStreamSettings(Table& t, StreamSettings& s) {
  t.Bool("client_demand", s.client_demand);
  t.Integer("max_codes_per_client", s.max_codes_per_client);
  t.Duration("hold", s.hold);
  t.Number("poll_share", s.poll_share);
  t.Duration("min_poll_interval", s.min_poll_interval);
  t.Integer("max_registrations", s.max_registrations);
  t.RejectUnknown();
  if (s.max_codes_per_client < 1 || s.max_codes_per_client > 1000) {
    t.Fail("max_codes_per_client",
           fmt::format("must be in [1, 1000] (to refuse client demand set client_demand = "
                       "false), got {}",
                       s.max_codes_per_client));
  }
  if (s.hold.count() <= 0) t.Fail("hold", "must be longer than 0 (e.g. \"60s\")");
  if (!(s.poll_share >= 0 && s.poll_share <= 1)) {
    t.Fail("poll_share", fmt::format("must be in [0, 1] (0: do not poll what does not fit), got {}",
                                     s.poll_share));
  }
  if (s.min_poll_interval.count() <= 0) {
    t.Fail("min_poll_interval", "must be longer than 0 (e.g. \"1s\")");
  }
  if (s.max_registrations < 1 || s.max_registrations > 1000) {
    t.Fail("max_registrations",
           fmt::format("must be in [1, 1000] (KIS gives 41 per session), got {}",
                       s.max_registrations));
  }
}

void ReadStream(Table& t, StreamConfig& stream, std::size_t index) {
  stream.name = fmt::format("stream{}", index + 1);
  t.String("name", stream.name);
  t.String("data", stream.data);
  const bool has_codes = t.Node("codes") != nullptr;
  t.Strings("codes", stream.codes);
  t.String("universe", stream.universe);
  t.Integer("priority", stream.priority);
  t.RejectUnknown();
  if (stream.data != "trades" && stream.data != "orderbook") {
    t.Fail("data", fmt::format("must be trades or orderbook, got '{}'", stream.data));
  }
  if (has_codes && !stream.universe.empty()) {
    t.Fail("codes",
           "and universe are both set: keep one (codes = [...] or universe = \"<group>\")");
  }
  if (!has_codes && stream.universe.empty()) {
    t.Fail("codes", "is missing: set codes = [\"005930\", ...] or universe = \"<group>\"");
  }
  if (has_codes && stream.codes.empty()) {
    t.Fail("codes", "is empty: list at least one code, or remove the entry");
  }
  CheckCodes(t, "codes", stream.codes);
  if (stream.priority < 1) {
    t.Fail("priority", fmt::format("must be >= 1 (1 = first), got {}", stream.priority));
  }
}

// "groups: large, small" or "groups: none", for errors about a group name.
std::string GroupNames(const UniverseConfig& universe) {
  std::vector<std::string> names;
  for (const auto& [name, codes] : universe.groups) names.push_back(name);
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

Config Read(const toml::table& root, const EnvLookup& env) {
  Config c;
  Table top(root, "", env);
  top.String("data_dir", c.data_dir);
  if (auto t = top.Sub("server")) {
    t->String("listen", c.server.listen);
    t->String("api_token", c.server.api_token);
    t->Bool("protect_all", c.server.protect_all);
    t->Integer("max_connections", c.server.max_connections);
    t->Duration("read_timeout", c.server.read_timeout);
    t->RejectUnknown();
    if (c.server.max_connections < 1) t->Fail("max_connections", "must be >= 1");
    if (c.server.read_timeout.count() <= 0) t->Fail("read_timeout", "must be longer than 0");
  }
  if (auto t = top.Sub("api")) {
    t->Duration("deadline", c.api.deadline);
    if (auto ages = t->Sub("max_age")) {
      for (const auto& name : ages->Keys()) {
        if (!common::ParseDataset(name)) {
          ages->Fail(name, fmt::format("is not a data set; use any of: {}",
                                       common::JoinNames(common::kAllDatasets)));
        }
        ages->Duration(name, c.api.max_age[name]);
      }
    }
    t->RejectUnknown();
    if (c.api.deadline.count() <= 0) t->Fail("deadline", "must be longer than 0");
  }
  if (auto t = top.Sub("passthrough")) {
    t->Bool("enabled", c.passthrough.enabled);
    t->Bool("allow_trading", c.passthrough.allow_trading);
    t->Strings("allow_paths", c.passthrough.allow_paths);
    t->RejectUnknown();
    for (std::size_t i = 0; i < c.passthrough.allow_paths.size(); ++i) {
      if (!c.passthrough.allow_paths[i].starts_with("/uapi/")) {
        t->Fail("allow_paths", fmt::format("entry {} (\"{}\") must start with /uapi/", i + 1,
                                           c.passthrough.allow_paths[i]));
      }
    }
  }
  if (auto t = top.Sub("storage")) {
    t->String("url", c.storage.url);
    t->Integer("max_buffered", c.storage.max_buffered);
    t->Duration("timeout", c.storage.timeout);
    t->RejectUnknown();
    if (c.storage.max_buffered < 1) t->Fail("max_buffered", "must be >= 1");
    if (c.storage.timeout.count() <= 0) t->Fail("timeout", "must be longer than 0");
    if (!c.storage.url.starts_with("sqlite://") && !c.storage.url.starts_with("postgresql://") &&
        !c.storage.url.starts_with("postgres://")) {
      t->Fail("url",
              fmt::format("must start with sqlite:// or postgresql://, got \"{}\"", c.storage.url));
    }
    if (c.storage.url == "sqlite://") {
      t->Fail(
          "url",
          "names no file: use \"sqlite://PATH\" (e.g. \"sqlite://./data/kisgate.db\"), or leave "
          "storage.url out for data_dir/kisgate.db");
    }
  }
  if (auto t = top.Sub("coordination")) {
    t->String("url", c.coordination.url);
    t->String("password", c.coordination.password);
    t->String("instance", c.coordination.instance);
    t->Duration("timeout", c.coordination.timeout);
    t->Integer("instances", c.coordination.instances);
    t->RejectUnknown();
    if (c.coordination.instances < 0 || c.coordination.instances > 1000)
      t->Fail("instances", "must be between 1 and 1000 (or 0: the count last seen)");
    if (!c.coordination.url.starts_with("redis://")) {
      t->Fail("url",
              fmt::format("must be a Redis URL like \"redis://127.0.0.1:6379/0\", got \"{}\"",
                          c.coordination.url));
    }
    if (c.coordination.timeout.count() <= 0) t->Fail("timeout", "must be longer than 0");
    for (char ch : c.coordination.instance) {
      if (std::isalnum(static_cast<unsigned char>(ch)) == 0 && ch != '-' && ch != '_' &&
          ch != '.') {
        t->Fail("instance", fmt::format("\"{}\": use letters, digits, '-', '_' and '.' only",
                                        c.coordination.instance));
      }
    }
  }
  if (auto kis = top.Sub("kis")) {
    auto keys = kis->Tables("keys");
    for (std::size_t i = 0; i < keys.size(); ++i) {
      KeyConfig key;
      ReadKey(keys[i], key, i);
      for (const auto& other : c.keys) {
        if (other.name == key.name)
          keys[i].Fail("name", fmt::format("\"{}\" is used twice", key.name));
      }
      c.keys.push_back(std::move(key));
    }
    kis->RejectUnknown();
  }
  if (auto t = top.Sub("gate")) ReadGate(*t, c.gate);
  if (auto t = top.Sub("universe")) {
    t->Strings("codes", c.universe.codes);
    t->String("file", c.universe.file);
    if (auto groups = t->Sub("groups")) {
      for (const auto& name : groups->Keys()) {
        auto& codes = c.universe.groups[name];
        groups->Strings(name, codes);
        CheckCodes(*groups, name, codes);
      }
    }
    t->RejectUnknown();
    CheckCodes(*t, "codes", c.universe.codes);
  }
  if (auto t = top.Sub("calendar")) {
    std::vector<std::string> days;
    t->Strings("holidays", days);
    t->RejectUnknown();
    for (std::size_t i = 0; i < days.size(); ++i) {
      std::string compact = days[i];
      std::erase(compact, '-');
      auto date = days[i].size() == 10 ? common::ParseYmd(compact) : std::nullopt;
      if (!date) {
        t->Fail("holidays",
                fmt::format("entry {} (\"{}\") is not a date like \"2026-12-24\"", i + 1, days[i]));
      }
      c.calendar.holidays.push_back(*date);
    }
  }
  auto jobs = top.Tables("jobs");
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    JobConfig job;
    ReadJob(jobs[i], job, i);
    for (const auto& other : c.jobs) {
      if (other.name == job.name)
        jobs[i].Fail("name", fmt::format("\"{}\" is used twice", job.name));
    }
    c.jobs.push_back(std::move(job));
  }
  if (auto t = top.Sub("stream")) ReadStreamSettings(*t, c.stream);
  auto streams = top.Tables("streams");
  for (std::size_t i = 0; i < streams.size(); ++i) {
    StreamConfig stream;
    ReadStream(streams[i], stream, i);
    for (const auto& other : c.streams) {
      if (other.name == stream.name) {
        streams[i].Fail(
            "name",
            fmt::format("\"{}\" is used twice: give each [[streams]] its own name", stream.name));
      }
    }
    c.streams.push_back(std::move(stream));
  }
  top.RejectUnknown();
  for (std::size_t i = 0; i < c.streams.size(); ++i) {
    const auto& group = c.streams[i].universe;
    if (!group.empty() && !c.universe.groups.contains(group)) {
      throw Problem{
          fmt::format("streams[{}].universe: no group '{}' in [universe.groups] (groups: {})", i,
                      group, GroupNames(c.universe))};
    }
  }
  for (std::size_t i = 0; i < c.jobs.size(); ++i) {
    const auto& group = c.jobs[i].universe;
    if (!group.empty() && !c.universe.groups.contains(group)) {
      std::vector<std::string> names;
      for (const auto& [name, codes] : c.universe.groups) names.push_back(name);
      throw Problem{fmt::format(
          "jobs[{}].universe: no group '{}' in [universe.groups] (groups: {})", i, group,
          names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")))};
    }
  }
  if (c.keys.empty()) {
    throw Problem{"no [[kis.keys]] table: add one per app key (see configs/example.toml)"};
  }
  if (c.data_dir.empty()) throw Problem{"data_dir: must name a folder (e.g. \"./data\")"};
  if (c.storage.url.empty()) {
    c.storage.url = "sqlite://" + (std::filesystem::path(c.data_dir) / "kisgate.db").string();
  }
  return c;
}

}  // namespace

std::chrono::milliseconds ApiConfig::DefaultMaxAge(common::Dataset dataset) {
  using D = common::Dataset;
  using namespace std::chrono_literals;
  switch (dataset) {  // no default: a new data set without a max_age does not compile (-Wswitch)
    case D::kPrice:
      return 5s;
    case D::kOrderBook:
      return 2s;
    case D::kInvestors:
      return 10min;
    case D::kOvertimePrice:
      return 10s;
    case D::kOvertimeOrderBook:
      return 5s;
    case D::kMinuteBars:
      return 60s;
    case D::kDailyBars:
      return 1h;
  }
  return 5s;
}

std::map<std::string, std::chrono::milliseconds> ApiConfig::DefaultMaxAges() {
  std::map<std::string, std::chrono::milliseconds> ages;
  for (auto dataset : common::kAllDatasets) {
    ages[std::string(common::Name(dataset))] = DefaultMaxAge(dataset);
  }
  return ages;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

std::variant<Config, ConfigError> ParseConfig(std::string_view toml_text, std::string_view source,
                                              const EnvLookup& env) {
  // Debian's toml++ is built with exceptions: a syntax error arrives as toml::parse_error.
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return ConfigError{fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                   e.source().begin.column, e.description())};
  }
  try {
    return Read(root, env);
  } catch (const Problem& p) {
    return ConfigError{fmt::format("{}: {}", source, p.message)};
  }
}

std::optional<ConfigError> PrepareDataDir(const Config& config) {
  namespace fs = std::filesystem;
  const fs::path dir(config.data_dir);
  std::error_code ec;
  fs::create_directories(dir / "tokens", ec);
  std::string why = ec ? ec.message() : std::string();
  if (!ec) {
    // Permission bits say nothing for root or on a read-only mount: write a file to know.
    const fs::path probe = dir / "tokens" / fmt::format(".write-test-{}", ::getpid());
    std::FILE* f = std::fopen(probe.c_str(), "wb");
    bool written = f != nullptr && std::fputs("ok", f) >= 0;
    if (f != nullptr) written = std::fclose(f) == 0 && written;
    if (!written) why = std::strerror(errno);
    fs::remove(probe, ec);
  }
  if (why.empty()) return std::nullopt;
  return ConfigError{fmt::format(
      "data_dir: cannot write to '{}' ({}): tokens would be issued anew at every start; make the "
      "folder writable or set data_dir to one that is",
      (dir / "tokens").string(), why)};
}

std::variant<Config, ConfigError> LoadConfig(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError{fmt::format("cannot read config file '{}'", path)};
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, env);
}

}  // namespace kisgate::config
