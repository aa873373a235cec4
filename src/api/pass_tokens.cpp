#include "api/pass_tokens.hpp"

#include <openssl/rand.h>
#include <array>

#include <stdexcept>

#include <fmt/format.h>

namespace kisgate::api {

namespace {

std::string RandomToken() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  std::string out = "kisgate.";
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

void PassTokens::Erase(const std::string& token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return;
  by_age_.erase(it->second.seq);
  by_client_.erase({it->second.client, it->second.seq});
  if (auto c = per_client_count_.find(it->second.client);
      c != per_client_count_.end() && --c->second == 0) {
    per_client_count_.erase(c);
  }
  tokens_.erase(it);
}

std::string PassTokens::Issue(std::string_view key_name, std::string_view client,
                              common::WallTime now, common::WallTime expires) {
  // Expired first: every token lives equally long, so issue order is expiry order.
  while (!by_age_.empty()) {
    const auto token = by_age_.begin()->second;
    if (tokens_.at(token).expires > now) break;
    Erase(token);
  }
  const std::string owner(client);
  if (auto c = per_client_count_.find(owner);
      c != per_client_count_.end() && c->second >= per_client_) {
    const auto oldest = by_client_.lower_bound({owner, 0});
    Erase(std::string(oldest->second));
    evicted_++;
  }
  if (tokens_.size() >= total_ && !by_age_.empty()) {
    Erase(std::string(by_age_.begin()->second));
    evicted_++;
  }
  auto token = RandomToken();
  const auto seq = next_seq_++;
  tokens_.emplace(token, Entry{std::string(key_name), owner, expires, seq});
  by_age_.emplace(seq, token);
  by_client_.emplace(std::pair{owner, seq}, token);
  per_client_count_[owner]++;
  return token;
}

bool PassTokens::Valid(std::string_view token, common::WallTime now) const {
  auto it = tokens_.find(std::string(token));
  return it != tokens_.end() && it->second.expires > now;
}

const std::string* PassTokens::KeyOf(std::string_view token, common::WallTime now) const {
  auto it = tokens_.find(std::string(token));
  return it != tokens_.end() && it->second.expires > now ? &it->second.key_name : nullptr;
}

bool PassTokens::Revoke(std::string_view token, std::string_view key_name) {
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end() || it->second.key_name != key_name) return false;
  Erase(it->first);
  return true;
}

}  // namespace kisgate::api
