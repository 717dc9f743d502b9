#include "server/api/forwarder.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <utility>

namespace rt {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string FirstLine(std::string_view text) {
  const size_t end = std::min(text.find('\n'), size_t{200});
  return std::string(text.substr(0, std::min(end, text.size())));
}

bool ContainsNoCase(std::string_view text, std::string_view needle) {
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

// The N of a 409 "expected seq N" answer, 0 if the body says something else.
uint64_t ExpectedSeq(std::string_view body) {
  constexpr std::string_view kMarker = "expected seq ";
  const size_t at = body.find(kMarker);
  if (at == std::string_view::npos) return 0;
  const char* begin = body.data() + at + kMarker.size();
  uint64_t n = 0;
  const auto [ptr, ec] = std::from_chars(begin, body.data() + body.size(), n);
  return ec == std::errc() && ptr != begin ? n : 0;
}

}  // namespace

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
  m.queue_depth = &registry.AddGauge("rt_api_forward_queue_depth",
                                     "Events accepted and not yet acknowledged", labels);
  m.in_flight =
      &registry.AddGauge("rt_api_forward_in_flight", "Events of the batch being sent", labels);
  m.batch_seconds = &registry.AddHistogram("rt_api_forward_batch_seconds",
                                           "From first send to acknowledgement of a batch", labels);
  return m;
}

std::string NewStreamId(const std::string& node_id) {
  // Wall time rather than the rt Clock: the epoch must differ from every earlier
  // process's, also in the simulator where the rt Clock is fake and restarts at
  // the same instant.
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t prev = last.load();
  int64_t epoch = 0;
  do {
    epoch = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, epoch));
  return node_id + ":" + std::to_string(epoch);
}

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
      linger_timer_(strand_),
      backoff_timer_(strand_) {
  http::ClientOptions client;
  client.connect_timeout = options_.connect_timeout;
  client.request_timeout = options_.request_timeout;
  connection_ = http::ClientConnection::Create(ioc, options_.host, options_.port, client);
  queue_.reserve(std::min(options_.batch_max, options_.queue_limit));
}

bool Forwarder::Enqueue(const BatchEvent& event) {
  std::unique_lock lock(mutex_);
  if (stopped_ || queue_.size() + backlog_count_ >= options_.queue_limit) {
    lock.unlock();
    metrics_.queue_full->Inc();
    return false;
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
  return true;
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
  drained_.wait_until(lock, deadline,
                      [&] { return stopped_ || (queue_.empty() && backlog_count_ == 0); });
  return queue_.size() + backlog_count_;
}

void Forwarder::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
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
  });
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
  if (stopped_ || state_ == State::kBusy) return;
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
  backoff_ = std::chrono::milliseconds(0);
  EncodeBatch();
  SendBatch();
}

void Forwarder::EncodeBatch() {
  batch_size_ = std::min(options_.batch_max, backlog_.size() - backlog_pos_);
  body_.clear();
  for (size_t i = 0; i < batch_size_; ++i) AppendBatchLine(body_, backlog_[backlog_pos_ + i]);
  in_flight_.store(batch_size_, std::memory_order_relaxed);
  metrics_.in_flight->Set(static_cast<int64_t>(batch_size_));
}

void Forwarder::SendBatch() {
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stream = stream_id_;
  }
  http::Request request{http::Verb::post, "/worker/batch", 11};
  request.set("X-Rt-Stream", stream);
  request.set("X-Rt-Seq", std::to_string(next_seq_));
  request.set("X-Rt-Key-Id", options_.key_id);
  request.set(http::beast_http::field::content_type, "text/plain");
  request.body() = body_;  // body_ stays for the retries
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
    if (stopped_) return;
  }
  const auto next_backoff = [this] {
    return backoff_.count() == 0 ? options_.backoff_initial
                                 : std::min(backoff_ * 2, options_.backoff_max);
  };
  if (!status.ok()) {
    RetryLater(next_backoff(), status.message());
    return;
  }
  const int code = response.result_int();
  if (code == 200) {
    Result<BatchAck> ack = ParseBatchAck(response.body());
    if (!ack.ok()) {
      RetryLater(next_backoff(), "sent an unreadable ack: " + ack.status().message());
      return;
    }
    const uint64_t last = next_seq_ + batch_size_ - 1;
    if (ack->acked_seq < last) {
      RetryLater(options_.backoff_max, "BUG: acked seq " + std::to_string(ack->acked_seq) +
                                           " below the batch's last seq " + std::to_string(last));
      return;
    }
    OnBatchAcked(batch_size_, &*ack);
    return;
  }
  if (code == 409 && HandleConflict(response.body())) return;
  const bool server_error = code >= 500;
  RetryLater(server_error ? next_backoff() : options_.backoff_max,
             "answered " + std::to_string(code) + ": " + FirstLine(response.body()));
}

// A 409 is either a key id mismatch or "expected seq N". Returns false when the
// body says neither.
bool Forwarder::HandleConflict(const std::string& body) {
  if (ContainsNoCase(body, "key id")) {
    if (!key_mismatch_.exchange(true)) {
      std::fprintf(stderr,
                   "rt: ERROR: worker %s (%s) refused our key id %s: %s; every API node of a "
                   "cluster must use the same secret\n",
                   options_.worker_id.c_str(), connection_->peer().c_str(), options_.key_id.c_str(),
                   FirstLine(body).c_str());
    }
    RetryLater(options_.backoff_max, "refused our key id: " + FirstLine(body));
    return true;
  }
  const uint64_t expected = ExpectedSeq(body);
  if (expected == 0) return false;
  const uint64_t first = next_seq_;
  const uint64_t last = first + batch_size_ - 1;
  if (expected > first && expected <= last + 1) {
    // The worker already has the head of the batch: send only the rest.
    const uint64_t applied = expected - first;
    const bool all = applied == batch_size_;
    OnBatchAcked(applied, nullptr);
    if (!all) {
      EncodeBatch();
      SendBatch();
    }
    return true;
  }
  if (expected > last + 1) {
    RetryLater(options_.backoff_max, "BUG: expects seq " + std::to_string(expected) +
                                         " beyond our batch " + std::to_string(first) + ".." +
                                         std::to_string(last));
    return true;
  }
  // expected < first: the worker lost events it had acknowledged (its data was
  // reset). They cannot be sent again; continue on a new stream so that at least
  // everything from now on is counted.
  std::string stream;
  {
    std::lock_guard lock(mutex_);
    stream_id_ = NewStreamId(options_.node_id);
    stream = stream_id_;
  }
  std::fprintf(stderr,
               "rt: ERROR: worker %s (%s) lost %llu acknowledged events (expects seq %llu, we "
               "are at %llu); continuing on new stream %s\n",
               options_.worker_id.c_str(), connection_->peer().c_str(),
               static_cast<unsigned long long>(first - expected),
               static_cast<unsigned long long>(expected), static_cast<unsigned long long>(first),
               stream.c_str());
  next_seq_ = 1;
  acked_seq_.store(0, std::memory_order_relaxed);
  SendBatch();
  return true;
}

void Forwarder::OnBatchAcked(uint64_t events, const BatchAck* ack) {
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
  if (problem_lines_ > 0) {
    std::fprintf(stderr, "rt: worker %s (%s): batches delivered again\n",
                 options_.worker_id.c_str(), connection_->peer().c_str());
    last_problem_.clear();
    problem_lines_ = 0;
  }
  {
    std::lock_guard lock(mutex_);
    backlog_count_ -= events;
    state_ = State::kWoken;
  }
  Pump();
}

void Forwarder::RetryLater(std::chrono::milliseconds delay, const std::string& why) {
  retries_.fetch_add(1, std::memory_order_relaxed);
  metrics_.retries->Inc();
  LogOnce(why);
  backoff_ = delay;
  backoff_timer_.expires_after(delay);
  backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->SendBatch();  // the same body under the same seqs
  });
}

// One line per streak of the same problem: a worker down for an hour must not
// fill the log with one line per retry.
void Forwarder::LogOnce(const std::string& problem) {
  constexpr int kMaxLinesPerStreak = 5;
  if (problem == last_problem_ || problem_lines_ >= kMaxLinesPerStreak) return;
  last_problem_ = problem;
  ++problem_lines_;
  std::fprintf(stderr, "rt: worker %s (%s): %s; resending the batch with backoff\n",
               options_.worker_id.c_str(), connection_->peer().c_str(), problem.c_str());
}

}  // namespace rt
