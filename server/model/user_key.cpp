#include "server/model/user_key.h"

#include <array>

namespace rt {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Value of every byte as a hex digit; kBad marks the bytes that are none. Lookups
// OR'ed together show whether any digit of a key was bad, so parsing has a
// single branch per key instead of several per character.
constexpr uint16_t kBad = 0x100;
constexpr std::array<uint16_t, 256> kHexValues = [] {
  std::array<uint16_t, 256> values{};
  for (uint16_t& v : values) v = kBad;
  for (int c = '0'; c <= '9'; ++c) values[c] = static_cast<uint16_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) values[c] = static_cast<uint16_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) values[c] = static_cast<uint16_t>(c - 'A' + 10);
  return values;
}();

}  // namespace

void UserKey::WriteHex(char* out) const {
  for (uint8_t b : bytes) {
    *out++ = kHexDigits[b >> 4];
    *out++ = kHexDigits[b & 0xf];
  }
}

std::string UserKey::Hex() const {
  std::string hex(kHexSize, '\0');
  WriteHex(hex.data());
  return hex;
}

bool UserKey::ParseHex(const char* hex, UserKey& out) {
  const auto* in = reinterpret_cast<const unsigned char*>(hex);
  uint16_t bad = 0;
  for (size_t i = 0; i < kSize; ++i) {
    const uint16_t hi = kHexValues[in[2 * i]];
    const uint16_t lo = kHexValues[in[2 * i + 1]];
    bad |= hi | lo;
    out.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return (bad & kBad) == 0;
}

Result<UserKey> UserKey::FromHex(std::string_view hex) {
  UserKey key;
  if (hex.size() == kHexSize && ParseHex(hex.data(), key)) return key;
  std::string shown(hex.substr(0, 64));
  if (hex.size() > 64) shown += "...";
  return Status::InvalidArgument("bad user key \"" + shown + "\" (want 32 hex characters)");
}

uint64_t UserKey::RoutingHash() const {
  uint64_t hash = 0;
  for (size_t i = 0; i < 8; ++i) hash = hash << 8 | bytes[i];
  return hash;
}

}  // namespace rt
