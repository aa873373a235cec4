#pragma once
// MetricsWriter: the Prometheus text exposition format 0.0.4, for GET /metrics. Each module writes
// the families of the stats it owns (gate/metrics.hpp, collect/metrics.hpp, store/metrics.hpp, ...)
// into one writer; the API serves the text. Names follow Prometheus conventions: a kisgate_ prefix,
// base units (seconds, bytes) in the name, _total on counters.
//
// Written by hand: the format is lines with one escaping rule, and Debian 12 packages no C++
// client for it (its Prometheus client libraries are Go's and Perl's).
//
// A family is declared once (HELP, TYPE), then its samples follow it, before the next family: the
// format requires a family's lines to be together. Values are written as fmt writes a double
// (shortest round trip: 10, 0.25, 1700000000).
//
// Thread-safety: none; one writer per scrape.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kisgate::common {

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view Name(MetricType type);  // "counter", "gauge", "histogram"

// A label and its value; the value is escaped when written.
using MetricLabel = std::pair<std::string_view, std::string_view>;
using MetricLabels = std::vector<MetricLabel>;

class MetricsWriter {
 public:
  // # HELP and # TYPE of a family; its samples follow.
  void Family(std::string_view name, MetricType type, std::string_view help);
  // One sample line: name{labels} value (no braces without labels).
  void Sample(std::string_view name, const MetricLabels& labels, double value);

  // A family of one unlabelled sample.
  void Counter(std::string_view name, std::string_view help, double value);
  void Gauge(std::string_view name, std::string_view help, double value);

  // The samples of one histogram series (its family declared before): name_bucket for each upper
  // bound and +Inf (cumulative), name_sum and name_count. `counts` are per bucket, not cumulative,
  // one more than `upper_bounds` (the last is beyond the last bound).
  void Histogram(std::string_view name, const MetricLabels& labels,
                 std::span<const double> upper_bounds, std::span<const std::uint64_t> counts,
                 double sum);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Label value escaping of the text format: backslash, double quote and newline.
std::string EscapeLabel(std::string_view value);

}  // namespace kisgate::common
