#include "app/quote_command.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/stock_code.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "gate/paging.hpp"
#include "kis/quotes.hpp"
#include "kis/request.hpp"

namespace kisgate::app {

namespace asio = boost::asio;

namespace {

struct QuoteFlags {
  std::string code;
  std::string data = "price";
  std::string config_file;
  std::string from, to;
  bool json = false;
  int timeout_s = 10;
};

// 71500 -> "71,500"
std::string Grouped(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

std::string Arrow(kis::Sign s) {
  switch (s) {
    case kis::Sign::kLimitUp:
      return "↑";
    case kis::Sign::kUp:
      return "▲";
    case kis::Sign::kLimitDown:
      return "↓";
    case kis::Sign::kDown:
      return "▼";
    default:
      return "-";
  }
}

void PrintPrice(const kis::PriceQuote& q) {
  fmt::print("{}  {:>10}  {} {} ({:+.2f}%)   {}\n", q.code, Grouped(q.price), Arrow(q.sign),
             Grouped(q.change < 0 ? -q.change : q.change), q.change_pct, q.sector);
  fmt::print("  open {:>10}   high {:>10}   low {:>10}   base {:>10}\n", Grouped(q.open),
             Grouped(q.high), Grouped(q.low), Grouped(q.base_price));
  fmt::print("  volume {:>14}   value {:>18} KRW\n", Grouped(q.volume), Grouped(q.traded_value));
  fmt::print("  limits {} – {}   52w {} – {}   tick {}\n", Grouped(q.lower_limit),
             Grouped(q.upper_limit), Grouped(q.low_52w), Grouped(q.high_52w), q.tick_size);
  fmt::print(
      "  PER {:.2f}  PBR {:.2f}  EPS {:.0f}  BPS {:.0f}  market cap {} 억원  foreign {:.2f}%\n",
      q.per, q.pbr, q.eps, q.bps, Grouped(q.market_cap_100m_krw), q.foreign_ownership_pct);
}

void PrintBook(const kis::OrderBook& b) {
  fmt::print("order book at {}\n  {:>12} {:>10} | {:<10} {:<12}\n", b.time, "ask qty", "ask", "bid",
             "bid qty");
  for (int i = 9; i >= 0; --i) {
    const auto& a = b.asks[static_cast<std::size_t>(i)];
    fmt::print("  {:>12} {:>10} |\n", Grouped(a.quantity), Grouped(a.price));
  }
  for (const auto& l : b.bids)
    fmt::print("  {:>12} {:>10} | {:<10} {:<12}\n", "", "", Grouped(l.price), Grouped(l.quantity));
  fmt::print("  total ask {}   total bid {}   expected {} ({})\n", Grouped(b.total_ask_quantity),
             Grouped(b.total_bid_quantity), Grouped(b.expected_price), Grouped(b.expected_volume));
}

void PrintInvestors(const std::vector<kis::InvestorDay>& days) {
  fmt::print("{:<10} {:>10} {:>14} {:>14} {:>14}\n", "date", "close", "individuals", "foreigners",
             "institutions");
  for (const auto& d : days) {
    fmt::print("{:<10} {:>10} {:>14} {:>14} {:>14}\n", d.date, Grouped(d.close),
               Grouped(d.individuals.net_quantity), Grouped(d.foreigners.net_quantity),
               Grouped(d.institutions.net_quantity));
  }
  fmt::print("(net quantities bought)\n");
}

void PrintOvertime(const kis::OvertimePrice& p) {
  fmt::print("after-hours  {:>10}  {} {} ({:+.2f}%)   volume {}\n", Grouped(p.price), Arrow(p.sign),
             Grouped(p.change < 0 ? -p.change : p.change), p.change_pct, Grouped(p.volume));
  fmt::print("  band {} – {}   bid {}   ask {}   expected {}\n", Grouped(p.lower_limit),
             Grouped(p.upper_limit), Grouped(p.best_bid), Grouped(p.best_ask),
             Grouped(p.expected_price));
}

void PrintBars(const std::vector<kis::Bar>& bars) {
  fmt::print("{:<10} {:<6} {:>10} {:>10} {:>10} {:>10} {:>14}\n", "date", "time", "open", "high",
             "low", "close", "volume");
  for (const auto& b : bars) {
    fmt::print("{:<10} {:<6} {:>10} {:>10} {:>10} {:>10} {:>14}\n", b.date, b.time.substr(0, 4),
               Grouped(b.open), Grouped(b.high), Grouped(b.low), Grouped(b.close),
               Grouped(b.volume));
  }
}

template <class T>
bool Show(const kis::Parsed<T>& parsed, void (*print)(const T&)) {
  if (auto* c = std::get_if<kis::Classification>(&parsed)) {
    fmt::print(stderr, "error: {}: {}\n", c->code, c->message);
    return false;
  }
  print(std::get<T>(parsed));
  return true;
}

int RunQuote(const QuoteFlags& flags) {
  if (!common::IsStockCode(flags.code)) {
    fmt::print(stderr, "error: '{}' is not a stock code: use six characters such as 005930\n",
               flags.code);
    return 2;
  }
  if (flags.config_file.empty()) {
    fmt::print(stderr,
               "kisgate quote needs a config with a KIS app key (--config FILE).\n"
               "  real keys:  copy configs/example.toml, export KIS_APP_KEY and KIS_APP_SECRET\n"
               "  simulator:  build/kisgate sim &   then   build/kisgate quote {} --config "
               "configs/sim.toml\n",
               flags.code);
    return 2;
  }
  auto loaded = config::LoadConfig(flags.config_file);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) {
    fmt::print(stderr, "error: {}\n", e->message);
    return 2;
  }
  const auto& config = std::get<config::Config>(loaded);
  if (auto e = config::PrepareDataDir(config)) {
    fmt::print(stderr, "error: {}\n", e->message);
    return 2;
  }
  asio::io_context io(1);
  gate::GatewayOptions options;
  options.token_dir = std::filesystem::path(config.data_dir) / "tokens";
  gate::Gateway gateway(io.get_executor(), config, common::SystemClock::Instance(), options);
  const auto now = common::ToKst(common::SystemClock::Instance().WallNow());
  const std::string today = common::FormatYmd(now.date);
  const gate::CallOptions call{
      gate::Lane::kInteractive, 0,
      std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_s)};
  int status = 1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (flags.data == "bars-minute" || flags.data == "bars-daily") {
          std::variant<gate::PagedBars, gate::CallResult> paged;
          if (flags.data == "bars-minute") {
            auto fetch = gate::FetchMinuteBars(gateway, flags.code, call);
            paged = co_await std::move(fetch);
          } else {
            const std::string to = flags.to.empty() ? today : flags.to;
            const std::string from =
                flags.from.empty() ? common::FormatYmd(std::chrono::year_month_day{
                                         std::chrono::sys_days{now.date} - std::chrono::days{45}})
                                   : flags.from;
            auto fetch = gate::FetchDailyBars(gateway, flags.code, from, to, call);
            paged = co_await std::move(fetch);
          }
          if (auto* failed = std::get_if<gate::CallResult>(&paged)) {
            fmt::print(stderr, "error: {}: {}{}\n", failed->error.code, failed->error.message,
                       failed->error.hint.empty() ? "" : " (" + failed->error.hint + ")");
            co_return;
          }
          PrintBars(std::get<gate::PagedBars>(paged).bars);
          status = 0;
          co_return;
        }
        kis::Tr tr = flags.data == "orderbook"   ? kis::Tr::kOrderBook
                     : flags.data == "investors" ? kis::Tr::kInvestors
                     : flags.data == "overtime"  ? kis::Tr::kOvertimePrice
                                                 : kis::Tr::kPrice;
        auto pending = gateway.Call(kis::QuoteRequest(tr, flags.code), call);
        gate::CallResult result = co_await std::move(pending);
        if (!result.ok) {
          fmt::print(stderr, "error: {}: {}{}\n", result.error.code, result.error.message,
                     result.error.hint.empty() ? "" : " (" + result.error.hint + ")");
          co_return;
        }
        if (flags.json) {
          fmt::print("{}\n", result.body);
          status = 0;
          co_return;
        }
        bool shown = false;
        switch (tr) {
          case kis::Tr::kOrderBook:
            shown = Show(kis::ParseOrderBook(result.body), &PrintBook);
            break;
          case kis::Tr::kInvestors:
            shown = Show(kis::ParseInvestors(result.body), &PrintInvestors);
            break;
          case kis::Tr::kOvertimePrice:
            shown = Show(kis::ParseOvertimePrice(result.body), &PrintOvertime);
            break;
          default:
            shown = Show(kis::ParsePrice(result.body), &PrintPrice);
            break;
        }
        fmt::print("  via key '{}', {} attempt{}, waited {} ms in the gate\n", result.key_name,
                   result.attempts, result.attempts == 1 ? "" : "s",
                   std::chrono::duration_cast<std::chrono::milliseconds>(result.gate_wait).count());
        status = shown ? 0 : 1;
      },
      [&status](const std::exception_ptr& e) {
        if (e) {
          common::NoteException("quote", e);
          status = 1;
        }
      });
  io.run();
  return status;
}

}  // namespace

void AddQuoteCommand(CLI::App& parent, int& exit_code) {
  auto flags = std::make_shared<QuoteFlags>();
  auto* cmd = parent.add_subcommand("quote", "One quotation through the gate (interactive lane)");
  cmd->add_option("code", flags->code, "six-character stock code, e.g. 005930")->required();
  cmd->add_option("--data", flags->data, "what to show")
      ->check(CLI::IsMember(
          {"price", "orderbook", "investors", "overtime", "bars-minute", "bars-daily"}))
      ->capture_default_str();
  cmd->add_option("--config", flags->config_file, "kisgate config (TOML) with the app key(s)");
  cmd->add_option("--from", flags->from, "bars-daily: first day, YYYYMMDD (default: 45 days ago)");
  cmd->add_option("--to", flags->to, "bars-daily: last day, YYYYMMDD (default: today)");
  cmd->add_option("--timeout", flags->timeout_s, "seconds to wait")->capture_default_str();
  cmd->add_flag("--json", flags->json, "print KIS's JSON reply instead of a table");
  cmd->callback([flags, &exit_code] { exit_code = RunQuote(*flags); });
}

}  // namespace kisgate::app
