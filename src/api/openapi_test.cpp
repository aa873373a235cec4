// openapi.json describes exactly the routes the service answers (the route table), with their
// query parameters and summaries.
#include <set>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/service.hpp"

namespace kisgate::api {
namespace {

namespace json = boost::json;

TEST(OpenApi, DocumentMatchesTheRoutes) {
  auto doc = json::parse(OpenApiDocument()).as_object();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.0.3");
  const auto& paths = doc.at("paths").as_object();
  std::set<std::string> documented;
  for (const auto& [path, item] : paths) documented.insert(std::string(path));
  std::set<std::string> served;
  for (const auto& route : Routes()) {
    served.insert(route.path);
    ASSERT_TRUE(paths.contains(route.path)) << route.path << " is served but not in openapi.json";
    const auto& item = paths.at(route.path).as_object();
    ASSERT_TRUE(item.contains(route.method)) << route.method << " " << route.path;
    std::set<std::string> query;
    if (const auto* params = item.at(route.method).as_object().if_contains("parameters")) {
      for (const auto& p : params->as_array()) {
        if (p.at("in").as_string() == "query") query.insert(std::string(p.at("name").as_string()));
      }
    }
    EXPECT_EQ(query, std::set<std::string>(route.query.begin(), route.query.end())) << route.path;
    EXPECT_EQ(item.at(route.method).as_object().at("summary").as_string(), route.summary)
        << route.path;
  }
  EXPECT_EQ(documented, served) << "openapi.json documents a route the service does not answer";
  // Every $ref resolves.
  const auto& schemas = doc.at("components").at("schemas").as_object();
  const std::string text(OpenApiDocument());
  for (std::size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    const auto start = at + std::string_view("#/components/schemas/").size();
    const auto name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(schemas.contains(name)) << name;
  }
}

}  // namespace
}  // namespace kisgate::api
