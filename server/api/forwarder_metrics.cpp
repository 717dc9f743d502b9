#include "server/api/forwarder_metrics.h"

namespace rt {

ForwarderMetrics ForwarderMetrics::Register(MetricsRegistry& registry,
                                            const std::string& worker_id) {
  const std::string labels = "worker=\"" + worker_id + "\"";
  ForwarderMetrics m;
  m.forwarded = &registry.AddCounter("rt_api_forwarded_events_total",
                                     "Events acknowledged by the worker", labels);
  m.batches = &registry.AddCounter("rt_api_forward_batches_total", "Batches acknowledged", labels);
  m.retries = &registry.AddCounter("rt_api_forward_retries_total",
                                   "Batch sends that failed and were repeated", labels);
  m.duplicates = &registry.AddCounter("rt_api_forward_duplicates_total",
                                      "Events the worker already had (resent batches)", labels);
  m.queue_full = &registry.AddCounter("rt_api_forward_queue_full_total",
                                      "Events refused because the worker's queue was full", labels);
  m.undeliverable = &registry.AddCounter(
      "rt_api_forward_undeliverable_total",
      "Events refused (503) because the worker refused our key or its stream was stopped", labels);
  m.ack_beyond_sent = &registry.AddCounter(
      "rt_api_forward_alarms_total",
      "Protocol alarms: answers that cannot be right (the stream was restarted)",
      labels + ",reason=\"ack_beyond_sent\"");
  m.unauthorized = &registry.AddCounter(
      "rt_api_forward_unauthorized_total",
      "Batch sends the worker refused with 401 (our worker key or clock is wrong)", labels);
  m.stopped = &registry.AddCounter(
      "rt_api_forward_stopped_total",
      "Streams stopped because the worker refused a batch with a 4xx other than 408/409/429",
      labels);
  m.spool_full = &registry.AddCounter(
      "rt_api_spool_full_total",
      "POSTs answered 503 because the worker's spool was at --spool-max-bytes", labels);
  m.spool_lost = &registry.AddCounter(
      "rt_api_spool_lost_events_total",
      "Spooled events lost to spool corruption (a gap skipped onto a new stream)", labels);
  m.queue_depth = &registry.AddGauge("rt_api_forward_queue_depth",
                                     "Events accepted and not yet acknowledged", labels);
  m.in_flight =
      &registry.AddGauge("rt_api_forward_in_flight", "Events of the batch being sent", labels);
  m.delivery_state = &registry.AddGauge(
      "rt_api_forward_state",
      "Delivery state: 0 delivering, 1 key refused, 2 stream stopped, 3 stale replica", labels);
  m.batch_seconds = &registry.AddHistogram("rt_api_forward_batch_seconds",
                                           "From first send to acknowledgement of a batch", labels);
  return m;
}

}  // namespace rt
