// The dashboard's files (web/ and Debian's Chart.js), embedded into the binary at build time by
// cmake/embed_assets.cmake, so kisgate serves its dashboard with nothing installed beside it.
#pragma once

#include <span>
#include <string_view>

namespace kisgate::web {

// One served file. All views point into static storage that lives as long as the process.
struct Asset {
  std::string_view path;          // as requested, e.g. "/dashboard.js"
  std::string_view content_type;  // the Content-Type header value
  std::string_view body;
};

// "/" maps to "/index.html". nullptr when unknown. A query string must be stripped by the caller.
const Asset* FindAsset(std::string_view path);

// Every embedded asset, in a fixed order.
std::span<const Asset> AllAssets();

}  // namespace kisgate::web
