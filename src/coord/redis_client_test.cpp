#include "coord/redis_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "support/manual_time.hpp"
#include "support/redis_caught_up.hpp"
#include "support/redis_server.hpp"

namespace kisgate::coord {
namespace {

namespace asio = boost::asio;
using common::Errc;
using common::Result;

// On manual time (testing::ManualTime): the clients' deadlines and backoffs follow it, and it moves
// on only once Redis has answered what was sent (testing::RedisCaughtUp).
class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::RedisServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!server_->running()) server_->Start();
    server_->Resume();
    time_.SetCatchUpLimit(
        std::chrono::seconds(1));  // a live Redis answers: a busy machine is waited for
  }

  RedisClientOptions Options(int db = 0) {
    RedisClientOptions options;
    options.url = *ParseRedisUrl(server_->Url(db));
    // Generous for a loaded CI machine; the timeout test pauses the server, so it fires anyway.
    options.timeout = std::chrono::milliseconds(500);
    return options;
  }

  Result<Reply> Run(RedisClient& client, std::vector<std::string> args) {
    Watch(client);
    return time_.RunTask(io_, client.Command(std::move(args)), caught_up_);
  }
  // Manual time waits for the commands of `client` too.
  void Watch(const RedisClient& client) {
    if (std::find(clients_.begin(), clients_.end(), &client) == clients_.end())
      clients_.push_back(&client);
  }
  bool Until(const std::function<bool()>& done) {
    return time_.RunUntil(io_, done, std::chrono::minutes(1), caught_up_);
  }

  static std::unique_ptr<testing::RedisServer> server_;
  testing::ManualTime time_;
  asio::io_context io_;
  std::vector<const RedisClient*> clients_;  // every client of the test
  testing::ManualTime::CaughtUp caught_up_ =
      testing::RedisCaughtUp([this] { return clients_; }, [] { return server_->paused(); });
};

std::unique_ptr<testing::RedisServer> RedisClientTest::server_;

TEST(ParseRedisUrl, ReadsHostPortDbAndPassword) {
  auto url = ParseRedisUrl("redis://:p%40ss@cache.local:6380/3");
  ASSERT_TRUE(url) << url.error();
  EXPECT_EQ(url->host, "cache.local");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->db, 3);
  EXPECT_EQ(url->password, "p@ss");
  EXPECT_EQ(url->user, "");

  auto plain = ParseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_EQ(plain->password, "");

  auto acl = ParseRedisUrl("redis://gate:pw@[::1]:7000/");
  ASSERT_TRUE(acl) << acl.error();
  EXPECT_EQ(acl->host, "::1");
  EXPECT_EQ(acl->user, "gate");
  EXPECT_EQ(acl->password, "pw");
}

// A bad URL is refused with a message that names it, without its password.
TEST(ParseRedisUrl, RefusesBadUrlsWithoutShowingThePassword) {
  for (const char* bad :
       {"http://:secret@host:6379", "redis://:secret@host:99999", "redis://:secret@host:6379/x",
        "redis://:secret@:6379", "not a url", "redis://:secret@host:6379/1?timeout=3"}) {
    auto url = ParseRedisUrl(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().find("secret"), std::string::npos) << url.error();
    EXPECT_NE(url.error().find("Redis URL"), std::string::npos) << url.error();
  }
  EXPECT_EQ(MaskRedisUrl("redis://:secret@host:1/2"), "redis://:***@host:1/2");
  EXPECT_EQ(MaskRedisUrl("redis://user:secret@host"), "redis://user:***@host");
  EXPECT_EQ(MaskRedisUrl("redis://host:1"), "redis://host:1");
}

TEST_F(RedisClientTest, RepliesOfEveryKind) {
  RedisClient client(io_.get_executor(), Options());
  auto set = Run(client, {"SET", "k", "v 1"});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->IsStatus("OK")) << Describe(*set);
  auto get = Run(client, {"GET", "k"});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->kind, Reply::Kind::kString);
  EXPECT_EQ(get->str, "v 1");
  auto missing = Run(client, {"GET", "nothing"});
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->IsNil());
  auto incr = Run(client, {"INCRBY", "n", "41"});
  ASSERT_TRUE(incr);
  EXPECT_EQ(incr->kind, Reply::Kind::kInteger);
  EXPECT_EQ(incr->integer, 41);
  auto binary = Run(client, {"SET", "b", std::string("a\0b\r\n", 5)});
  ASSERT_TRUE(binary);
  auto array = Run(client, {"MGET", "k", "nothing", "b"});
  ASSERT_TRUE(array);
  ASSERT_EQ(array->kind, Reply::Kind::kArray);
  ASSERT_EQ(array->elements.size(), 3U);
  EXPECT_EQ(array->elements[0].str, "v 1");
  EXPECT_TRUE(array->elements[1].IsNil());
  EXPECT_EQ(array->elements[2].str, std::string("a\0b\r\n", 5));
  // A reply larger than one read (and a command larger than one write) arrives whole.
  std::string big(3 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(Run(client, {"SET", "big", big}));
  auto big_reply = Run(client, {"GET", "big"});
  ASSERT_TRUE(big_reply);
  EXPECT_TRUE(big_reply->str == big);
  EXPECT_EQ(client.stats().connections, 1U);
}

// A server error reply is a reply, and the connection stays usable.
TEST_F(RedisClientTest, ServerErrorIsAReply) {
  RedisClient client(io_.get_executor(), Options());
  auto bad = Run(client, {"NOSUCHCOMMAND", "x"});
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->IsError());
  EXPECT_TRUE(bad->str.starts_with("ERR")) << bad->str;
  ASSERT_TRUE(Run(client, {"SET", "k", "text"}));
  auto wrong_type = Run(client, {"INCR", "k"});
  ASSERT_TRUE(wrong_type);
  EXPECT_TRUE(wrong_type->IsError());
  auto ping = Run(client, {"PING"});
  ASSERT_TRUE(ping);
  EXPECT_TRUE(ping->IsStatus("PONG"));
  EXPECT_EQ(client.stats().connections, 1U);
  EXPECT_EQ(client.stats().failures, 0U);
}

// Many coroutines with commands outstanding at once on one connection each get their own reply.
TEST_F(RedisClientTest, PipelinedCommandsGetTheirOwnReplies) {
  RedisClient client(io_.get_executor(), Options());
  Watch(client);
  constexpr int kTasks = 300;
  int matched = 0;
  int done = 0;
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(
        io_,
        [&, i]() -> asio::awaitable<void> {
          const std::string key = "p" + std::to_string(i);
          auto set = client.Command({"SET", key, std::to_string(i * 7)});
          auto set_reply = co_await std::move(set);
          auto get = client.Command({"GET", key});
          auto get_reply = co_await std::move(get);
          auto echo = client.Command({"ECHO", key});
          auto echo_reply = co_await std::move(echo);
          if (set_reply && get_reply && echo_reply && get_reply->str == std::to_string(i * 7) &&
              echo_reply->str == key)
            ++matched;
          ++done;
        },
        testing::Rethrow);
  }
  ASSERT_TRUE(Until([&] { return done == kTasks; }));
  EXPECT_EQ(matched, kTasks);
  EXPECT_EQ(client.stats().connections, 1U);
}

// EVALSHA works on a server that never saw the script, and again after SCRIPT FLUSH.
TEST_F(RedisClientTest, EvalShaLoadsTheScriptOnNoscript) {
  RedisClient client(io_.get_executor(), Options());
  Watch(client);
  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto first = time_.RunTask(io_, client.EvalSha(script, {"counter"}, {"5"}), caught_up_);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->integer, 5) << Describe(*first);
  auto exists = Run(client, {"SCRIPT", "EXISTS", script.sha()});
  ASSERT_TRUE(exists);
  ASSERT_EQ(exists->elements.size(), 1U);
  EXPECT_EQ(exists->elements[0].integer, 1);  // our SHA-1 is the server's
  ASSERT_TRUE(Run(client, {"SCRIPT", "FLUSH"}));
  auto after_flush = time_.RunTask(io_, client.EvalSha(script, {"counter"}, {"2"}), caught_up_);
  ASSERT_TRUE(after_flush);
  EXPECT_EQ(after_flush->integer, 7) << Describe(*after_flush);
  // A script error stays a reply.
  const Script broken("return redis.call('NOSUCH')");
  auto error = time_.RunTask(io_, client.EvalSha(broken, {}, {}), caught_up_);
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->IsError());
}

// A server that stops answering fails the command at its deadline; the connection is replaced, so
// the reply that comes late is never taken for a later command's.
TEST_F(RedisClientTest, TimeoutResetsTheConnection) {
  RedisClientOptions options = Options();
  options.timeout = std::chrono::milliseconds(50);
  RedisClient client(io_.get_executor(), options);
  ASSERT_TRUE(Run(client, {"SET", "a", "1"}));
  ASSERT_TRUE(Run(client, {"SET", "b", "2"}));
  server_->Pause();
  auto late = Run(client, {"GET", "a"});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), Errc::kTimeout);
  EXPECT_EQ(client.stats().timeouts, 1U);
  server_->Resume();
  time_.RunFor(io_, options.backoff_max, caught_up_);
  auto b = Run(client, {"GET", "b"});
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->str, "2");
  EXPECT_EQ(client.stats().connections, 2U);
}

// Every command outstanding when the server hangs fails, none waits beyond its deadline.
TEST_F(RedisClientTest, TimeoutFailsEveryOutstandingCommand) {
  RedisClientOptions options = Options();
  options.timeout = std::chrono::milliseconds(50);
  RedisClient client(io_.get_executor(), options);
  ASSERT_TRUE(Run(client, {"PING"}));
  server_->Pause();
  const auto paused_at = time_.Now();
  int failed = 0;
  int done = 0;
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          auto op = client.Command({"PING"});
          auto reply = co_await std::move(op);
          if (!reply) ++failed;
          ++done;
        },
        testing::Rethrow);
  }
  ASSERT_TRUE(Until([&] { return done == 10; }));
  server_->Resume();
  EXPECT_EQ(failed, 10);
  EXPECT_LE(time_.Now() - paused_at, options.timeout + testing::ManualTime::kStep);
}

// The server closing the connection fails the commands on it at once (not at their deadline),
// and the next command connects again.
TEST_F(RedisClientTest, ClosedConnectionFailsItsCommands) {
  RedisClientOptions options = Options();
  options.timeout = std::chrono::milliseconds(10000);
  RedisClient victim(io_.get_executor(), options);
  RedisClient killer(io_.get_executor(), options);
  ASSERT_TRUE(Run(victim, {"PING"}));
  const auto sent_at = time_.Now();
  std::optional<Result<Reply>> blocked;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto op = victim.Command({"BLPOP", "never-pushed", "0"});
        blocked = co_await std::move(op);
      },
      testing::Rethrow);
  auto killed = Run(killer, {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_TRUE(killed);
  EXPECT_GE(killed->integer, 1) << Describe(*killed);
  ASSERT_TRUE(Until([&] { return blocked.has_value(); }));
  ASSERT_FALSE(*blocked);
  EXPECT_EQ(blocked->error(), Errc::kClosedWithoutResponse);
  EXPECT_EQ(victim.stats().timeouts, 0U);
  EXPECT_LT(time_.Now() - sent_at, options.timeout);  // at once, not at the deadline
  time_.RunFor(io_, options.backoff_max, caught_up_);
  auto ping = Run(victim, {"PING"});
  ASSERT_TRUE(ping) << victim.last_error();
  EXPECT_TRUE(ping->IsStatus("PONG"));
  EXPECT_EQ(victim.stats().connections, 2U);
}

// After the server restarts, the client connects again by itself (after its backoff).
TEST_F(RedisClientTest, ReconnectsAfterTheServerRestarts) {
  RedisClient client(io_.get_executor(), Options());
  ASSERT_TRUE(Run(client, {"SET", "x", "1"}));
  server_->Stop();
  auto down = Run(client, {"GET", "x"});
  EXPECT_FALSE(down);
  auto still_down = Run(client, {"GET", "x"});
  EXPECT_FALSE(still_down);
  server_->Start();
  Result<Reply> up = Errc::kConnectRefused;
  for (int i = 0; i < 100 && !up; ++i) {
    time_.RunFor(io_, std::chrono::milliseconds(20), caught_up_);  // the client's backoff
    up = Run(client, {"GET", "x"});
  }
  ASSERT_TRUE(up) << client.last_error();
  EXPECT_TRUE(up->IsNil());  // a new server: the old data is gone
  EXPECT_GE(client.stats().connections, 2U);
}

TEST_F(RedisClientTest, SelectsTheUrlsDatabase) {
  RedisClient db2(io_.get_executor(), Options(2));
  RedisClient db0(io_.get_executor(), Options(0));
  ASSERT_TRUE(Run(db2, {"SET", "where", "two"}));
  auto in_db0 = Run(db0, {"GET", "where"});
  ASSERT_TRUE(in_db0);
  EXPECT_TRUE(in_db0->IsNil());
  auto in_db2 = Run(db2, {"GET", "where"});
  ASSERT_TRUE(in_db2);
  EXPECT_EQ(in_db2->str, "two");
}

// The password is sent with AUTH; a wrong one fails the commands and says why.
TEST(RedisClientAuth, AuthenticatesWithThePassword) {
  testing::RedisServer server("s3cret");
  testing::ManualTime time;
  time.SetCatchUpLimit(std::chrono::seconds(1));
  asio::io_context io;
  RedisClientOptions options;
  options.url = *ParseRedisUrl("redis://:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/1");
  options.timeout = std::chrono::milliseconds(500);
  RedisClient good(io.get_executor(), options);
  std::vector<const RedisClient*> clients{&good};
  const auto caught_up =
      testing::RedisCaughtUp([&clients] { return clients; }, [&server] { return server.paused(); });
  auto ping = time.RunTask(io, good.Command({"PING"}), caught_up);
  ASSERT_TRUE(ping) << good.last_error();
  EXPECT_TRUE(ping->IsStatus("PONG"));

  options.url.password = "wrong";
  RedisClient bad(io.get_executor(), options);
  clients.push_back(&bad);
  auto refused = time.RunTask(io, bad.Command({"PING"}), caught_up);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errc::kConnectRefused);
  EXPECT_NE(bad.last_error().find("AUTH"), std::string::npos) << bad.last_error();

  options.url.password.clear();
  options.url.db = 0;
  RedisClient none(io.get_executor(), options);
  clients.push_back(&none);
  auto noauth = time.RunTask(io, none.Command({"PING"}), caught_up);
  ASSERT_TRUE(noauth);
  EXPECT_TRUE(noauth->IsError());  // NOAUTH: the server's answer, not a transport failure
}

}  // namespace
}  // namespace kisgate::coord
