#include "kis/token_manager.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <array>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"

namespace kisgate::kis {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::duration_cast;

namespace {

// A short, stable, non-reversible name for an app key: the file name must not reveal it.
std::string KeyFingerprint(const std::string& app_key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(app_key.data(), app_key.size(), digest.data(), &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Classification Throttled(std::string message) {
  return Classification{Action::kTokenThrottled, "EGW00133", std::move(message),
                        "KIS allows one token request per minute per app key"};
}

}  // namespace

IssueOutcome ParseTokenReply(int http_status, std::string_view body, common::WallTime now) {
  Classification c = Classify(http_status, body);
  if (c.action != Action::kSuccess) return c;
  json::error_code ec;
  auto v = json::parse(body, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const json::value* token = o ? o->if_contains("access_token") : nullptr;
  if (token == nullptr || !token->is_string() || token->get_string().empty()) {
    return Classification::Own(common::Errc::kMalformedReply, Action::kFail,
                               "token reply without access_token");
  }
  std::optional<common::WallTime> expires_at;
  if (const auto* e = o->if_contains("access_token_token_expired"); e && e->is_string()) {
    expires_at = common::ParseKstDateTime(e->get_string());
  }
  if (!expires_at) {
    // expires_in is a number of seconds; anything else (fractions, absurd sizes) is not trusted.
    if (const auto* e = o->if_contains("expires_in"); e && e->is_number()) {
      boost::system::error_code ec;
      const auto seconds = e->to_number<std::int64_t>(ec);
      if (!ec && seconds > 0 && seconds <= 366 * 24 * 3600)
        expires_at = now + std::chrono::seconds(seconds);
    }
  }
  if (!expires_at) {
    return Classification::Own(common::Errc::kMalformedReply, Action::kFail,
                               "token reply without an expiry");
  }
  return Token{std::string(token->get_string()), *expires_at};
}

struct TokenManager::Impl : std::enable_shared_from_this<TokenManager::Impl> {
  // One issuance in progress; callers that arrive meanwhile park a timer here and are woken by
  // the issuer when the result is in.
  struct Flight {
    std::vector<common::Timer*> waiters;
    std::optional<std::variant<Token, Classification>> result;
  };

  asio::any_io_executor executor;
  TokenManagerOptions options;
  const common::Clock& clock;
  IssueFn issue;
  std::optional<Token> current;
  std::optional<common::SteadyTime> not_before;  // no issuance request before this
  std::shared_ptr<Flight> flight;
  TokenCounters counters;
  TokenShare* share = nullptr;
  std::string invalidated;  // the last token a caller reported invalid: never adopted again

  Impl(asio::any_io_executor ex, TokenManagerOptions o, const common::Clock& c, IssueFn fn)
      : executor(std::move(ex)), options(std::move(o)), clock(c), issue(std::move(fn)) {}

  std::filesystem::path Path() const {
    if (options.store_dir.empty()) return {};
    return options.store_dir /
           fmt::format("token-{}-{}.json", options.environment, KeyFingerprint(options.app_key));
  }

  // A token this close to expiry is not handed out: a call needs time to reach KIS.
  std::chrono::seconds Margin() const {
    return std::min(std::chrono::seconds(30), options.refresh_ahead);
  }

  bool Usable(const Token& t, std::chrono::seconds margin) const {
    return t.expires_at - clock.WallNow() > margin;
  }

  void Load() {
    auto path = Path();
    if (path.empty()) return;
    std::ifstream in(path);
    if (!in) return;
    std::stringstream text;
    text << in.rdbuf();
    json::error_code ec;
    auto v = json::parse(text.str(), ec);
    if (ec || !v.is_object()) {
      spdlog::warn("token file {} is unreadable; a new token will be issued", path.string());
      return;
    }
    const auto& o = v.get_object();
    const auto* token = o.if_contains("access_token");
    const auto* expires = o.if_contains("expires_at");
    const auto* issued = o.if_contains("issued_at");
    if (!token || !token->is_string() || !expires || !expires->is_string()) return;
    auto expires_at = common::ParseKstDateTime(expires->get_string());
    if (!expires_at) return;
    Token t{std::string(token->get_string()), *expires_at};
    if (issued && issued->is_string()) {
      // Another process (or our previous run) asked recently: honour the issuance interval.
      if (auto issued_at = common::ParseKstDateTime(issued->get_string())) {
        auto since = clock.WallNow() - *issued_at;
        if (since < options.min_issue_interval) {
          not_before =
              clock.Now() + duration_cast<common::Duration>(options.min_issue_interval - since);
        }
      }
    }
    if (Usable(t, Margin())) {
      current = std::move(t);
      counters.loaded_from_disk++;
    }
  }

  void Save(const Token& t) {
    auto path = Path();
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    json::object o;
    o["access_token"] = t.value;
    o["expires_at"] = common::FormatKstDateTime(t.expires_at);
    o["issued_at"] = common::FormatKstDateTime(clock.WallNow());
    o["key_name"] = options.key_name;
    const std::string body = json::serialize(o);
    // Written to a temporary file created 0600 and renamed: never a partial or world-readable
    // token.
    auto tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      spdlog::warn("cannot write token file {}: {}", tmp.string(), std::strerror(errno));
      return;
    }
    bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
      spdlog::warn("cannot write token file {}", path.string());
      std::filesystem::remove(tmp, ec);
    }
  }

  // Failures of a token request that never reached KIS: KIS's one-per-minute rule has not been
  // spent, so the next request need not wait a minute.
  static bool NeverSent(const Classification& failure) {
    const auto kind = failure.Kind();
    if (!kind) return false;
    switch (*kind) {
      case common::Errc::kGateDeadline:
      case common::Errc::kConnectRefused:
      case common::Errc::kConnectTimeout:
      case common::Errc::kResolve:
      case common::Errc::kBadUrl:
      case common::Errc::kTlsHandshake:
      case common::Errc::kCoordinationUnavailable:
        return true;
      case common::Errc::kDeadlineExceeded:
      case common::Errc::kTokenTimeout:
      case common::Errc::kInvalidStockCode:
      case common::Errc::kRealOnlyTr:
      case common::Errc::kMalformedReply:
      case common::Errc::kTooManyRequests:
      case common::Errc::kUnavailable:
      case common::Errc::kUnknownTr:
      case common::Errc::kKisRejected:
      case common::Errc::kKisBadRequest:
      case common::Errc::kClosedWithoutResponse:
      case common::Errc::kTimeout:
      case common::Errc::kReplyTooLarge:
      case common::Errc::kProtocol:
      case common::Errc::kException:
        return false;
    }
    return false;
  }

  // Starts one issuance with its own deadline (options.issue_timeout from now), whoever asked:
  // a caller whose deadline is nearly spent must not doom the issuance every caller waits for.
  // The issuance runs to its end even when every caller has given up.
  std::shared_ptr<Flight> StartIssuance(common::SteadyTime now) {
    auto f = std::make_shared<Flight>();
    flight = f;
    not_before = now + duration_cast<common::Duration>(options.min_issue_interval);
    const auto issue_deadline = now + duration_cast<common::Duration>(options.issue_timeout);
    auto adopted = std::make_shared<bool>(false);
    auto issuing = share != nullptr ? SharedIssue(issue_deadline, adopted) : issue(issue_deadline);
    asio::co_spawn(
        executor, std::move(issuing),
        [self = shared_from_this(), f, now, adopted](const std::exception_ptr& e,
                                                     IssueOutcome outcome) {
          if (e) {
            outcome = Classification::Own(
                common::Errc::kException, Action::kFail,
                common::NoteException(
                    fmt::format("token request for key '{}'", self->options.key_name), e));
          }
          self->Finish(f, now, std::move(outcome), *adopted);
        });
    return f;
  }

  // The issuance with a share: adopt the published token, or be the one instance that asks KIS
  // (and publish what it answers), or wait for that instance. Hand-written: a lock-then-read
  // protocol over the share's two primitives.
  asio::awaitable<IssueOutcome> SharedIssue(common::SteadyTime deadline,
                                            std::shared_ptr<bool> adopted) {
    auto self = shared_from_this();
    constexpr auto kPoll = std::chrono::milliseconds(250);
    for (;;) {
      auto read = share->Read();
      std::optional<Token> published = co_await std::move(read);
      const bool adoptable =
          published && published->value != invalidated && Usable(*published, Margin());
      if (adoptable && Usable(*published, options.refresh_ahead)) {
        *adopted = true;
        co_return *published;
      }
      auto ask = share->TryIssueRight(duration_cast<common::Duration>(options.min_issue_interval));
      const std::optional<bool> right = co_await std::move(ask);
      if (!right) {
        spdlog::warn("kis: token share for key '{}' unreachable: issuing on this instance",
                     options.key_name);
        auto own = issue(deadline);
        co_return co_await std::move(own);
      }
      if (*right) {
        auto issuing = issue(deadline);
        IssueOutcome outcome = co_await std::move(issuing);
        if (const auto* token = std::get_if<Token>(&outcome)) {
          auto publish = share->Publish(*token);
          co_await std::move(publish);
        }
        co_return outcome;
      }
      // Another instance holds the right: it is issuing, or issued less than a minute ago.
      if (adoptable) {
        *adopted = true;
        co_return *published;
      }
      if (clock.Now() + kPoll >= deadline) {
        co_return Throttled(fmt::format(
            "no token for key '{}': another instance holds the right to issue one and has not "
            "published it",
            options.key_name));
      }
      common::Timer pause(executor, clock.Now() + kPoll);
      boost::system::error_code ec;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void Finish(const std::shared_ptr<Flight>& f, common::SteadyTime started, IssueOutcome outcome,
              bool adopted) {
    if (auto* token = std::get_if<Token>(&outcome)) {
      (adopted ? counters.adopted : counters.issued)++;
      current = *token;
      Save(*token);
      spdlog::info("kis: token {} for key '{}', expires {} KST",
                   adopted ? "read from another instance" : "issued", options.key_name,
                   common::FormatKstDateTime(token->expires_at));
      f->result = *token;
    } else {
      auto& failure = std::get<Classification>(outcome);
      (failure.action == Action::kTokenThrottled ? counters.throttled : counters.failures)++;
      spdlog::warn("kis: token request for key '{}' failed: {} {}", options.key_name, failure.code,
                   failure.message);
      if (NeverSent(failure)) {
        not_before = started + duration_cast<common::Duration>(std::min(
                                   options.unsent_retry_after, options.min_issue_interval));
      }
      f->result = failure;
    }
    if (flight == f) flight.reset();
    for (auto* waiter : f->waiters) waiter->cancel();
  }

  asio::awaitable<std::variant<Token, Classification>> Get(common::SteadyTime deadline) {
    auto self = shared_from_this();
    for (;;) {
      if (current && Usable(*current, options.refresh_ahead)) co_return *current;
      const bool still_valid = current && Usable(*current, Margin());
      // Someone is issuing: wait for that one call instead of making another.
      std::shared_ptr<Flight> joined = flight;
      if (!joined) {
        const auto now = clock.Now();
        if (not_before && now < *not_before) {
          if (still_valid) co_return *current;  // refresh later; the token still works
          if (*not_before > deadline) {
            counters.throttled++;
            co_return Throttled(fmt::format(
                "no valid token for key '{}' and KIS allows the next token request only in {} s",
                options.key_name,
                duration_cast<std::chrono::seconds>(*not_before - now).count() + 1));
          }
          common::Timer wait(executor, *not_before);
          boost::system::error_code wait_ec;
          co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
          continue;
        }
        joined = StartIssuance(now);
      }
      if (!joined->result) {
        // Up to this caller's own deadline (the issuance keeps its own).
        common::Timer wake(executor, deadline);
        joined->waiters.push_back(&wake);
        boost::system::error_code wake_ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, wake_ec));
        std::erase(joined->waiters, &wake);
      }
      if (joined->result) {
        if (std::holds_alternative<Token>(*joined->result)) co_return *joined->result;
        if (current && Usable(*current, Margin())) co_return *current;
        co_return *joined->result;
      }
      // A refresh still running when this caller's time is up: the token held still works.
      if (current && Usable(*current, Margin())) co_return *current;
      if (clock.Now() >= deadline) {
        co_return Classification::Own(common::Errc::kTokenTimeout, Action::kRetryWithBackoff,
                                      "no token before the call's deadline");
      }
    }
  }
};

TokenManager::TokenManager(asio::any_io_executor executor, TokenManagerOptions options,
                           const common::Clock& clock, IssueFn issue)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), clock,
                                   std::move(issue))) {
  impl_->Load();
}

TokenManager::~TokenManager() = default;

asio::awaitable<std::variant<Token, Classification>> TokenManager::Get(
    common::SteadyTime deadline) {
  auto impl = impl_;
  co_return co_await impl->Get(deadline);
}

void TokenManager::SetShare(TokenShare* share) { impl_->share = share; }

void TokenManager::Invalidate(const std::string& token) {
  if (impl_->current && impl_->current->value == token) {
    impl_->current.reset();
    impl_->counters.invalidations++;
    impl_->invalidated = token;
    if (impl_->share != nullptr) impl_->share->Withdraw(token);
  }
}

common::SteadyTime TokenManager::AvailableAt() const {
  const auto now = impl_->clock.Now();
  if (impl_->current && impl_->Usable(*impl_->current, impl_->Margin())) return now;
  if (impl_->flight) return now;  // a token is on its way
  if (impl_->not_before && *impl_->not_before > now) return *impl_->not_before;
  return now;
}

TokenCounters TokenManager::Counters() const { return impl_->counters; }
std::optional<Token> TokenManager::Current() const { return impl_->current; }
std::filesystem::path TokenManager::StorePath() const { return impl_->Path(); }

}  // namespace kisgate::kis
