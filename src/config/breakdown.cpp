// `breakdown:`: the fields completions and credits are broken down by.
#include <algorithm>

#include "config/parser.h"

namespace config {
namespace {

constexpr std::size_t kMaxBreakdownFields = 3;
constexpr int kMaxBreakdownValues = 1000;
// A field every kind's jobs may carry, besides the kinds' info fields.
constexpr std::string_view kFailedReason = "failed_reason";

}  // namespace

bool Parser::ParseBreakdown(const Entry& section, Config* config) {
  if (section.value.IsNull()) return true;
  if (!ExpectMap(section)) return false;
  static const std::vector<std::string_view> kKnown = {"fields", "max_values"};
  BreakdownConfig& out = config->breakdown;
  return ForEach(section.value, section.path, [&](const Entry& entry) {
    if (entry.key == "max_values") return ReadInt(entry, 1, kMaxBreakdownValues, &out.max_values);
    if (entry.key != "fields") return UnknownKey(entry, kKnown);
    out.fields.clear();
    breakdown_fields_.clear();
    if (entry.value.IsNull()) return true;
    if (!entry.value.IsSequence()) {
      return Fail(ValueMark(entry), entry.path,
                  "expected a list of job field names, got " + Describe(entry.value));
    }
    if (entry.value.size() > kMaxBreakdownFields) {
      return Fail(ValueMark(entry), entry.path,
                  "at most " + std::to_string(kMaxBreakdownFields) +
                      " fields (each multiplies the series of the breakdown families)");
    }
    return ForEachItem(entry, [&](const Entry& item, std::size_t) {
      std::string field;
      if (!ReadFieldName(item, &field)) return false;
      if (field == "kind" || field == "status" || field == "workspace") {
        return Fail(ValueMark(item), item.path,
                    "field " + Quote(field) + " clashes with a label of the breakdown families");
      }
      if (std::find(out.fields.begin(), out.fields.end(), field) != out.fields.end()) {
        return Fail(ValueMark(item), item.path, "duplicate field " + Quote(field));
      }
      out.fields.push_back(field);
      breakdown_fields_.push_back(item);
      return true;
    });
  });
}

bool Parser::CheckBreakdown(const Config& config) {
  for (const Entry& item : breakdown_fields_) {
    const std::string field = item.value.Scalar();
    if (field == kFailedReason) continue;
    bool carried = false;
    std::vector<std::string_view> known;
    for (const Config* polled : config.Polled()) {
      for (const auto& kind : polled->kind_table) {
        if (!polled->KindEnabled(kind.name)) continue;
        for (const auto& info : kind.info_fields) {
          carried = carried || info == field;
          if (std::find(known.begin(), known.end(), info) == known.end()) known.push_back(info);
        }
      }
    }
    if (!carried) {
      return Fail(
          ValueMark(item),
          item.path, "no enabled kind's jobs carry the field " + Quote(field) + " (" + [&] {
            std::string list;
            for (std::string_view name : known) (list += name) += ", ";
            return list;
          }() + "or failed_reason)");
    }
  }
  return true;
}

}  // namespace config
