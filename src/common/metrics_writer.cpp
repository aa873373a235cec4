#include "common/metrics_writer.hpp"

#include <fmt/format.h>

namespace kisgate::common {

std::string_view Name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsWriter::Family(std::string_view name, MetricType type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                 Name(type));
}

void MetricsWriter::Sample(std::string_view name, const MetricLabels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i != 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      out_ += EscapeLabel(labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void MetricsWriter::Counter(std::string_view name, std::string_view help, double value) {
  Family(name, MetricType::kCounter, help);
  Sample(name, {}, value);
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, MetricType::kGauge, help);
  Sample(name, {}, value);
}

void MetricsWriter::Histogram(std::string_view name, const MetricLabels& labels,
                              std::span<const double> upper_bounds,
                              std::span<const std::uint64_t> counts, double sum) {
  const std::string bucket = fmt::format("{}_bucket", name);
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < upper_bounds.size(); ++b) {
    if (b < counts.size()) cumulative += counts[b];
    const std::string le = fmt::format("{}", upper_bounds[b]);
    with_le.back().second = le;
    Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  for (std::size_t b = upper_bounds.size(); b < counts.size(); ++b) cumulative += counts[b];
  with_le.back().second = "+Inf";
  Sample(bucket, with_le, static_cast<double>(cumulative));
  Sample(fmt::format("{}_sum", name), labels, sum);
  Sample(fmt::format("{}_count", name), labels, static_cast<double>(cumulative));
}

}  // namespace kisgate::common
