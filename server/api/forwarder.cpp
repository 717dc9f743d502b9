#include "server/api/forwarder.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

#include "server/api/request_signing.h"
#include "server/auth/worker_key.h"

namespace rt {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

std::shared_ptr<Forwarder> Forwarder::Create(asio::io_context& ioc, ForwarderOptions options,
                                             ForwarderMetrics metrics, AckCallback on_ack) {
  return std::shared_ptr<Forwarder>(
      new Forwarder(ioc, std::move(options), metrics, std::move(on_ack)));
}

Forwarder::Forwarder(asio::io_context& ioc, ForwarderOptions options, ForwarderMetrics metrics,
                     AckCallback on_ack)
    : options_(std::move(options)),
      metrics_(metrics),
      on_ack_(std::move(on_ack)),
      ioc_(ioc),
      strand_(asio::make_strand(ioc)),
      stream_id_(NewStreamId(options_.node_id)),
      backoff_(options_.backoff_initial, options_.backoff_max),
      log_(options_.node_id, options_.worker_id),
      linger_timer_(strand_),
      backoff_timer_(strand_) {
  http::ClientOptions client;
  client.connect_timeout = options_.connect_timeout;
  client.request_timeout = options_.request_timeout;
  connection_ = http::ClientConnection::Create(ioc, options_.host, options_.port, client);
  queue_.reserve(std::min(options_.batch_max, options_.queue_limit));
}

EnqueueResult Forwarder::Enqueue(const BatchEvent& event) {
  std::unique_lock lock(mutex_);
  if (delivery_.load(std::memory_order_relaxed) != Delivery::kDelivering) {
    lock.unlock();
    metrics_.undeliverable->Inc();
    return EnqueueResult::kUndeliverable;
  }
  if (shut_down_ || queue_.size() + backlog_count_ >= options_.queue_limit) {
    lock.unlock();
    metrics_.queue_full->Inc();
    return EnqueueResult::kQueueFull;
  }
  queue_.push_back(event);
  if (queue_.size() == 1) first_queued_ = SteadyClock::now();
  if (state_ == State::kIdle ||
      (state_ == State::kLingering && queue_.size() >= options_.batch_max)) {
    state_ = State::kWoken;
    Wake();
  }
  lock.unlock();
  metrics_.queue_depth->Add(1);
  return EnqueueResult::kQueued;
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
    return shut_down_ || delivery_.load(std::memory_order_relaxed) == Delivery::kStopped ||
           (queue_.empty() && backlog_count_ == 0);
  });
  return queue_.size() + backlog_count_;
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
      self->SendBatch();
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

uint64_t Forwarder::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + backlog_count_;
}

// Decides, on the strand, whether to send now, linger, or sleep until the next
// Enqueue. Events left in the backlog (taken while a batch was in flight) go out at
// once, topped up with what queued meanwhile so that batches stay large under load;
// a fresh queue is taken whole when it fills a batch, when its first event has
// waited `linger`, or when draining.
void Forwarder::Pump() {
  std::unique_lock lock(mutex_);
  if (shut_down_ || state_ == State::kBusy) return;
  const size_t remaining = backlog_.size() - backlog_pos_;
  if (remaining == 0) {
    backlog_.clear();
    backlog_pos_ = 0;
    if (queue_.empty()) {
      state_ = State::kIdle;
      lock.unlock();
      drained_.notify_all();
      return;
    }
    const auto due = first_queued_ + options_.linger;
    if (!draining_ && queue_.size() < options_.batch_max && SteadyClock::now() < due) {
      state_ = State::kLingering;
      linger_timer_.expires_at(due);
      linger_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->Pump();
      });
      return;
    }
    backlog_.swap(queue_);  // no copy; the vectors trade capacities
    backlog_count_ += backlog_.size();
  } else if (remaining < options_.batch_max && !queue_.empty()) {
    // Compacting moves fewer than batch_max events; each queued event is copied
    // at most once, and the backlog cannot grow without bound under steady load.
    backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<ptrdiff_t>(backlog_pos_));
    backlog_pos_ = 0;
    backlog_.insert(backlog_.end(), queue_.begin(), queue_.end());
    backlog_count_ += queue_.size();
    queue_.clear();
  }
  state_ = State::kBusy;
  lock.unlock();
  linger_timer_.cancel();
  batch_started_ = SteadyClock::now();
  backoff_.Reset();
  EncodeBatch();
  SendBatch();
}

void Forwarder::EncodeBatch() {
  batch_size_ = std::min(options_.batch_max, backlog_.size() - backlog_pos_);
  body_.clear();
  for (size_t i = 0; i < batch_size_; ++i) AppendBatchLine(body_, backlog_[backlog_pos_ + i]);
  if (options_.signer) body_hash_ = Sha256HexOf(body_);  // once per batch, not per send
  in_flight_.store(batch_size_, std::memory_order_relaxed);
  metrics_.in_flight->Set(static_cast<int64_t>(batch_size_));
}

void Forwarder::SendBatch() {
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    stream = stream_id_;
  }
  http::Request request =
      MakeBatchRequest(stream, next_seq_, options_.key_id, body_);  // body_ stays for resends
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

void Forwarder::OnBatchResponse(Status status, http::Response response) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
  }
  BatchReply reply = ClassifyBatchReply(status, response, next_seq_, batch_size_);
  switch (reply.kind) {
    case ReplyKind::kAcked:
      return OnBatchAcked(batch_size_, &*reply.ack);
    case ReplyKind::kHeadApplied: {
      const bool all = reply.applied == batch_size_;
      OnBatchAcked(reply.applied, nullptr);
      if (!all) {
        EncodeBatch();
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
  backlog_pos_ += events;
  next_seq_ += events;
  acked_seq_.store(next_seq_ - 1, std::memory_order_relaxed);
  metrics_.forwarded->Inc(events);
  metrics_.queue_depth->Add(-static_cast<int64_t>(events));
  const bool batch_done = events == batch_size_;
  batch_size_ -= events;
  if (!batch_done) {
    std::lock_guard lock(mutex_);
    backlog_count_ -= events;
    return;
  }
  in_flight_.store(0, std::memory_order_relaxed);
  metrics_.in_flight->Set(0);
  batches_acked_.fetch_add(1, std::memory_order_relaxed);
  metrics_.batches->Inc();
  metrics_.batch_seconds->ObserveSeconds(
      std::chrono::duration<double>(SteadyClock::now() - batch_started_).count());
  if (ack != nullptr) {
    metrics_.duplicates->Inc(ack->duplicates);
    if (on_ack_) on_ack_(options_.worker_id, *ack);
  }
  log_.Delivered(connection_->peer());
  {
    std::lock_guard lock(mutex_);
    backlog_count_ -= events;
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
  const std::string stream = RestartStream();
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
  const std::string stream = RestartStream();
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

std::string Forwarder::RestartStream() {
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    stream_id_ = NewStreamId(options_.node_id);
    stream = stream_id_;
  }
  next_seq_ = 1;
  acked_seq_.store(0, std::memory_order_relaxed);
  return stream;
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
    if (!ec) self->SendBatch();  // the same body; the same seqs unless the stream restarted
  });
}

}  // namespace rt
