// Lookup over the asset table that cmake/embed_assets.cmake generates.
#include "web_assets/web_assets.hpp"

namespace kisgate::web {
namespace detail {
// Defined in the generated web_assets_data.cpp.
extern const std::span<const Asset> kAssets;
}  // namespace detail

const Asset* FindAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  // A handful of entries: a linear scan is cheaper than building any index.
  for (const Asset& asset : AllAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

std::span<const Asset> AllAssets() { return detail::kAssets; }

}  // namespace kisgate::web
