#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/model/user_key.h"
#include "server/store/kc_store.h"

namespace rt::testing {

// A distinct, recognizable user key per number (no HMAC needed for store tests).
inline UserKey KeyOf(uint32_t n) {
  UserKey key;
  for (size_t i = 0; i < 4; ++i) key.bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  key.bytes[15] = 0x5a;
  return key;
}

// `count` clicks of distinct users in `slice`, from user `first` on.
inline std::vector<BatchEvent> NewUsers(int64_t slice, uint32_t first, uint32_t count) {
  std::vector<BatchEvent> events;
  for (uint32_t u = first; u < first + count; ++u)
    events.push_back({slice, KeyOf(u), Action::kClick});
  return events;
}

// Opens a store in `dir` with small tuning (the tests' files stay tiny); the test
// fails with the store's message if it cannot.
inline std::unique_ptr<KcStore> OpenOrDie(const std::string& dir, KcStoreOptions options = {}) {
  options.buckets = 1 << 12;
  options.map_bytes = 1 << 20;
  auto store = KcStore::Open(dir, options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

}  // namespace rt::testing
