#pragma once
// A small blocking HTTP/1.1 client for tests: one keep-alive connection, plain or TLS (certificate
// checks off: tests use a throw-away self-signed certificate). Not for production use; the real
// client lives in src/http.

#include <memory>
#include <optional>
#include <string>

#include "http/message.hpp"

namespace kisgate::testing {

struct TestResponse {
  int status = 0;
  http::Headers headers;
  std::string body;
  std::optional<std::string_view> Header(std::string_view name) const;
};

class TestClient {
 public:
  // base_url: "http://127.0.0.1:PORT" or "https://...".
  explicit TestClient(std::string base_url);
  ~TestClient();

  // nullopt when the connection failed or was closed without a response; error() says which.
  std::optional<TestResponse> Get(const std::string& target, const http::Headers& headers = {});
  std::optional<TestResponse> Post(const std::string& target, const std::string& body,
                                   const http::Headers& headers = {});
  std::optional<TestResponse> Send(const std::string& method, const std::string& target,
                                   const std::string& body, const http::Headers& headers);
  // Sends raw bytes on a fresh connection and returns whatever comes back before the peer closes
  // (or the timeout); for malformed-request tests.
  std::string SendRaw(const std::string& bytes, int timeout_ms = 2000);
  const std::string& error() const { return error_; }
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

// Writes a self-signed certificate and key for 127.0.0.1 into `dir` (cert.pem, key.pem).
void WriteSelfSignedCert(const std::string& dir);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kisgate::testing
