#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "base/status.h"
#include "server/auth/request_signature.h"
#include "server/http/router.h"
#include "server/http/types.h"
#include "server/metrics/metrics.h"
#include "server/model/batch_codec.h"
#include "server/store/batch_request.h"
#include "server/worker/slice_range.h"
#include "server/worker/worker_metrics.h"

namespace rt {

class BatchWriter;
class KcStore;
class StaleState;

// The endpoints of a worker node (docs/http.md; the protocol: docs/design.md §3
// "Exactly-once streams and the worker protocol"), as pure request handlers: parse and
// validate the request on the I/O thread, hand writes to the single BatchWriter and
// answer from its completion (on the writer thread), answer reads from the store's
// in-memory stats. No sockets here, so tests call the handlers directly.
// Ownership: borrows the store, writer, metrics and registry; all must outlive it
// and every request it accepted. Thread-safety: handlers may run concurrently.
//
// Every endpoint but /healthz and /metrics answers only signed requests (the
// worker key's, checked by `verifier`): Register wraps them so, and an unsigned
// request gets 401 before it is parsed. The handler methods themselves do not
// check (tests call them directly). Batches are applied under `key_id`, the key id
// of the worker key, never one a request names: whoever signs holds the key.
class WorkerHandler {
 public:
  // Largest accepted batch body.
  static constexpr std::size_t kBatchBodyLimit = 8 << 20;
  // Longest accepted X-Rt-Stream value.
  static constexpr std::size_t kMaxStreamBytes = 128;

  // With a `range`, writes naming a slice outside it are refused with 400 (nothing
  // of the batch is applied); without one every slice >= 0 is taken.
  WorkerHandler(KcStore& store, BatchWriter& writer, WorkerMetrics& metrics,
                const MetricsRegistry& registry, const RequestVerifier& verifier,
                std::string key_id, std::optional<SliceRange> range = std::nullopt);

  // Adds every worker endpoint to `router`, all but /healthz and /metrics behind
  // the signature check.
  void Register(http::Router& router);

  // /healthz extras from the node: `note` (may be empty) a line added to the text
  // answer while it has one, `json` the body answered to `Accept: application/json`.
  // /healthz stays unsigned. REQUIRES: called before the handler serves.
  void SetHealthDetails(std::function<std::optional<std::string>()> note,
                        std::function<std::string()> json);

  // A replica member's durable stale state (docs/design.md §14 "Replica sets", Stale
  // members): while it is stale, reads, batches and /healthz answer 503 (X-Rt-Error:
  // stale) and POST /worker/stale records it. Without one (tests, the simulator's
  // single workers) the worker is never stale and /worker/stale answers 503.
  // REQUIRES: called before the handler serves; `stale` outlives it.
  void SetStaleState(StaleState* stale) { stale_ = stale; }

  void PostEvent(http::Request& request, http::Responder respond);
  void GetSlice(http::Request& request, http::Responder respond);
  void GetSlices(http::Request& request, http::Responder respond);
  void PostBatch(http::Request& request, http::Responder respond);
  // GET /worker/mark?stream=ID: {"stream":"ID","mark":N}, how far the worker has
  // applied the stream (0: unknown), for an API node resuming it.
  void GetMark(http::Request& request, http::Responder respond);
  // POST /worker/stale?stream=ID&mark=M&need=N: an API node's spool of this worker's
  // set starts at seq N of stream ID and the worker reported mark M. If the worker's
  // own mark of ID is still below N - 1 it records itself stale (200); otherwise 409
  // and nothing changes.
  void PostStale(http::Request& request, http::Responder respond);
  // GET /worker/snapshot: the store's files (server/model/snapshot_format.h), taken
  // with writes paused (rtctl reseed-worker).
  void GetSnapshot(http::Request& request, http::Responder respond);
  void GetHealth(http::Request& request, http::Responder respond);
  void GetMetrics(http::Request& request, http::Responder respond);

 private:
  // The error response for a failed write, counted by reason.
  http::Response Refusal(const Status& status);
  // The typed 409 for a batch the store refused (a gap or another key id), counted.
  http::Response Conflict(const BatchOutcome& outcome);
  // 503 + Retry-After for a write the writer's full queue did not take, counted.
  http::Response QueueFull();
  // The 503 a stale worker answers reads and writes with, counted; nullopt when not
  // stale.
  std::optional<http::Response> StaleRefusal();
  // A 400 for a slice outside range_, counted; nullopt when all are inside.
  std::optional<http::Response> OutOfRange(std::span<const BatchEvent> events);

  KcStore& store_;
  StaleState* stale_ = nullptr;
  std::function<std::optional<std::string>()> health_note_;
  std::function<std::string()> health_json_;
  BatchWriter& writer_;
  WorkerMetrics& metrics_;
  const MetricsRegistry& registry_;
  const RequestVerifier& verifier_;
  const std::string key_id_;
  const std::optional<SliceRange> range_;
};

}  // namespace rt
