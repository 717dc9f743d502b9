#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// A pseudonymized user of one slice: the first 16 bytes of
// HMAC-SHA256(secret, be64(slice) || username) (docs/design.md §2 "Write path"). On
// the wire it is 32 lowercase hex characters. A plain value type.
struct UserKey {
  static constexpr size_t kSize = 16;
  static constexpr size_t kHexSize = 2 * kSize;

  std::array<uint8_t, kSize> bytes{};

  // 32 lowercase hex characters.
  std::string Hex() const;
  // Writes the 32 hex characters to `out`. REQUIRES: room for kHexSize chars.
  void WriteHex(char* out) const;
  // Parses exactly 32 hex characters (either case).
  [[nodiscard]] static Result<UserKey> FromHex(std::string_view hex);
  // Parses the kHexSize characters at `hex` (either case) into `out`; false if
  // any is not a hex digit (`out` is then unspecified). The allocation-free form
  // of FromHex for hot paths. REQUIRES: kHexSize readable chars.
  [[nodiscard]] static bool ParseHex(const char* hex, UserKey& out);

  // The first 8 bytes as a big-endian u64: what routing takes modulo the slice's
  // node count.
  uint64_t RoutingHash() const;

  friend bool operator==(const UserKey&, const UserKey&) = default;
  friend auto operator<=>(const UserKey&, const UserKey&) = default;
};

}  // namespace rt
