#include "deploy/prometheus/promql_scan.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace deploy_prometheus {
namespace {

enum class TokenType {
  kIdent,
  kString,
  kNumber,
  kRange,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kComma,
  kOperator
};

struct Token {
  TokenType type;
  std::string text;  // strings unquoted; ranges without their brackets
  size_t begin = 0;  // offsets into the expression, end exclusive
  size_t end = 0;
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

std::vector<Token> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    size_t begin = i;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '"' || c == '\'' || c == '`') {
      std::string text;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && c != '`' && i + 1 < s.size()) ++i;
        text += s[i++];
      }
      ++i;
      tokens.push_back({TokenType::kString, text, begin, std::min(i, s.size())});
    } else if (c == '[') {
      size_t close = s.find(']', i);
      if (close == std::string_view::npos) close = s.size();
      tokens.push_back({TokenType::kRange, std::string(s.substr(i + 1, close - i - 1)), begin,
                        std::min(close + 1, s.size())});
      i = close + 1;
    } else if (c == '$') {
      // A Grafana variable standing where a name or number would: $name or ${...}.
      if (i + 1 < s.size() && s[i + 1] == '{') {
        size_t close = s.find('}', i);
        i = close == std::string_view::npos ? s.size() : close + 1;
      } else {
        ++i;
        while (i < s.size() && IsIdentChar(s[i])) ++i;
      }
      tokens.push_back({TokenType::kIdent, std::string(s.substr(begin, i - begin)), begin, i});
    } else if (IsIdentStart(c)) {
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      tokens.push_back({TokenType::kIdent, std::string(s.substr(begin, i - begin)), begin, i});
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // Numbers and durations (5m, 1h30m, 1e3).
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      tokens.push_back({TokenType::kNumber, std::string(s.substr(begin, i - begin)), begin, i});
    } else {
      TokenType type = TokenType::kOperator;
      if (c == '(') type = TokenType::kLParen;
      if (c == ')') type = TokenType::kRParen;
      if (c == '{') type = TokenType::kLBrace;
      if (c == '}') type = TokenType::kRBrace;
      if (c == ',') type = TokenType::kComma;
      std::string text(1, c);
      if (type == TokenType::kOperator && i + 1 < s.size() &&
          (s[i + 1] == '=' || s[i + 1] == '~') && (c == '=' || c == '!' || c == '<' || c == '>')) {
        text += s[i + 1];
      }
      i += text.size();
      tokens.push_back({type, text, begin, i});
    }
  }
  return tokens;
}

const std::set<std::string, std::less<>>& GroupingKeywords() {
  static const std::set<std::string, std::less<>> kWords = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  return kWords;
}

bool IsOperatorWord(std::string_view word) {
  static const std::set<std::string, std::less<>> kWords = {"and",  "or",     "unless",
                                                            "bool", "offset", "atan2"};
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return kWords.count(word) > 0 || lower == "inf" || lower == "nan";
}

bool IsAggregation(std::string_view word) {
  static const std::set<std::string, std::less<>> kWords = {
      "sum",    "min",   "max",          "avg",     "group", "stddev",
      "stdvar", "count", "count_values", "bottomk", "topk",  "quantile"};
  return kWords.count(word) > 0;
}

// Index of the token that closes the bracket opened at `open`, or tokens.size().
size_t Matching(const std::vector<Token>& tokens, size_t open) {
  TokenType opening = tokens[open].type;
  TokenType closing = opening == TokenType::kLParen ? TokenType::kRParen : TokenType::kRBrace;
  int depth = 0;
  for (size_t i = open; i < tokens.size(); ++i) {
    if (tokens[i].type == opening) ++depth;
    if (tokens[i].type == closing && --depth == 0) return i;
  }
  return tokens.size();
}

bool NextIs(const std::vector<Token>& tokens, size_t i, TokenType type) {
  return i + 1 < tokens.size() && tokens[i + 1].type == type;
}

// Parses `label op "value", ...` between the braces at tokens[open] and its match.
std::vector<LabelMatcher> Matchers(const std::vector<Token>& tokens, size_t open, size_t close) {
  std::vector<LabelMatcher> out;
  for (size_t i = open + 1; i + 2 < close; ++i) {
    if (tokens[i].type == TokenType::kIdent && tokens[i + 1].type == TokenType::kOperator &&
        tokens[i + 2].type == TokenType::kString) {
      out.push_back({tokens[i].text, tokens[i + 1].text, tokens[i + 2].text});
      i += 2;
    }
  }
  return out;
}

}  // namespace

std::vector<Selector> Selectors(std::string_view expr) {
  std::vector<Token> tokens = Tokenize(expr);
  std::vector<Selector> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (token.type == TokenType::kLBrace) {
      size_t close = Matching(tokens, i);
      out.push_back({"", Matchers(tokens, i, close)});
      i = close;
      continue;
    }
    if (token.type != TokenType::kIdent || token.text[0] == '$') continue;
    if (GroupingKeywords().count(token.text) > 0) {
      if (NextIs(tokens, i, TokenType::kLParen)) i = Matching(tokens, i + 1);
      continue;
    }
    if (IsOperatorWord(token.text) || IsAggregation(token.text)) continue;
    if (NextIs(tokens, i, TokenType::kLParen)) continue;  // a function call
    Selector selector{token.text, {}};
    if (NextIs(tokens, i, TokenType::kLBrace)) {
      size_t close = Matching(tokens, i + 1);
      selector.matchers = Matchers(tokens, i + 1, close);
      i = close;
    }
    out.push_back(std::move(selector));
  }
  return out;
}

std::vector<Call> Calls(std::string_view expr) {
  std::vector<Token> tokens = Tokenize(expr);
  std::vector<Call> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (token.type != TokenType::kIdent || GroupingKeywords().count(token.text) > 0) continue;
    size_t open = i + 1;
    // sum by (x) (...) and sum without (x) (...): the arguments follow the grouping clause.
    if (IsAggregation(token.text) && open < tokens.size() &&
        tokens[open].type == TokenType::kIdent && GroupingKeywords().count(tokens[open].text) &&
        NextIs(tokens, open, TokenType::kLParen)) {
      open = Matching(tokens, open + 1) + 1;
    }
    if (open >= tokens.size() || tokens[open].type != TokenType::kLParen) continue;
    size_t close = Matching(tokens, open);
    size_t args_begin = tokens[open].end;
    size_t args_end = close < tokens.size() ? tokens[close].begin : expr.size();
    out.push_back({token.text, std::string(expr.substr(args_begin, args_end - args_begin))});
  }
  return out;
}

std::vector<Grouping> Groupings(std::string_view expr) {
  std::vector<Token> tokens = Tokenize(expr);
  std::vector<Grouping> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].type != TokenType::kIdent || GroupingKeywords().count(tokens[i].text) == 0) {
      continue;
    }
    Grouping grouping{tokens[i].text, {}};
    if (NextIs(tokens, i, TokenType::kLParen)) {
      size_t close = Matching(tokens, i + 1);
      for (size_t j = i + 2; j < close; ++j) {
        if (tokens[j].type == TokenType::kIdent) grouping.labels.push_back(tokens[j].text);
      }
      i = close;
    }
    out.push_back(std::move(grouping));
  }
  return out;
}

std::vector<std::string> Ranges(std::string_view text) {
  std::vector<std::string> out;
  for (const Token& token : Tokenize(text)) {
    if (token.type == TokenType::kRange) out.push_back(token.text);
  }
  return out;
}

}  // namespace deploy_prometheus
