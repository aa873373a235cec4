#include "stream/planner.hpp"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kis/realtime.hpp"

namespace kisgate::stream {
namespace {

// Codes 000001, 000002, ... (any six digits are a stock code to the planner).
std::string Code(int n) { return fmt::format("{:06}", n); }

std::vector<Want> Trades(int from, int count, const std::string& source = "streams 'hot'") {
  std::vector<Want> wants;
  for (int i = 0; i < count; ++i)
    wants.push_back(Want{StreamData::kTrades, Code(from + i), source});
  return wants;
}

PlanKey Key(std::string name, double rate = 18, int max = 41) {
  return PlanKey{std::move(name), rate, true, max};
}

config::StreamSettings Settings() { return config::StreamSettings{}; }

std::set<std::string> Codes(const KeyPlan& key) {
  std::set<std::string> codes;
  for (const auto& s : key.subscriptions) codes.insert(s.code);
  return codes;
}

// The example: 60 codes on one key's session of 41.
TEST(Planner, SixtyCodesOnOneKeyStreamFortyOneAndPollNineteen) {
  Planner planner(Trades(1, 60), {Key("main")}, Settings(), 0.97);
  const auto& plan = planner.Update({}, false);
  ASSERT_EQ(plan.keys.size(), 1u);
  EXPECT_EQ(plan.keys[0].subscriptions.size(), 41u);
  EXPECT_EQ(plan.keys[0].subscriptions.front().tr_id, kis::kTradesTr);
  EXPECT_EQ(plan.streamed, 41u);
  ASSERT_EQ(plan.overflow.size(), 19u);
  EXPECT_EQ(plan.overflow.front().code, Code(42));  // the first 41 in priority order stream
  EXPECT_FALSE(plan.fits);
  // 18/s x 0.97 x 0.25 = 4.365 calls/s for polling: 19 codes every 19 / 4.365 = 4.353 s.
  EXPECT_EQ(plan.poll_interval, std::chrono::milliseconds(4353));
  EXPECT_EQ(plan.keys[0].polled, 19u);
  EXPECT_EQ(plan.keys[0].summary, "streamed 41, polled 19 every 4.4 s");
  EXPECT_EQ(plan.message,
            "60 codes wanted over 1 key: 41 streamed, 19 polled every 4.4 s over REST");
}

TEST(Planner, TwoKeysStreamAllSixty) {
  Planner planner(Trades(1, 60), {Key("a"), Key("b")}, Settings(), 0.97);
  const auto& plan = planner.Update({}, false);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.streamed, 60u);
  EXPECT_TRUE(plan.overflow.empty());
  EXPECT_EQ(plan.poll_interval.count(), 0);
  EXPECT_EQ(plan.keys[0].subscriptions.size() + plan.keys[1].subscriptions.size(), 60u);
  EXPECT_LE(plan.keys[0].subscriptions.size(), 41u);
  EXPECT_LE(plan.keys[1].subscriptions.size(), 41u);
  // No code registered twice.
  auto a = Codes(plan.keys[0]);
  for (const auto& code : Codes(plan.keys[1])) EXPECT_FALSE(a.contains(code)) << code;
  EXPECT_EQ(plan.keys[0].summary, "streamed 30");
  EXPECT_EQ(plan.message, "60 codes wanted over 2 keys: all streamed (60 of 82 registrations)");
}

// [[streams]] by priority (1 first, ties in file order) before any client; one (TR, code) once.
TEST(Planner, PrioritiesDecideWhatStreams) {
  config::Config config;
  config::KeyConfig key;
  key.name = "main";
  config.keys.push_back(key);
  config.stream.max_registrations = 3;
  config.universe.groups["large"] = {Code(1), Code(2)};
  auto stream = [&](const char* name, const char* data, std::vector<std::string> codes,
                    const char* universe, int priority) {
    config::StreamConfig s;
    s.name = name;
    s.data = data;
    s.codes = std::move(codes);
    s.universe = universe;
    s.priority = priority;
    config.streams.push_back(s);
  };
  stream("late", "trades", {Code(7), Code(8)}, "", 2);
  stream("hot", "trades", {}, "large", 1);
  stream("books", "orderbook", {Code(1)}, "", 2);
  stream("again", "trades", {Code(2)}, "", 1);
  Planner planner(config);
  const auto& plan = planner.Update({ClientDemand{"c", {Code(9)}, {StreamData::kTrades}}}, false);
  EXPECT_EQ(plan.wanted, 6u);  // 1, 2 (twice), then 7, 8 and book 1, then the client's 9
  const std::vector<Subscription> expected{{std::string(kis::kTradesTr), Code(1)},
                                           {std::string(kis::kTradesTr), Code(2)},
                                           {std::string(kis::kTradesTr), Code(7)}};
  EXPECT_EQ(plan.keys[0].subscriptions, expected);
  ASSERT_EQ(plan.overflow.size(), 3u);
  EXPECT_EQ(plan.overflow[0].code, Code(8));
  EXPECT_EQ(plan.overflow[1].data, StreamData::kOrderBook);
  EXPECT_EQ(plan.overflow[1].source, "streams 'books'");
  EXPECT_EQ(plan.overflow[2].source, "client 'c'");
  EXPECT_EQ(plan.message,
            "6 code streams wanted over 1 key: 3 streamed, 3 polled every 1.0 s over REST");
}

TEST(Planner, ClientDemandIsBoundedPerClient) {
  auto settings = Settings();
  settings.max_codes_per_client = 2;
  Planner planner({}, {Key("main")}, settings, 0.97);
  const auto& plan = planner.Update({ClientDemand{"a",
                                                  {Code(1), Code(1), Code(2), Code(3), Code(4)},
                                                  {StreamData::kTrades, StreamData::kOrderBook}},
                                     ClientDemand{"b", {Code(3), "abc"}, {StreamData::kTrades}}},
                                    false);
  // a: 1 and 2, both data; b: 3.
  EXPECT_EQ(plan.wanted, 5u);
  EXPECT_EQ(plan.keys[0].subscriptions.size(), 5u);
  EXPECT_EQ(plan.refused, (std::vector<std::string>{"client 'a': 2 codes beyond 2",
                                                    "client 'b': 1 entry not a stock code"}));
}

TEST(Planner, ClientDemandOffIgnoresClients) {
  auto settings = Settings();
  settings.client_demand = false;
  Planner planner(Trades(1, 2), {Key("main")}, settings, 0.97);
  const auto& plan =
      planner.Update({ClientDemand{"a", {Code(5), Code(6)}, {StreamData::kTrades}}}, false);
  EXPECT_EQ(plan.wanted, 2u);
  EXPECT_EQ(Codes(plan.keys[0]), (std::set<std::string>{Code(1), Code(2)}));
}

// After hours the TRs change (real keys only), and each code stays on its key.
TEST(Planner, AfterHoursUsesTheOvertimeTrsOnRealKeys) {
  Planner planner(Trades(1, 4), {Key("a", 18, 2), PlanKey{"paper", 1, false, 2}}, Settings(), 0.97);
  const auto day = planner.Update({}, false);
  EXPECT_EQ(day.streamed, 4u);
  const auto& night = planner.Update({}, true);
  EXPECT_TRUE(night.after_hours);
  EXPECT_EQ(night.keys[0].subscriptions.size(), 2u);
  EXPECT_EQ(night.keys[0].subscriptions[0].tr_id, kis::kOvertimeTradesTr);
  // The first two in priority order; code 1 stays where it was, code 2 leaves the mock key.
  EXPECT_EQ(Codes(day.keys[0]), (std::set<std::string>{Code(1), Code(3)}));
  EXPECT_EQ(Codes(night.keys[0]), (std::set<std::string>{Code(1), Code(2)}));
  EXPECT_TRUE(night.keys[1].subscriptions.empty());
  EXPECT_EQ(night.overflow.size(), 2u);
  EXPECT_EQ(night.keys[1].polled, 0u);  // a mock key cannot poll after-hours TRs either
  EXPECT_EQ(night.keys[0].polled, 2u);
}

// A demand change moves only the registrations that enter or leave the streamed set: a code that
// stays streamed never changes key, whatever the order of arrivals and departures.
TEST(Planner, DemandChangesSwapRegistrationsNeverReshuffle) {
  Planner planner(Trades(1, 12), {Key("a", 18, 10), Key("b", 18, 10)}, Settings(), 0.97);
  std::vector<ClientDemand> clients;
  auto before = planner.Update(clients, false);
  EXPECT_EQ(before.streamed, 12u);
  for (int step = 0; step < 30; ++step) {
    // Clients come (each wanting 3 codes, some shared with others) and go, in a fixed pattern.
    if (step % 3 == 2 && !clients.empty()) {
      clients.erase(clients.begin() + (step % static_cast<int>(clients.size())));
    } else {
      const int base = 100 + (step * 7) % 20;
      clients.push_back(ClientDemand{fmt::format("c{}", step),
                                     {Code(base), Code(base + 1), Code(base + 2)},
                                     {StreamData::kTrades}});
    }
    const auto after = planner.Update(clients, false);
    std::map<std::string, std::string> key_before;
    for (const auto& k : before.keys) {
      for (const auto& s : k.subscriptions) key_before[s.code] = k.key;
    }
    std::size_t moves = 0;
    std::size_t entered = 0;
    for (std::size_t k = 0; k < after.keys.size(); ++k) {
      auto changes = Diff(before.keys[k].subscriptions, after.keys[k].subscriptions);
      moves += changes.add.size() + changes.remove.size();
      for (const auto& s : after.keys[k].subscriptions) {
        auto it = key_before.find(s.code);
        if (it == key_before.end()) {
          ++entered;
        } else {
          EXPECT_EQ(it->second, after.keys[k].key) << "step " << step << " moved " << s.code;
        }
      }
    }
    // Every registration added is one that entered; every one removed left (the sets' sizes
    // differ by what entered minus what left).
    const std::size_t left = before.streamed + entered - after.streamed;
    EXPECT_EQ(moves, entered + left) << "step " << step;
    // The configured codes (priority over any client) never move.
    for (int c = 1; c <= 12; ++c) {
      EXPECT_TRUE(key_before.contains(Code(c)));
    }
    before = after;
  }
}

// A client that leaves frees its slot for the next client in arrival order: one swap.
TEST(Planner, ALeavingClientIsReplacedByTheNextInOneSwap) {
  Planner planner(Trades(1, 2), {Key("main", 18, 3)}, Settings(), 0.97);
  ClientDemand x{"x", {Code(50)}, {StreamData::kTrades}};
  ClientDemand y{"y", {Code(60)}, {StreamData::kTrades}};
  const auto both = planner.Update({x, y}, false);
  EXPECT_TRUE(Codes(both.keys[0]).contains(Code(50)));
  ASSERT_EQ(both.overflow.size(), 1u);
  EXPECT_EQ(both.overflow[0].code, Code(60));
  const auto& after = planner.Update({y}, false);
  auto changes = Diff(both.keys[0].subscriptions, after.keys[0].subscriptions);
  EXPECT_EQ(changes.add, (std::vector<Subscription>{{std::string(kis::kTradesTr), Code(60)}}));
  EXPECT_EQ(changes.remove, (std::vector<Subscription>{{std::string(kis::kTradesTr), Code(50)}}));
  EXPECT_TRUE(after.fits);
}

// Deterministic: the same input gives the same plan from a fresh planner.
TEST(Planner, SameInputSamePlan) {
  std::vector<ClientDemand> demand{
      ClientDemand{"a", {Code(70), Code(71)}, {StreamData::kOrderBook}}};
  Planner one(Trades(1, 50), {Key("a"), Key("b", 9)}, Settings(), 0.97);
  Planner two(Trades(1, 50), {Key("a"), Key("b", 9)}, Settings(), 0.97);
  const auto& p1 = one.Update(demand, false);
  const auto& p2 = two.Update(demand, false);
  for (std::size_t k = 0; k < 2; ++k) EXPECT_EQ(p1.keys[k].subscriptions, p2.keys[k].subscriptions);
  EXPECT_EQ(p1.message, p2.message);
}

// Polls are shared by rate (the gateway spreads calls), and poll_share 0 polls nothing.
TEST(Planner, PollSharesFollowTheKeysRates) {
  auto settings = Settings();
  Planner planner(Trades(1, 11), {Key("fast", 18, 1), Key("slow", 9, 1)}, settings, 1.0);
  const auto& plan = planner.Update({}, false);
  EXPECT_EQ(plan.overflow.size(), 9u);
  EXPECT_EQ(plan.keys[0].polled, 6u);
  EXPECT_EQ(plan.keys[1].polled, 3u);
  // 27/s x 0.25 = 6.75/s: 9 values every 1.333 s.
  EXPECT_EQ(plan.poll_interval, std::chrono::milliseconds(1334));
  settings.poll_share = 0;
  Planner off(Trades(1, 11), {Key("fast", 18, 1), Key("slow", 9, 1)}, settings, 1.0);
  const auto& none = off.Update({}, false);
  EXPECT_EQ(none.poll_interval.count(), 0);
  EXPECT_EQ(none.keys[0].summary, "streamed 1");
  EXPECT_EQ(none.message,
            "11 codes wanted over 2 keys: 2 streamed, 9 neither streamed nor polled "
            "(stream.poll_share = 0): add keys, or fewer codes");
}

}  // namespace
}  // namespace kisgate::stream
