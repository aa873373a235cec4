#include "collect/collector.hpp"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace kisgate::collect {
namespace {

config::Config Parse(const std::string& toml) {
  auto parsed =
      config::ParseConfig(toml, "t.toml", [](const std::string&) { return std::nullopt; });
  if (auto* e = std::get_if<config::ConfigError>(&parsed)) ADD_FAILURE() << e->message;
  return std::get<config::Config>(parsed);
}

// Issue 15: the after-hours TRs are real-only (EGW02006 on the mock host). With only mock keys such
// a job is refused at start, naming the job's config key and the key, on one line; with a real key
// in the pool it is kept (the gateway routes it there).
TEST(CheckJobs, RealOnlyJobOnAMockKeyIsRefused) {
  const std::string mock =
      "[[kis.keys]]\nname='paper'\nenvironment='mock'\napp_key='k'\napp_secret='s'\n";
  for (const char* dataset : {"overtime_price", "overtime_orderbook"}) {
    SCOPED_TRACE(dataset);
    const auto problem =
        CheckJobs(Parse(mock + fmt::format("[[jobs]]\nname='after'\ndataset='{}'\n", dataset)));
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find(fmt::format("jobs[0] 'after': data set {} (", dataset)),
              std::string::npos)
        << *problem;
    EXPECT_NE(problem->find("key 'paper' is a mock key (KIS answers EGW02006)"), std::string::npos)
        << *problem;
    EXPECT_EQ(problem->find('\n'), std::string::npos);
  }
  EXPECT_FALSE(CheckJobs(Parse(mock + "[[kis.keys]]\nname='main'\napp_key='k2'\napp_secret='s2'\n"
                                      "[[jobs]]\nname='after'\ndataset='overtime_price'\n")));
  EXPECT_FALSE(CheckJobs(Parse(mock + "[[jobs]]\ndataset='price'\n")));
}

}  // namespace
}  // namespace kisgate::collect
