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

void AppendEscapedHelp(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
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
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscapedHelp(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
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

void TextWriter::Histogram(std::string_view name, std::span<const Label> labels,
                           const state::Histogram& histogram) {
  std::string series(name);
  const size_t base = series.size();
  series += "_count";
  Sample(series, labels, static_cast<double>(histogram.count()));
  series.resize(base);
  series += "_sum";
  Sample(series, labels, histogram.sum());
  series.resize(base);
  series += "_bucket";
  const auto& bounds = histogram.upper_bounds();
  std::string le;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    le.clear();
    if (i < bounds.size()) {
      AppendNumber(le, bounds[i]);
    } else {
      le = "+Inf";
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

}  // namespace collect
