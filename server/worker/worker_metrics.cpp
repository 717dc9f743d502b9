#include "server/worker/worker_metrics.h"

#include "server/store/batch_writer.h"
#include "server/store/kc_store.h"

namespace rt {

namespace {
constexpr const char* kRejectedHelp = "Worker requests refused, by reason";
constexpr const char* kStorageHelp =
    "Writes the store could not apply (nothing of them applied), by kind";
}  // namespace

WorkerMetrics::WorkerMetrics(MetricsRegistry& registry, const KcStore& store,
                             const BatchWriter& writer)
    : events_applied(registry.AddCounter("rt_worker_events_applied_total",
                                         "Events newly counted (batches and single posts)")),
      duplicates_skipped(registry.AddCounter(
          "rt_worker_duplicates_skipped_total",
          "Batch events skipped because their seq was at or below the stream's mark")),
      events_sealed(registry.AddCounter(
          "rt_worker_events_sealed_total",
          "Batch events of slices already sealed, not counted (their counts are final)")),
      batches(registry.AddCounter("rt_worker_batches_total", "Batches applied")),
      single_events(registry.AddCounter("rt_worker_single_events_total",
                                        "Events applied through POST /worker")),
      batch_apply_seconds(registry.AddHistogram(
          "rt_worker_batch_apply_seconds",
          "Time from receiving a batch to its commit (and fsync with --fsync)")),
      rejected_bad_request(
          registry.AddCounter("rt_worker_rejected_total", kRejectedHelp, "reason=\"bad_request\"")),
      rejected_gap(
          registry.AddCounter("rt_worker_rejected_total", kRejectedHelp, "reason=\"seq_gap\"")),
      rejected_key_mismatch(registry.AddCounter("rt_worker_rejected_total", kRejectedHelp,
                                                "reason=\"key_mismatch\"")),
      rejected_unavailable(
          registry.AddCounter("rt_worker_rejected_total", kRejectedHelp, "reason=\"unavailable\"")),
      rejected_queue_full(
          registry.AddCounter("rt_worker_rejected_total", kRejectedHelp, "reason=\"queue_full\"")),
      rejected_out_of_range(registry.AddCounter("rt_worker_rejected_total", kRejectedHelp,
                                                "reason=\"slice_out_of_range\"")),
      rejected_unauthorized(registry.AddCounter("rt_worker_rejected_total", kRejectedHelp,
                                                "reason=\"unauthorized\"")),
      rejected_stale(
          registry.AddCounter("rt_worker_rejected_total", kRejectedHelp, "reason=\"stale\"")),
      storage_no_space(
          registry.AddCounter("rt_worker_storage_errors_total", kStorageHelp, "kind=\"no_space\"")),
      storage_io(
          registry.AddCounter("rt_worker_storage_errors_total", kStorageHelp, "kind=\"io\"")),
      snapshots(registry.AddCounter("rt_worker_snapshots_total",
                                    "Snapshots of the store served (GET /worker/snapshot)")),
      snapshot_pause_seconds(registry.AddHistogram(
          "rt_worker_snapshot_pause_seconds",
          "How long a snapshot paused writes (the hard sync and reading the files)")) {
  registry.AddCallbackGauge("rt_worker_slices_held", "Slices this worker holds data for",
                            [&store] { return static_cast<double>(store.SliceCount()); });
  registry.AddCallbackGauge("rt_worker_store_periods_open",
                            "Period files (Kyoto files of open slices) this worker has open",
                            [&store] { return static_cast<double>(store.OpenPeriods()); });
  registry.AddCallbackGauge(
      "rt_worker_store_periods_closed_idle",
      "Of the open period files, those closed while idle (reopened by their next event; a "
      "kill -9 leaves them clean)",
      [&store] { return static_cast<double>(store.IdleClosedFiles()); });
  registry.AddCallbackGauge(
      "rt_worker_store_read_ahead_files",
      "Open period files whose batches prefetch Kyoto buckets (0 with --no-read-ahead, or "
      "when the read-ahead's layout checks failed)",
      [&store] { return static_cast<double>(store.ReadAheadFiles()); });
  registry.AddCallbackGauge("rt_worker_sealed_before_slice",
                            "Slices below this one are sealed: their counts are final",
                            [&store] { return static_cast<double>(store.SealedBefore()); });
  registry.AddCallbackGauge("rt_worker_store_bytes", "Size of the open period files",
                            [&store] { return static_cast<double>(store.SizeBytes()); });
  registry.AddCallbackGauge(
      "rt_worker_store_repaired",
      "1 if Kyoto repaired the store at this start (it was not closed cleanly), else 0",
      [&store] { return store.start_report().repaired() ? 1.0 : 0.0; });
  registry.AddCallbackGauge("rt_worker_writer_queue_depth",
                            "Batches and events waiting for the single writer",
                            [&writer] { return static_cast<double>(writer.QueueDepth()); });
}

}  // namespace rt
