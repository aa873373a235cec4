#include "stream/hub.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "common/timer.hpp"

namespace kisgate::stream {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

kis::Tick TickOf(std::string code, std::int64_t price) {
  kis::Tick t;
  t.code = std::move(code);
  t.date = "20261127";
  t.time = "091500";
  t.price = price;
  t.sign = kis::Sign::kUp;
  t.change = 100;
  return t;
}

std::shared_ptr<Subscriber> Join(Hub& hub, Filter filter,
                                 std::optional<std::uint64_t> last = std::nullopt) {
  auto joined = hub.Subscribe(std::move(filter), last);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<Subscriber>>(joined))
      << std::get<std::string>(joined);
  return std::get<std::shared_ptr<Subscriber>>(joined);
}

TEST(Hub, DeliversOnlyWhatTheFilterTakesRenderedOnceWithIncreasingIds) {
  asio::io_context io;
  Hub hub(io.get_executor(), {});
  auto trades = Join(hub, {{"005930"}, true, false});
  auto books = Join(hub, {{"005930", "000660"}, false, true});
  const std::vector<kis::Tick> ticks{TickOf("005930", 71000), TickOf("000660", 180000),
                                     TickOf("005930", 71100)};
  hub.Publish(ticks);
  kis::BookSnapshot book;
  book.code = "000660";
  book.asks[0] = {180100, 5, 0};
  hub.Publish(std::span<const kis::BookSnapshot>(&book, 1));

  auto got = trades->Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->id, 1u);
  EXPECT_EQ(got[1]->id, 3u);
  const auto first = json::parse(got[0]->json).as_object();
  EXPECT_EQ(first.at("event").as_string(), "trade");
  EXPECT_EQ(first.at("id").as_int64(), 1);
  EXPECT_EQ(first.at("price").as_int64(), 71000);
  EXPECT_EQ(first.at("time").as_string(), "2026-11-27T09:15:00.000+09:00");
  EXPECT_EQ(got[0]->sse.substr(0, 21), "id: 1\nevent: trade\nda");
  EXPECT_TRUE(got[0]->sse.ends_with("}\n\n"));

  auto b = books->Take();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]->kind, "book");
  EXPECT_EQ(json::parse(b[0]->json).at("asks").as_array().size(), 1u);
  ASSERT_NE(hub.LatestTick("005930"), nullptr);
  EXPECT_EQ(hub.LatestTick("005930")->price, 71100);
  EXPECT_EQ(hub.LatestBook("005930"), nullptr);
  const auto c = hub.Counters();
  EXPECT_EQ(c.published, 4u);
  EXPECT_EQ(c.delivered, 3u);
  EXPECT_EQ(c.subscribers, 2u);
}

// A subscriber that does not drain its queue is cut with a final event saying why, while another
// subscriber of the same code keeps getting every event.
TEST(Hub, CutsASlowSubscriberWithoutLosingEventsForOthers) {
  asio::io_context io;
  Hub hub(io.get_executor(), {.ring_events = 100, .queue_events = 5, .max_codes_per_client = 10});
  auto slow = Join(hub, {{"005930"}});
  auto fast = Join(hub, {{"005930"}});
  std::size_t fast_got = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t = TickOf("005930", 1000 + i);
    hub.Publish(std::span<const kis::Tick>(&t, 1));
    fast_got += fast->Take().size();
  }
  EXPECT_EQ(fast_got, 20u);
  ASSERT_TRUE(slow->cut());
  EXPECT_TRUE(slow->Take().empty());
  const auto why = json::parse(slow->cut_event()->json).as_object();
  EXPECT_EQ(why.at("event").as_string(), "status");
  EXPECT_EQ(why.at("state").as_string(), "closed");
  EXPECT_NE(why.at("reason").as_string().find("did not keep up"), json::string::npos);
  EXPECT_EQ(hub.Counters().cut, 1u);
  EXPECT_EQ(hub.Counters().subscribers, 1u);
}

// Answers pushed to one subscriber (a /v1/ws client's own requests) are bounded like published
// events, by count and by bytes: a client that sends faster than it reads is cut and counted, and
// its queue never holds more than queue_bytes.
TEST(Hub, PushedAnswersAreBoundedInBytesAndCutTheClient) {
  asio::io_context io;
  Hub hub(io.get_executor(), {.ring_events = 100,
                              .queue_events = 1'000,
                              .queue_bytes = 64 * 1024,
                              .max_codes_per_client = 10});
  auto chatty = Join(hub, {{"005930"}});
  auto other = Join(hub, {{"005930"}});
  const std::string big(10'000, 'A');
  int pushed = 0;
  while (!chatty->cut() && pushed < 1'000) {
    chatty->Push(ControlEvent("status", json::serialize(json::object{{"message", big}})));
    ++pushed;
  }
  ASSERT_TRUE(chatty->cut());
  EXPECT_LE(pushed, 5);  // 64 KB hold three answers of 2 x 10 KB rendered
  EXPECT_TRUE(chatty->Take().empty());
  const auto why = json::parse(chatty->cut_event()->json).as_object();
  EXPECT_NE(why.at("reason").as_string().find("did not keep up"), json::string::npos);
  EXPECT_EQ(hub.Counters().cut, 1u);
  // Pushing to a cut subscriber does nothing; the others go on.
  chatty->Push(ControlEvent("status", R"({"state":"error"})"));
  EXPECT_TRUE(chatty->Take().empty());
  const auto t = TickOf("005930", 1000);
  hub.Publish(std::span<const kis::Tick>(&t, 1));
  EXPECT_EQ(other->Take().size(), 1u);
}

TEST(Hub, ResumesFromTheRingAndSaysWhenEventsAreGone) {
  asio::io_context io;
  Hub hub(io.get_executor(), {.ring_events = 5, .queue_events = 100, .max_codes_per_client = 10});
  for (int i = 0; i < 8; ++i) {  // ids 1..8; the ring keeps 4..8
    const auto t = TickOf(i % 2 == 0 ? "005930" : "000660", 1000 + i);
    hub.Publish(std::span<const kis::Tick>(&t, 1));
  }
  auto kept = Join(hub, {{"005930"}}, 4);  // 005930 has the odd ids: 5, 7
  auto got = kept->Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->id, 5u);
  EXPECT_EQ(got[1]->id, 7u);

  auto gone = Join(hub, {{"005930"}}, 1);
  got = gone->Take();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0]->kind, "gap");
  EXPECT_EQ(got[0]->id, 0u);
  EXPECT_EQ(got[0]->sse.find("id:"), std::string::npos);  // a gap does not move Last-Event-ID
  const auto gap = json::parse(got[0]->json).as_object();
  EXPECT_EQ(gap.at("missing_from").as_int64(), 2);
  EXPECT_EQ(gap.at("missing_to").as_int64(), 3);

  auto restarted = Join(hub, {{"005930"}}, 500);
  got = restarted->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->kind, "gap");
}

TEST(Hub, ReportsDemandAndBoundsCodesPerClient) {
  asio::io_context io;
  Hub hub(io.get_executor(), {.ring_events = 10, .queue_events = 10, .max_codes_per_client = 2});
  std::vector<std::vector<Demand>> reports;
  hub.SetDemandCallback([&](const std::vector<Demand>& d) { reports.push_back(d); });
  auto over = hub.Subscribe({{"005930", "000660", "035420"}});
  ASSERT_TRUE(std::holds_alternative<std::string>(over));
  EXPECT_NE(std::get<std::string>(over).find("max_codes_per_client is 2"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<std::string>(hub.Subscribe({{}})));

  auto a = Join(hub, {{"005930", "005930"}, true, true});  // duplicates count once
  EXPECT_EQ(a->filter().codes.size(), 1u);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports.back().size(), 2u);  // 005930 trades and orderbook
  auto b = Join(hub, {{"005930"}});      // nothing new: no report
  EXPECT_EQ(reports.size(), 1u);
  EXPECT_EQ(hub.CurrentDemand()[0].clients + hub.CurrentDemand()[1].clients, 3u);
  EXPECT_FALSE(hub.Change(*b, {{"000660"}}).has_value());
  EXPECT_EQ(reports.size(), 2u);
  EXPECT_TRUE(hub.Change(*b, {{"1", "2", "3"}}).has_value());
  b.reset();
  a.reset();
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_TRUE(reports.back().empty());
  EXPECT_EQ(hub.Counters().subscribers, 0u);
}

// A consumer waiting for events wakes at its deadline (a heartbeat) when none come, not before,
// and at once when one is published. On manual time: the wait follows the injected clock.
TEST(Hub, WaitWakesOnPublishOrDeadline) {
  using namespace std::chrono_literals;
  common::ManualClock clock;
  common::ManualTimeScope scope(clock);
  asio::io_context io;
  Hub hub(io.get_executor(), {});
  auto s = Join(hub, {{"005930"}});
  constexpr auto kHeartbeat = 15s;
  std::vector<std::uint64_t> seen;
  std::vector<common::SteadyTime> woke;  // when each wait ended
  int heartbeats = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        while (seen.size() < 2) {
          co_await s->Wait(clock.Now() + kHeartbeat);
          woke.push_back(clock.Now());
          auto got = s->Take();
          if (got.empty()) heartbeats++;
          for (auto& e : got) seen.push_back(e->id);
        }
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  io.poll();  // the consumer starts waiting
  const auto start = clock.Now();
  common::AdvanceAndRun(io, clock, kHeartbeat - 10ms);
  EXPECT_TRUE(woke.empty());  // nothing came and the deadline is not there yet
  common::AdvanceAndRun(io, clock, 10ms);
  ASSERT_EQ(woke.size(), 1u);
  EXPECT_EQ(woke[0], start + kHeartbeat);
  EXPECT_EQ(heartbeats, 1);
  // Waiting again: a publish wakes it without time moving on.
  common::AdvanceAndRun(io, clock, 1s);
  const std::vector<kis::Tick> ticks{TickOf("005930", 1), TickOf("005930", 2)};
  hub.Publish(ticks);
  io.restart();
  io.poll();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));
  ASSERT_EQ(woke.size(), 2u);
  EXPECT_EQ(woke[1], start + kHeartbeat + 1s);
  EXPECT_EQ(heartbeats, 1);
}

// A thousand subscribers, a hundred codes: every event reaches exactly the subscribers of its code.
TEST(Hub, FansOutToAThousandSubscribers) {
  asio::io_context io;
  Hub hub(io.get_executor(),
          {.ring_events = 10'000, .queue_events = 100'000, .max_codes_per_client = 10});
  std::vector<std::shared_ptr<Subscriber>> subs;
  for (int i = 0; i < 1000; ++i) {
    subs.push_back(Join(hub, {{fmt::format("{:06}", i % 100)}}));
  }
  std::vector<kis::Tick> ticks;
  for (int i = 0; i < 2000; ++i) ticks.push_back(TickOf(fmt::format("{:06}", i % 100), i));
  hub.Publish(ticks);
  std::size_t total = 0;
  for (auto& s : subs) {
    const auto got = s->Take();
    EXPECT_EQ(got.size(), 20u);
    total += got.size();
  }
  EXPECT_EQ(total, 20'000u);
  EXPECT_EQ(hub.Counters().delivered, 20'000u);
}

}  // namespace
}  // namespace kisgate::stream
