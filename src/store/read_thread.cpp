#include "store/read_thread.hpp"

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kisgate::store {

namespace asio = boost::asio;

ReadThread::ReadThread() : thread_([this] { Loop(); }) {}

ReadThread::~ReadThread() { Stop(); }

void ReadThread::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ReadThread::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ReadThread::Stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void ReadThread::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what it holds is released off the lock
    lock.lock();
  }
}

namespace {

// What the waiting coroutine and the read share: the timer it waits on is cut short by the answer.
template <typename T>
struct Pending {
  explicit Pending(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  std::optional<ReadResult<T>> result;  // set on the executor's thread
  std::atomic<bool> abandoned{false};   // the caller stopped waiting
};

}  // namespace

template <typename T>
asio::awaitable<ReadResult<T>> AwaitRead(ReadThread& thread, std::function<ReadResult<T>()> read,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::string timeout_message) {
  auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending<T>>(executor);
  pending->timer.expires_at(deadline);
  thread.Post([pending, executor, read = std::move(read)] {
    if (pending->abandoned) return;
    auto result = read();
    asio::post(executor, [pending, result = std::move(result)]() mutable {
      pending->result = std::move(result);
      pending->timer.cancel();
    });
  });
  boost::system::error_code ec;
  co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (pending->result) co_return std::move(*pending->result);
  pending->abandoned = true;
  co_return ReadResult<T>{T{}, ReadError::kTimeout, std::move(timeout_message)};
}

template asio::awaitable<ReadResult<std::string>> AwaitRead(
    ReadThread&, std::function<ReadResult<std::string>()>, std::chrono::steady_clock::time_point,
    std::string);
template asio::awaitable<ReadResult<std::vector<Record>>> AwaitRead(
    ReadThread&, std::function<ReadResult<std::vector<Record>>()>,
    std::chrono::steady_clock::time_point, std::string);

}  // namespace kisgate::store
