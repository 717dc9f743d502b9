#include "server/model/batch_codec.h"

#include <charconv>

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
  while (!body.empty()) {
    ++line_no;
    size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    BatchEvent& event = out.emplace_back();
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
