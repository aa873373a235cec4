// paced_get: an open-loop HTTP/1.1 load generator for bench/api_bench.sh. Debian's wrk 4.1 has no
// constant-rate mode (wrk2's -R), so this sends GET requests on a fixed schedule (request i is due
// at start + i / rate) over N keep-alive connections from one thread, and measures each request's
// latency from the moment it was due, not from the moment it was written: a request that waits
// for a free connection counts that wait (no coordinated omission). It also reports the latency
// from the write (the server's view) for comparison.
//
//   paced_get --url http://127.0.0.1:8080/path --rate 10000 --duration 10 [--connections 32]
//             [--warmup 1]
//
// Prints one line of key=value pairs (times in ms). Only IPv4 literal hosts; only responses with
// Content-Length (both servers measured send it).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Ns = std::int64_t;

Ns NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Ns>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "paced_get: %s\n", what.c_str());
  std::exit(2);
}

struct Conn {
  int fd = -1;
  bool busy = false;
  Ns due = 0;      // when the request in flight was scheduled
  Ns written = 0;  // when it was written
  std::string in;  // bytes received and not yet consumed
};

struct Sample {
  Ns from_due;
  Ns from_write;
};

int Connect(const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket: " + std::string(std::strerror(errno)));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    Die("connect: " + std::string(std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// The length of one complete response at the front of `in` and its status, or 0 if incomplete.
std::size_t CompleteResponse(const std::string& in, int& status) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  if (in.size() < 12 || in.compare(0, 5, "HTTP/") != 0) Die("malformed response");
  status = std::atoi(in.c_str() + 9);
  std::size_t length = std::string::npos;
  std::size_t pos = in.find("\r\n");
  while (pos < end) {
    const std::size_t next = in.find("\r\n", pos + 2);
    std::string_view line(in.data() + pos + 2, next - pos - 2);
    constexpr std::string_view kName = "content-length:";
    if (line.size() > kName.size() &&
        std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      length = std::strtoull(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
    }
    pos = next;
  }
  if (length == std::string::npos) Die("response without Content-Length");
  const std::size_t total = end + 4 + length;
  return in.size() >= total ? total : 0;
}

double Quantile(std::vector<Ns>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  double rate = 0, duration = 10, warmup = 1;
  int connections = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--url")
      url = argv[i + 1];
    else if (a == "--rate")
      rate = std::atof(argv[i + 1]);
    else if (a == "--duration")
      duration = std::atof(argv[i + 1]);
    else if (a == "--connections")
      connections = std::atoi(argv[i + 1]);
    else if (a == "--warmup")
      warmup = std::atof(argv[i + 1]);
    else
      Die("unknown option " + std::string(a));
  }
  if (url.rfind("http://", 0) != 0 || rate <= 0 || connections <= 0) {
    Die("usage: paced_get --url http://IP:PORT/PATH --rate R [--duration S] [--connections N] "
        "[--warmup S]");
  }
  const std::string rest = url.substr(7);
  const auto slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = hostport.find(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(hostport.c_str() + colon + 1)));
  if (colon == std::string::npos ||
      inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    Die("the URL needs an IPv4 address and a port");
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\n\r\n";

  const int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<std::size_t>(connections));
  std::vector<std::size_t> idle;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(addr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    idle.push_back(i);
  }

  const Ns interval = static_cast<Ns>(1e9 / rate);
  const Ns start = NowNs() + 1'000'000;
  const Ns measure_from = start + static_cast<Ns>(warmup * 1e9);
  const Ns stop = start + static_cast<Ns>((warmup + duration) * 1e9);
  std::uint64_t next = 0, sent = 0, done = 0, non2xx = 0, errors = 0;
  std::size_t max_backlog = 0;
  Ns last_any = 0;
  std::vector<Sample> samples;
  samples.reserve(static_cast<std::size_t>(rate * duration * 1.1) + 16);
  std::vector<epoll_event> events(static_cast<std::size_t>(connections));
  char buf[65536];

  for (;;) {
    Ns now = NowNs();
    // Send every request that is due, while a connection is free.
    while (start + static_cast<Ns>(next) * interval <= now &&
           start + static_cast<Ns>(next) * interval < stop && !idle.empty()) {
      Conn& c = conns[idle.back()];
      idle.pop_back();
      c.busy = true;
      c.due = start + static_cast<Ns>(next) * interval;
      c.written = now;
      if (send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
        Die("send: " + std::string(std::strerror(errno)));
      }
      ++next;
      ++sent;
    }
    const Ns due_next = start + static_cast<Ns>(next) * interval;
    if (due_next <= now && due_next < stop) {
      max_backlog = std::max<std::size_t>(
          max_backlog, static_cast<std::size_t>((now - due_next) / interval) + 1);
    }
    if (due_next >= stop && done + errors == sent) break;
    if (now > stop + 5'000'000'000LL) break;  // give up on replies 5 s after the end

    // Wait for replies, or until the next request is due.
    timespec timeout{0, 0};
    timespec* tp = nullptr;
    if (due_next < stop && !idle.empty()) {
      const Ns wait = std::max<Ns>(0, due_next - now);
      timeout.tv_sec = wait / 1'000'000'000;
      timeout.tv_nsec = wait % 1'000'000'000;
      tp = &timeout;
    } else {
      timeout.tv_nsec = 100'000'000;
      tp = &timeout;
    }
    const int n = epoll_pwait2(ep, events.data(), static_cast<int>(events.size()), tp, nullptr);
    if (n < 0 && errno != EINTR) Die("epoll_pwait2: " + std::string(std::strerror(errno)));
    for (int e = 0; e < n; ++e) {
      const std::size_t i = events[static_cast<std::size_t>(e)].data.u64;
      Conn& c = conns[i];
      const ssize_t got = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        // The server closed the connection: count the request in flight as an error, reconnect.
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        if (c.busy) ++errors;
        c = Conn{};
        c.fd = Connect(addr);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        idle.push_back(i);
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(got));
      int status = 0;
      if (const std::size_t len = CompleteResponse(c.in, status); len > 0 && c.busy) {
        const Ns t = NowNs();
        c.in.erase(0, len);
        ++done;
        last_any = t;
        if (status < 200 || status > 299) ++non2xx;
        if (c.due >= measure_from) samples.push_back({t - c.due, t - c.written});
        c.busy = false;
        idle.push_back(i);
      }
    }
  }

  std::vector<Ns> from_due, from_write;
  for (const auto& s : samples) {
    from_due.push_back(s.from_due);
    from_write.push_back(s.from_write);
  }
  // Replies per second over the whole run (warm-up included), up to the last reply: when the server
  // cannot keep up, replies go on after the schedule ends and this falls below the target.
  const double elapsed = std::max(warmup + duration, static_cast<double>(last_any - start) / 1e9);
  const double achieved = static_cast<double>(done) / elapsed;
  // Requests that were due before the end but never sent (the server was too slow to drain them).
  const auto due_total = static_cast<std::uint64_t>((stop - start + interval - 1) / interval);
  const unsigned long long unsent = due_total > sent ? due_total - sent : 0;
  std::printf(
      "target_rate=%.0f achieved_rate=%.0f measured=%zu sent=%llu unsent=%llu errors=%llu "
      "non2xx=%llu "
      "max_backlog=%zu p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f write_p50=%.3f "
      "write_p99=%.3f\n",
      rate, achieved, samples.size(), static_cast<unsigned long long>(sent), unsent,
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(non2xx), max_backlog,
      Quantile(from_due, 0.5), Quantile(from_due, 0.9), Quantile(from_due, 0.99),
      Quantile(from_due, 0.999), Quantile(from_due, 1.0), Quantile(from_write, 0.5),
      Quantile(from_write, 0.99));
  return errors == 0 && non2xx == 0 ? 0 : 1;
}
