#pragma once
// An HTTP/1.1 client for one upstream (scheme, host, port): a keep-alive connection pool whose size
// the caller sets (the gate sets it to the key's in-flight cap), HTTPS with certificate checks,
// a deadline on every request covering connect, write and read, and a bound on reply size.
//
// A request that fails on a reused connection before it was completely written is retried once on
// a fresh connection (it never reached the server). A failure after the request was written is
// reported with `maybe_delivered` set: the server may have counted it, so the caller decides.
//
// Thread-safety: one executor (strand or single-threaded io_context); call from it only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/error.hpp"
#include "http/message.hpp"

namespace kisgate::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::size_t max_reply_bytes = 8 * 1024 * 1024;
  std::size_t max_connections = 5;                 // open connections to the upstream at most
  std::chrono::milliseconds idle_timeout{30'000};  // close a pooled connection idle this long
  bool verify_tls = true;
  std::string ca_file;  // extra CA bundle (PEM); the system store is always used
};

enum class ClientErrorKind {
  kBadUrl,
  kResolve,
  kConnectRefused,
  kConnectTimeout,
  kTlsHandshake,
  kClosedWithoutResponse,  // the peer closed or reset before a response arrived
  kTimeout,                // the request's deadline passed
  kReplyTooLarge,
  kProtocol,  // unparsable response
};

// kisgate's kind of a transport failure; ToString gives its stable name ("connect_refused").
common::Errc ToErrc(ClientErrorKind kind);
std::string_view ToString(ClientErrorKind kind);

struct ClientError {
  ClientErrorKind kind;
  std::string message;
  bool maybe_delivered = false;  // the request was written; the server may have seen it
};

struct ClientRequest {
  std::string method = "GET";
  std::string target;  // path and query
  Headers headers;
  std::string body;
  std::chrono::steady_clock::time_point deadline;
};

using ClientResult = std::variant<Response, ClientError>;

struct ClientCounters {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t stale_retries = 0;  // reused connection found closed; retried on a fresh one
  std::uint64_t errors = 0;
  std::size_t open = 0;
  std::size_t idle = 0;
};

class HttpClient {
 public:
  // base_url: "https://host:port" or "http://host:port" (no path). Throws std::invalid_argument
  // naming the URL when malformed, or std::runtime_error when the CA file cannot be loaded.
  HttpClient(boost::asio::any_io_executor executor, const std::string& base_url,
             ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::awaitable<ClientResult> Send(ClientRequest request);

  // Changes the pool size; extra connections close as they come back.
  void SetMaxConnections(std::size_t n);
  // Closes idle connections (for shutdown).
  void CloseIdle();
  ClientCounters Counters() const;
  const std::string& host() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kisgate::http
