#pragma once
// A throwaway redis-server for tests: Debian's binary, started on a free loopback port with its
// data directory in a temporary directory, no persistence. Tests can pause it (SIGSTOP: it keeps
// the port and accepts connections but answers nothing), stop it and start it again on the same
// port. The binary missing is a failure (scripts/bootstrap.sh installs redis-server), not a skip.
//
// Thread-safety: one thread (the test's).

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "support/test_client.hpp"

namespace kisgate::testing {

class RedisServer {
 public:
  // Starts the server; `password` non-empty: requirepass. Throws std::runtime_error when it does
  // not start or answer within a few seconds.
  explicit RedisServer(std::string password = "");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "redis://127.0.0.1:<port>" (+ "/<db>" when db is not 0); no password in it.
  std::string Url(int db = 0) const;

  void Pause();   // SIGSTOP
  void Resume();  // SIGCONT
  void Stop();    // SIGTERM and wait; its data is gone
  void Start();   // again, on the same port (after Stop)
  bool running() const { return pid_ > 0; }
  bool paused() const { return paused_; }

 private:
  TempDir dir_;
  std::string password_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace kisgate::testing
