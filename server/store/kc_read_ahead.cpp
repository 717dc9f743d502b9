#include "server/store/kc_read_ahead.h"

#include <kchashdb.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

namespace rt {
namespace {

namespace kc = kyotocabinet;

// Kyoto's hash file layout (HashDB::calc_meta): a 64-byte header, the free block
// pool's 6-byte slots, then the bucket array.
constexpr uint64_t kHeadSize = 64;
constexpr uint64_t kFreeBlockWidth = 6;

bool ParseU64(const std::map<std::string, std::string>& status, const char* name, uint64_t& out) {
  auto it = status.find(name);
  if (it == status.end()) return false;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The start and length of the mapping of `path` at file offset 0, if exactly one.
bool FindMapping(const std::string& path, const char*& start, uint64_t& length) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int found = 0;
  while (std::getline(maps, line)) {
    // "begin-end perms offset dev inode   path"
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, mapped;
    if (!(fields >> range >> perms >> offset >> dev >> inode)) continue;
    std::getline(fields >> std::ws, mapped);
    if (mapped != path || offset.find_first_not_of('0') != std::string::npos) continue;
    const size_t dash = range.find('-');
    uint64_t begin = 0, end = 0;
    if (dash == std::string::npos ||
        std::from_chars(range.data(), range.data() + dash, begin, 16).ec != std::errc() ||
        std::from_chars(range.data() + dash + 1, range.data() + range.size(), end, 16).ec !=
            std::errc()) {
      continue;
    }
    start = reinterpret_cast<const char*>(begin);
    length = end - begin;
    ++found;
  }
  return found == 1;
}

// The header fields at their offsets in Kyoto's private layout (HashDB::dump_meta),
// each against the value HashDB::status reports; the name of the first that
// differs, or null when all agree. If a release moved a field, this catches it.
const char* MismatchedHeaderField(const char* map,
                                  const std::map<std::string, std::string>& status) {
  struct Field {
    const char* name;
    size_t offset;
    size_t width;  // 1, or 8 (big-endian)
  };
  static constexpr Field kFields[] = {
      {"libver", 4, 1}, {"librev", 5, 1}, {"fmtver", 6, 1}, {"chksum", 7, 1}, {"type", 8, 1},
      {"apow", 9, 1},   {"fpow", 10, 1},  {"opts", 11, 1},  {"bnum", 16, 8},
  };
  for (const Field& field : kFields) {
    uint64_t expected = 0;
    if (!ParseU64(status, field.name, expected)) return field.name;
    uint64_t stored = 0;
    for (size_t i = 0; i < field.width; ++i) {
      stored = stored << 8 | static_cast<unsigned char>(map[field.offset + i]);
    }
    if (stored != expected) return field.name;
  }
  return nullptr;
}

}  // namespace

KcReadAhead KcReadAhead::For(kc::HashDB& db, const std::string& path, std::string* why,
                             std::string_view library_version) {
  const auto off = [why](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return KcReadAhead{};
  };
  if (std::find(std::begin(kCheckedKyotoVersions), std::end(kCheckedKyotoVersions),
                library_version) == std::end(kCheckedKyotoVersions)) {
    return off("Kyoto Cabinet " + std::string(library_version) +
               " is not a release its file layout was checked against (" +
               std::string(kCheckedKyotoVersions[0]) + ")");
  }
  std::map<std::string, std::string> status;
  if (!db.status(&status)) return off("HashDB::status failed");
  uint64_t apow = 0, fpow = 0, opts = 0, bnum = 0, size = 0;
  if (!ParseU64(status, "apow", apow) || !ParseU64(status, "fpow", fpow) ||
      !ParseU64(status, "opts", opts) || !ParseU64(status, "bnum", bnum) ||
      !ParseU64(status, "realsize", size) || apow > 15 || fpow > 20 || bnum == 0) {
    return off("HashDB::status lacks the layout parameters");
  }
  const char* map = nullptr;
  uint64_t length = 0;
  if (!FindMapping(path, map, length)) return off("no single mapping of " + path + " found");
  if (length < kHeadSize || std::memcmp(map, "KC\n", 3) != 0) {
    return off("the mapping of " + path + " does not start with Kyoto's magic");
  }
  if (const char* field = MismatchedHeaderField(map, status)) {
    return off(std::string("header field ") + field + " of " + path +
               " differs from HashDB::status");
  }

  KcReadAhead ahead;
  // As HashDB::calc_meta lays the file out.
  ahead.width_ = (opts & kc::HashDB::TSMALL) ? 4 : 6;
  ahead.align_pow_ = static_cast<uint32_t>(apow);
  const uint64_t free_blocks = fpow > 0 ? uint64_t{1} << fpow : 0;
  ahead.bucket_offset_ = kHeadSize + kFreeBlockWidth * free_blocks;
  if (free_blocks > 0) ahead.bucket_offset_ += ahead.width_ * 2 + 2;
  ahead.buckets_ = bnum;
  const uint64_t align = uint64_t{1} << apow;
  ahead.records_offset_ = (ahead.bucket_offset_ + ahead.width_ * bnum + align - 1) / align * align;
  // The bucket array must lie inside both the mapping and the file.
  if (ahead.records_offset_ > length || ahead.records_offset_ > size) {
    return off("the bucket array of " + path + " is not inside its mapping");
  }
  ahead.map_ = map;
  ahead.map_size_ = length;
  return ahead;
}

uint64_t KcReadAhead::Hash(const char* key, size_t size) { return kc::hashmurmur(key, size); }

void KcReadAhead::PrefetchBucket(uint64_t hash) const {
  if (map_ == nullptr) return;
  __builtin_prefetch(map_ + bucket_offset_ + hash % buckets_ * width_);
}

uint64_t KcReadAhead::BucketTarget(uint64_t hash) const {
  return kc::readfixnum(map_ + bucket_offset_ + hash % buckets_ * width_, width_) << align_pow_;
}

void KcReadAhead::PrefetchRecord(uint64_t hash) const {
  if (map_ == nullptr) return;
  const uint64_t offset = BucketTarget(hash);
  // An empty bucket (0), or a record beyond the mapping that Kyoto reads with pread.
  if (offset < records_offset_ || offset + 64 > map_size_) return;
  // The record header and a marker key fit in two cache lines.
  __builtin_prefetch(map_ + offset);
  __builtin_prefetch(map_ + offset + 63);
}

}  // namespace rt
