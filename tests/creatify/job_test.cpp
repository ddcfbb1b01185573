#include "creatify/job.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace creatify {
namespace {

TEST_CASE("an optional number is unset, or holds any finite value, as std::optional<double>") {
  OptionalNumber unset;
  CHECK_FALSE(unset.has_value());
  CHECK_FALSE(unset);
  CHECK(unset == std::nullopt);
  CHECK(unset.value_or(-1) == -1);
  CHECK(unset.optional() == std::nullopt);
  CHECK_FALSE(unset == 0.0);

  for (double value : {0.0, -0.0, 1.5, -2.25, 1e308, -1e-308, 1714557600.123456}) {
    OptionalNumber set = value;
    REQUIRE(set.has_value());
    CHECK(*set == value);
    CHECK(set == value);
    CHECK(set.optional() == value);
    CHECK(set != unset);
    CHECK(set == OptionalNumber(std::optional<double>(value)));
    set.reset();
    CHECK(set == unset);
  }
  // Unset is its own kind of value: equal to unset only, as nullopt is.
  CHECK(OptionalNumber(std::optional<double>()) == unset);
  CHECK(OptionalNumber(std::nullopt) == unset);
  // Against std::optional<double> as std::optional compares with itself.
  CHECK(unset == std::optional<double>());
  CHECK_FALSE(unset == std::optional<double>(0.0));
  CHECK(OptionalNumber(2.5) == std::optional<double>(2.5));
  CHECK_FALSE(OptionalNumber(2.5) == std::optional<double>());
  // A NaN leaves it unset (no value the API or the state file holds is one).
  CHECK(OptionalNumber(std::nan("")) == unset);
}

TEST_CASE("the info fields give back the pairs they were given, in order, whatever the bytes") {
  // Lengths past one varint byte (127, 128, 16383, 16384), empty values, and every byte value.
  std::mt19937 random(20261206);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::pair<std::string, std::string>> pairs;
    const int count = static_cast<int>(random() % 5);
    for (int i = 0; i < count; ++i) {
      auto text = [&] {
        static constexpr size_t kLengths[] = {0, 1, 15, 16, 127, 128, 129, 16383, 16384, 40000};
        std::string out(kLengths[random() % std::size(kLengths)], '\0');
        for (char& c : out) c = static_cast<char>(random() % 256);
        return out;
      };
      pairs.emplace_back(text(), text());
    }
    InfoFields info;
    for (const auto& [name, value] : pairs) info.emplace_back(name, value);
    REQUIRE(info.size() == pairs.size());
    CHECK(info.empty() == pairs.empty());
    size_t i = 0;
    for (const auto& [name, value] : info) {
      REQUIRE(i < pairs.size());
      CHECK(name == pairs[i].first);
      CHECK(value == pairs[i].second);
      CHECK(info[i].second == pairs[i].second);
      ++i;
    }
    CHECK(i == pairs.size());
    InfoFields copy = info;
    CHECK(copy == info);
    if (!pairs.empty()) {
      copy.push_back({"more", "x"});
      CHECK_FALSE(copy == info);
    }
  }
}

TEST_CASE("info fields compare by their pairs") {
  const InfoFields a{{"name", "Spring sale"}, {"model_version", "aurora_v1"}};
  CHECK(a == InfoFields{{"name", "Spring sale"}, {"model_version", "aurora_v1"}});
  CHECK_FALSE(a == InfoFields{{"model_version", "aurora_v1"}, {"name", "Spring sale"}});
  // The boundary between name and value is part of the pair.
  CHECK_FALSE(InfoFields{{"ab", "c"}} == InfoFields{{"a", "bc"}});
  InfoFields cleared = a;
  cleared.clear();
  CHECK(cleared.empty());
  CHECK(cleared == InfoFields{});
}

}  // namespace
}  // namespace creatify
