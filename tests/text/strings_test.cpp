#include "text/strings.h"

#include <doctest/doctest.h>

TEST_CASE("Trim removes ASCII whitespace at both ends only") {
  CHECK(text::Trim("") == "");
  CHECK(text::Trim(" \t\r\n\v\f") == "");
  CHECK(text::Trim("  a b \n") == "a b");
  CHECK(text::Trim("abc") == "abc");
  // A non-breaking space (UTF-8 C2 A0) is not ASCII whitespace.
  CHECK(text::Trim("\xc2\xa0x") == "\xc2\xa0x");
}

TEST_CASE("Lower changes A-Z only") {
  CHECK(text::Lower("HTTPS://Host") == "https://host");
  CHECK(text::Lower("ÄÖ-09_z") == "ÄÖ-09_z");
}

TEST_CASE("IsControl is C0 and DEL") {
  CHECK(text::IsControl('\0'));
  CHECK(text::IsControl('\t'));
  CHECK(text::IsControl('\x1f'));
  CHECK(text::IsControl('\x7f'));
  CHECK_FALSE(text::IsControl(' '));
  CHECK_FALSE(text::IsControl('~'));
  CHECK_FALSE(text::IsControl('\xc3'));
}

TEST_CASE("AllDigits needs at least one digit and nothing else") {
  CHECK(text::AllDigits("0"));
  CHECK(text::AllDigits("0123456789"));
  CHECK_FALSE(text::AllDigits(""));
  CHECK_FALSE(text::AllDigits("12a"));
  CHECK_FALSE(text::AllDigits("-1"));
  CHECK_FALSE(text::AllDigits(" 1"));
}

TEST_CASE("Join separates with a comma and a space") {
  CHECK(text::Join({}) == "");
  CHECK(text::Join({"a"}) == "a");
  CHECK(text::Join({"a", "b", "c"}) == "a, b, c");
}

TEST_CASE("AppendEscaped keeps a value on one line, in either style") {
  const std::string value = "a\"b\\c\nd\te\rf\x01g\x7fh Grüße";
  std::string json = "<";
  text::AppendEscaped(json, value, text::EscapeStyle::kJson);
  CHECK(json == R"(<a\"b\\c\nd\te\rf\u0001g\u007fh Grüße)");
  std::string hex;
  text::AppendEscaped(hex, value, text::EscapeStyle::kHexBytes);
  CHECK(hex == R"(a\"b\\c\nd\te\x0df\x01g\x7fh Grüße)");
}
