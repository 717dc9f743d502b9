#include "config/json_depth.h"

namespace rt {

std::optional<int> LineDeeperThan(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  int line = 1;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    switch (c) {
      case '\n':
        ++line;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return line;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case '"':
        // A string: up to the closing quote; a backslash escapes the next byte.
        for (++i; i < n && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
          // A raw newline is invalid JSON, but keep the line count right anyway.
          if (i < n && text[i] == '\n') ++line;
        }
        break;
      case '/':
        if (i + 1 < n && text[i + 1] == '/') {
          while (i + 1 < n && text[i + 1] != '\n') ++i;
        } else if (i + 1 < n && text[i + 1] == '*') {
          for (i += 2; i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/'); ++i) {
            if (text[i] == '\n') ++line;
          }
          ++i;  // the '/' of "*/"
        }
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace rt
