#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/api/batch_exchange.h"
#include "server/api/delivery_log.h"
#include "server/api/enqueue_result.h"
#include "server/api/forwarder_metrics.h"
#include "server/api/mark_exchange.h"
#include "server/api/retry_backoff.h"
#include "server/api/spool/event_spool.h"
#include "server/api/stream_id.h"
#include "server/auth/request_signature.h"
#include "server/http/client_connection.h"
#include "server/model/batch_ack.h"
#include "server/model/batch_codec.h"

namespace rt {

struct ForwarderOptions {
  std::string worker_id;  // config id, for metrics labels and messages
  std::string host;       // the worker's address (from its URL)
  uint16_t port = 0;
  std::string node_id;  // this API node's id: the stream id is "<node_id>:<epoch>"
  std::string key_id;   // X-Rt-Key-Id (the worker key's id; for people)
  // Signs every send (docs/design.md §3); null sends unsigned (tests of fakes only).
  std::shared_ptr<const RequestSigner> signer;
  // Where the events wait until acked; null: a MemorySpool of queue_limit events.
  std::shared_ptr<EventSpool> spool;
  bool spool_on_disk = false;  // a full spool also counts in rt_api_spool_full_total
  bool spool_fsync = false;    // a 202 waits for the spool's fsync (EnqueueOutcome)
  // Called (once per failure, on any thread) when the spool can no longer keep its
  // promise (an Append or StartNewStream error other than full): the node exits.
  // Null: logged only (tests).
  std::function<void(const Status&)> on_fatal;
  // A member of a replica set of more than one worker (docs/design.md §14 "Replica
  // sets", Write path): `spool` is its view of the set's ReplicaSpool, the set's events are
  // appended by the set (Appended wakes this sender), stream ids end in
  // `stream_suffix` ("@<SetTag>"), the sender follows the set's stream changes at the
  // seq where they happen, and a worker that lacks records the spool no longer holds
  // is declared stale (POST /worker/stale) instead of being given a new stream.
  bool replica_member = false;
  std::string stream_suffix;
  size_t queue_limit = 1'000'000;       // MemorySpool: events accepted but not yet acked
  size_t batch_max = 4096;              // events per batch
  std::chrono::milliseconds linger{2};  // a partial batch waits at most this long
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{1000};
};

// Forwards one worker's share of the events accepted by this API node over the
// exactly-once batch path (docs/design.md §3 "Exactly-once streams and the worker
// protocol"; its states and answers: §8 "Forwarder states"; the spool: §13 "Spool").
//
// Events wait in the worker's EventSpool (a MemorySpool, or a FileSpool under
// --spool-dir that survives a restart): Enqueue encodes the event's batch line and
// appends it. A batch is cut when `batch_max` records are waiting or `linger` after
// the first of them arrived: up to batch_max consecutive records read from the
// spool (never across a gap), posted to /worker/batch on one persistent
// connection at wire seq = record seq - stream base. Exactly one batch is in
// flight, so the worker sees the stream's seqs in order; an ack acknowledges the
// records to the spool, which may then reclaim them.
//
// Before its first send the forwarder asks the worker for the stream's mark (GET
// /worker/mark): records the worker already has are acknowledged, not resent (a
// FileSpool reopened after kill -9). A worker that has more than the spool (the
// spool lost its tail in a power cut without --spool-fsync) would skip the new
// records as duplicates: they go on a new stream instead, with an ERROR line. A gap
// in the spool (records lost to corruption) is counted in
// rt_api_spool_lost_events_total, logged, and skipped onto a new stream.
//
// What happens after a send is decided on the answer's status code and typed
// headers only (ClassifyBatchReply), never on its text:
//
//   answer                               | action
//   -------------------------------------+----------------------------------------------
//   200, ack = last seq sent             | batch done; next batch
//   200, ack beyond the last seq sent    | alarm (metric, one log line); resend the batch
//                                        | on a new stream after a backoff
//   409 X-Rt-Expected-Seq inside batch   | drop what the worker has, send the rest
//   409 X-Rt-Expected-Seq below batch    | the worker lost acked events: ERROR line, go
//                                        | on with the batch on a new stream
//   409 X-Rt-Error: key-mismatch, 401    | delivery state kKeyRefused; resend slowly
//   transport error, 5xx, 408, 429,      | resend unchanged after exponential backoff
//   unreadable ack                       | (the worker skips seqs <= its mark: no double
//                                        | count)
//   other surprises (short ack, untyped  | resend after the max backoff, logged
//   409, gap beyond the batch)           |
//   any other 4xx                        | delivery state kStopped: no more sends
//
// The mark request is answered the same way: 401 is kKeyRefused, transport errors
// and 5xx are retried with backoff, a 404 (a worker older than the endpoint) resumes
// from the spool's own cursor (the worker still skips what it has), another 4xx
// stops the stream.
//
// Sending states (state_, guarded by mutex_, so that Enqueue knows when to wake
// the strand):
//
//   state       | meaning                                | left by
//   ------------+----------------------------------------+-----------------------------
//   kIdle       | nothing unread, nothing armed          | Enqueue, BeginDrain → kWoken
//   kLingering  | linger timer armed for a partial batch | timer → Pump; a full batch or
//               |                                        | BeginDrain → kWoken
//   kWoken      | a Pump is posted to the strand         | Pump: nothing to send → kIdle;
//               |                                        | partial batch → kLingering;
//               |                                        | else send (the mark request
//               |                                        | first) → kBusy
//   kBusy       | a batch or the mark request is in      | its answer → kWoken (Pump);
//               | flight or backing off                  |
//               |                                        | never while kStopped or shut down
//
// Delivery states (delivery_; written on the strand under mutex_, read anywhere):
//
//   delivery      | Enqueue        | meaning, and what ends it
//   --------------+----------------+-------------------------------------------------
//   kDelivering   | queues (202)   | normal
//   kKeyRefused   | kUndeliverable | the worker refuses our signature (401: another
//                 | (503)          | worker key, or a clock off by more than 5 min) or,
//                 |                | from an older worker, our key id; the batch is
//                 |                | re-signed and resent every backoff_max, and its first ack
//                 |                | returns to kDelivering (a fixed worker recovers)
//   kStopped      | kUndeliverable | the worker refused a batch with a 4xx that a resend
//                 | (503)          | cannot fix; nothing is sent, queued events stay
//                 |                | counted as undelivered, Drain returns at once.
//                 |                | SetAddress to a new address resumes (a reload
//                 |                | that fixes the worker's URL)
//   kStale        | kUndeliverable | replica members only: the worker lacks records the
//                 | (503 if no     | set's spool no longer holds (it was down too long,
//                 | other member)  | or lost its data); it was told so (POST
//                 |                | /worker/stale) and its mark is asked again every
//                 |                | backoff_max: once it has what the spool starts
//                 |                | at (reseeded) the sender resumes
//
// Flags: draining_ (BeginDrain: stop lingering, send what is queued at once) and
// shut_down_ (Shutdown: no more sends, wake-ups or callbacks; Enqueue refuses).
//
// Ownership: create with Create() and keep the shared_ptr; pending I/O keeps the
// object alive. Call Shutdown() before destroying what the ack callback refers to.
// Thread-safety: Enqueue and the accessors from any thread (Enqueue is the POST hot
// path: the spool's Append, then a mutex to wake the strand); the sending runs on a
// strand of `ioc`.
// REQUIRES: Drain is not called on a thread of `ioc` (it blocks).
class Forwarder : public std::enable_shared_from_this<Forwarder> {
 public:
  // Called on the strand after each acked batch, with the stats of the slices it
  // touched (for refreshing the stats cache). Must not block.
  // `stream` is the batch's stream for a replica member (its ack raises the member's
  // mark of it in the stats cache), empty otherwise.
  using AckCallback = std::function<void(const std::string& worker_id, std::string_view stream,
                                         const BatchAck& ack)>;

  static std::shared_ptr<Forwarder> Create(boost::asio::io_context& ioc, ForwarderOptions options,
                                           ForwarderMetrics metrics, AckCallback on_ack = {});

  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Appends one event to the spool. kQueueFull when the spool is full or after
  // Shutdown; kUndeliverable unless the delivery state is kDelivering (see
  // Undeliverable() for why) or when the spool failed (on_fatal was called).
  EnqueueOutcome Enqueue(const BatchEvent& event);
  // Record `seq` was appended to the spool by someone else (a replica set appends
  // once for all its members): wakes the sender as Enqueue does.
  void Appended(uint64_t seq);

  // Sends everything queued without lingering and waits until all of it is acked,
  // the stream is stopped, or `deadline` passes. Returns the number of events still
  // undelivered. Enqueue keeps working; events queued meanwhile are flushed too.
  uint64_t Drain(std::chrono::steady_clock::time_point deadline);
  // The non-blocking first half of Drain: stop lingering, send everything now. Lets
  // a caller start draining several forwarders before waiting for each.
  void BeginDrain();

  // Points the forwarder at a new address (a reloaded config moved the worker). The
  // stream and its seqs continue; a batch in flight is resent to the new address, and
  // a stopped stream resumes there.
  void SetAddress(std::string host, uint16_t port);

  // Stops sending: cancels timers, closes the connection, no more callbacks.
  // Queued events are abandoned (Drain first to deliver them).
  void Shutdown();

  enum class Delivery { kDelivering, kKeyRefused, kStopped, kStale };  // see the class comment
  Delivery delivery() const { return delivery_.load(std::memory_order_relaxed); }
  // True while the worker refuses our key (the node reports itself unhealthy).
  bool KeyMismatch() const { return delivery() == Delivery::kKeyRefused; }
  // True once the stream was stopped (a 4xx that a resend cannot fix).
  bool Stopped() const { return delivery() == Delivery::kStopped; }
  // One line saying why events for this worker cannot be delivered now (for
  // /healthz and the POST's 503), nullopt while delivering.
  std::optional<std::string> Undeliverable() const;

  const std::string& worker_id() const { return options_.worker_id; }
  std::string stream_id() const;
  // Events accepted and not yet acked (the spool's records, in flight included).
  uint64_t queued() const;
  EventSpool& spool() const { return *spool_; }
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // The last wire seq of the current stream that the worker acknowledged.
  uint64_t acked_seq() const { return acked_seq_.load(std::memory_order_relaxed); }
  uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }
  // True from a failed send (transport error, 5xx, ...) until the next ack: the
  // worker is unreachable or failing as far as this node can tell (/readyz).
  bool retrying() const { return retrying_.load(std::memory_order_relaxed); }
  uint64_t batches_acked() const { return batches_acked_.load(std::memory_order_relaxed); }

 private:
  enum class State { kIdle, kLingering, kWoken, kBusy };  // see the class comment

  Forwarder(boost::asio::io_context& ioc, ForwarderOptions options, ForwarderMetrics metrics,
            AckCallback on_ack);

  void Wake();  // posts Pump. REQUIRES: mutex_ held and state_ set to kWoken.
  void Pump();
  // Reads the batch at batch_first_ (up to `max` records) into body_; false when
  // there is nothing to read there (a gap, or a record not readable yet).
  bool ReadBatch(size_t max);
  void SkipGap(const EventSpool::Gap& gap);
  void SendCurrent();  // the mark request until resumed, else the batch
  void SendBatch();    // sends body_ at wire seq batch_first_ - base_
  void SendMarkRequest();
  void OnMarkResponse(Status status, http::Response response);
  // Starts reading after what the worker has (`mark`; nullopt: unknown, use the
  // spool's cursor).
  void Resume(std::optional<uint64_t> mark);
  void OnBatchResponse(Status status, http::Response response);
  void OnBatchAcked(uint64_t events, const BatchAck* ack);
  void OnKeyRefused(const BatchReply& reply);
  void OnAckBeyondSent(const BatchReply& reply);
  void OnStreamLost(const BatchReply& reply);
  void StopStream(const BatchReply& reply);
  // Replica members: the worker's mark is `wire_mark` and the spool no longer holds
  // the records after it; tell the worker (POST /worker/stale), enter kStale and ask
  // its mark again later.
  void GoStale(uint64_t wire_mark);
  void OnStaleResponse(Status status, http::Response response, uint64_t wire_mark);
  // Replica members: true if record `seq` can still be read from the spool.
  bool Readable(uint64_t seq);
  // Replica members: when the set's spool went on a new stream at or before
  // batch_first_, continue on it; returns how many records the next batch may take
  // before the set's stream changes (SIZE_MAX: no limit).
  size_t FollowSetStream();
  // Continues on a fresh stream whose wire seq 1 is record `base + 1` (persisted in
  // the spool); returns its id. The batch is unchanged.
  std::string RestartStream(uint64_t base);
  void Fatal(const Status& status);
  void SetDelivery(Delivery delivery, std::string reason);
  // Counts a failed send, logs it (rate-limited), resends after `delay`.
  void RetryLater(std::chrono::milliseconds delay, const std::string& why);
  void ResendAfter(std::chrono::milliseconds delay);

  ForwarderOptions options_;  // host/port change on the strand only (SetAddress)
  const ForwarderMetrics metrics_;
  const AckCallback on_ack_;
  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::shared_ptr<http::ClientConnection> connection_;

  const std::shared_ptr<EventSpool> spool_;
  const uint64_t open_next_seq_;  // the spool's next_seq when this forwarder started

  mutable std::mutex mutex_;
  std::condition_variable drained_;
  uint64_t unread_ = 1;  // the first record not yet read into a batch
  State state_ = State::kIdle;
  std::chrono::steady_clock::time_point first_queued_;  // when record unread_ was appended
  bool draining_ = false;
  std::atomic<bool> shut_down_{false};  // written under mutex_
  std::string stream_id_;
  std::string undeliverable_reason_;  // set with delivery_ other than kDelivering

  // Strand only. The batch in flight is records [batch_first_, batch_first_ + batch_size_).
  bool resumed_ = false;  // the mark was asked (or given up on) and unread_ set from it
  uint64_t base_ = 0;     // the stream's base: wire seq = record seq - base_
  uint64_t batch_first_ = 1;
  size_t batch_size_ = 0;
  std::string body_;
  std::string body_hash_;  // hex SHA-256 of body_, for signing each send
  std::chrono::steady_clock::time_point batch_started_;
  RetryBackoff backoff_;
  DeliveryLog log_;
  boost::asio::steady_timer linger_timer_;
  boost::asio::steady_timer backoff_timer_;
  std::atomic<bool> fatal_{false};

  std::atomic<Delivery> delivery_{Delivery::kDelivering};  // written under mutex_
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> acked_seq_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<bool> retrying_{false};
  std::atomic<uint64_t> batches_acked_{0};
};

}  // namespace rt
