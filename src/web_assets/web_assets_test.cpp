// Tests of the embedded dashboard: every file is there with the type a browser needs, and the
// page asks only for files the binary serves (the machine the dashboard runs on has no internet).
#include "web_assets/web_assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace kisgate::web {
namespace {

std::string_view TypeFor(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  return "";
}

TEST(WebAssets, ServesTheDashboardFiles) {
  for (std::string_view path :
       {"/index.html", "/dashboard.js", "/dashboard.css", "/vendor/chart.min.js"}) {
    const Asset* asset = FindAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_EQ(asset->path, path);
  }
  EXPECT_EQ(AllAssets().size(), 4u);
}

TEST(WebAssets, RootIsTheIndexAndUnknownPathsAreNotFound) {
  ASSERT_NE(FindAsset("/"), nullptr);
  EXPECT_EQ(FindAsset("/"), FindAsset("/index.html"));
  EXPECT_EQ(FindAsset(""), nullptr);
  EXPECT_EQ(FindAsset("/nope.js"), nullptr);
  EXPECT_EQ(FindAsset("index.html"), nullptr);
  EXPECT_EQ(FindAsset("/index.html/"), nullptr);
}

TEST(WebAssets, EveryAssetIsNonEmptyWithItsContentType) {
  std::set<std::string_view> paths;
  for (const Asset& asset : AllAssets()) {
    EXPECT_TRUE(paths.insert(asset.path).second) << "served twice: " << asset.path;
    EXPECT_FALSE(asset.body.empty()) << asset.path;
    EXPECT_EQ(asset.content_type, TypeFor(asset.path)) << asset.path;
    EXPECT_EQ(FindAsset(asset.path), &asset);
  }
}

// The embedding keeps bytes exact: the page starts as HTML and Chart.js as Debian ships it.
TEST(WebAssets, BodiesAreTheFilesVerbatim) {
  EXPECT_TRUE(FindAsset("/index.html")->body.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(FindAsset("/vendor/chart.min.js")->body.find("Chart.js v"), std::string_view::npos);
  EXPECT_EQ(FindAsset("/index.html")->body.find('\0'), std::string_view::npos);
}

// Every src= and href= in the page names an embedded asset: nothing from a CDN, no typo that
// would leave the dashboard without its script or its charts.
TEST(WebAssets, IndexReferencesOnlyEmbeddedAssets) {
  const std::string html(FindAsset("/index.html")->body);
  const std::regex attribute(R"re(\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'))re",
                             std::regex::icase);
  int references = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), attribute);
       it != std::sregex_iterator(); ++it) {
    std::string target = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
    if (target.starts_with("data:")) continue;  // inline, e.g. the empty favicon
    EXPECT_EQ(target.find("//"), std::string::npos) << "not served by kisgate: " << target;
    // Relative references resolve against "/", where the page is served.
    std::string path = target.starts_with('/') ? target : "/" + target;
    EXPECT_NE(FindAsset(path), nullptr) << "index.html references a missing asset: " << target;
    ++references;
  }
  EXPECT_GE(references, 3) << "expected the stylesheet, Chart.js and dashboard.js";
}

}  // namespace
}  // namespace kisgate::web
