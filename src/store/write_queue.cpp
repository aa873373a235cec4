#include "store/write_queue.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

#include <spdlog/spdlog.h>

namespace kisgate::store {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

using std::chrono::floor;
using std::chrono::milliseconds;

}  // namespace

std::vector<kis::Tick> MergeTicks(std::vector<kis::Tick> stored, std::vector<kis::Tick> pending,
                                  std::size_t limit) {
  if (pending.empty()) {
    if (stored.size() > limit) stored.resize(limit);
    return stored;
  }
  const auto key = [](const kis::Tick& t) { return std::tie(t.time, t.seq); };
  const auto before = [&](const kis::Tick& a, const kis::Tick& b) { return key(a) < key(b); };
  // Among pending trades of one key, the first queued is the one the database will keep.
  std::stable_sort(pending.begin(), pending.end(), before);
  std::vector<kis::Tick> out;
  out.reserve(std::min(limit, stored.size() + pending.size()));
  auto s = stored.begin();
  auto p = pending.begin();
  while (out.size() < limit && (s != stored.end() || p != pending.end())) {
    kis::Tick* next = nullptr;
    if (p == pending.end() || (s != stored.end() && !before(*p, *s))) {
      // The stored one comes first, or holds the same key: pending copies of it are skipped.
      next = &*s++;
    } else {
      next = &*p++;
    }
    if (!out.empty() && key(out.back()) == key(*next)) continue;
    out.push_back(std::move(*next));
  }
  return out;
}

std::vector<kis::Tick> WriteQueue::PendingTicks(const std::string& code, const std::string& date,
                                                const std::string& from_time,
                                                const std::string& to_time) const {
  std::vector<kis::Tick> out;
  ForEachPending([&](const WriteItem& item) {
    const auto* t = std::get_if<kis::Tick>(&item);
    if (t != nullptr && t->code == code && t->date == date && t->time >= from_time &&
        (to_time.empty() || t->time <= to_time)) {
      out.push_back(*t);
    }
  });
  return out;
}

WriteQueue::WriteQueue(WriteQueueOptions options) : options_(std::move(options)) {}

WriteQueue::~WriteQueue() { Stop(milliseconds(0)); }

void WriteQueue::Start(CommitFn commit) {
  commit_ = std::move(commit);
  writer_ = std::thread([this] { WriterLoop(); });
}

void WriteQueue::Stop(std::chrono::milliseconds flush_timeout) {
  if (!writer_.joinable()) return;
  Flush(flush_timeout);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  std::lock_guard lock(mutex_);
  if (!queue_.empty()) {
    spdlog::error("store: {} items could not be written to {}: {}", queue_.size(), options_.name,
                  counters_.last_error);
  }
}

void WriteQueue::Push(std::vector<Record> records) {
  for (auto& r : records) r.collected_at = floor<milliseconds>(r.collected_at);
  PushItems(std::move(records));
}

void WriteQueue::Push(std::vector<kis::Tick> ticks) {
  for (auto& t : ticks) t.received_at = floor<milliseconds>(t.received_at);
  PushItems(std::move(ticks));
}

void WriteQueue::Push(std::vector<kis::BookSnapshot> books) {
  for (auto& b : books) b.received_at = floor<milliseconds>(b.received_at);
  PushItems(std::move(books));
}

void WriteQueue::Push(std::vector<AuditEntry> entries) {
  for (auto& e : entries) e.at = floor<milliseconds>(e.at);
  PushItems(std::move(entries));
}

template <typename T>
void WriteQueue::PushItems(std::vector<T> items) {
  if (items.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // The writer needs waking for the first item (it sleeps on an empty queue) and for a full
    // batch (it may be waiting out commit_delay); in between, waking it would only cost a switch.
    wake = queue_.empty() || queue_.size() + items.size() >= options_.batch_size;
    for (auto& item : items) queue_.emplace_back(std::move(item));
    if (options_.max_buffered > 0) {
      // Beyond the bound the oldest queued items go: the newest are what readers and the
      // freshness checks want, and an older value of a series is more often superseded or can be
      // fetched again (daily bars) than the latest one. The batch being retried is kept whole.
      std::size_t dropped = 0;
      while (!queue_.empty() && queue_.size() + batch_.size() > options_.max_buffered) {
        std::visit(Overloaded{[&](const Record&) { counters_.dropped++; },
                              [&](const kis::Tick&) { counters_.ticks_dropped++; },
                              [&](const kis::BookSnapshot&) { counters_.books_dropped++; },
                              [&](const AuditEntry&) { counters_.dropped++; }},
                   queue_.front());
        queue_.pop_front();
        ++dropped;
      }
      if (dropped > 0 && !drop_logged_) {
        drop_logged_ = true;
        // Unreachable, or answering but slower than what arrives (a stream faster than the
        // server): the first drop of an outage may come before its first failed write.
        spdlog::error(
            "store: the write buffer for '{}' ({} items, storage.max_buffered) is full: the "
            "database is unreachable or slower than what arrives; dropping the oldest items until "
            "it catches up (last error: {})",
            options_.name, options_.max_buffered,
            counters_.last_error.empty() ? "none" : counters_.last_error);
      }
    }
  }
  if (wake) wake_.notify_one();
}

bool WriteQueue::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ++flushing_;
  wake_.notify_all();
  const bool drained =
      drained_.wait_for(lock, timeout, [this] { return queue_.empty() && !writing_; });
  --flushing_;
  return drained;
}

StoreCounters WriteQueue::Counters() const {
  std::lock_guard lock(mutex_);
  auto c = counters_;
  c.queued = queue_.size();
  return c;
}

void WriteQueue::SetConnected(bool connected, const std::string& error) {
  std::lock_guard lock(mutex_);
  counters_.connected = connected;
  if (!error.empty()) counters_.last_error = error;
}

void WriteQueue::CountWritten() {
  for (const auto& item : batch_) {
    std::visit(Overloaded{[&](const Record&) { counters_.written++; },
                          [&](const kis::Tick&) { counters_.ticks_written++; },
                          [&](const kis::BookSnapshot&) { counters_.books_written++; },
                          [&](const AuditEntry&) {}},
               item);
  }
}

void WriteQueue::WriterLoop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    wake_.wait_for(lock, options_.commit_delay, [this] {
      return stopping_ || flushing_ > 0 || queue_.size() >= options_.batch_size;
    });
    // The batch stays readable (ForEachPending) while it is committed and retried: readers only
    // read it, and the writer changes it only under the lock.
    while (!queue_.empty() && batch_.size() < options_.batch_size) {
      batch_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    writing_ = true;
    auto backoff = options_.retry_min;
    for (;;) {
      lock.unlock();
      std::string error;
      const bool ok = commit_(batch_, error);
      lock.lock();
      if (ok) {
        if (counters_.last_write_failed) spdlog::info("store: writing to {} again", options_.name);
        CountWritten();
        counters_.transactions++;
        counters_.last_write_failed = false;
        if (queue_.empty()) drop_logged_ = false;  // the backlog is gone: log the next drops
        batch_.clear();
        break;
      }
      // The whole batch is retried: a transaction cut by an outage was rolled back, or committed
      // before the reply was lost; the tables' keys make either safe.
      if (!counters_.last_write_failed) {
        spdlog::warn("store: writing {} items to {} failed ({}); retrying", batch_.size(),
                     options_.name, error);
      }
      counters_.failed_transactions++;
      counters_.last_error = error;
      counters_.last_write_failed = true;
      if (stopping_) {
        // Back to the queue, in order, so what was not written is counted as queued.
        queue_.insert(queue_.begin(), std::make_move_iterator(batch_.begin()),
                      std::make_move_iterator(batch_.end()));
        batch_.clear();
        writing_ = false;
        return;
      }
      wake_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace kisgate::store
