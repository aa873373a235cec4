#include "common/metrics_writer.hpp"

#include <array>

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

TEST(MetricsWriter, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsWriter w;
  w.Family("kisgate_x_total", MetricType::kCounter, "Things.");
  w.Sample("kisgate_x_total", {{"key", "a\"b"}, {"code", "EGW00201"}}, 2);
  EXPECT_EQ(w.text(),
            "# HELP kisgate_x_total Things.\n# TYPE kisgate_x_total counter\n"
            "kisgate_x_total{key=\"a\\\"b\",code=\"EGW00201\"} 2\n");
}

// Values as Prometheus reads them: integers without a fraction, fractions in shortest form.
TEST(MetricsWriter, OneSampleFamilies) {
  MetricsWriter w;
  w.Gauge("kisgate_g", "A gauge.", 0.25);
  w.Counter("kisgate_c_total", "A counter.", 1.7e9);
  EXPECT_EQ(w.Take(),
            "# HELP kisgate_g A gauge.\n# TYPE kisgate_g gauge\nkisgate_g 0.25\n"
            "# HELP kisgate_c_total A counter.\n# TYPE kisgate_c_total counter\n"
            "kisgate_c_total 1700000000\n");
}

// Buckets are cumulative, +Inf holds everything (the last count too), and _count equals it.
TEST(MetricsWriter, HistogramBucketsAreCumulative) {
  MetricsWriter w;
  w.Family("kisgate_h_seconds", MetricType::kHistogram, "Waits.");
  constexpr std::array<double, 2> bounds = {0.005, 1};
  constexpr std::array<std::uint64_t, 3> counts = {2, 3, 4};
  w.Histogram("kisgate_h_seconds", {{"lane", "batch"}}, bounds, counts, 7.5);
  EXPECT_EQ(w.text(),
            "# HELP kisgate_h_seconds Waits.\n# TYPE kisgate_h_seconds histogram\n"
            "kisgate_h_seconds_bucket{lane=\"batch\",le=\"0.005\"} 2\n"
            "kisgate_h_seconds_bucket{lane=\"batch\",le=\"1\"} 5\n"
            "kisgate_h_seconds_bucket{lane=\"batch\",le=\"+Inf\"} 9\n"
            "kisgate_h_seconds_sum{lane=\"batch\"} 7.5\n"
            "kisgate_h_seconds_count{lane=\"batch\"} 9\n");
}

}  // namespace
}  // namespace kisgate::common
