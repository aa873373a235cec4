#include "store/store.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/kst.hpp"
#include "common/stock_code.hpp"
#include "store/pg_store.hpp"
#include "store/read_thread.hpp"
#include "store/sqlite_store.hpp"

namespace kisgate::store {

namespace {

// scheme://user:PASSWORD@host -> scheme://user:***@host.
std::string MaskedUserInfo(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority = scheme_end + 3;
  const auto at = url.find('@', authority);
  const auto slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

bool Digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "" when `date` is YYYYMMDD.
std::string InvalidDate(std::string_view date) {
  if (date.size() == 8 && Digits(date) && common::ParseYmd(std::string(date))) return {};
  return fmt::format("'{}' is not a date (YYYYMMDD)", Shown(date));
}

// "" when `code` is a stock code.
std::string InvalidCode(std::string_view code) {
  if (common::IsStockCode(code)) return {};
  return fmt::format("'{}' is not a stock code", Shown(code));
}

// "" when `time` is HHMMSS.
std::string InvalidTime(std::string_view time) {
  if (time.size() == 6 && Digits(time)) return {};
  return fmt::format("'{}' is not a time (HHMMSS)", Shown(time));
}

}  // namespace

std::string InvalidKey(const Record& r) {
  if (auto e = InvalidCode(r.code); !e.empty()) return e;
  const std::string_view t = r.market_time;
  if (t.size() != 8 && t.size() != 14)
    return fmt::format("market_time '{}' is not YYYYMMDD or YYYYMMDDHHMMSS", Shown(t));
  if (auto e = InvalidDate(t.substr(0, 8)); !e.empty()) return e;
  if (t.size() == 14) return InvalidTime(t.substr(8));
  return {};
}

std::string InvalidKey(const kis::Tick& t) {
  if (auto e = InvalidCode(t.code); !e.empty()) return e;
  if (auto e = InvalidDate(t.date); !e.empty()) return e;
  return InvalidTime(t.time);
}

std::string InvalidKey(const kis::BookSnapshot& b) {
  if (auto e = InvalidCode(b.code); !e.empty()) return e;
  if (auto e = InvalidDate(b.date); !e.empty()) return e;
  return InvalidTime(b.time);
}

Store::Store() = default;

Store::~Store() = default;

void Store::StartReads(std::chrono::milliseconds timeout) {
  read_timeout_ = timeout;
  reads_ = std::make_unique<ReadThread>();
}

void Store::StopReads() {
  if (reads_) reads_->Stop();
}

bool Store::ReadsStopping() const { return reads_ && reads_->Stopping(); }

void Store::CountReadTimeout() const { read_timeouts_++; }

std::uint64_t Store::ReadTimeouts() const { return read_timeouts_; }

namespace {

template <typename T>
bool KeepValidItems(std::vector<T>& items, std::atomic<std::uint64_t>& invalid,
                    std::string_view kind) {
  const auto bad = std::remove_if(items.begin(), items.end(), [&](const T& item) {
    auto why = InvalidKey(item);
    if (why.empty()) return false;
    const auto n = ++invalid;
    if (n <= 20 || n % 1000 == 0) {
      spdlog::error("store: not storing {} ({} so far): {}", kind, n, why);
    }
    return true;
  });
  items.erase(bad, items.end());
  return !items.empty();
}

}  // namespace

bool Store::KeepValid(std::vector<Record>& records) {
  return KeepValidItems(records, invalid_, "a record");
}

bool Store::KeepValid(std::vector<kis::Tick>& ticks) {
  return KeepValidItems(ticks, invalid_, "a trade");
}

bool Store::KeepValid(std::vector<kis::BookSnapshot>& books) {
  return KeepValidItems(books, invalid_, "an order-book snapshot");
}

std::uint64_t Store::Invalid() const { return invalid_; }

namespace {

std::string TimeoutMessage(std::chrono::milliseconds timeout) {
  return fmt::format("the database did not answer within {} ms (storage.timeout)", timeout.count());
}

}  // namespace

boost::asio::awaitable<ReadResult<std::string>> Store::LatestMarketTimeAsync(
    std::string dataset, std::string code) const {
  const auto deadline = std::chrono::steady_clock::now() + read_timeout_;
  // The memory's answer needs no thread.
  if (auto r = Latest(dataset, code))
    co_return ReadResult<std::string>{r->market_time, ReadError::kNone, {}};
  if (!reads_) co_return CheckedLatestMarketTime(dataset, code);
  auto read = AwaitRead<std::string>(
      *reads_,
      [this, dataset = std::move(dataset), code = std::move(code)] {
        return CheckedLatestMarketTime(dataset, code);
      },
      deadline, TimeoutMessage(read_timeout_));
  auto result = co_await std::move(read);
  if (result.error == ReadError::kTimeout) CountReadTimeout();
  co_return result;
}

boost::asio::awaitable<ReadResult<std::vector<Record>>> Store::RangeAsync(std::string dataset,
                                                                          std::string code,
                                                                          std::string from,
                                                                          std::string to,
                                                                          std::size_t limit) const {
  const auto deadline = std::chrono::steady_clock::now() + read_timeout_;
  if (!reads_) co_return CheckedRange(dataset, code, from, to, limit);
  auto read = AwaitRead<std::vector<Record>>(
      *reads_,
      [this, dataset = std::move(dataset), code = std::move(code), from = std::move(from),
       to = std::move(to), limit] { return CheckedRange(dataset, code, from, to, limit); },
      deadline, TimeoutMessage(read_timeout_));
  auto result = co_await std::move(read);
  if (result.error == ReadError::kTimeout) CountReadTimeout();
  co_return result;
}

// Hand-written: the store needs no URL library for these two rules (the user info, and libpq's
// "password=" query parameter).
std::string Masked(std::string_view url) {
  auto out = MaskedUserInfo(url);
  constexpr std::string_view kPassword = "password=";
  if (const auto p = out.find(kPassword); p != std::string::npos) {
    const auto end = out.find('&', p);
    out.replace(p + kPassword.size(),
                (end == std::string::npos ? out.size() : end) - p - kPassword.size(), "***");
  }
  return out;
}

std::vector<kis::Bar> MinuteBarsOf(const std::vector<kis::Tick>& ticks) {
  std::vector<kis::Bar> bars;
  for (const auto& t : ticks) {
    if (t.after_hours || t.time.size() < 4) continue;
    const auto minute = t.time.substr(0, 4) + "00";
    if (bars.empty() || bars.back().time != minute || bars.back().date != t.date) {
      bars.push_back(kis::Bar{t.date, minute, t.price, t.price, t.price, t.price, 0, 0});
    }
    auto& bar = bars.back();
    bar.high = std::max(bar.high, t.price);
    bar.low = std::min(bar.low, t.price);
    bar.close = t.price;
    bar.volume += t.volume;
    bar.traded_value += t.price * t.volume;
  }
  return bars;
}

std::unique_ptr<Store> Open(std::string_view url, std::size_t max_buffered,
                            std::chrono::milliseconds timeout) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    const auto path = url.substr(kSqlite.size());
    if (path.empty()) {
      throw std::runtime_error(
          fmt::format("storage.url '{}' names no file: use \"sqlite://PATH\" (e.g. "
                      "\"sqlite://./data/kisgate.db\")",
                      url));
    }
    if (path == ":memory:") {
      // The writer and the reader are two connections, which would see two separate databases.
      throw std::runtime_error(fmt::format(
          "storage.url '{}': an in-memory SQLite database is not supported; use a file, e.g. "
          "\"sqlite:///tmp/kisgate.db\"",
          url));
    }
    StoreOptions options;
    options.path = std::string(path);
    options.max_buffered = max_buffered;
    options.timeout = timeout;
    return std::make_unique<SqliteStore>(std::move(options));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    PgStoreOptions options;
    options.url = std::string(url);
    options.max_buffered = max_buffered;
    options.timeout = timeout;
    return std::make_unique<PgStore>(std::move(options));
  }
  throw std::runtime_error(
      fmt::format("storage.url '{}': unknown storage; use \"sqlite://PATH\" (e.g. "
                  "\"sqlite://./data/kisgate.db\") or \"postgresql://user:pass@host:port/db\"",
                  Masked(url)));
}

}  // namespace kisgate::store
