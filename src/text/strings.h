// ASCII string helpers used across the modules, so that each has one definition. Pure functions;
// thread-safe. They treat bytes from 0x80 up as non-space, non-letter, non-digit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace text {

// `s` without leading and trailing ASCII whitespace (space, \t, \r, \n, \v, \f).
std::string_view Trim(std::string_view s);

// `s` with A-Z turned to a-z; every other byte unchanged.
std::string Lower(std::string_view s);

// A C0 control character or DEL.
bool IsControl(char c);

// Not empty, and only 0-9.
bool AllDigits(std::string_view s);

// How AppendEscaped writes control characters other than \n and \t.
enum class EscapeStyle {
  kJson,      // "\r", and \u00XX for the others (DEL included): a JSON string's escapes.
  kHexBytes,  // \xXX for every other one, \r included: the config's messages.
};

// Appends `s` escaped so that it can stand between double quotes on one line: '"' and '\' get a
// backslash, \n and \t are written "\n" and "\t", other control characters as `style` says.
// Bytes from 0x80 up (UTF-8) pass through unchanged.
void AppendEscaped(std::string& out, std::string_view s, EscapeStyle style);

// The words separated by ", ".
std::string Join(const std::vector<std::string_view>& words);

}  // namespace text
