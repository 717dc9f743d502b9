#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/model/user_key.h"

namespace rt {

// Pseudonymizes usernames: UserKey = first 16 bytes of
// HMAC-SHA256(secret, be64(slice) || username). The slice is inside the MAC so a
// user cannot be linked across slices; the MAC is keyed so stolen worker data
// cannot be reversed by hashing a dictionary of usernames.
//
// Thread-safe. KeyFor is on the API node's hot path: each thread keeps its own
// copy of a pre-keyed OpenSSL MAC context (made once per thread and keyer) and
// only re-initializes it per call, which is ~3x cheaper than one-call HMAC().
// An empty secret is allowed (the node warns loudly) and keys with the empty key.
class UserKeyer {
 public:
  explicit UserKeyer(std::string secret);
  ~UserKeyer();
  UserKeyer(const UserKeyer&) = delete;
  UserKeyer& operator=(const UserKeyer&) = delete;

  UserKey KeyFor(int64_t slice, std::string_view user) const;

  // First 8 hex characters of SHA-256(secret); sent with every write so a worker
  // can refuse writes keyed with a different secret.
  const std::string& KeyId() const { return key_id_; }
  bool HasSecret() const { return !secret_.empty(); }

 private:
  struct Template;  // the keyed OpenSSL context every thread copies
  std::string secret_;
  std::string key_id_;
  uint64_t id_;  // unique per keyer, never reused: names the per-thread copies
  Template* template_;
};

// One-shot HMAC-SHA256; the reference the keyer is tested against (RFC 4231).
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data);

// Lowercase hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);

}  // namespace rt
