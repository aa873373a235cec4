#pragma once
// A Redis client on one TCP connection, for the coordination of several kisgate instances (issue
// 13). Commands are formatted by hiredis (redisFormatCommandArgv) and replies parsed by its
// redisReader: the RESP code is hiredis's, the socket and the coroutines are Asio's. The glue is
// written here because no Debian 12 library does it: hiredis ships no Asio adapter, and Boost.Redis
// came with Boost 1.84 (Debian 12 has 1.81).
//
// RedisClient owns one connection, opened on demand (AUTH with the password, SELECT the URL's db)
// and opened again after an error, not sooner than a backoff that doubles up to a cap. Several
// coroutines may have commands outstanding at once: they are pipelined on the connection and the
// replies matched to them in FIFO order. Every command has a deadline (the `timeout` knob,
// coordination.timeout): when it passes, the command fails with Errc::kTimeout and the connection
// is reset, failing every command on it, so a late reply is never taken for another command's.
// A server error reply (-ERR ...) is a Reply of kind kError, not a failure of the command.
//
// Thread-safety: one executor (the caller's single-threaded io_context); not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "common/error.hpp"

namespace kisgate::coord {

// One reply of the server (RESP2).
struct Reply {
  enum class Kind { kNil, kInteger, kString, kStatus, kError, kArray };
  Kind kind = Kind::kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus ("OK"), kError ("ERR unknown command ...")
  std::vector<Reply> elements;

  bool IsNil() const { return kind == Kind::kNil; }
  bool IsError() const { return kind == Kind::kError; }
  bool IsStatus(std::string_view status) const { return kind == Kind::kStatus && str == status; }
};

// For messages and test failures: `nil`, `(integer) 3`, `"abc"`, `OK`, `(error) ERR ...`, `[...]`.
std::string Describe(const Reply& reply);

// Where the server is: `redis://[[user]:password@]host[:port][/db]`.
struct RedisUrl {
  std::string host;
  std::uint16_t port = 6379;
  int db = 0;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;  // from the URL's userinfo; empty: no AUTH
};

// Parses a redis:// URL (Boost.URL). The error names the URL with its password masked.
boost::system::result<RedisUrl, std::string> ParseRedisUrl(std::string_view url);

// The URL with its password (if any) replaced by "***", for messages.
std::string MaskRedisUrl(std::string_view url);

// A Lua script run with EVALSHA; its SHA-1 is computed here, so the first call needs no SCRIPT
// LOAD unless the server does not know the script yet.
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

struct RedisClientOptions {
  RedisUrl url;
  std::chrono::milliseconds timeout{50};  // per command, connecting included
  // After a failed connection or command, the next connection waits this long, doubled after each
  // further failure up to backoff_max; commands in that time fail at once (kConnectRefused).
  std::chrono::milliseconds backoff_min{10};
  std::chrono::milliseconds backoff_max{500};
};

struct RedisClientStats {
  std::uint64_t commands = 0;     // commands sent or attempted
  std::uint64_t replies = 0;      // commands answered (a server error reply included)
  std::uint64_t failures = 0;     // commands that failed (timeouts included)
  std::uint64_t timeouts = 0;     // commands whose deadline passed
  std::uint64_t connections = 0;  // connections opened (the first included)
};

class RedisClient {
 public:
  RedisClient(boost::asio::any_io_executor executor, RedisClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends `args` (the command and its arguments) and waits for its reply, at most `timeout`.
  // Failures: kTimeout, kConnectRefused (also while backing off), kResolve, kConnectTimeout,
  // kClosedWithoutResponse (the connection ended), kProtocol (unparsable reply).
  boost::asio::awaitable<common::Result<Reply>> Command(std::vector<std::string> args);

  // EVALSHA of `script` with `keys` and `args`; on NOSCRIPT, SCRIPT LOAD and EVALSHA once more.
  boost::asio::awaitable<common::Result<Reply>> EvalSha(const Script& script,
                                                        std::vector<std::string> keys,
                                                        std::vector<std::string> args);

  // Ends the connection: commands outstanding fail with kClosedWithoutResponse. A later command
  // connects again.
  void Close();

  // Why the last failure happened, in words (the server's AUTH error, the socket error, ...).
  const std::string& last_error() const { return last_error_; }
  const RedisClientStats& stats() const { return stats_; }
  const RedisClientOptions& options() const { return options_; }

 private:
  struct Pending;
  struct Connection;

  std::shared_ptr<Connection> Open();
  boost::asio::awaitable<void> Run(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> Write(std::shared_ptr<Connection> conn);
  void StartWriting(const std::shared_ptr<Connection>& conn);
  void Fail(const std::shared_ptr<Connection>& conn, common::Errc errc, std::string why,
            bool back_off = true);
  static void Enqueue(Connection& conn, const std::vector<std::string>& args,
                      std::shared_ptr<Pending> pending);

  boost::asio::any_io_executor executor_;
  RedisClientOptions options_;
  std::shared_ptr<Connection> conn_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
  RedisClientStats stats_;
};

}  // namespace kisgate::coord
