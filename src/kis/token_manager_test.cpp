#include "kis/token_manager.hpp"

#include <sys/stat.h>

#include <exception>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/kst.hpp"
#include "common/timer.hpp"
#include "support/test_client.hpp"

namespace kisgate::kis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A scripted tokenP endpoint: counts calls, answers after a short real delay so that concurrent
// callers pile up behind the first.
// With `takes_time`, each issuance also takes 20 ms of the manual clock and honours the deadline it
// is given as the real call through the gate would: past it, a timeout.
struct FakeIssuer {
  common::ManualClock& clock;
  int calls = 0;
  std::vector<IssueOutcome> script;         // consumed in order; the last one repeats
  std::vector<common::Duration> deadlines;  // what each issuance was given, from its start
  bool takes_time = false;

  IssueFn Fn(asio::io_context& io) {
    return [this, &io](common::SteadyTime deadline) -> asio::awaitable<IssueOutcome> {
      calls++;
      deadlines.push_back(deadline - clock.Now());
      asio::steady_timer t(io, 20ms);
      co_await t.async_wait(asio::use_awaitable);
      if (takes_time) clock.Advance(20ms);
      if (clock.Now() > deadline) {
        co_return Classification{Action::kRetryWithBackoff, "timeout",
                                 "the request's deadline passed", ""};
      }
      std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(calls - 1), script.size() - 1);
      co_return script[i];
    };
  }
};

class TokenManagerTest : public ::testing::Test {
 protected:
  Token NewToken(std::string value, std::chrono::hours life = 24h) {
    return Token{std::move(value), clock_.WallNow() + life};
  }

  std::unique_ptr<TokenManager> Make(std::chrono::seconds interval = 60s, std::string dir = {}) {
    TokenManagerOptions o;
    o.key_name = "main";
    o.app_key = "PSkey";
    o.environment = "real";
    o.store_dir = dir;
    o.min_issue_interval = interval;
    return std::make_unique<TokenManager>(io_.get_executor(), o, clock_, issuer_.Fn(io_));
  }

  // Runs n concurrent Get() calls to completion.
  std::vector<std::variant<Token, Classification>> GetAll(TokenManager& m, int n = 1,
                                                          std::chrono::milliseconds timeout = 2s) {
    std::vector<std::variant<Token, Classification>> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            out[static_cast<std::size_t>(i)] = co_await m.Get(clock_.Now() + timeout);
          },
          [](std::exception_ptr e) {
            if (e)
              std::rethrow_exception(e);  // out of io_.run(): the test fails instead of losing it
          });
    }
    io_.restart();
    io_.run();
    return out;
  }

  static std::string Value(const std::variant<Token, Classification>& r) {
    if (auto* t = std::get_if<Token>(&r)) return t->value;
    return "error:" + std::get<Classification>(r).code;
  }

  asio::io_context io_;
  common::ManualClock clock_;
  // The manager's waits (for an issuance, for KIS's one-per-minute rule) are common::Timers on
  // this clock.
  common::ManualTimeScope manual_time_{clock_};
  FakeIssuer issuer_{clock_, 0, {}, {}, false};
};

TEST_F(TokenManagerTest, IssuesOnceAndReuses) {
  issuer_.script = {NewToken("t1")};
  auto m = Make();
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  EXPECT_EQ(issuer_.calls, 1);
}

// Many callers at once, one issuance (KIS sends a KakaoTalk message per issuance).
TEST_F(TokenManagerTest, SingleFlightForConcurrentCallers) {
  issuer_.script = {NewToken("t1")};
  auto m = Make();
  auto results = GetAll(*m, 20);
  for (auto& r : results) EXPECT_EQ(Value(r), "t1");
  EXPECT_EQ(issuer_.calls, 1);
}

TEST_F(TokenManagerTest, PersistsWith0600AndReusesAcrossRestarts) {
  testing::TempDir dir;
  issuer_.script = {NewToken("t1")};
  {
    auto m = Make(60s, dir.path());
    EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
    struct stat st {};
    ASSERT_EQ(::stat(m->StorePath().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(m->StorePath().string().find("PSkey"),
              std::string::npos);  // the key is not in the name
  }
  auto restarted = Make(60s, dir.path());
  EXPECT_EQ(restarted->Counters().loaded_from_disk, 1u);
  EXPECT_EQ(Value(GetAll(*restarted)[0]), "t1");
  EXPECT_EQ(issuer_.calls, 1);  // no second issuance
}

// EGW00133 means: do not ask again for a minute, and keep using the token we have.
TEST_F(TokenManagerTest, ThrottledIssuanceKeepsCachedTokenAndDoesNotStorm) {
  issuer_.script = {NewToken("t1", 2h),
                    Classification{Action::kTokenThrottled, "EGW00133", "1분당 1회", ""}};
  TokenManagerOptions o;
  auto m = Make(60s);
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  clock_.Advance(90min);                  // inside the refresh-ahead hour: a refresh is attempted
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");  // throttled, but the cached token still works
  EXPECT_EQ(issuer_.calls, 2);
  for (int i = 0; i < 5; ++i) GetAll(*m);
  EXPECT_EQ(issuer_.calls, 2);  // no retry storm inside the minute
  EXPECT_EQ(m->Counters().throttled, 1u);
}

TEST_F(TokenManagerTest, NoTokenAndThrottledFailsFastWithClearMessage) {
  issuer_.script = {Classification{Action::kTokenThrottled, "EGW00133", "1분당 1회", ""}};
  auto m = Make(60s);
  auto first = GetAll(*m)[0];
  EXPECT_EQ(Value(first), "error:EGW00133");
  auto second = GetAll(*m, 1, 500ms)[0];  // the next request is only allowed in a minute
  ASSERT_TRUE(std::holds_alternative<Classification>(second));
  EXPECT_NE(std::get<Classification>(second).message.find("only in"), std::string::npos);
  EXPECT_EQ(issuer_.calls, 1);
}

// After EGW00123 the caller invalidates; the next Get re-issues once.
TEST_F(TokenManagerTest, InvalidateReissuesOnce) {
  issuer_.script = {NewToken("t1"), NewToken("t2")};
  auto m = Make(0s);
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  m->Invalidate("t1");
  m->Invalidate("t1");  // a second report of the same token changes nothing
  auto results = GetAll(*m, 5);
  for (auto& r : results) EXPECT_EQ(Value(r), "t2");
  EXPECT_EQ(issuer_.calls, 2);
  m->Invalidate("t1");  // stale: t2 is current
  EXPECT_EQ(Value(GetAll(*m)[0]), "t2");
  EXPECT_EQ(m->Counters().invalidations, 1u);
}

// A key pool routes around a key that cannot have a token for a while.
TEST_F(TokenManagerTest, AvailableAtTellsWhenATokenCanBeHad) {
  issuer_.script = {Classification{Action::kTokenThrottled, "EGW00133", "1분당 1회", ""}};
  auto m = Make(60s);
  EXPECT_EQ(m->AvailableAt(), clock_.Now());  // nothing asked yet
  GetAll(*m);
  EXPECT_EQ(m->AvailableAt(), clock_.Now() + 60s);  // waiting out the rule
  issuer_.script = {NewToken("t1")};
  clock_.Advance(60s);
  GetAll(*m);
  EXPECT_EQ(m->AvailableAt(), clock_.Now());  // a usable token
}

TEST_F(TokenManagerTest, RefreshesAheadOfExpiry) {
  issuer_.script = {NewToken("t1"), NewToken("t2")};
  auto m = Make(60s);
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  clock_.Advance(22h);
  EXPECT_EQ(Value(GetAll(*m)[0]), "t1");
  clock_.Advance(90min);  // less than an hour left
  EXPECT_EQ(Value(GetAll(*m)[0]), "t2");
}

// The caller that triggers an issuance may have almost no time left (an API request at the end of
// its deadline): the issuance still gets its own deadline and its token serves the next callers,
// instead of failing and closing the one-per-minute window on everyone.
TEST_F(TokenManagerTest, IssuanceHasItsOwnDeadline) {
  issuer_.script = {NewToken("t1")};
  issuer_.takes_time = true;
  auto m = Make(60s);
  auto hurried = GetAll(*m, 1, 5ms)[0];  // 5 ms left; the issuance takes 20 ms
  ASSERT_EQ(issuer_.deadlines.size(), 1u);
  EXPECT_GE(issuer_.deadlines[0], 30s);
  EXPECT_EQ(m->Counters().failures, 0u);
  EXPECT_EQ(m->Counters().issued, 1u);
  (void)hurried;  // a token or token_timeout: either is fair for the hurried caller
  EXPECT_EQ(Value(GetAll(*m, 20, 1s)[0]), "t1");
  EXPECT_EQ(issuer_.calls, 1);
}

// A token request that never reached KIS (nothing listening at base_url, no gate budget) does not
// spend KIS's one-per-minute allowance: a later caller may try again after a few seconds.
TEST_F(TokenManagerTest, UnsentRequestDoesNotCloseTheMinute) {
  for (const char* unsent : {"connect_refused", "gate_deadline"}) {
    issuer_.calls = 0;
    issuer_.script = {Classification{Action::kRetryWithBackoff, unsent, "x", ""}, NewToken("t1")};
    auto m = Make(60s);
    EXPECT_EQ(Value(GetAll(*m)[0]), std::string("error:") + unsent);
    clock_.Advance(6s);
    EXPECT_EQ(Value(GetAll(*m)[0]), "t1") << unsent;
    EXPECT_EQ(issuer_.calls, 2);
  }
  // A request that may have reached KIS still waits out the minute.
  issuer_.calls = 0;
  issuer_.script = {Classification{Action::kRetryWithBackoff, "timeout", "x", ""}, NewToken("t1")};
  auto m = Make(60s);
  GetAll(*m);
  clock_.Advance(6s);
  EXPECT_EQ(Value(GetAll(*m)[0]), "error:EGW00133");
  EXPECT_EQ(issuer_.calls, 1);
}

// An issuer that throws is a failed issuance, logged and counted, and every waiter is answered.
TEST_F(TokenManagerTest, ThrowingIssuanceAnswersEveryWaiter) {
  TokenManagerOptions o;
  o.key_name = "main";
  o.app_key = "PSkey";
  int calls = 0;
  TokenManager m(io_.get_executor(), o, clock_,
                 [&](common::SteadyTime) -> asio::awaitable<IssueOutcome> {
                   ++calls;
                   asio::steady_timer t(io_, 5ms);
                   co_await t.async_wait(asio::use_awaitable);
                   throw std::runtime_error("injected");
                 });
  auto results = GetAll(m, 5);
  for (auto& r : results) EXPECT_EQ(Value(r), "error:exception");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(m.Counters().failures, 1u);
}

// The token of one key shared by several instances (issue 13), with the rules of the Redis share
// in memory: a published token, a right to issue held for `hold`, `reachable` false plays Redis
// down. (The Redis implementation has its own tests against a real server.)
struct SharedToken {
  common::ManualClock* clock = nullptr;
  std::optional<Token> published;
  std::optional<common::SteadyTime> right_until;
  bool reachable = true;
};

class MemoryTokenShare final : public TokenShare {
 public:
  explicit MemoryTokenShare(SharedToken& s) : s_(s) {}
  asio::awaitable<std::optional<Token>> Read() override {
    if (!s_.reachable || !s_.published || s_.published->expires_at <= s_.clock->WallNow())
      co_return std::nullopt;
    co_return s_.published;
  }
  asio::awaitable<std::optional<bool>> TryIssueRight(common::Duration hold) override {
    if (!s_.reachable) co_return std::nullopt;
    if (s_.right_until && s_.clock->Now() < *s_.right_until) co_return false;
    s_.right_until = s_.clock->Now() + hold;
    co_return true;
  }
  asio::awaitable<void> Publish(const Token& token) override {
    if (s_.reachable) s_.published = token;
    co_return;
  }
  void Withdraw(const std::string& token) override {
    if (s_.reachable && s_.published && s_.published->value == token) s_.published.reset();
  }

 private:
  SharedToken& s_;
};

class SharedTokenTest : public TokenManagerTest {
 protected:
  SharedToken shared_ = Shared(clock_);

  static SharedToken Shared(common::ManualClock& clock) {
    SharedToken s;
    s.clock = &clock;
    return s;
  }
  MemoryTokenShare share_a_{shared_}, share_b_{shared_};

  // Concurrent Gets on each manager, run on manual time until all have answered.
  std::vector<std::string> GetEach(const std::vector<TokenManager*>& managers) {
    std::vector<std::string> out(managers.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < managers.size(); ++i) {
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            auto get = managers[i]->Get(clock_.Now() + 10s);
            out[i] = Value(co_await std::move(get));
            ++done;
          },
          [](const std::exception_ptr& e) {
            if (e) std::rethrow_exception(e);
          });
    }
    io_.restart();
    for (int step = 0; step < 2000 && done < managers.size(); ++step) {
      common::AdvanceAndRun(io_, clock_, 10ms, 10ms);
      io_.run_for(std::chrono::milliseconds(1));
    }
    return out;
  }
};

// Two instances want a token at once: exactly one asks KIS, the other reads what it published.
TEST_F(SharedTokenTest, OneIssuanceForTwoInstances) {
  issuer_.script = {NewToken("t1")};
  auto a = Make();
  auto b = Make();
  a->SetShare(&share_a_);
  b->SetShare(&share_b_);
  EXPECT_EQ(GetEach({a.get(), b.get()}), (std::vector<std::string>{"t1", "t1"}));
  EXPECT_EQ(issuer_.calls, 1);
  EXPECT_EQ(a->Counters().issued + b->Counters().issued, 1u);
  EXPECT_EQ(a->Counters().adopted + b->Counters().adopted, 1u);
  // A third instance started later reads it too, without asking KIS.
  auto c = Make();
  MemoryTokenShare share_c(shared_);
  c->SetShare(&share_c);
  EXPECT_EQ(GetEach({c.get()}), std::vector<std::string>{"t1"});
  EXPECT_EQ(issuer_.calls, 1);
}

// KIS said the token is invalid: it is withdrawn for every instance and never adopted again; one
// new token is issued (once the right's minute has passed).
TEST_F(SharedTokenTest, InvalidatedTokenIsWithdrawnForAll) {
  issuer_.script = {NewToken("t1"), NewToken("t2")};
  auto a = Make(1s);
  a->SetShare(&share_a_);
  EXPECT_EQ(GetEach({a.get()}), std::vector<std::string>{"t1"});
  a->Invalidate("t1");
  EXPECT_FALSE(shared_.published.has_value());
  shared_.published = NewToken("t1");  // a stale copy some instance put back
  auto b = Make(1s);
  b->SetShare(&share_b_);
  EXPECT_EQ(GetEach({a.get()}), std::vector<std::string>{"t2"});
  EXPECT_EQ(issuer_.calls, 2);
}

// The share cannot be reached: each instance issues on its own rather than having no token.
TEST_F(SharedTokenTest, UnreachableShareIssuesLocally) {
  issuer_.script = {NewToken("t1")};
  shared_.reachable = false;
  auto a = Make();
  a->SetShare(&share_a_);
  EXPECT_EQ(GetEach({a.get()}), std::vector<std::string>{"t1"});
  EXPECT_EQ(issuer_.calls, 1);
}

TEST(ParseTokenReply, ReadsKstExpiryAndErrors) {
  common::ManualClock clock;
  auto now = clock.WallNow();
  auto ok = ParseTokenReply(200,
                            R"({"access_token":"abc","token_type":"Bearer","expires_in":86400,)"
                            R"("access_token_token_expired":"2026-11-25 10:00:00"})",
                            now);
  ASSERT_TRUE(std::holds_alternative<Token>(ok));
  EXPECT_EQ(common::FormatKstDateTime(std::get<Token>(ok).expires_at), "2026-11-25 10:00:00");
  auto fallback = ParseTokenReply(200, R"({"access_token":"abc","expires_in":60})", now);
  ASSERT_TRUE(std::holds_alternative<Token>(fallback));
  EXPECT_EQ(std::get<Token>(fallback).expires_at, now + 60s);
  auto denied = ParseTokenReply(403, R"({"error_code":"EGW00103","error_description":"x"})", now);
  ASSERT_TRUE(std::holds_alternative<Classification>(denied));
  EXPECT_EQ(std::get<Classification>(denied).action, Action::kFail);
  auto broken = ParseTokenReply(200, R"({"token_type":"Bearer"})", now);
  ASSERT_TRUE(std::holds_alternative<Classification>(broken));
  // Found by fuzz/kis_reply_fuzz: a fractional expires_in and a bad KST time threw.
  auto fractional = ParseTokenReply(
      200,
      R"({"access_token":"abc","access_token_token_expired":"2026-11-25 10:70:00","expires_in":8.400})",
      now);
  ASSERT_TRUE(std::holds_alternative<Classification>(fractional));
  EXPECT_EQ(std::get<Classification>(fractional).code, "malformed_reply");
}

}  // namespace
}  // namespace kisgate::kis
