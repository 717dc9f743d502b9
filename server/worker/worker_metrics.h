#pragma once

#include "server/metrics/metrics.h"

namespace rt {

class BatchWriter;
class KcStore;

// The worker node's metrics, registered in the node's registry (names in
// docs/metrics.md). Updated from the writer thread and the I/O threads; every member
// is a lock-free metric.
struct WorkerMetrics {
  WorkerMetrics(MetricsRegistry& registry, const KcStore& store, const BatchWriter& writer);

  Counter& events_applied;
  Counter& duplicates_skipped;
  Counter& events_sealed;  // batch events of sealed slices: skipped, counts are final
  Counter& batches;
  Counter& single_events;
  Histogram& batch_apply_seconds;
  Counter& rejected_bad_request;
  Counter& rejected_gap;           // 409 X-Rt-Error: seq-gap
  Counter& rejected_key_mismatch;  // 409 X-Rt-Error: key-mismatch
  Counter& rejected_unavailable;
  Counter& rejected_queue_full;       // 503 + Retry-After: the writer's queue is full
  Counter& rejected_out_of_range;     // 400: a slice outside the accepted range
  Counter& rejected_unauthorized;     // 401: unsigned or badly signed request
  Counter& rejected_stale;            // 503 X-Rt-Error: stale (a stale replica member)
  Counter& storage_no_space;          // 507: the disk is full, nothing applied
  Counter& storage_io;                // 500: another storage error
  Counter& snapshots;                 // GET /worker/snapshot answered
  Histogram& snapshot_pause_seconds;  // how long each snapshot paused writes
};

}  // namespace rt
