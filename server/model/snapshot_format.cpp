#include "server/model/snapshot_format.h"

#include <charconv>

namespace rt {
namespace {

constexpr std::string_view kMagic = "rt-snapshot 1\n";
constexpr std::string_view kEnd = "end\n";

bool IsPlainStoreName(std::string_view name) {
  if (name.size() < 5 || !name.ends_with(".kch") || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status Bad(const std::string& why) { return Status::InvalidArgument("bad snapshot: " + why); }

}  // namespace

std::string FormatSnapshot(const SnapshotFiles& files) {
  size_t size = kMagic.size() + kEnd.size();
  for (const auto& [name, bytes] : files) size += name.size() + bytes.size() + 32;
  std::string out;
  out.reserve(size);
  out += kMagic;
  for (const auto& [name, bytes] : files) {
    out += "file " + name + " " + std::to_string(bytes.size()) + "\n";
    out += bytes;
  }
  out += kEnd;
  return out;
}

Result<SnapshotFiles> ParseSnapshot(std::string_view body) {
  if (!body.starts_with(kMagic)) return Bad("it does not start with \"rt-snapshot 1\"");
  body.remove_prefix(kMagic.size());
  SnapshotFiles files;
  while (body != kEnd) {
    const size_t eol = body.find('\n');
    if (!body.starts_with("file ") || eol == std::string_view::npos) {
      return Bad("truncated, or a line other than \"file NAME SIZE\" or \"end\"");
    }
    const std::string_view line = body.substr(5, eol - 5);
    const size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return Bad("a file line without a size");
    const std::string_view name = line.substr(0, space);
    const std::string_view size_text = line.substr(space + 1);
    if (!IsPlainStoreName(name)) return Bad("not a store file name: \"" + std::string(name) + "\"");
    uint64_t size = 0;
    const auto [end, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (ec != std::errc() || end != size_text.data() + size_text.size() || size_text.empty()) {
      return Bad("not a size: \"" + std::string(size_text) + "\"");
    }
    body.remove_prefix(eol + 1);
    if (size > body.size()) return Bad("file " + std::string(name) + " is truncated");
    files.emplace_back(std::string(name), std::string(body.substr(0, size)));
    body.remove_prefix(size);
  }
  return files;
}

}  // namespace rt
