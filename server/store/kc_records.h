#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "server/model/batch_codec.h"
#include "server/model/slice_stats.h"
#include "server/model/user_key.h"

namespace rt::kc_records {

// The record layout of a worker's Kyoto file (docs/design.md §7 "Store records").
// One-byte prefixes keep the kinds apart; slices are big-endian so a key's bytes
// read like the number; values are little-endian.
inline constexpr char kMarkerPrefix = 'u';    // u be64(slice) key[16] -> ""
inline constexpr char kCounterPrefix = 's';   // s be64(slice) -> unique, clicks, impressions
inline constexpr char kMarkPrefix = 'm';      // m stream -> u64 high-water mark
inline constexpr char kFileMarkPrefix = 'f';  // f stream -> u64: applied to this file up to
inline constexpr std::string_view kStreamsKey = "M";  // -> (u32 length, stream) per stream marked
// Summary store (meta.kch) only:
inline constexpr std::string_view kPeriodSlicesKey = "P";  // -> u64 slices per period file
inline constexpr std::string_view kSealedBeforeKey = "h";  // -> u64: slices below are sealed
inline constexpr std::string_view kRetainedFromKey = "r";  // -> u64: slices below are dropped
inline constexpr std::string_view kLegacyKey = "L";        // -> "1": rt.kch is still a period
inline constexpr std::string_view kKeyIdKey = "k";         // -> key id text
inline constexpr std::string_view kDirectoryKey = "d";     // -> be64 of every slice held
inline constexpr size_t kMarkerSize = 1 + 8 + UserKey::kSize;
inline constexpr size_t kCounterKeySize = 1 + 8;
inline constexpr size_t kCounterValueSize = 24;
inline constexpr size_t kMarkValueSize = 8;

inline void PutBe64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v);
}
inline uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
inline void PutLe64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) out[i] = static_cast<char>(v);
}
inline uint64_t GetLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

inline void MarkerKey(const BatchEvent& event, char (&key)[kMarkerSize]) {
  key[0] = kMarkerPrefix;
  PutBe64(key + 1, static_cast<uint64_t>(event.slice));
  std::memcpy(key + 9, event.key.bytes.data(), UserKey::kSize);
}

inline void CounterKey(int64_t slice, char (&key)[kCounterKeySize]) {
  key[0] = kCounterPrefix;
  PutBe64(key + 1, static_cast<uint64_t>(slice));
}

inline void CounterValue(const SliceStats& stats, char (&value)[kCounterValueSize]) {
  PutLe64(value, stats.unique_users);
  PutLe64(value + 8, stats.clicks);
  PutLe64(value + 16, stats.impressions);
}

inline SliceStats ParseCounterValue(const char (&value)[kCounterValueSize]) {
  return {GetLe64(value), GetLe64(value + 8), GetLe64(value + 16)};
}

}  // namespace rt::kc_records
