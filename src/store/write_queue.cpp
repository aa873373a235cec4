#include "store/write_queue.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/record.hpp"

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

// NOLINTNEXTLINE(bugprone-exception-escape): throws only on a bug (a valueless item, a failed join)
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
    aborted_ = true;
  }
  wake_.notify_all();
  writer_.join();
  std::lock_guard lock(mutex_);
  if (!queue_.empty()) {
    counters_.unwritten += queue_.size();
    std::size_t records = 0;
    std::size_t ticks = 0;
    std::size_t books = 0;
    std::size_t audits = 0;
    for (const auto& item : queue_) {
      std::visit(Overloaded{[&](const Record&) { ++records; }, [&](const kis::Tick&) { ++ticks; },
                            [&](const kis::BookSnapshot&) { ++books; },
                            [&](const AuditEntry&) { ++audits; }},
                 item);
    }
    spdlog::error(
        "store: {} items could not be written to {} before it closed ({} records, {} trades, {} "
        "order-book snapshots, {} audit rows): {}",
        queue_.size(), options_.name, records, ticks, books, audits,
        counters_.last_error.empty() ? "the writer was still at work" : counters_.last_error);
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

void WriteQueue::CountWritten(std::span<const WriteItem> items) {
  for (const auto& item : items) {
    std::visit(Overloaded{[&](const Record&) { counters_.written++; },
                          [&](const kis::Tick&) { counters_.ticks_written++; },
                          [&](const kis::BookSnapshot&) { counters_.books_written++; },
                          [&](const AuditEntry&) {}},
               item);
  }
}

namespace {

// An item as a log line names it: its kind and key, each value at most 40 bytes, control bytes
// escaped (the values may be what the database refused).
std::string Described(const WriteItem& item) {
  return std::visit(
      Overloaded{[](const Record& r) {
                   return fmt::format("a {} record of code '{}' at '{}'", Shown(r.dataset),
                                      Shown(r.code), Shown(r.market_time));
                 },
                 [](const kis::Tick& t) {
                   return fmt::format("a trade of code '{}' at '{}' '{}'", Shown(t.code),
                                      Shown(t.date), Shown(t.time));
                 },
                 [](const kis::BookSnapshot& b) {
                   return fmt::format("an order-book snapshot of code '{}' at '{}' '{}'",
                                      Shown(b.code), Shown(b.date), Shown(b.time));
                 },
                 [](const AuditEntry& a) {
                   return fmt::format("an audit row of {} {} ({})", Shown(a.method), Shown(a.path),
                                      Shown(a.tr_id));
                 }},
      item);
}

}  // namespace

CommitOutcome WriteQueue::CommitBatch(std::unique_lock<std::mutex>& lock, std::string& error) {
  // The batch is read off the lock: readers only read it, and the writer changes it only under
  // the lock.
  lock.unlock();
  auto outcome = commit_(batch_, error);
  lock.lock();
  if (outcome == CommitOutcome::kCommitted) {
    CountWritten(batch_);
    batch_.clear();
  }
  if (outcome != CommitOutcome::kBadData) return outcome;
  counters_.failed_transactions++;
  // A value in the batch is refused: halves, then their halves, in order, down to single items.
  // O(k log n) transactions for k bad items among n, not n; an item refused alone is dropped.
  const std::span<const WriteItem> all(batch_);
  std::vector<bool> done(batch_.size(), false);
  std::vector<std::pair<std::size_t, std::size_t>> todo;  // [first, last), last to try on top
  const auto split = [&](std::size_t first, std::size_t last) {
    const auto mid = first + (last - first) / 2;
    todo.emplace_back(mid, last);
    todo.emplace_back(first, mid);
  };
  split(0, batch_.size());
  outcome = CommitOutcome::kCommitted;
  const auto first_error = error;
  while (!todo.empty()) {
    if (aborted_) {
      outcome = CommitOutcome::kRetry;
      error = "the store is closing";
      break;
    }
    const auto [first, last] = todo.back();
    todo.pop_back();
    const auto part = all.subspan(first, last - first);
    std::string part_error;
    lock.unlock();
    const auto part_outcome = commit_(part, part_error);
    lock.lock();
    if (part_outcome == CommitOutcome::kRetry) {
      outcome = CommitOutcome::kRetry;
      error = part_error;
      break;
    }
    if (part_outcome == CommitOutcome::kBadData && last - first > 1) {
      split(first, last);
      continue;
    }
    std::fill(done.begin() + static_cast<std::ptrdiff_t>(first),
              done.begin() + static_cast<std::ptrdiff_t>(last), true);
    if (part_outcome == CommitOutcome::kCommitted) {
      CountWritten(part);
      continue;
    }
    counters_.refused++;
    // Each refused item once; past the first few, one in a thousand (the counter has them all).
    if (counters_.refused <= 20 || counters_.refused % 1000 == 0) {
      spdlog::error("store: {} refused {} and it is dropped ({} refused so far): {}", options_.name,
                    Described(part.front()), counters_.refused,
                    part_error.empty() ? first_error : part_error);
    }
  }
  // What was written or refused leaves the batch; a kRetry keeps the rest, in order.
  std::vector<WriteItem> rest;
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    if (!done[i]) rest.push_back(std::move(batch_[i]));
  }
  batch_ = std::move(rest);
  return outcome;
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
      std::string error;
      const auto outcome = aborted_ ? CommitOutcome::kRetry : CommitBatch(lock, error);
      if (aborted_ && error.empty()) error = "the store is closing";
      if (outcome != CommitOutcome::kRetry) {
        if (counters_.last_write_failed) spdlog::info("store: writing to {} again", options_.name);
        counters_.transactions++;
        counters_.last_write_failed = false;
        if (queue_.empty()) drop_logged_ = false;  // the backlog is gone: log the next drops
        batch_.clear();
        break;
      }
      // The rest of the batch is retried: a transaction cut by an outage was rolled back, or
      // committed before the reply was lost; the tables' keys make either safe.
      if (!counters_.last_write_failed && !aborted_) {
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
