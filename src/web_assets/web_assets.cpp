// Lookup over the asset table that cmake/embed_assets.cmake generates.
#include "web_assets/web_assets.hpp"

#include <cstddef>

namespace kisgate::web {
namespace detail {
// Defined in the generated web_assets_data.cpp.
extern const Asset kAssetTable[];
extern const std::size_t kAssetCount;
}  // namespace detail

const Asset* FindAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  // A handful of entries: a linear scan is cheaper than building any index.
  for (const Asset& asset : AllAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

std::span<const Asset> AllAssets() { return {detail::kAssetTable, detail::kAssetCount}; }

}  // namespace kisgate::web
