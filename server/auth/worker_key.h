#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// The worker key (docs/design.md §3 "Exactly-once streams and the worker protocol"):
// what an API node signs its requests to the workers with, and what a worker checks
// them with. It is derived from the cluster secret,
//
//   worker_key = HMAC-SHA256(secret, "rt worker key v1")      (32 bytes)
//
// so that workers never hold the secret itself: a stolen worker key lets its thief
// write to workers, but not compute the user keys (and so not link a username to
// its data). Printed and stored as 64 lowercase hex characters.
//
// The key id names a worker key without revealing it: the first 8 hex characters
// of SHA-256(worker_key bytes). A worker stores it with its data and refuses to
// start under another key (data of another cluster secret).
struct WorkerKey {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // The key of the cluster whose secret is `secret`.
  static WorkerKey Derive(std::string_view secret);
  // 64 hex characters (either case); anything else is InvalidArgument naming what
  // is wrong (never quoting the text: it may be a secret pasted by mistake).
  [[nodiscard]] static Result<WorkerKey> FromHex(std::string_view hex);

  std::string Hex() const;    // 64 lowercase hex characters
  std::string KeyId() const;  // first 8 hex chars of SHA-256(bytes)
  std::string_view View() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
};

// Lowercase hex of `size` bytes.
std::string HexOfBytes(const uint8_t* data, size_t size);
// Lowercase hex of SHA-256(data).
std::string Sha256HexOf(std::string_view data);

}  // namespace rt
