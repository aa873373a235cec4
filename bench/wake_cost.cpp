// The CPU a process pays on this machine for what the collection path cannot avoid per KIS call,
// measured outside kisgate: a sleep on a timer and the wake-up after it (how Asio's reactor waits:
// timerfd + epoll), a hand-over between two threads, and starting the kisgate binary. With them,
// the floor of `collect --once`'s CPU per 1,000 calls (bench/results/collect_profile.md): the gate
// paces calls, so the loop sleeps until each call's admission and again until its reply.
//
//   build/bench/wake_cost [PATH_TO_KISGATE] [CALLS]      (defaults: build/kisgate, 213 calls)
//
// Written by hand: it measures system calls and the scheduler, which no benchmark library here
// isolates (Google Benchmark's timers are per thread and hide the wake-up's cost to the process).
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU microseconds per sleep-and-wake on a timerfd watched by epoll, sleeping `interval` each time.
double TimerWakeMicros(std::chrono::microseconds interval, int rounds) {
  const int epoll = epoll_create1(0);
  const int timer = timerfd_create(CLOCK_MONOTONIC, 0);
  epoll_event watch{};
  watch.events = EPOLLIN;
  epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &watch);
  const double start = ProcessCpuSeconds();
  for (int i = 0; i < rounds; ++i) {
    itimerspec when{};
    when.it_value.tv_sec = interval.count() / 1000000;
    when.it_value.tv_nsec = (interval.count() % 1000000) * 1000;
    timerfd_settime(timer, 0, &when, nullptr);
    std::array<epoll_event, 4> events{};
    while (epoll_wait(epoll, events.data(), events.size(), -1) < 0 && errno == EINTR) {
    }
    std::uint64_t expirations = 0;
    if (read(timer, &expirations, sizeof expirations) < 0) std::perror("read");
  }
  const double micros = (ProcessCpuSeconds() - start) / rounds * 1e6;
  close(timer);
  close(epoll);
  return micros;
}

// CPU microseconds (both threads) per one-way hand-over between two threads through pipes.
double HandOverMicros(int rounds) {
  std::array<int, 2> there{};
  std::array<int, 2> back{};
  if (pipe(there.data()) != 0 || pipe(back.data()) != 0) std::perror("pipe");
  std::thread peer([&] {
    char c = 0;
    for (int i = 0; i < rounds; ++i) {
      if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1) break;
    }
  });
  const double start = ProcessCpuSeconds();
  char c = 'x';
  for (int i = 0; i < rounds; ++i) {
    if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1) break;
  }
  peer.join();
  const double micros = (ProcessCpuSeconds() - start) / (2.0 * rounds) * 1e6;
  for (int fd : {there[0], there[1], back[0], back[1]}) close(fd);
  return micros;
}

// CPU milliseconds (user + system, wait4) of `kisgate version`: exec and dynamic loading.
double StartMillis(const std::string& kisgate) {
  const pid_t child = fork();
  if (child == 0) {
    std::freopen("/dev/null", "w", stdout);
    execl(kisgate.c_str(), kisgate.c_str(), "version", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(child, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "wake_cost: '%s version' failed\n", kisgate.c_str());
    std::exit(1);
  }
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return (seconds(usage.ru_utime) + seconds(usage.ru_stime)) * 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string kisgate = argc > 1 ? argv[1] : "build/kisgate";
  const int calls = argc > 2 ? std::atoi(argv[2]) : 213;
  if (calls <= 0) {
    std::fprintf(stderr, "usage: wake_cost [PATH_TO_KISGATE] [CALLS > 0]\n");
    return 2;
  }
  std::vector<double> wake_2ms, wake_55ms, hand_over, start;
  const bool progress = isatty(STDERR_FILENO) != 0;
  for (int run = 0; run < 5; ++run) {
    if (progress) std::fprintf(stderr, "\rrun %d of 5", run + 1);
    wake_2ms.push_back(TimerWakeMicros(std::chrono::microseconds(2000), 200));
    wake_55ms.push_back(TimerWakeMicros(std::chrono::microseconds(55000), 10));
    hand_over.push_back(HandOverMicros(5000));
    start.push_back(StartMillis(kisgate));
  }
  if (progress) std::fprintf(stderr, "\r           \r");
  const double wake = std::min(Median(wake_2ms), Median(wake_55ms));
  const double floor_ms = Median(start) + calls * 2 * wake / 1e3;
  std::printf("| what (median of 5 runs) | CPU of the process |\n|---|---:|\n");
  std::printf("| a timer sleep and its wake-up, 2 ms sleeps (200 per run) | %.1f us |\n",
              Median(wake_2ms));
  std::printf("| the same, 55 ms sleeps (the gate's pace at 18/s; 10 per run) | %.1f us |\n",
              Median(wake_55ms));
  std::printf("| a hand-over between two threads (pipe, one way) | %.1f us |\n", Median(hand_over));
  std::printf("| `kisgate version` (exec, dynamic loading, exit) | %.2f ms |\n", Median(start));
  std::printf(
      "\nFloor for %d calls, each with 2 wake-ups (its admission, its reply) and nothing else:\n"
      "%.2f ms start + %d x 2 x %.1f us = %.1f ms, %.3f CPU-s per 1,000 calls.\n",
      calls, Median(start), calls, wake, floor_ms, floor_ms / calls);
  return 0;
}
