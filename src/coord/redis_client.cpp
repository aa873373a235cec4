#include "coord/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <deque>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>

#include "common/spawn.hpp"
#include "common/timer.hpp"

namespace kisgate::coord {

namespace asio = boost::asio;
using asio::ip::tcp;
using common::Errc;

namespace {

Reply Convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_NIL:
      out.kind = Reply::Kind::kNil;
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = Reply::Kind::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STATUS:
      out.kind = Reply::Kind::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = Reply::Kind::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = Reply::Kind::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:  // REDIS_REPLY_STRING (hiredis 0.14 reads RESP2 only)
      out.kind = Reply::Kind::kString;
      if (r.str != nullptr) out.str.assign(r.str, r.len);
      break;
  }
  return out;
}

std::string Sha1Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

std::string Describe(const Reply& reply) {
  switch (reply.kind) {
    case Reply::Kind::kNil:
      return "nil";
    case Reply::Kind::kInteger:
      return fmt::format("(integer) {}", reply.integer);
    case Reply::Kind::kString:
      return fmt::format("\"{}\"", reply.str);
    case Reply::Kind::kStatus:
      return reply.str;
    case Reply::Kind::kError:
      return fmt::format("(error) {}", reply.str);
    case Reply::Kind::kArray: {
      std::string out = "[";
      for (const Reply& e : reply.elements) {
        if (out.size() > 1) out += ", ";
        out += Describe(e);
      }
      return out + "]";
    }
  }
  return "?";
}

std::string MaskRedisUrl(std::string_view url) {
  // Masks the userinfo's password by position, so that even a URL Boost.URL rejects is shown
  // without it.
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < scheme_end) return std::string(url);
  const auto colon = url.find(':', scheme_end + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

boost::system::result<RedisUrl, std::string> ParseRedisUrl(std::string_view url) {
  auto fail = [&](std::string_view why) {
    return boost::system::result<RedisUrl, std::string>(
        boost::system::in_place_error,
        fmt::format(
            "'{}' is not a usable Redis URL: {} (expected redis://[:password@]host:port[/db])",
            MaskRedisUrl(url), why));
  };
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fail(parsed.error().message());
  const boost::urls::url_view& u = *parsed;
  if (u.scheme() != "redis") return fail("the scheme is not redis://");
  RedisUrl out;
  out.host = u.encoded_host().decode();
  if (out.host.empty()) return fail("no host");
  if (u.host_type() == boost::urls::host_type::ipv6) out.host = u.host_ipv6_address().to_string();
  if (u.has_port()) {
    const std::string_view port = u.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return fail("the port is not a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(value);
  }
  std::string_view path = u.encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), out.db);
    if (ec != std::errc{} || end != path.data() + path.size() || out.db < 0)
      return fail("the path is not a database number");
  }
  if (u.has_query() || u.has_fragment()) return fail("query and fragment are not supported");
  if (u.has_userinfo()) {
    out.user = u.encoded_user().decode();
    if (u.has_password()) out.password = u.encoded_password().decode();
  }
  return out;
}

Script::Script(std::string source) : source_(std::move(source)), sha_(Sha1Hex(source_)) {}

struct RedisClient::Pending {
  explicit Pending(const asio::any_io_executor& executor) : timer(executor) {}
  std::optional<common::Result<Reply>> result;
  common::Timer timer;  // the waiter's deadline; cancelled when the result is in
  // AUTH or SELECT sent while connecting: nobody waits, and an error reply fails the connection.
  std::string internal;
};

struct RedisClient::Connection {
  explicit Connection(const asio::any_io_executor& executor)
      : socket(executor), resolver(executor), reader(redisReaderCreate()) {}
  ~Connection() {
    if (reader != nullptr) redisReaderFree(reader);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  tcp::socket socket;
  tcp::resolver resolver;
  redisReader* reader;
  std::deque<std::shared_ptr<Pending>> pending;  // sent or queued, in order
  std::string out;                               // formatted commands not yet written
  bool open = false;                             // connected: commands may be written
  bool writing = false;
  // Failed or closed: its coroutines return as soon as they wake, without touching the client
  // (which may be gone by then).
  bool failed = false;
};

RedisClient::RedisClient(asio::any_io_executor executor, RedisClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

RedisClient::~RedisClient() {
  try {
    Close();
  } catch (...) {  // a destructor does not throw (Close allocates only its message)
  }
}

void RedisClient::Close() {
  if (conn_) Fail(conn_, Errc::kClosedWithoutResponse, "closed", /*back_off=*/false);
}

void RedisClient::Enqueue(Connection& conn, const std::vector<std::string>& args,
                          std::shared_ptr<Pending> pending) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* formatted = nullptr;
  const int size =
      redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (size < 0 || formatted == nullptr) {
    pending->result = Errc::kProtocol;
    return;
  }
  conn.out.append(formatted, static_cast<std::size_t>(size));
  redisFreeCommand(formatted);
  conn.pending.push_back(std::move(pending));
}

std::shared_ptr<RedisClient::Connection> RedisClient::Open() {
  auto conn = std::make_shared<Connection>(executor_);
  if (conn->reader == nullptr) throw std::bad_alloc();
  stats_.connections++;
  if (!options_.url.password.empty()) {
    auto auth = std::make_shared<Pending>(executor_);
    auth->internal = "AUTH";
    std::vector<std::string> args{"AUTH"};
    if (!options_.url.user.empty()) args.push_back(options_.url.user);
    args.push_back(options_.url.password);
    Enqueue(*conn, args, std::move(auth));
  }
  if (options_.url.db != 0) {
    auto select = std::make_shared<Pending>(executor_);
    select->internal = "SELECT";
    Enqueue(*conn, {"SELECT", std::to_string(options_.url.db)}, std::move(select));
  }
  asio::co_spawn(executor_, Run(conn), common::LogExceptions{"redis connection"});
  return conn;
}

void RedisClient::Fail(const std::shared_ptr<Connection>& conn, Errc errc, std::string why,
                       bool back_off) {
  if (conn->failed) return;
  conn->failed = true;
  conn->open = false;
  boost::system::error_code ignored;
  conn->socket.close(ignored);
  conn->resolver.cancel();
  auto pending = std::move(conn->pending);
  conn->pending.clear();
  for (const auto& p : pending) {
    if (p->result) continue;
    p->result = errc;
    p->timer.cancel();
  }
  if (conn_ == conn) conn_.reset();
  if (back_off) {
    last_error_ = std::move(why);
    backoff_ =
        backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
    retry_at_ = common::TimerClock::now() + backoff_;
  }
}

void RedisClient::StartWriting(const std::shared_ptr<Connection>& conn) {
  if (!conn->open || conn->writing || conn->out.empty()) return;
  conn->writing = true;
  asio::co_spawn(executor_, Write(conn), common::LogExceptions{"redis write"});
}

asio::awaitable<void> RedisClient::Write(std::shared_ptr<Connection> conn) {
  std::string chunk;
  while (!conn->out.empty()) {
    chunk.clear();
    std::swap(chunk, conn->out);
    boost::system::error_code ec;
    co_await asio::async_write(conn->socket, asio::buffer(chunk),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (conn->failed) co_return;
    if (ec) {
      Fail(conn, Errc::kClosedWithoutResponse, fmt::format("write: {}", ec.message()));
      co_return;
    }
  }
  conn->writing = false;
}

asio::awaitable<void> RedisClient::Run(std::shared_ptr<Connection> conn) {
  if (conn->failed) co_return;
  boost::system::error_code ec;
  const std::string host = options_.url.host;
  const std::string port = std::to_string(options_.url.port);
  auto endpoints = co_await conn->resolver.async_resolve(
      host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (conn->failed) co_return;
  if (ec) {
    Fail(conn, Errc::kResolve, fmt::format("resolve {}: {}", host, ec.message()));
    co_return;
  }
  co_await asio::async_connect(conn->socket, endpoints,
                               asio::redirect_error(asio::use_awaitable, ec));
  if (conn->failed) co_return;
  if (ec) {
    Fail(conn, Errc::kConnectRefused, fmt::format("connect {}:{}: {}", host, port, ec.message()));
    co_return;
  }
  conn->socket.set_option(tcp::no_delay(true), ec);
  conn->open = true;
  StartWriting(conn);

  std::array<char, 16 * 1024> buffer{};
  for (;;) {
    const std::size_t n = co_await conn->socket.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (conn->failed) co_return;
    if (ec) {
      Fail(conn, Errc::kClosedWithoutResponse, fmt::format("read: {}", ec.message()));
      co_return;
    }
    if (redisReaderFeed(conn->reader, buffer.data(), n) != REDIS_OK) {
      Fail(conn, Errc::kProtocol, fmt::format("reply: {}", conn->reader->errstr));
      co_return;
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(conn->reader, &raw) != REDIS_OK) {
        Fail(conn, Errc::kProtocol, fmt::format("reply: {}", conn->reader->errstr));
        co_return;
      }
      if (raw == nullptr) break;
      Reply reply = Convert(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (conn->pending.empty()) {
        Fail(conn, Errc::kProtocol, "a reply to no command");
        co_return;
      }
      const std::shared_ptr<Pending> p = std::move(conn->pending.front());
      conn->pending.pop_front();
      if (!p->internal.empty()) {
        if (reply.IsError()) {
          Fail(conn, Errc::kConnectRefused, fmt::format("{}: {}", p->internal, reply.str));
          co_return;
        }
        continue;
      }
      backoff_ = {};
      p->result = std::move(reply);
      p->timer.cancel();
    }
  }
}

asio::awaitable<common::Result<Reply>> RedisClient::Command(std::vector<std::string> args) {
  stats_.commands++;
  const auto deadline = common::TimerClock::now() + options_.timeout;
  if (!conn_) {
    if (common::TimerClock::now() < retry_at_) {
      stats_.failures++;
      co_return Errc::kConnectRefused;
    }
    conn_ = Open();
  }
  const std::shared_ptr<Connection> conn = conn_;
  auto pending = std::make_shared<Pending>(executor_);
  Enqueue(*conn, args, pending);
  StartWriting(conn);
  if (!pending->result) {
    pending->timer.expires_at(deadline);
    boost::system::error_code ec;
    co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!pending->result) {
    // The deadline passed. The connection goes with it: a reply that comes later would be
    // matched to the next command otherwise.
    stats_.timeouts++;
    Fail(conn, Errc::kTimeout, fmt::format("no reply within {} ms", options_.timeout.count()));
  }
  common::Result<Reply> result = std::move(*pending->result);
  (result ? stats_.replies : stats_.failures)++;
  co_return result;
}

asio::awaitable<common::Result<Reply>> RedisClient::EvalSha(const Script& script,
                                                            std::vector<std::string> keys,
                                                            std::vector<std::string> args) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.emplace_back("EVALSHA");
  command.push_back(script.sha());
  command.push_back(std::to_string(keys.size()));
  for (std::string& k : keys) command.push_back(std::move(k));
  for (std::string& a : args) command.push_back(std::move(a));
  auto first = Command(command);
  common::Result<Reply> reply = co_await std::move(first);
  if (!reply || !reply->IsError() || !reply->str.starts_with("NOSCRIPT")) co_return reply;
  auto load = Command({"SCRIPT", "LOAD", script.source()});
  common::Result<Reply> loaded = co_await std::move(load);
  if (!loaded || loaded->IsError()) co_return loaded;
  auto again = Command(std::move(command));
  co_return co_await std::move(again);
}

}  // namespace kisgate::coord
