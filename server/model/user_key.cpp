#include "server/model/user_key.h"

namespace rt {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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

Result<UserKey> UserKey::FromHex(std::string_view hex) {
  auto bad = [&] {
    std::string shown(hex.substr(0, 64));
    if (hex.size() > 64) shown += "...";
    return Status::InvalidArgument("bad user key \"" + shown + "\" (want 32 hex characters)");
  };
  if (hex.size() != kHexSize) return bad();
  UserKey key;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return bad();
    key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

uint64_t UserKey::RoutingHash() const {
  uint64_t hash = 0;
  for (size_t i = 0; i < 8; ++i) hash = hash << 8 | bytes[i];
  return hash;
}

}  // namespace rt
