// libFuzzer target: any config text gives a Config or a ConfigError, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const kisgate::config::EnvLookup env =
      [](const std::string& name) -> std::optional<std::string> {
    if (name == "KIS_APP_KEY") return "key";
    return std::nullopt;
  };
  (void)kisgate::config::ParseConfig(text, "fuzz.toml", env);
  return 0;
}
