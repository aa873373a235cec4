#include "coord/redis_token_share.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "coord/coordinator.hpp"
#include "kis/token_manager.hpp"

namespace kisgate::coord {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

// KEYS: token. ARGV: the token value. Deletes the published token if it is still that one.
const Script& WithdrawScript() {
  static const Script script(R"lua(
local published = redis.call('GET', KEYS[1])
if not published then return 0 end
local ok, token = pcall(cjson.decode, published)
if ok and type(token) == 'table' and token.value == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua");
  return script;
}

}  // namespace

RedisTokenShare::RedisTokenShare(Coordinator& coordinator, std::string key_id)
    : coordinator_(coordinator),
      coordinator_life_(coordinator.life()),
      key_id_(std::move(key_id)),
      token_key_(coordinator.Key(key_id_, "token")),
      right_key_(coordinator.Key(key_id_, "token-right")) {}

asio::awaitable<std::optional<kis::Token>> RedisTokenShare::Read() {
  auto op = coordinator_.Command({"GET", token_key_});
  common::Result<Reply> reply = co_await std::move(op);
  if (!reply || reply->kind != Reply::Kind::kString) co_return std::nullopt;
  boost::system::error_code ec;
  const json::value parsed = json::parse(reply->str, ec);
  const json::object* object = ec ? nullptr : parsed.if_object();
  const json::value* value = object != nullptr ? object->if_contains("value") : nullptr;
  const json::value* expires = object != nullptr ? object->if_contains("expires_at") : nullptr;
  if (value == nullptr || !value->is_string() || expires == nullptr || !expires->is_int64())
    co_return std::nullopt;
  kis::Token token;
  token.value = std::string(value->get_string());
  token.expires_at = common::WallTime{milliseconds(expires->get_int64())};
  if (token.expires_at <= coordinator_.clock().WallNow()) co_return std::nullopt;
  co_return token;
}

asio::awaitable<std::optional<bool>> RedisTokenShare::TryIssueRight(common::Duration hold) {
  const auto ms = std::max<std::int64_t>(1, duration_cast<milliseconds>(hold).count());
  auto op = coordinator_.Command(
      {"SET", right_key_, coordinator_.instance(), "NX", "PX", std::to_string(ms)});
  common::Result<Reply> reply = co_await std::move(op);
  if (!reply) co_return std::nullopt;
  if (reply->IsStatus("OK")) co_return true;
  if (reply->IsNil()) co_return false;
  coordinator_.NoteFailure("SET NX of the token right", Describe(*reply));
  co_return std::nullopt;
}

asio::awaitable<void> RedisTokenShare::Publish(const kis::Token& token) {
  if (token.expires_at <= coordinator_.clock().WallNow()) co_return;
  json::object object;
  object["value"] = token.value;
  object["expires_at"] = common::UnixMillis(token.expires_at);
  auto op = coordinator_.Command({"SET", token_key_, json::serialize(object), "PXAT",
                                  std::to_string(common::UnixMillis(token.expires_at))});
  common::Result<Reply> reply = co_await std::move(op);
  if (reply && reply->IsError()) coordinator_.NoteFailure("SET of the token", Describe(*reply));
}

void RedisTokenShare::Withdraw(const std::string& token) {
  if (coordinator_life_.expired()) return;
  coordinator_.Spawn("token withdraw", WithdrawScript(), {token_key_}, {token});
}

}  // namespace kisgate::coord
