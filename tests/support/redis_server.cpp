#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace kisgate::testing {

namespace {

// A port the kernel considers free right now (bind to port 0, read it, close).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(fd, sa, sizeof(addr)) != 0 || ::getsockname(fd, sa, &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() to a free port failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when a TCP connection to 127.0.0.1:port is accepted and PING answers +PONG (or -NOAUTH).
bool Answers(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (ok) {
    const std::string ping = "PING\r\n";
    ok = ::write(fd, ping.data(), ping.size()) == static_cast<ssize_t>(ping.size());
    std::array<char, 64> reply{};
    ok = ok && ::read(fd, reply.data(), reply.size()) > 0 && (reply[0] == '+' || reply[0] == '-');
  }
  ::close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer(std::string password) : password_(std::move(password)) {
  port_ = FreePort();
  Start();
}

RedisServer::~RedisServer() {
  try {
    Stop();
  } catch (...) {  // a destructor does not throw
  }
}

std::string RedisServer::Url(int db) const {
  return db == 0 ? fmt::format("redis://127.0.0.1:{}", port_)
                 : fmt::format("redis://127.0.0.1:{}/{}", port_, db);
}

void RedisServer::Start() {
  if (pid_ > 0) return;
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_.path(),
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--loglevel",
                                   "warning",
                                   "--logfile",
                                   dir_.path() + "/redis.log"};
  if (!password_.empty()) {
    args.emplace_back("--requirepass");
    args.push_back(password_);
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("redis-server not found: run scripts/bootstrap.sh");
  pid_ = pid;
  paused_ = false;
  for (int i = 0; i < 500; ++i) {
    if (Answers(port_)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(
          fmt::format("redis-server exited at start (see {}/redis.log)", dir_.path()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop();
  throw std::runtime_error(fmt::format("redis-server did not answer on port {}", port_));
}

void RedisServer::Pause() {
  if (pid_ > 0 && !paused_) {
    ::kill(pid_, SIGSTOP);
    paused_ = true;
  }
}

void RedisServer::Resume() {
  if (pid_ > 0 && paused_) {
    ::kill(pid_, SIGCONT);
    paused_ = false;
  }
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  Resume();
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace kisgate::testing
