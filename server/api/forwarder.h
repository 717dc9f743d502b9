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
#include <string>
#include <vector>

#include "base/status.h"
#include "server/http/client_connection.h"
#include "server/metrics/metrics.h"
#include "server/model/batch_ack.h"
#include "server/model/batch_codec.h"

namespace rt {

struct ForwarderOptions {
  std::string worker_id;  // config id, for metrics labels and messages
  std::string host;       // the worker's address (from its URL)
  uint16_t port = 0;
  std::string node_id;                  // this API node's id: the stream id is "<node_id>:<epoch>"
  std::string key_id;                   // X-Rt-Key-Id (first 8 hex chars of SHA-256(secret))
  size_t queue_limit = 1'000'000;       // events accepted but not yet acked
  size_t batch_max = 4096;              // events per batch
  std::chrono::milliseconds linger{2};  // a partial batch waits at most this long
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{1000};
};

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
  Gauge* queue_depth = nullptr;        // events accepted and not yet acked (incl. in flight)
  Gauge* in_flight = nullptr;          // events of the batch being sent
  Histogram* batch_seconds = nullptr;  // send → ack of a batch, retries included

  static ForwarderMetrics Register(MetricsRegistry& registry, const std::string& worker_id);
};

// A stream id "<node_id>:<epoch millis>" never returned before by this process:
// the epoch is the wall clock, bumped past the last one handed out. A worker keeps
// one high-water mark per stream, so a new Forwarder (or a reset) must never reuse
// a stream whose seqs it does not continue.
std::string NewStreamId(const std::string& node_id);

// Forwards one worker's share of the events accepted by this API node over the
// exactly-once batch path (docs/design.md §3 "Exactly-once streams and the worker
// protocol"; its states and answers: §8 "Forwarder states").
//
// Events wait in a bounded in-memory queue; a batch is cut when `batch_max` events
// are waiting or `linger` after the first of them arrived, encoded once, and posted
// to /worker/batch on one persistent connection. Exactly one batch is in flight, so
// the worker sees the stream's seqs in order. Every event gets the next seq of this
// Forwarder's stream (contiguous from 1); a failed batch (connect error, timeout,
// 5xx, bad answer) is resent unchanged after an exponential backoff, which cannot
// double count because the worker skips seqs at or below its mark. A 409
// "expected seq N" within the batch drops the events the worker already has; below
// the batch it means the worker lost acknowledged events: that is logged loudly and
// the Forwarder continues on a new stream. A 409 about the key id sets KeyMismatch()
// and keeps retrying slowly (an operator must fix the secret).
//
// Ownership: create with Create() and keep the shared_ptr; pending I/O keeps the
// object alive. Call Shutdown() before destroying what the ack callback refers to.
// Thread-safety: Enqueue and the accessors from any thread (Enqueue is the POST hot
// path: a mutex and an amortized push_back); the sending runs on a strand of `ioc`.
// REQUIRES: Drain is not called on a thread of `ioc` (it blocks).
class Forwarder : public std::enable_shared_from_this<Forwarder> {
 public:
  // Called on the strand after each acked batch, with the stats of the slices it
  // touched (for refreshing the stats cache). Must not block.
  using AckCallback = std::function<void(const std::string& worker_id, const BatchAck& ack)>;

  static std::shared_ptr<Forwarder> Create(boost::asio::io_context& ioc, ForwarderOptions options,
                                           ForwarderMetrics metrics, AckCallback on_ack = {});

  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Queues one event. False when the queue holds queue_limit events (the caller
  // answers 503) or after Shutdown.
  bool Enqueue(const BatchEvent& event);

  // Sends everything queued without lingering and waits until all of it is acked or
  // `deadline` passes. Returns the number of events still undelivered. Enqueue keeps
  // working; events queued meanwhile are flushed too.
  uint64_t Drain(std::chrono::steady_clock::time_point deadline);
  // The non-blocking first half of Drain: stop lingering, send everything now. Lets
  // a caller start draining several forwarders before waiting for each.
  void BeginDrain();

  // Points the forwarder at a new address (a reloaded config moved the worker). The
  // stream and its seqs continue; a batch in flight is resent to the new address.
  void SetAddress(std::string host, uint16_t port);

  // Stops sending: cancels timers, closes the connection, no more callbacks.
  // Queued events are abandoned (Drain first to deliver them).
  void Shutdown();

  // True once the worker refused our key id (the node reports itself unhealthy).
  bool KeyMismatch() const { return key_mismatch_.load(std::memory_order_relaxed); }

  const std::string& worker_id() const { return options_.worker_id; }
  std::string stream_id() const;
  // Events accepted and not yet acked (queued plus in flight).
  uint64_t queued() const;
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // The last seq of the current stream that the worker acknowledged.
  uint64_t acked_seq() const { return acked_seq_.load(std::memory_order_relaxed); }
  uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }
  uint64_t batches_acked() const { return batches_acked_.load(std::memory_order_relaxed); }

 private:
  // The strand's plan, guarded by mutex_ so that Enqueue knows when to wake it.
  enum class State {
    kIdle,       // nothing queued, nothing armed: the first Enqueue wakes the strand
    kLingering,  // linger timer armed: a full batch wakes the strand early
    kWoken,      // a Pump is posted
    kBusy,       // a batch is in flight or backing off; its completion pumps
  };

  Forwarder(boost::asio::io_context& ioc, ForwarderOptions options, ForwarderMetrics metrics,
            AckCallback on_ack);

  void Wake();  // posts Pump. REQUIRES: mutex_ held and state_ set to kWoken.
  void Pump();
  void EncodeBatch();  // cuts the next batch from the backlog into body_
  void SendBatch();    // sends body_ at next_seq_
  void OnBatchResponse(Status status, http::Response response);
  bool HandleConflict(const std::string& body);
  void OnBatchAcked(uint64_t events, const BatchAck* ack);
  void RetryLater(std::chrono::milliseconds delay, const std::string& why);
  void LogOnce(const std::string& problem);

  ForwarderOptions options_;  // host/port change on the strand only (SetAddress)
  const ForwarderMetrics metrics_;
  const AckCallback on_ack_;
  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::shared_ptr<http::ClientConnection> connection_;

  mutable std::mutex mutex_;
  std::condition_variable drained_;
  std::vector<BatchEvent> queue_;  // filled by Enqueue, swapped out by the strand
  uint64_t backlog_count_ = 0;     // events taken by the strand and not yet acked
  State state_ = State::kIdle;
  std::chrono::steady_clock::time_point first_queued_;  // when queue_ became non-empty
  bool draining_ = false;
  bool stopped_ = false;
  std::string stream_id_;

  // Strand only. The batch in flight is backlog_[backlog_pos_, backlog_pos_ + batch_size_).
  std::vector<BatchEvent> backlog_;
  size_t backlog_pos_ = 0;
  size_t batch_size_ = 0;
  uint64_t next_seq_ = 1;  // seq of backlog_[backlog_pos_]
  std::string body_;
  std::chrono::steady_clock::time_point batch_started_;
  std::chrono::milliseconds backoff_{0};
  boost::asio::steady_timer linger_timer_;
  boost::asio::steady_timer backoff_timer_;
  std::string last_problem_;  // the problem last logged in the current failure streak
  int problem_lines_ = 0;     // lines logged in the current failure streak

  std::atomic<bool> key_mismatch_{false};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> acked_seq_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> batches_acked_{0};
};

}  // namespace rt
