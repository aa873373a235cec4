#pragma once
// The writer thread both back ends share: a queue of what is to be written (collected records,
// trades, order-book snapshots), taken in batches of at most batch_size items, each handed to the
// back end's commit function (one transaction). Group commit: after the first item arrives the
// writer waits commit_delay for more (a Flush or a full batch cuts the wait short). A batch whose
// commit fails for the database's sake (unreachable, timed out, locked, full) is kept whole and
// retried after a wait (retry_min doubling to retry_max), so the commit must be idempotent (the
// tables' keys make it so). A batch the database refuses for a value in it (kBadData) is written
// again in halves, down to single items: the items still refused alone are dropped, counted
// (StoreCounters::refused) and logged with the database's reason, and everything else is
// written. While a batch fails, new items wait in the queue; with max_buffered set, beyond it the
// oldest queued items are dropped and counted (logged once per outage). The batch being
// committed stays visible to readers (ForEachPending) until it is committed.
//
// Thread-safety: every public method may be called from any thread; the commit function runs on
// the writer thread only.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "kis/realtime.hpp"
#include "store/store.hpp"

namespace kisgate::store {

using WriteItem = std::variant<Record, kis::Tick, kis::BookSnapshot, AuditEntry>;

struct WriteQueueOptions {
  std::string name;              // the database as logs name it (a URL's password masked)
  std::size_t batch_size = 500;  // items per transaction at most
  std::chrono::milliseconds commit_delay{200};
  std::chrono::milliseconds retry_min{500};  // first wait after a failed commit; doubles each time
  std::chrono::milliseconds retry_max{500};
  std::size_t max_buffered = 0;  // items held at most, the failing batch included; 0: no bound
};

// The trades a back end read from its database (oldest first) together with those still pending:
// oldest first by (time, seq), a stored trade winning over a pending one of the same key (the
// database keeps the first it was given), at most `limit`.
std::vector<kis::Tick> MergeTicks(std::vector<kis::Tick> stored, std::vector<kis::Tick> pending,
                                  std::size_t limit);

// How a commit went.
enum class CommitOutcome {
  kCommitted,
  kRetry,    // not written for the database's sake: the same items are tried again after a wait
  kBadData,  // the database refused a value of the batch (too long, invalid bytes): split
};

class WriteQueue {
 public:
  // Commits one batch in one transaction; `error` says why when it does not.
  using CommitFn =
      std::function<CommitOutcome(std::span<const WriteItem> batch, std::string& error)>;

  explicit WriteQueue(WriteQueueOptions options);
  // Stop(0) if Stop was not called: the owner should call Stop itself while its database is open.
  ~WriteQueue();  // NOLINT(bugprone-exception-escape): throws only on a bug (the .cpp)
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Starts the writer thread. Once only.
  void Start(CommitFn commit);
  // Waits at most `flush_timeout` for what is queued to be committed, then stops the writer: a
  // commit in progress is asked to stop (Aborted(); the back end cuts its waits short) and its
  // batch goes back to the queue. What was not written is logged and counted
  // (Counters().unwritten, and it stays in Counters().queued).
  void Stop(std::chrono::milliseconds flush_timeout);
  // Stop has given up waiting: the commit function should return kRetry at once.
  bool Aborted() const { return aborted_; }

  // Queues items in order. A trade's received time is kept in whole milliseconds (the databases
  // keep milliseconds: memory then holds the same).
  void Push(std::vector<Record> records);
  void Push(std::vector<kis::Tick> ticks);
  void Push(std::vector<kis::BookSnapshot> books);
  void Push(std::vector<AuditEntry> entries);
  // Waits until everything queued so far is committed; false on timeout.
  bool Flush(std::chrono::milliseconds timeout);

  // Calls f(const WriteItem&) for every item not yet committed, oldest first, under the queue's
  // lock: f must be quick and must not call back into the queue.
  template <typename F>
  void ForEachPending(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& item : batch_) f(item);
    for (const auto& item : queue_) f(item);
  }

  // The trades of `code` on `date` not yet committed with time in [from_time, to_time] ("" = open
  // end), in queue order.
  std::vector<kis::Tick> PendingTicks(const std::string& code, const std::string& date,
                                      const std::string& from_time,
                                      const std::string& to_time) const;

  // The counters of what was written and dropped; `connected` as last set by SetConnected.
  StoreCounters Counters() const;
  // For a server back end: whether its connection is up (StoreCounters::connected), and when it
  // is not, why (StoreCounters::last_error; an empty `error` leaves it).
  void SetConnected(bool connected, const std::string& error = {});

 private:
  template <typename T>
  void PushItems(std::vector<T> items);
  void WriterLoop();
  // Under mutex_: counts items as written.
  void CountWritten(std::span<const WriteItem> items);
  // The writer's, with the lock held (it is released around each commit): commits batch_, split
  // in halves on kBadData. Items written or refused leave batch_; kRetry leaves the rest in it.
  CommitOutcome CommitBatch(std::unique_lock<std::mutex>& lock, std::string& error);

  WriteQueueOptions options_;
  CommitFn commit_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<WriteItem> queue_;
  std::vector<WriteItem> batch_;  // being committed (or retried) by the writer
  int flushing_ = 0;              // Flush calls waiting: the writer commits at once
  bool writing_ = false;
  bool stopping_ = false;
  bool drop_logged_ = false;  // this outage's drops are logged
  std::atomic<bool> aborted_{false};
  StoreCounters counters_;
  std::thread writer_;
};

}  // namespace kisgate::store
