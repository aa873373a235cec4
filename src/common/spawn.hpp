#pragma once
// The spawn boundary (STYLE.md "Errors"): a coroutine started with co_spawn ends here. An exception
// that escapes it is logged, naming the task, and counted; it never vanishes into
// a detached completion token, and the process keeps running.
//
// Thread-safety: the counter is atomic; the handler may run on any thread.

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace kisgate::common {

// Exceptions that reached a spawn boundary since the process started (for /metrics and tests).
std::uint64_t SpawnExceptions();

// The completion handler for co_spawn of an awaitable<void>: `asio::co_spawn(io, Task(),
// common::LogExceptions{"job 'price'"})`.
struct LogExceptions {
  std::string task;
  void operator()(const std::exception_ptr& e) const;
};

// Logs and counts `e` (non-null) for `task`; returns its what() for callers that report it.
std::string NoteException(std::string_view task, const std::exception_ptr& e);

}  // namespace kisgate::common
