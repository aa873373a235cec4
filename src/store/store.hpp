#pragma once
// Storage as collect/ and api/ use it: records written idempotently (one row per data set, code
// and market_time; writing a key again replaces its values) and read back typed. Which back end
// holds them is chosen by the storage URL (store::Open); today SQLite (store/sqlite_store.hpp).
//
// Times: `collected_at` is a common::WallTime everywhere at this interface; how a back end keeps
// it is its own affair (SQLite: integer milliseconds since the Unix epoch, UTC).
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "store/record.hpp"

namespace kisgate::store {

// How old the latest value of one (data set, code) is.
struct Freshness {
  std::string dataset;
  std::string code;
  common::WallTime collected_at{};
  double age_s = 0;
};

struct StoreCounters {
  std::uint64_t written = 0;  // records committed (inserted or replaced)
  std::uint64_t transactions = 0;
  std::uint64_t failed_transactions = 0;
  std::size_t queued = 0;  // waiting for the writer
  std::string last_error;
  bool last_write_failed = false;  // the latest transaction failed (disk full, locked)
  // Records given up beyond the bounded write buffer while the back end was unreachable.
  std::uint64_t dropped = 0;
  bool connected = true;  // false while a server back end (PostgreSQL) cannot be reached
};

class Store {
 public:
  virtual ~Store() = default;

  // Queues records for writing; readers see them at once (Latest, Range).
  virtual void Write(std::vector<Record> records) = 0;
  // Waits until everything queued so far is committed; false on timeout (e.g. the disk is full).
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;

  // The latest value of (dataset, code) written since the store was opened, typed columns and raw.
  virtual std::optional<Record> Latest(const std::string& dataset,
                                       const std::string& code) const = 0;
  // When that latest value was collected, without copying it.
  virtual std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                            const std::string& code) const = 0;
  // The newest market_time stored for (dataset, code), from memory or else from the database
  // (what a restarted collector needs to fetch only what is new); "" when there is none.
  virtual std::string LatestMarketTime(const std::string& dataset,
                                       const std::string& code) const = 0;
  // Records of (dataset, code) with market_time in [from, to] (inclusive; "" = open end), newest
  // first, at most `limit`, with their typed columns and raw JSON; every write made before the
  // call is seen.
  virtual std::vector<Record> Range(const std::string& dataset, const std::string& code,
                                    const std::string& from, const std::string& to,
                                    std::size_t limit) const = 0;
  // Rows stored for `dataset` (0 for an unknown one).
  virtual std::int64_t Count(const std::string& dataset) const = 0;
  // The age at `now` of every (data set, code) value held, oldest first (for metrics and logs).
  virtual std::vector<Freshness> Ages(common::WallTime now) const = 0;
  // "ok" when the database is sound, else what is wrong.
  virtual std::string IntegrityCheck() const = 0;
  // The number of schema migrations applied.
  virtual int SchemaVersion() const = 0;
  virtual StoreCounters Counters() const = 0;
};

// Opens the store a storage URL names: "sqlite://PATH" (the file and its folder are created; a
// relative PATH is relative to the working directory; "sqlite:///abs/path" is absolute). Throws
// std::runtime_error naming the URL (a password in it is masked) and the fix for any other
// scheme, an empty path, or a database that cannot be opened.
std::unique_ptr<Store> Open(std::string_view url);

}  // namespace kisgate::store
