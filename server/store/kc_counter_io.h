#pragma once
// Reading and writing a slice's counter record (kc_records.h) in a Kyoto file. The
// period files and the summary store hold the same record, so they share these.

#include <kcdb.h>

#include <cstdint>
#include <optional>

#include "server/model/slice_stats.h"
#include "server/store/kc_records.h"

namespace rt::kc_records {

inline bool WriteCounter(kyotocabinet::BasicDB& db, int64_t slice, const SliceStats& stats) {
  char key[kCounterKeySize];
  CounterKey(slice, key);
  char value[kCounterValueSize];
  CounterValue(stats, value);
  return db.set(key, sizeof key, value, sizeof value);
}

// nullopt when the record is missing or not a counter record.
inline std::optional<SliceStats> ReadCounter(kyotocabinet::BasicDB& db, int64_t slice) {
  char key[kCounterKeySize];
  CounterKey(slice, key);
  char value[kCounterValueSize];
  if (db.get(key, sizeof key, value, sizeof value) != static_cast<int32_t>(sizeof value)) {
    return std::nullopt;
  }
  return ParseCounterValue(value);
}

}  // namespace rt::kc_records
