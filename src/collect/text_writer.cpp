#include "collect/text_writer.h"

#include <charconv>
#include <cmath>
#include <vector>

namespace collect {

void AppendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  std::to_chars_result result;
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (value == std::trunc(value) && std::fabs(value) <= kExactIntegers) {
    result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<long long>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  }
  out.append(buffer, result.ptr);
}

namespace {

// OpenMetrics escapes the double quote in HELP too; the text format does not.
void AppendEscapedHelp(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// A bucket bound as OpenMetrics' canonical number (what Python's float repr gives): 1.0, 0.005,
// 1e-05, 1e+16, +Inf.
void AppendCanonical(std::string& out, double value) {
  if (std::isinf(value) || std::isnan(value)) {
    AppendNumber(out, value);
    return;
  }
  char buffer[64];
  const double magnitude = std::fabs(value);
  std::to_chars_result result;
  if (magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
    std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
    const size_t e = text.find('e');
    out.append(text.substr(0, e + 1));
    // Python writes the exponent's sign always and at least two digits, as C++ does.
    out.append(text.substr(e + 1));
    return;
  }
  result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
  out.append(text);
  if (text.find('.') == std::string_view::npos) out += ".0";
}

// The unit a family's name ends in, for OpenMetrics' # UNIT line; empty when none.
std::string_view UnitOf(std::string_view family) {
  for (std::string_view unit : {"seconds", "bytes", "ratio"}) {
    if (family.size() > unit.size() + 1 && family.ends_with(unit) &&
        family[family.size() - unit.size() - 1] == '_') {
      return unit;
    }
  }
  return {};
}

// A counter's family name in OpenMetrics: without _total.
std::string_view CounterFamily(std::string_view name) {
  constexpr std::string_view kTotal = "_total";
  return name.ends_with(kTotal) ? name.substr(0, name.size() - kTotal.size()) : name;
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
}

}  // namespace

void TextWriter::Family(std::string_view name, std::string_view help, std::string_view type) {
  const bool om = open_metrics();
  if (om && type == "counter") name = CounterFamily(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscapedHelp(out_, help, om);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
  if (om && !UnitOf(name).empty()) {
    out_ += "# UNIT ";
    out_ += name;
    out_ += ' ';
    out_ += UnitOf(name);
    out_ += '\n';
  }
}

void TextWriter::Counter(std::string_view name, std::span<const Label> labels, double value,
                         double created) {
  Sample(name, labels, value);
  if (!open_metrics()) return;
  std::string series(CounterFamily(name));
  series += "_created";
  Sample(series, labels, created);
}

void TextWriter::Labels(const Label* labels, size_t count, const Label* extra) {
  if (count == 0 && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto one = [&](const Label& label) {
    if (!first) out_ += ',';
    first = false;
    out_ += label.first;
    out_ += "=\"";
    AppendEscapedLabelValue(out_, label.second);
    out_ += '"';
  };
  for (size_t i = 0; i < count; ++i) one(labels[i]);
  if (extra != nullptr) one(*extra);
  out_ += '}';
}

void TextWriter::Sample(std::string_view name, const Label* labels, size_t count, double value) {
  out_ += name;
  Labels(labels, count, nullptr);
  out_ += ' ';
  AppendNumber(out_, value);
  out_ += '\n';
}

void TextWriter::Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  Sample(name, labels.begin(), labels.size(), value);
}

void TextWriter::Buckets(std::string_view name, std::span<const Label> labels,
                         const state::Histogram& histogram) {
  std::string series(name);
  series += "_bucket";
  const auto& bounds = histogram.upper_bounds();
  std::string le;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    le.clear();
    if (i == bounds.size()) {
      le = "+Inf";
    } else if (open_metrics()) {
      AppendCanonical(le, bounds[i]);
    } else {
      AppendNumber(le, bounds[i]);
    }
    const Label extra{"le", le};
    out_ += series;
    Labels(labels.data(), labels.size(), &extra);
    out_ += ' ';
    AppendNumber(out_, static_cast<double>(i < bounds.size() ? histogram.CumulativeCount(i)
                                                             : histogram.count()));
    out_ += '\n';
  }
}

void TextWriter::Histogram(std::string_view name, std::span<const Label> labels,
                           const state::Histogram& histogram) {
  // The text format's order, _count and _sum first; OpenMetrics' MetricPoint order, the buckets
  // first.
  if (open_metrics()) Buckets(name, labels, histogram);
  std::string series(name);
  const size_t base = series.size();
  series += "_count";
  Sample(series, labels, static_cast<double>(histogram.count()));
  series.resize(base);
  series += "_sum";
  Sample(series, labels, histogram.sum());
  if (!open_metrics()) Buckets(name, labels, histogram);
}

void TextWriter::Histogram(std::string_view name, std::span<const Label> labels,
                           const state::Histogram& histogram, double created) {
  Histogram(name, labels, histogram);
  if (!open_metrics()) return;
  std::string series(name);
  series += "_created";
  Sample(series, labels, created);
}

}  // namespace collect
