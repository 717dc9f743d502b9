#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/store/kc_version.h"

namespace kyotocabinet {
class HashDB;
}

namespace rt {

// Software prefetch of the Kyoto hash buckets and records a batch is about to
// visit. A worker's bucket array is tens of MiB and its records are spread over
// the file, so nearly every marker lookup misses the caches and the TLB twice
// (bucket, then record); issuing those loads a few events ahead overlaps the
// misses instead of paying them one after another.
//
// It reads Kyoto's own memory map (found in /proc/self/maps) and computes
// addresses from Kyoto's private file layout (HashDB::calc_meta) and the
// parameters HashDB::status reports. Only prefetch instructions and reads of the
// bucket array (always inside the file) are issued, so a wrong address costs time,
// never correctness. It is fenced all the same (docs/design.md §11): it enables
// itself only for a Kyoto release whose layout it was checked against
// (kCheckedKyotoVersions), when every header field at its private offset equals
// what HashDB::status reports, and when the mapping and the bucket array are found;
// otherwise it is disabled, says why, and does nothing. `serve-worker
// --no-read-ahead` switches it off.
//
// Ownership: borrows the mapping; valid while the database stays open.
// Thread-safety: use from the store's writer thread only.
class KcReadAhead {
 public:
  // The Kyoto Cabinet releases (kyotocabinet::VERSION) whose hash file layout the
  // address computation was checked against: Debian 12's.
  static constexpr std::string_view kCheckedKyotoVersions[] = {"1.2.79"};

  KcReadAhead() = default;  // disabled
  // Inspects the open database at `path` (its canonical path). `library_version`:
  // the loaded Kyoto's (a parameter for tests). When the result is disabled, `why`
  // (if given) receives one phrase saying why.
  static KcReadAhead For(kyotocabinet::HashDB& db, const std::string& path,
                         std::string* why = nullptr,
                         std::string_view library_version = KyotoCabinetVersion());

  bool enabled() const { return map_ != nullptr; }
  // The hash Kyoto files the key under (kc::hashmurmur).
  static uint64_t Hash(const char* key, size_t size);
  // Stage 1: start loading the key's bucket.
  void PrefetchBucket(uint64_t hash) const;
  // Stage 2 (some events after stage 1): read the bucket and start loading the
  // first record of its chain.
  void PrefetchRecord(uint64_t hash) const;
  // The file offset the key's bucket points at: the first record of its chain,
  // or 0 for an empty bucket. REQUIRES: enabled().
  uint64_t BucketTarget(uint64_t hash) const;

 private:
  const char* map_ = nullptr;
  uint64_t map_size_ = 0;
  uint64_t bucket_offset_ = 0;
  uint64_t buckets_ = 0;
  uint32_t width_ = 0;
  uint32_t align_pow_ = 0;
  uint64_t records_offset_ = 0;
};

}  // namespace rt
