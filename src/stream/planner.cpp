#include "stream/planner.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "common/stock_code.hpp"
#include "kis/realtime.hpp"

namespace kisgate::stream {

namespace {

std::string Plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Seconds as a person reads them: "4.4 s", "78 s".
std::string SecondsText(std::chrono::milliseconds interval) {
  const double s = std::chrono::duration<double>(interval).count();
  return s >= 20 ? fmt::format("{:.0f} s", s) : fmt::format("{:.1f} s", s);
}

// Subscription order by (TR, code), spelled out: clang-tidy 14 misreads the comparisons a defaulted
// operator<=> synthesizes (modernize-use-nullptr on their literal 0).
bool Less(const Subscription& a, const Subscription& b) {
  return std::tie(a.tr_id, a.code) < std::tie(b.tr_id, b.code);
}

}  // namespace

std::string Plan::TrOf(StreamData data) const {
  switch (data) {
    case StreamData::kTrades:
      return std::string(after_hours ? kis::kOvertimeTradesTr : kis::kTradesTr);
    case StreamData::kOrderBook:
      return std::string(after_hours ? kis::kOvertimeBookTr : kis::kBookTr);
  }
  return {};
}

SubscriptionChanges Diff(const std::vector<Subscription>& before,
                         const std::vector<Subscription>& after) {
  std::set<Subscription, decltype(&Less)> old_set(before.begin(), before.end(), &Less);
  std::set<Subscription, decltype(&Less)> new_set(after.begin(), after.end(), &Less);
  SubscriptionChanges changes;
  std::set_difference(new_set.begin(), new_set.end(), old_set.begin(), old_set.end(),
                      std::back_inserter(changes.add), &Less);
  std::set_difference(old_set.begin(), old_set.end(), new_set.begin(), new_set.end(),
                      std::back_inserter(changes.remove), &Less);
  return changes;
}

std::vector<Want> ConfiguredWants(const config::Config& config) {
  std::vector<std::size_t> order(config.streams.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return config.streams[a].priority < config.streams[b].priority;
  });
  std::vector<Want> wants;
  for (auto i : order) {
    const auto& s = config.streams[i];
    // The config has checked the name and the group.
    const StreamData data = ParseStreamData(s.data).value_or(StreamData::kTrades);
    const std::vector<std::string>* codes = &s.codes;
    if (!s.universe.empty()) {
      auto group = config.universe.groups.find(s.universe);
      if (group == config.universe.groups.end()) continue;
      codes = &group->second;
    }
    for (const auto& code : *codes) {
      wants.push_back(Want{data, code, fmt::format("streams '{}'", s.name)});
    }
  }
  return wants;
}

std::vector<PlanKey> PlanKeys(const config::Config& config) {
  std::vector<PlanKey> keys;
  for (const auto& k : config.keys) {
    keys.push_back(PlanKey{k.name, k.rate, k.environment == config::KisEnvironment::kReal,
                           config.stream.max_registrations});
  }
  return keys;
}

Planner::Planner(std::vector<Want> configured, std::vector<PlanKey> keys,
                 config::StreamSettings settings, double safety)
    : configured_(std::move(configured)),
      keys_(std::move(keys)),
      settings_(settings),
      safety_(safety) {}

Planner::Planner(const config::Config& config)
    : Planner(ConfiguredWants(config), PlanKeys(config), config.stream, config.gate.safety) {}

const Plan& Planner::Update(const std::vector<ClientDemand>& demand, bool after_hours) {
  Plan plan;
  plan.after_hours = after_hours;

  // 1. What is wanted, in rank order, each (data, code) once.
  std::vector<Want> wanted;
  std::set<std::pair<StreamData, std::string>> seen;
  auto want = [&](const Want& w) {
    if (seen.emplace(w.data, w.code).second) wanted.push_back(w);
  };
  for (const auto& w : configured_) want(w);
  if (settings_.client_demand) {
    for (const auto& client : demand) {
      std::vector<std::string> codes;
      std::size_t beyond = 0;
      std::size_t invalid = 0;
      for (const auto& code : client.codes) {
        if (!common::IsStockCode(code)) {
          ++invalid;
        } else if (std::find(codes.begin(), codes.end(), code) != codes.end()) {
          continue;
        } else if (codes.size() >= static_cast<std::size_t>(settings_.max_codes_per_client)) {
          ++beyond;
        } else {
          codes.push_back(code);
        }
      }
      if (beyond > 0) {
        plan.refused.push_back(fmt::format("client '{}': {} beyond {}", client.client,
                                           Plural(beyond, "code", "codes"),
                                           settings_.max_codes_per_client));
      }
      if (invalid > 0) {
        plan.refused.push_back(fmt::format("client '{}': {} not a stock code", client.client,
                                           Plural(invalid, "entry", "entries")));
      }
      for (const auto& code : codes) {
        for (auto data : client.data) {
          want(Want{data, code, fmt::format("client '{}'", client.client)});
        }
      }
    }
  }
  plan.wanted = wanted.size();

  // 2. The keys that may hold registrations and poll now: after hours only real keys (the
  // after-hours TRs, streamed or over REST, are real-only).
  std::vector<bool> usable(keys_.size());
  std::vector<std::size_t> used(keys_.size(), 0);
  std::size_t all_keys_capacity = 0;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    usable[k] = !after_hours || keys_[k].real;
    const auto limit = static_cast<std::size_t>(std::max(0, keys_[k].max_registrations));
    all_keys_capacity += limit;
    if (usable[k]) plan.capacity += limit;
  }
  const auto room = [&](std::size_t k) {
    return usable[k] ? static_cast<std::size_t>(std::max(0, keys_[k].max_registrations)) - used[k]
                     : 0;
  };

  // 3. The first `capacity` are streamed. Those that were streamed stay on their key (in rank
  // order, while the key has room: its limit may have shrunk); the others go to the key with the
  // most room, the first such key on a tie.
  const std::size_t streamed = std::min(wanted.size(), plan.capacity);
  std::vector<std::size_t> key_of(streamed, keys_.size());
  for (std::size_t i = 0; i < streamed; ++i) {
    auto it = placed_.find({wanted[i].data, wanted[i].code});
    if (it != placed_.end() && it->second < keys_.size() && room(it->second) > 0) {
      key_of[i] = it->second;
      ++used[it->second];
    }
  }
  for (std::size_t i = 0; i < streamed; ++i) {
    if (key_of[i] != keys_.size()) continue;
    std::size_t best = keys_.size();
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      if (room(k) > 0 && (best == keys_.size() || room(k) > room(best))) best = k;
    }
    key_of[i] = best;  // found: streamed <= capacity
    ++used[best];
  }
  placed_.clear();
  plan.keys.resize(keys_.size());
  for (std::size_t k = 0; k < keys_.size(); ++k) plan.keys[k].key = keys_[k].name;
  for (std::size_t i = 0; i < streamed; ++i) {
    placed_[{wanted[i].data, wanted[i].code}] = key_of[i];
    plan.keys[key_of[i]].subscriptions.push_back(
        Subscription{plan.TrOf(wanted[i].data), wanted[i].code});
  }
  for (auto& k : plan.keys) std::sort(k.subscriptions.begin(), k.subscriptions.end(), &Less);
  plan.streamed = streamed;
  plan.overflow.assign(wanted.begin() + static_cast<std::ptrdiff_t>(streamed), wanted.end());
  plan.fits = plan.overflow.empty();

  // 4. The overflow is polled over REST with poll_share of what the usable keys give: one call
  // per value per round, so a round of N values at B calls/s takes N / B seconds, and that is the
  // interval (never below min_poll_interval). One real key at 18/s with gate.safety 0.97 and
  // poll_share 0.25 gives B = 18 x 0.97 x 0.25 = 4.365/s: 19 values every 19 / 4.365 = 4.4 s.
  double usable_rate = 0;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    if (usable[k]) usable_rate += keys_[k].rate;
  }
  plan.poll_per_s = usable_rate * safety_ * settings_.poll_share;
  const std::size_t overflow = plan.overflow.size();
  if (overflow > 0 && plan.poll_per_s > 0) {
    const double seconds = static_cast<double>(overflow) / plan.poll_per_s;
    plan.poll_interval =
        std::max(settings_.min_poll_interval,
                 std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000))));
    // The gateway sends each call to the key that can take it soonest, so each key carries about
    // its rate's share of the polls: apportioned by largest remainder so the shares add up.
    std::vector<std::pair<double, std::size_t>> remainders;
    std::size_t given = 0;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      if (!usable[k]) continue;
      const double exact = static_cast<double>(overflow) * keys_[k].rate / usable_rate;
      plan.keys[k].polled = static_cast<std::size_t>(std::floor(exact));
      given += plan.keys[k].polled;
      remainders.emplace_back(exact - std::floor(exact), k);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t r = 0; given < overflow && r < remainders.size(); ++r, ++given) {
      ++plan.keys[remainders[r].second].polled;
    }
  }
  const bool polled = plan.poll_interval.count() > 0;
  for (auto& k : plan.keys) {
    k.summary = fmt::format("streamed {}", k.subscriptions.size());
    if (polled)
      k.summary += fmt::format(", polled {} every {}", k.polled, SecondsText(plan.poll_interval));
  }

  // 5. The sentence said at start-up.
  bool one_kind = true;
  for (const auto& w : wanted) one_kind = one_kind && w.data == wanted.front().data;
  const std::string what =
      Plural(wanted.size(), one_kind ? "code" : "code stream", one_kind ? "codes" : "code streams");
  const std::string over =
      fmt::format("{} wanted over {}", what, Plural(keys_.size(), "key", "keys"));
  if (wanted.empty()) {
    plan.message = fmt::format("no codes to stream ({} registrations free over {})", plan.capacity,
                               Plural(keys_.size(), "key", "keys"));
  } else if (plan.fits) {
    plan.message =
        fmt::format("{}: all streamed ({} of {} registrations)", over, streamed, plan.capacity);
  } else if (polled) {
    plan.message = fmt::format("{}: {} streamed, {} polled every {} over REST", over, streamed,
                               overflow, SecondsText(plan.poll_interval));
  } else {
    plan.message = fmt::format(
        "{}: {} streamed, {} neither streamed nor polled ({}): add keys, or fewer codes", over,
        streamed, overflow,
        settings_.poll_share <= 0 ? "stream.poll_share = 0"
                                  : "no key may poll them in this session");
  }
  if (after_hours && plan.capacity < all_keys_capacity) {
    plan.message += " (after hours: real keys only)";
  }
  plan_ = std::move(plan);
  return plan_;
}

}  // namespace kisgate::stream
