#pragma once
// The thread a store's blocking reads run on, so that coroutines on the io thread await them
// instead of running them (DESIGN.md: nothing blocks the loop). Jobs run one at a time in the
// order given. AwaitRead is the bridge: the caller resumes on its own executor with the read's
// answer, or with ReadError::kTimeout at its deadline, whether or not the read has ended by then
// (a read whose caller stopped waiting before it began is skipped; one that ends later is
// ignored). The back end bounds each read by the same timeout, so the thread is never held for
// long either.
//
// Thread-safety: Post and Stop may be called from any thread; jobs run on the reader thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/awaitable.hpp>

#include "store/store.hpp"

namespace kisgate::store {

class ReadThread {
 public:
  ReadThread();
  // Stop().
  ~ReadThread();
  ReadThread(const ReadThread&) = delete;
  ReadThread& operator=(const ReadThread&) = delete;

  // Queues a job; after Stop jobs are dropped (their callers time out).
  void Post(std::function<void()> job);
  // Lets the job in progress end (the back end cuts it short: Stopping()), drops the queued
  // ones, and joins the thread.
  void Stop();
  bool Stopping() const;

 private:
  void Loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// Runs `read` on `thread`; see the header comment. `timeout_message` is the answer's message when
// the deadline comes first.
template <typename T>
boost::asio::awaitable<ReadResult<T>> AwaitRead(ReadThread& thread,
                                                std::function<ReadResult<T>()> read,
                                                std::chrono::steady_clock::time_point deadline,
                                                std::string timeout_message);

}  // namespace kisgate::store
