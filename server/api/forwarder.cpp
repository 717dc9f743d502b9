#include "server/api/forwarder.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iostream>
#include <utility>

#include "server/api/request_signing.h"
#include "server/api/spool/memory_spool.h"
#include "server/auth/worker_key.h"
#include "server/model/worker_protocol.h"

namespace rt {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Payload bytes per batch at most: well under the worker's 8 MiB body limit
// (WorkerHandler::kBatchBodyLimit); batch_max lines of ~50 bytes stay far below it.
constexpr size_t kMaxBatchBytes = 4 << 20;

std::shared_ptr<EventSpool> SpoolOrMemory(const ForwarderOptions& options) {
  if (options.spool) return options.spool;
  return std::make_shared<MemorySpool>(options.queue_limit);
}

}  // namespace

std::shared_ptr<Forwarder> Forwarder::Create(asio::io_context& ioc, ForwarderOptions options,
                                             ForwarderMetrics metrics, AckCallback on_ack) {
  std::shared_ptr<Forwarder> forwarder(
      new Forwarder(ioc, std::move(options), metrics, std::move(on_ack)));
  // Records left by an earlier run go out without waiting for a new event.
  if (forwarder->spool_->events() > 0) {
    std::lock_guard lock(forwarder->mutex_);
    forwarder->state_ = State::kWoken;
    forwarder->Wake();
  }
  return forwarder;
}

Forwarder::Forwarder(asio::io_context& ioc, ForwarderOptions options, ForwarderMetrics metrics,
                     AckCallback on_ack)
    : options_(std::move(options)),
      metrics_(metrics),
      on_ack_(std::move(on_ack)),
      ioc_(ioc),
      strand_(asio::make_strand(ioc)),
      spool_(SpoolOrMemory(options_)),
      open_next_seq_(spool_->next_seq()),
      backoff_(options_.backoff_initial, options_.backoff_max),
      log_(options_.node_id, options_.worker_id),
      linger_timer_(strand_),
      backoff_timer_(strand_) {
  options_.spool.reset();  // spool_ holds it
  http::ClientOptions client;
  client.connect_timeout = options_.connect_timeout;
  client.request_timeout = options_.request_timeout;
  connection_ = http::ClientConnection::Create(ioc, options_.host, options_.port, client);
  EventSpool::Stream stream = spool_->stream();
  if (stream.id.empty()) {  // a new spool: its records start a new stream
    stream = {NewStreamId(options_.node_id) + options_.stream_suffix, spool_->acknowledged()};
    if (Status status = spool_->StartNewStream(stream); !status.ok()) Fatal(status);
    stream = spool_->stream();  // a replica set's other member may have started it
  }
  stream_id_ = stream.id;
  base_ = stream.base;
  unread_ = spool_->acknowledged() + 1;
  batch_first_ = unread_;
  first_queued_ = SteadyClock::now();
  metrics_.queue_depth->Add(static_cast<int64_t>(spool_->events()));
}

EnqueueOutcome Forwarder::Enqueue(const BatchEvent& event) {
  if (delivery_.load(std::memory_order_relaxed) != Delivery::kDelivering ||
      fatal_.load(std::memory_order_relaxed)) {
    metrics_.undeliverable->Inc();
    return {EnqueueResult::kUndeliverable};
  }
  if (shut_down_.load(std::memory_order_relaxed)) {
    metrics_.queue_full->Inc();
    return {EnqueueResult::kQueueFull};
  }
  // One line per event, encoded into a reused per-thread buffer: no allocation in
  // steady state.
  thread_local std::string line;
  line.clear();
  AppendBatchLine(line, event);
  Result<uint64_t> seq = spool_->Append(line);
  if (!seq.ok()) {
    if (seq.status().code() == Status::Code::kUnavailable) {
      metrics_.queue_full->Inc();
      if (options_.spool_on_disk) metrics_.spool_full->Inc();
      return {EnqueueResult::kQueueFull};
    }
    Fatal(seq.status());
    metrics_.undeliverable->Inc();
    return {EnqueueResult::kUndeliverable};
  }
  Appended(*seq);
  return {EnqueueResult::kQueued, *seq, options_.spool_fsync ? spool_.get() : nullptr};
}

void Forwarder::Appended(uint64_t seq) {
  std::unique_lock lock(mutex_);
  if (seq == unread_) first_queued_ = SteadyClock::now();
  if (state_ == State::kIdle ||
      (state_ == State::kLingering && seq + 1 - unread_ >= options_.batch_max)) {
    state_ = State::kWoken;
    Wake();
  }
  lock.unlock();
  metrics_.queue_depth->Add(1);
}

void Forwarder::Wake() {
  asio::post(strand_, [self = shared_from_this()] { self->Pump(); });
}

void Forwarder::BeginDrain() {
  std::lock_guard lock(mutex_);
  draining_ = true;
  if (state_ == State::kIdle || state_ == State::kLingering) {
    state_ = State::kWoken;
    Wake();
  }
}

uint64_t Forwarder::Drain(SteadyClock::time_point deadline) {
  BeginDrain();
  std::unique_lock lock(mutex_);
  drained_.wait_until(lock, deadline, [&] {
    const Delivery delivery = delivery_.load(std::memory_order_relaxed);
    return shut_down_ || delivery == Delivery::kStopped || delivery == Delivery::kStale ||
           spool_->events() == 0;
  });
  return spool_->events();
}

void Forwarder::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    state_ = State::kBusy;  // no more wake-ups
  }
  drained_.notify_all();
  asio::post(strand_, [self = shared_from_this()] {
    self->linger_timer_.cancel();
    self->backoff_timer_.cancel();
    self->connection_->Close();
  });
}

void Forwarder::SetAddress(std::string host, uint16_t port) {
  asio::post(strand_, [self = shared_from_this(), host = std::move(host), port]() mutable {
    if (host == self->options_.host && port == self->options_.port) return;
    self->options_.host = std::move(host);
    self->options_.port = port;
    self->connection_->Close();  // a batch in flight fails and is resent below
    http::ClientOptions client;
    client.connect_timeout = self->options_.connect_timeout;
    client.request_timeout = self->options_.request_timeout;
    self->connection_ =
        http::ClientConnection::Create(self->ioc_, self->options_.host, port, client);
    if (self->delivery() == Delivery::kStopped) {
      // The batch that was refused is tried again at the new address.
      self->SetDelivery(Delivery::kDelivering, "");
      self->backoff_.Reset();
      self->SendCurrent();
    }
  });
}

std::optional<std::string> Forwarder::Undeliverable() const {
  std::lock_guard lock(mutex_);
  if (delivery_.load(std::memory_order_relaxed) == Delivery::kDelivering) return std::nullopt;
  return undeliverable_reason_;
}

std::string Forwarder::stream_id() const {
  std::lock_guard lock(mutex_);
  return stream_id_;
}

uint64_t Forwarder::queued() const { return spool_->events(); }

// Decides, on the strand, whether to send now, linger, or sleep until the next
// Enqueue. Unread records go out at once when they fill a batch, when the first of
// them has waited `linger`, or when draining; a batch reads what is there then, up
// to batch_max, so that batches stay large under load. Before the first batch, the
// mark request (Resume).
void Forwarder::Pump() {
  std::unique_lock lock(mutex_);
  if (shut_down_ || state_ == State::kBusy) return;
  if (!resumed_) {
    state_ = State::kBusy;
    lock.unlock();
    linger_timer_.cancel();
    backoff_.Reset();
    SendMarkRequest();
    return;
  }
  const uint64_t next = spool_->next_seq();
  const uint64_t unread = next > unread_ ? next - unread_ : 0;
  if (unread == 0) {
    state_ = State::kIdle;
    lock.unlock();
    drained_.notify_all();
    return;
  }
  const auto due = first_queued_ + options_.linger;
  if (!draining_ && unread < options_.batch_max && SteadyClock::now() < due) {
    state_ = State::kLingering;
    linger_timer_.expires_at(due);
    linger_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Pump();
    });
    return;
  }
  state_ = State::kBusy;
  batch_first_ = unread_;
  lock.unlock();
  linger_timer_.cancel();
  batch_started_ = SteadyClock::now();
  backoff_.Reset();
  const size_t max = options_.replica_member ? std::min(options_.batch_max, FollowSetStream())
                                             : options_.batch_max;
  if (!ReadBatch(max)) {
    if (options_.replica_member && batch_first_ <= spool_->released()) {
      // The set's spool let these records go while this member lagged (ReplicaSpool).
      return GoStale(batch_first_ - 1 - base_);
    }
    const std::optional<EventSpool::Gap> gap = spool_->GapAt(batch_first_);
    if (gap) SkipGap(*gap);
    std::lock_guard relock(mutex_);
    state_ = State::kWoken;
    if (gap) return Wake();
    // Nothing readable at a record the spool counts: wait a linger rather than spin.
    linger_timer_.expires_after(options_.linger);
    linger_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Pump();
    });
    return;
  }
  SendBatch();
}

bool Forwarder::ReadBatch(size_t max) {
  body_.clear();
  batch_size_ = spool_->Read(batch_first_, max, kMaxBatchBytes, body_);
  if (batch_size_ == 0) return false;
  {
    std::lock_guard lock(mutex_);
    unread_ = std::max(unread_, batch_first_ + batch_size_);
  }
  if (options_.signer) body_hash_ = Sha256HexOf(body_);  // once per batch, not per send
  in_flight_.store(batch_size_, std::memory_order_relaxed);
  metrics_.in_flight->Set(static_cast<int64_t>(batch_size_));
  return true;
}

// Records lost to corruption (found by the FileSpool at start-up). Everything
// before them is acknowledged by now (a batch never spans a gap), so the records
// after go on a new stream from wire seq 1: the worker must not see the lost seqs as
// a gap in the old stream.
void Forwarder::SkipGap(const EventSpool::Gap& gap) {
  const uint64_t lost = gap.last - gap.first + 1;
  metrics_.spool_lost->Inc(lost);
  spool_->Acknowledge(gap.last);
  batch_first_ = gap.last + 1;
  {
    std::lock_guard lock(mutex_);
    unread_ = std::max(unread_, batch_first_);
  }
  const std::string stream = RestartStream(gap.last);
  log_.Error(connection_->peer(), "spool records " + std::to_string(gap.first) + ".." +
                                      std::to_string(gap.last) + " (" + std::to_string(lost) +
                                      " events) were lost to spool corruption and are not "
                                      "delivered; continuing on new stream " +
                                      stream);
}

void Forwarder::SendCurrent() {
  if (!resumed_) return SendMarkRequest();
  SendBatch();
}

void Forwarder::SendBatch() {
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    stream = stream_id_;
  }
  http::Request request = MakeBatchRequest(stream, batch_first_ - base_, options_.key_id,
                                           body_);  // body_ stays for resends
  // Signed at each send, so a resend after a clock jump carries a fresh timestamp.
  if (options_.signer) SignRequest(*options_.signer, request, body_hash_);
  connection_->Send(
      std::move(request),
      // Weak: the connection keeps this callback while a request is in flight, and
      // the Forwarder owns the connection; a strong reference would be a cycle that
      // outlives a shutdown whose Close never ran (the I/O context already stopped).
      [weak = weak_from_this()](Status status, http::Response response) {
        std::shared_ptr<Forwarder> self = weak.lock();
        if (!self) return;
        asio::post(self->strand_,
                   [self, status = std::move(status), response = std::move(response)]() mutable {
                     self->OnBatchResponse(std::move(status), std::move(response));
                   });
      },
      options_.request_timeout);
}

void Forwarder::SendMarkRequest() {
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    stream = stream_id_;
  }
  http::Request request = MakeMarkRequest(stream);
  if (options_.signer) SignRequest(*options_.signer, request, EmptyBodySha256());
  connection_->Send(
      std::move(request),
      [weak = weak_from_this()](Status status, http::Response response) {  // weak: see SendBatch
        std::shared_ptr<Forwarder> self = weak.lock();
        if (!self) return;
        asio::post(self->strand_,
                   [self, status = std::move(status), response = std::move(response)]() mutable {
                     self->OnMarkResponse(std::move(status), std::move(response));
                   });
      },
      options_.request_timeout);
}

void Forwarder::OnMarkResponse(Status status, http::Response response) {
  if (shut_down_) return;
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_id_;
  }
  MarkReply reply = ClassifyMarkReply(status, response, stream);
  BatchReply as_batch;  // the shared handlers take a BatchReply
  as_batch.status = response.result_int();
  as_batch.problem = reply.problem;
  switch (reply.kind) {
    case MarkKind::kMark:
      return Resume(reply.mark);
    case MarkKind::kNoEndpoint:
      log_.ErrorOnce(connection_->peer(), reply.problem +
                                              "; an older worker: resending from this node's own "
                                              "cursor (the worker skips what it has)");
      return Resume(std::nullopt);
    case MarkKind::kUnauthorized:
      as_batch.kind = ReplyKind::kUnauthorized;
      return OnKeyRefused(as_batch);
    case MarkKind::kRetry:
      return RetryLater(backoff_.Next(), reply.problem);
    case MarkKind::kRetrySlowly:
      return RetryLater(backoff_.Slow(), reply.problem);
    case MarkKind::kRefused:
      as_batch.kind = ReplyKind::kRefused;
      as_batch.problem = "refused the mark request: " + reply.problem;
      return StopStream(as_batch);
  }
}

// The worker has the stream's records up to base_ + mark; the spool's cursor may be
// behind it (written lazily) or, after a power cut without --spool-fsync, the spool
// may have lost records the worker has.
void Forwarder::Resume(std::optional<uint64_t> mark) {
  retrying_.store(false, std::memory_order_relaxed);
  uint64_t from = spool_->acknowledged() + 1;
  if (options_.replica_member) {
    if (from <= base_) {
      // The set's stream moved on past records this member still lacks (a restart
      // after another member started a new stream): they cannot be sent to it.
      return GoStale(mark.value_or(0));
    }
  }
  if (mark) {
    const uint64_t delivered = base_ + *mark;
    // A replica member's worker may have more than this member sent when it was
    // reseeded from a peer; only more than any member delivered is a lost tail.
    if (delivered >= open_next_seq_ && delivered > spool_->confirmed()) {
      // Records appended since this start have seqs the worker holds already: on
      // this stream they would be skipped as duplicates. A new stream for them.
      const uint64_t held = open_next_seq_ - 1;
      spool_->Acknowledge(held);
      const std::string stream = RestartStream(held);
      log_.Error(connection_->peer(),
                 "the worker has stream records up to " + std::to_string(delivered) +
                     " but this node's spool ends at " + std::to_string(held) +
                     " (its tail was lost, e.g. a power cut without --spool-fsync); the "
                     "events accepted since this start go on new stream " +
                     stream);
      from = open_next_seq_;
    } else if (delivered >= from) {
      const uint64_t acked_before = from - 1;
      spool_->Acknowledge(delivered);
      metrics_.queue_depth->Add(-static_cast<int64_t>(delivered - acked_before));
      acked_seq_.store(*mark, std::memory_order_relaxed);
      from = delivered + 1;
    } else if (options_.replica_member && delivered + 1 < from) {
      // The worker has less than this node's cursor for it: a member that was down
      // while the set's spool moved on, or lost its data. Resend from its mark if the
      // spool still has those records; else it is stale.
      if (!Readable(delivered + 1)) return GoStale(*mark);
      metrics_.queue_depth->Add(static_cast<int64_t>(from - 1 - delivered));
      acked_seq_.store(*mark, std::memory_order_relaxed);
      from = delivered + 1;
    }
  }
  if (delivery() != Delivery::kDelivering) SetDelivery(Delivery::kDelivering, "");
  resumed_ = true;
  batch_first_ = from;
  {
    std::lock_guard lock(mutex_);
    unread_ = std::max(unread_, from);
    state_ = State::kWoken;
  }
  Pump();
}

void Forwarder::OnBatchResponse(Status status, http::Response response) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
  }
  BatchReply reply = ClassifyBatchReply(status, response, batch_first_ - base_, batch_size_);
  switch (reply.kind) {
    case ReplyKind::kAcked:
      return OnBatchAcked(batch_size_, &*reply.ack);
    case ReplyKind::kHeadApplied: {
      const bool all = reply.applied == batch_size_;
      OnBatchAcked(reply.applied, nullptr);
      if (!all) {
        ReadBatch(batch_size_);  // the rest: the same records, no gap inside
        SendBatch();
      }
      return;
    }
    case ReplyKind::kStreamLost:
      return OnStreamLost(reply);
    case ReplyKind::kAckBeyondSent:
      return OnAckBeyondSent(reply);
    case ReplyKind::kKeyMismatch:
    case ReplyKind::kUnauthorized:
      return OnKeyRefused(reply);
    case ReplyKind::kRetry:
      return RetryLater(backoff_.Next(), reply.problem);
    case ReplyKind::kRetrySlowly:
      return RetryLater(backoff_.Slow(), reply.problem);
    case ReplyKind::kRefused:
      return StopStream(reply);
  }
}

void Forwarder::OnBatchAcked(uint64_t events, const BatchAck* ack) {
  retrying_.store(false, std::memory_order_relaxed);
  if (delivery() != Delivery::kDelivering) SetDelivery(Delivery::kDelivering, "");
  if (events > 0) spool_->Acknowledge(batch_first_ + events - 1);
  batch_first_ += events;
  acked_seq_.store(batch_first_ - 1 - base_, std::memory_order_relaxed);
  metrics_.forwarded->Inc(events);
  metrics_.queue_depth->Add(-static_cast<int64_t>(events));
  const bool batch_done = events == batch_size_;
  batch_size_ -= events;
  if (!batch_done) return;
  in_flight_.store(0, std::memory_order_relaxed);
  metrics_.in_flight->Set(0);
  batches_acked_.fetch_add(1, std::memory_order_relaxed);
  metrics_.batches->Inc();
  metrics_.batch_seconds->ObserveSeconds(
      std::chrono::duration<double>(SteadyClock::now() - batch_started_).count());
  if (ack != nullptr) {
    metrics_.duplicates->Inc(ack->duplicates);
    if (on_ack_ && options_.replica_member) {
      on_ack_(options_.worker_id, stream_id(), *ack);  // a copy: FollowSetStream may move it
    } else if (on_ack_) {
      on_ack_(options_.worker_id, {}, *ack);
    }
  }
  log_.Delivered(connection_->peer());
  {
    std::lock_guard lock(mutex_);
    state_ = State::kWoken;
  }
  Pump();
}

// The worker refuses our signature (401: it has another worker key, or our clocks
// differ by more than the allowed skew) or, an older worker, our key id. Nothing can
// be delivered until an operator fixes the keys or the clock; the batch is re-signed
// and resent slowly so that a fixed worker (or API node restarted with the right
// secret) recovers by itself.
void Forwarder::OnKeyRefused(const BatchReply& reply) {
  const bool unauthorized = reply.kind == ReplyKind::kUnauthorized;
  if (unauthorized) metrics_.unauthorized->Inc();
  log_.KeyRefused(connection_->peer(), reply.problem,
                  " (our worker key's id is " + options_.key_id +
                      "); every API node must use the cluster's secret and every worker the "
                      "worker key derived from it (rtctl worker-key), with clocks within 5 "
                      "minutes; POSTs for this worker get 503 until it accepts our requests");
  if (delivery() != Delivery::kKeyRefused) {
    SetDelivery(Delivery::kKeyRefused, unauthorized
                                           ? "worker " + options_.worker_id +
                                                 " refuses our signature (" + reply.problem + ")"
                                           : "key mismatch with worker " + options_.worker_id);
  }
  RetryLater(backoff_.Slow(), reply.problem);
}

// An ack for seqs never sent means the worker's mark of this stream was moved by
// someone else (another sender using the same stream id) or the worker is broken:
// either way our events may have been skipped as duplicates. The batch is not
// taken as delivered; it goes again on a stream nobody else can have used.
void Forwarder::OnAckBeyondSent(const BatchReply& reply) {
  metrics_.ack_beyond_sent->Inc();
  if (options_.replica_member) {
    // A member reseeded from its peer has the peer's marks of this very stream, so
    // it may be ahead of what this sender sent: ask its mark again (Resume).
    log_.ErrorOnce(connection_->peer(), reply.problem +
                                            "; asking the worker's mark again (a reseeded "
                                            "replica member)");
    resumed_ = false;
    in_flight_.store(0, std::memory_order_relaxed);
    return ResendAfter(backoff_.Next());
  }
  const std::string stream = RestartStream(batch_first_ - 1);
  log_.ErrorOnce(connection_->peer(), reply.problem +
                                          "; resending the unacknowledged events on "
                                          "new stream " +
                                          stream +
                                          " (later alarms are only counted in "
                                          "rt_api_forward_alarms_total)");
  ResendAfter(backoff_.Next());
}

// The worker lost events it had acknowledged (its data was reset). They cannot be
// sent again; continue on a new stream so that at least everything from now on is
// counted.
void Forwarder::OnStreamLost(const BatchReply& reply) {
  if (options_.replica_member) {
    // The same stream goes to every member: a member that lost acknowledged events
    // is resent them from the spool if it still has them, else it is stale (Resume).
    log_.Error(connection_->peer(), reply.problem + "; asking the worker's mark again");
    resumed_ = false;
    return SendMarkRequest();
  }
  const std::string stream = RestartStream(batch_first_ - 1);
  log_.Error(connection_->peer(), reply.problem + "; continuing on new stream " + stream);
  SendBatch();
}

// A 4xx other than 408/409/429 refuses the request itself; the same bytes would be
// refused forever. Stop instead of hammering the worker, keep the events (counted
// as undelivered), and say so on /healthz and in every POST for this worker.
void Forwarder::StopStream(const BatchReply& reply) {
  metrics_.stopped->Inc();
  const std::string reason =
      "stream to worker " + options_.worker_id + " stopped: it " + reply.problem;
  log_.Error(connection_->peer(), reason + "; " + std::to_string(queued()) +
                                      " events stay undelivered until the worker's URL changes "
                                      "or this node restarts");
  SetDelivery(Delivery::kStopped, reason);
  drained_.notify_all();
}

size_t Forwarder::FollowSetStream() {
  const EventSpool::Stream set = spool_->stream();
  {
    std::lock_guard lock(mutex_);
    if (set.id == stream_id_) return SIZE_MAX;
    if (batch_first_ <= set.base) return static_cast<size_t>(set.base + 1 - batch_first_);
    stream_id_ = set.id;
  }
  base_ = set.base;
  acked_seq_.store(batch_first_ - 1 - base_, std::memory_order_relaxed);
  return SIZE_MAX;
}

bool Forwarder::Readable(uint64_t seq) {
  std::string probe;
  return spool_->Read(seq, 1, 1, probe) == 1;
}

void Forwarder::GoStale(uint64_t wire_mark) {
  const uint64_t released = spool_->released();
  const uint64_t need = released + 1 > base_ ? released + 1 - base_ : 1;
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    stream = stream_id_;
  }
  if (delivery() != Delivery::kStale) {
    const std::string reason = "worker " + options_.worker_id + " is stale: it has stream " +
                               stream + " up to seq " + std::to_string(wire_mark) +
                               " and this node's spool of its replica set starts at seq " +
                               std::to_string(need) + "; reseed it (rtctl reseed-worker)";
    log_.Error(connection_->peer(), reason);
    SetDelivery(Delivery::kStale, reason);
    drained_.notify_all();
  }
  http::Request request = MakeStaleRequest(stream, wire_mark, need);
  if (options_.signer) SignRequest(*options_.signer, request, EmptyBodySha256());
  connection_->Send(
      std::move(request),
      [weak = weak_from_this(), wire_mark](Status status,
                                           http::Response response) {  // weak: see SendBatch
        std::shared_ptr<Forwarder> self = weak.lock();
        if (!self) return;
        asio::post(self->strand_, [self, wire_mark, status = std::move(status),
                                   response = std::move(response)]() mutable {
          self->OnStaleResponse(std::move(status), std::move(response), wire_mark);
        });
      },
      options_.request_timeout);
}

// Whatever the answer (200: recorded; 409: the worker is not behind after all; an
// error: it is down or older than the endpoint), the worker's mark is asked again
// after a while: a reseeded worker has what the spool starts at, and resumes.
void Forwarder::OnStaleResponse(Status status, http::Response response, uint64_t wire_mark) {
  if (shut_down_) return;
  if (status.ok() && response.result_int() != 200) {
    log_.ErrorOnce(connection_->peer(), "answered " + std::to_string(response.result_int()) +
                                            " to " + std::string(kStalePath) + " (mark " +
                                            std::to_string(wire_mark) + ")");
  }
  resumed_ = false;
  ResendAfter(backoff_.Slow());
}

std::string Forwarder::RestartStream(uint64_t base) {
  // Persisted before any record goes on it: a restart must resume this stream, not
  // the old one whose marks no longer match these records.
  if (Status status =
          spool_->StartNewStream({NewStreamId(options_.node_id) + options_.stream_suffix, base});
      !status.ok()) {
    Fatal(status);
  }
  // A replica set's other member may have started the set's new stream here first.
  const EventSpool::Stream started = spool_->stream();
  const std::string& stream = started.id;
  base = started.base;
  {
    std::lock_guard lock(mutex_);
    stream_id_ = stream;
  }
  base_ = base;
  acked_seq_.store(0, std::memory_order_relaxed);
  return stream;
}

// The spool cannot keep its promise (a write or fsync failed): a 202 from now on
// could be a lie. Refuse further events and let the node exit (on_fatal).
void Forwarder::Fatal(const Status& status) {
  if (fatal_.exchange(true)) return;
  const Status failed = status.WithContext("spool of worker " + options_.worker_id);
  if (options_.on_fatal) {
    options_.on_fatal(failed);
  } else {
    std::cerr << "ERROR " << failed.message() << "\n";
  }
}

void Forwarder::SetDelivery(Delivery delivery, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    delivery_.store(delivery, std::memory_order_relaxed);
    undeliverable_reason_ = std::move(reason);
  }
  metrics_.delivery_state->Set(static_cast<int64_t>(delivery));
}

void Forwarder::RetryLater(std::chrono::milliseconds delay, const std::string& why) {
  retries_.fetch_add(1, std::memory_order_relaxed);
  retrying_.store(true, std::memory_order_relaxed);
  metrics_.retries->Inc();
  log_.Retrying(connection_->peer(), why);
  ResendAfter(delay);
}

void Forwarder::ResendAfter(std::chrono::milliseconds delay) {
  backoff_timer_.expires_after(delay);
  backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->SendCurrent();  // the same body; the same seqs unless the stream restarted
  });
}

}  // namespace rt
