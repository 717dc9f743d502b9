#pragma once

#include <string>

#include "server/metrics/metrics.h"

namespace rt {

// The metrics of one worker's forwarding, labelled worker="ID". Register them once
// per worker id and pass them to every Forwarder made for that worker (a reload
// that moves a worker makes a new Forwarder; the series must stay the same).
// The pointers are owned by the registry.
struct ForwarderMetrics {
  Counter* forwarded = nullptr;        // events acked by the worker
  Counter* batches = nullptr;          // batches acked
  Counter* retries = nullptr;          // batch sends that failed and were repeated
  Counter* duplicates = nullptr;       // events the worker reported as already applied
  Counter* queue_full = nullptr;       // Enqueue refused because the queue was full
  Counter* undeliverable = nullptr;    // Enqueue refused because the worker cannot be served
  Counter* ack_beyond_sent = nullptr;  // alarms: an ack for seqs never sent (stream restarted)
  Counter* unauthorized = nullptr;     // batch sends refused with 401 (signature, clock)
  Counter* stopped = nullptr;          // streams stopped because the worker refused a batch
  Counter* spool_full = nullptr;       // Enqueue refused because the on-disk spool was full
  Counter* spool_lost = nullptr;       // spooled events lost to corruption (skipped gaps)
  Gauge* queue_depth = nullptr;        // events accepted and not yet acked (incl. in flight)
  Gauge* in_flight = nullptr;          // events of the batch being sent
  Gauge* delivery_state = nullptr;     // 0 delivering, 1 key refused, 2 stopped
  Histogram* batch_seconds = nullptr;  // send → ack of a batch, retries included

  static ForwarderMetrics Register(MetricsRegistry& registry, const std::string& worker_id);
};

}  // namespace rt
