#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rt {

// Key paths as used in config messages: `routing[2].nodes[1]`, `worker-nodes.3`;
// a key that is not plain [A-Za-z0-9_-] is written `["a key"]`.
std::string MemberPath(const std::string& parent, std::string_view key);
std::string IndexPath(const std::string& parent, size_t index);

// Where each key path of a JSON text is, by line, and which keys are repeated in
// an object. nlohmann::json does not report positions, and the config files are
// small, so a second light scan of the text is the simple way to get them.
// REQUIRES: `text` is JSON (comments allowed) that nlohmann::json parsed without
// error; on other input the index is incomplete but the scan stays in bounds.
// Immutable after Build; safe to read from several threads.
class JsonLineIndex {
 public:
  struct DuplicateKey {
    std::string path;
    int line = 0;
  };

  static JsonLineIndex Build(std::string_view text);

  // The 1-based line of the key (for object members) or of the value (for array
  // elements and the root); 0 when the path is not in the text.
  int LineOf(const std::string& path) const;

  const std::vector<DuplicateKey>& duplicates() const { return duplicates_; }

 private:
  class Scanner;

  std::map<std::string, int> lines_;
  std::vector<DuplicateKey> duplicates_;
};

// The 1-based line of a byte offset in `text` (for nlohmann's parse_error::byte).
int LineOfOffset(std::string_view text, size_t offset);

// The cause of a JSON syntax error for the mistakes nlohmann describes badly: an
// unterminated `/* */` comment (nlohmann quotes the rest of the file) and a comma
// before `]` or `}` (nlohmann says "unexpected ']'"). `line` is where the cause is:
// the comment's opening, the comma. Decided by scanning `text` up to `error_offset`
// (the 0-based offset where the parse failed), never from nlohmann's message.
struct SyntaxCause {
  enum class Kind { kUnknown, kUnterminatedComment, kTrailingComma };
  Kind kind = Kind::kUnknown;
  int line = 0;
  char closer = 0;  // kTrailingComma: the ']' or '}' after the comma
};
SyntaxCause DiagnoseSyntaxError(std::string_view text, size_t error_offset);

}  // namespace rt
