#include "config/json_lines.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace rt {
namespace {

bool IsPlainKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace

std::string MemberPath(const std::string& parent, std::string_view key) {
  if (IsPlainKey(key)) return parent.empty() ? std::string(key) : parent + "." + std::string(key);
  // Invalid UTF-8 is shown as U+FFFD rather than thrown: the index promises to scan
  // any text, and a path is only for messages.
  return parent + "[" +
         nlohmann::json(std::string(key))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "]";
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

int LineOfOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

SyntaxCause DiagnoseSyntaxError(std::string_view text, size_t error_offset) {
  const size_t end = std::min(error_offset + 1, text.size());
  size_t last_comma = std::string_view::npos;  // offset of the last significant ','
  size_t pos = 0;
  while (pos < end) {
    const char c = text[pos];
    if (c == '"') {
      for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
        if (text[pos] == '\\') ++pos;
      }
      ++pos;
      last_comma = std::string_view::npos;
    } else if (text.substr(pos, 2) == "//") {
      while (pos < text.size() && text[pos] != '\n') ++pos;
    } else if (text.substr(pos, 2) == "/*") {
      const size_t close = text.find("*/", pos + 2);
      if (close == std::string_view::npos) {
        return {SyntaxCause::Kind::kUnterminatedComment, LineOfOffset(text, pos)};
      }
      pos = close + 2;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++pos;
    } else if ((c == ']' || c == '}') && pos == error_offset &&
               last_comma != std::string_view::npos) {
      return {SyntaxCause::Kind::kTrailingComma, LineOfOffset(text, last_comma), c};
    } else {
      last_comma = c == ',' ? pos : std::string_view::npos;
      ++pos;
    }
  }
  return {};
}

// A recursive-descent walk over already validated JSON that only tracks lines and
// paths. Nesting depth is bounded by what nlohmann accepted.
class JsonLineIndex::Scanner {
 public:
  Scanner(std::string_view text, JsonLineIndex& index) : text_(text), index_(index) {}

  void Value(const std::string& path) {
    SkipSpace();
    if (pos_ >= text_.size()) return;
    index_.lines_.emplace(path, line_);
    const char c = text_[pos_];
    if (c == '{') {
      Object(path);
    } else if (c == '[') {
      Array(path);
    } else if (c == '"') {
      String();
    } else {
      while (pos_ < text_.size() &&
             std::string_view(",]}/ \t\r\n").find(text_[pos_]) == std::string_view::npos) {
        ++pos_;
      }
    }
  }

 private:
  void Object(const std::string& path) {
    ++pos_;  // '{'
    std::set<std::string> seen;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return;
      if (text_[pos_] == '}') {
        ++pos_;
        return;
      }
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] != '"') return;  // not valid JSON; stop
      const int key_line = line_;
      const std::string key = String();
      const std::string child = MemberPath(path, key);
      if (!seen.insert(key).second) index_.duplicates_.push_back({child, key_line});
      index_.lines_.emplace(child, key_line);
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ':') ++pos_;
      Value(child);
    }
  }

  void Array(const std::string& path) {
    ++pos_;  // '['
    size_t index = 0;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return;
      if (text_[pos_] == ']') {
        ++pos_;
        return;
      }
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      const size_t before = pos_;
      Value(IndexPath(path, index++));
      if (pos_ == before) return;  // not valid JSON; stop
    }
  }

  // Returns the decoded string at pos_ (which is '"') and moves past it.
  std::string String() {
    const size_t start = pos_++;
    bool escaped = false;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') {
        escaped = true;
        ++pos_;
      }
      ++pos_;
    }
    pos_ = std::min(pos_ + 1, text_.size());
    const std::string_view raw = text_.substr(start, pos_ - start);
    if (!escaped) return std::string(raw.substr(1, raw.size() >= 2 ? raw.size() - 2 : 0));
    const auto decoded = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    return decoded.is_string() ? decoded.get<std::string>() : std::string(raw);
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (text_.substr(pos_, 2) == "/*") {
        const size_t end = text_.find("*/", pos_ + 2);
        const size_t stop = end == std::string_view::npos ? text_.size() : end + 2;
        line_ += static_cast<int>(std::count(text_.begin() + pos_, text_.begin() + stop, '\n'));
        pos_ = stop;
      } else {
        return;
      }
    }
  }

  std::string_view text_;
  JsonLineIndex& index_;
  size_t pos_ = 0;
  int line_ = 1;
};

JsonLineIndex JsonLineIndex::Build(std::string_view text) {
  JsonLineIndex index;
  Scanner(text, index).Value("");
  return index;
}

int JsonLineIndex::LineOf(const std::string& path) const {
  const auto it = lines_.find(path);
  return it == lines_.end() ? 0 : it->second;
}

}  // namespace rt
