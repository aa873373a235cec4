#include "collect/schedule.hpp"

#include "collect/universe.hpp"

#include <gtest/gtest.h>

namespace kisgate::collect {
namespace {

using namespace std::chrono_literals;

common::WallTime At(const char* kst) { return *common::ParseKstDateTime(kst); }
std::string Kst(std::optional<common::WallTime> t) {
  return t ? common::FormatKstDateTime(*t) : "none";
}

config::JobConfig Job(std::chrono::milliseconds every, std::vector<std::string> sessions) {
  config::JobConfig j;
  j.name = "j";
  j.dataset = "price";
  j.every = every;
  j.sessions = std::move(sessions);
  return j;
}

class ScheduleTest : public ::testing::Test {
 protected:
  common::MarketCalendar calendar_;
  Schedule schedule_{calendar_};
};

TEST_F(ScheduleTest, AlignsToIntervalBoundariesInsideTheSession) {
  auto job = Job(5min, {"regular"});
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-24 10:02:13"))), "2026-11-24 10:05:00");
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-24 10:05:00"))), "2026-11-24 10:10:00");
  // Before the open: the first slot of the session.
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-24 07:00:00"))), "2026-11-24 09:00:00");
  // After the regular session: the next trading day.
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-24 15:20:00"))), "2026-11-25 09:00:00");
}

TEST_F(ScheduleTest, SkipsWeekendsAndHolidays) {
  auto job = Job(5min, {"regular"});
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-27 15:30:00"))),
            "2026-11-30 09:00:00");  // Fri -> Mon
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-12-24 16:00:00"))),
            "2026-12-28 09:00:00");  // Christmas
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-12-30 16:00:00"))),
            "2027-01-04 09:00:00");  // year end
}

TEST_F(ScheduleTest, AfterHoursAndOnceAfterTheClose) {
  auto overtime = Job(10min, {"after_close", "after_hours"});
  EXPECT_EQ(Kst(schedule_.NextStart(overtime, At("2026-11-24 15:31:00"))), "2026-11-24 15:40:00");
  EXPECT_EQ(Kst(schedule_.NextStart(overtime, At("2026-11-24 17:50:00"))), "2026-11-25 15:40:00");
  auto daily = Job(24h, {"always"});
  EXPECT_EQ(Kst(schedule_.NextStart(daily, At("2026-11-28 10:00:00"))), "2026-11-29 00:00:00");
}

TEST_F(ScheduleTest, AlwaysIgnoresTheCalendar) {
  auto job = Job(15s, {"always"});
  EXPECT_EQ(Kst(schedule_.NextStart(job, At("2026-11-28 03:00:07"))), "2026-11-28 03:00:15");
}

TEST_F(ScheduleTest, ASessionThatNeverComesGivesNone) {
  config::JobConfig job = Job(5min, {"regular"});
  common::MarketCalendar closed_for_weeks([] {
    std::vector<std::chrono::year_month_day> days;
    for (int i = 0; i < 30; ++i) {
      days.push_back(std::chrono::year_month_day{
          std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + std::chrono::days{i}});
    }
    return days;
  }());
  Schedule schedule(closed_for_weeks);
  EXPECT_FALSE(schedule.NextStart(job, At("2026-11-24 08:00:00")).has_value());
}

TEST(Universe, JobGroupAndPriorityOrder) {
  config::UniverseConfig u;
  u.groups["large"] = {"005930", "000660", "035420"};
  const std::vector<std::string> all = {"005930", "000660", "035420", "207940"};
  config::JobConfig job;
  EXPECT_EQ(CodesForJob(job, u, all), all);
  job.universe = "large";
  job.priority = {"035420", "207940"};  // 207940 is not in the group: ignored
  EXPECT_EQ(CodesForJob(job, u, all), (std::vector<std::string>{"035420", "005930", "000660"}));
}

}  // namespace
}  // namespace kisgate::collect
