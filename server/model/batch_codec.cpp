#include "server/model/batch_codec.h"

#include <charconv>
#include <cstddef>

namespace rt {
namespace {

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string quoted = "\"";
  quoted.append(text.substr(0, kMax));
  if (text.size() > kMax) quoted += "...";
  quoted += '"';
  return quoted;
}

Status LineError(size_t line_no, std::string_view what, std::string_view bad) {
  return Status::InvalidArgument("line " + std::to_string(line_no) + ": " + std::string(what) +
                                 " " + Quote(bad));
}

Status DecodeLine(std::string_view line, size_t line_no, BatchEvent& event) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return LineError(line_no, "expected \"S K c|i\", got", line);
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return LineError(line_no, "expected \"S K c|i\", got", line);
  std::string_view slice = line.substr(0, sp1);
  std::string_view key = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view action = line.substr(sp2 + 1);

  auto [end, ec] = std::from_chars(slice.data(), slice.data() + slice.size(), event.slice);
  if (slice.empty() || ec != std::errc() || end != slice.data() + slice.size() || event.slice < 0) {
    return LineError(line_no, "bad slice", slice);
  }
  if (key.size() != UserKey::kHexSize) return LineError(line_no, "bad user key", key);
  auto parsed = UserKey::FromHex(key);
  if (!parsed.ok()) return LineError(line_no, "bad user key", key);
  event.key = *parsed;
  if (action == "c") {
    event.action = Action::kClick;
  } else if (action == "i") {
    event.action = Action::kImpression;
  } else {
    return LineError(line_no, "bad action (want c or i)", action);
  }
  return Status::Ok();
}

// The common, well-formed line "S K c|i" with a slice of at most 18 digits,
// decoded in one pass. On success advances `pos` past the line and its '\n'.
// Returns false, leaving `pos`, on anything else: DecodeLine then decides, so the
// accepted lines and the error messages are DecodeLine's alone.
bool DecodeLineFast(const char* body, size_t size, size_t& pos, BatchEvent& event) {
  constexpr size_t kMaxDigits = 18;  // cannot overflow int64
  const char* p = body + pos;
  const char* const end = body + size;
  int64_t slice = 0;
  size_t digits = 0;
  while (p != end && digits < kMaxDigits && *p >= '0' && *p <= '9') {
    slice = slice * 10 + (*p++ - '0');
    ++digits;
  }
  // Then: space (so not a 19th digit), key, space, action.
  if (digits == 0 || end - p < 3 + static_cast<ptrdiff_t>(UserKey::kHexSize)) return false;
  if (p[0] != ' ' || p[1 + UserKey::kHexSize] != ' ') return false;
  if (!UserKey::ParseHex(p + 1, event.key)) return false;
  p += 2 + UserKey::kHexSize;
  if (*p == 'c') {
    event.action = Action::kClick;
  } else if (*p == 'i') {
    event.action = Action::kImpression;
  } else {
    return false;
  }
  ++p;
  if (p != end) {
    if (*p != '\n') return false;
    ++p;
  }
  event.slice = slice;
  pos = static_cast<size_t>(p - body);
  return true;
}

}  // namespace

void AppendBatchLine(std::string& out, const BatchEvent& event) {
  // Longest line: 20 digits, space, 32 hex, space, action, newline.
  char line[20 + 1 + UserKey::kHexSize + 3];
  auto [p, ec] = std::to_chars(line, line + 20, event.slice);
  *p++ = ' ';
  event.key.WriteHex(p);
  p += UserKey::kHexSize;
  *p++ = ' ';
  *p++ = event.action == Action::kClick ? 'c' : 'i';
  *p++ = '\n';
  out.append(line, p);
}

Status DecodeBatchInto(std::string_view body, std::vector<BatchEvent>& out) {
  out.clear();
  // Lines are ~50 bytes: one reservation instead of repeated growth.
  out.reserve(body.size() / 50 + 1);
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    ++line_no;
    BatchEvent& event = out.emplace_back();
    if (DecodeLineFast(body.data(), body.size(), pos, event)) continue;
    const size_t eol = body.find('\n', pos);
    const std::string_view line = body.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? body.size() : eol + 1;
    if (Status s = DecodeLine(line, line_no, event); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<BatchEvent>> DecodeBatch(std::string_view body) {
  std::vector<BatchEvent> events;
  if (Status s = DecodeBatchInto(body, events); !s.ok()) return s;
  return events;
}

}  // namespace rt
