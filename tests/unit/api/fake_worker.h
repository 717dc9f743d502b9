#pragma once

// The fake worker of the API node's unit tests (forwarder, API node), header-only
// beside them (tests/support belongs to the integration harness).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/http/types.h"
#include "server/model/batch_ack.h"
#include "server/model/batch_codec.h"
#include "server/model/event_query.h"
#include "server/model/worker_protocol.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/io_thread.h"
#include "tests/support/wait_for.h"

namespace rt::testing {

// An in-memory worker implementing the /worker/batch semantics (one mark per
// stream, duplicates skipped, 409 on a gap or a different key id), with knobs to
// inject failures. Survives Stop()/Start() on the same port like a restarted worker.
class FakeWorker {
 public:
  struct Received {
    std::string stream;
    uint64_t seq = 0;
    std::string body;
    size_t lines = 0;
  };

  FakeWorker() { Start(0); }
  ~FakeWorker() { Stop(); }

  void Start(uint16_t port) {
    server_ = std::make_unique<FakeHttpServer>([this](const http::Request& r) { return Handle(r); },
                                               port);
    port_ = server_->port();
  }
  void Stop() { server_.reset(); }
  uint16_t port() const { return port_; }

  // The next `n` requests get a 503 without being applied.
  void FailNext(int n) {
    std::lock_guard lock(mutex_);
    fail_next_ = n;
  }
  // The next `n` requests are applied, then the connection closes without an answer.
  void LoseAnswerOfNext(int n) {
    std::lock_guard lock(mutex_);
    lose_answer_next_ = n;
  }
  // The next request has only its first `k` events applied and gets 409 expected seq.
  void ApplyPrefixOfNext(size_t k) {
    std::lock_guard lock(mutex_);
    apply_prefix_ = k;
  }
  // Forgets every stream's mark, as a worker whose data was wiped.
  void ForgetMarks() {
    std::lock_guard lock(mutex_);
    marks_.clear();
  }
  // Gap refusals say `reason` instead of the usual "expected seq N" (a reworded
  // message must not change what the sender does).
  void SetGapReason(std::string reason) {
    std::lock_guard lock(mutex_);
    gap_reason_ = std::move(reason);
  }
  // The next `n` gap refusals carry no typed headers, only the text "expected seq N".
  void OmitTypedHeadersOfNext(int n) {
    std::lock_guard lock(mutex_);
    untyped_next_ = n;
  }
  // The next request finds its stream's mark moved `extra` seqs past its last event,
  // as if another sender used the same stream id: everything is skipped as a
  // duplicate and the ack is beyond what was sent.
  void AdvanceMarkBeforeNext(uint64_t extra) {
    std::lock_guard lock(mutex_);
    advance_mark_ = extra;
  }
  // Every request from now on is answered `code` without being applied.
  void RefuseWith(http::StatusCode code) {
    std::lock_guard lock(mutex_);
    refuse_with_ = code;
  }
  void AcceptAgain() {
    std::lock_guard lock(mutex_);
    refuse_with_.reset();
  }
  // The next `n` requests get `code` (a transient refusal) without being applied.
  void AnswerNext(int n, http::StatusCode code) {
    std::lock_guard lock(mutex_);
    answer_next_ = n;
    answer_next_code_ = code;
  }
  // From now on, batches must be signed with `key`, checked at `clock`'s time (which
  // must outlive the worker); nullopt: signatures are not checked (the default).
  void RequireSignature(std::optional<WorkerKey> key, const Clock* clock = nullptr) {
    std::lock_guard lock(mutex_);
    verifier_.reset();
    if (key) verifier_ = std::make_unique<RequestVerifier>(*key, clock ? *clock : system_clock_);
  }
  uint64_t unauthorized() const {
    std::lock_guard lock(mutex_);
    return unauthorized_;
  }
  void SetKeyId(std::string key_id) {
    std::lock_guard lock(mutex_);
    key_id_ = std::move(key_id);
  }

  // Sets `stream`'s mark, as a worker that applied its events 1..mark before.
  void SetMark(const std::string& stream, uint64_t mark) {
    std::lock_guard lock(mutex_);
    marks_[stream] = mark;
  }
  // false: GET /worker/mark gets 404, as from a worker older than the endpoint.
  void ServeMark(bool serve) {
    std::lock_guard lock(mutex_);
    serve_mark_ = serve;
  }
  uint64_t mark_requests() const {
    std::lock_guard lock(mutex_);
    return mark_requests_;
  }

  std::vector<BatchEvent> applied() const {
    std::lock_guard lock(mutex_);
    return applied_;
  }
  size_t applied_count() const {
    std::lock_guard lock(mutex_);
    return applied_.size();
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  uint64_t duplicates() const {
    std::lock_guard lock(mutex_);
    return duplicates_;
  }
  uint64_t bad_bodies() const {
    std::lock_guard lock(mutex_);
    return bad_bodies_;
  }

 private:
  FakeHttpServer::Reply Answer(http::StatusCode code, std::string body) {
    FakeHttpServer::Reply reply;
    reply.response.result(code);
    reply.response.body() = std::move(body);
    return reply;
  }

  // A 409 gap refusal: typed headers (unless omitted) and a reason for people.
  FakeHttpServer::Reply Gap(uint64_t expected) {
    const std::string n = std::to_string(expected);
    if (untyped_next_ > 0) {
      --untyped_next_;
      return Answer(http::StatusCode::conflict, "expected seq " + n + "\n");
    }
    FakeHttpServer::Reply reply =
        Answer(http::StatusCode::conflict,
               (gap_reason_.empty() ? "expected seq " + n : gap_reason_) + "\n");
    reply.response.set(kErrorHeader, kErrorSeqGap);
    reply.response.set(kExpectedSeqHeader, n);
    return reply;
  }

  // The worker's 401 when a verifier is set and `req`'s signature fails; nullopt to go on.
  std::optional<FakeHttpServer::Reply> CheckSignature(const http::Request& req) {
    if (!verifier_) return std::nullopt;
    SignedRequest parts;
    parts.method = req.method_string();
    parts.target = req.target();
    for (const auto& field : req) parts.headers.emplace_back(field.name_string(), field.value());
    const std::string body_hash = Sha256HexOf(req.body());  // parts holds views
    parts.body_sha256_hex = body_hash;
    const Status verified = verifier_->Verify(parts, req[kTimestampHeader], req[kSignatureHeader]);
    if (verified.ok()) return std::nullopt;
    ++unauthorized_;
    FakeHttpServer::Reply reply = Answer(http::StatusCode::unauthorized, verified.message() + "\n");
    reply.response.set(kErrorHeader, kErrorUnauthorized);
    return reply;
  }

  // GET /worker/mark?stream=ID: the stream's mark (signature checked like batches);
  // the failure knobs apply to batches only.
  FakeHttpServer::Reply Mark(const http::Request& req) {
    ++mark_requests_;
    if (std::optional<FakeHttpServer::Reply> refused = CheckSignature(req)) return *refused;
    Result<std::string> stream = ParseTimeQuery(req.target(), "stream");
    if (!stream.ok()) return Answer(http::StatusCode::bad_request, stream.status().message());
    const auto it = marks_.find(*stream);
    const uint64_t mark = it == marks_.end() ? 0 : it->second;
    return Answer(http::StatusCode::ok,
                  "{\"stream\":\"" + *stream + "\",\"mark\":" + std::to_string(mark) + "}");
  }

  FakeHttpServer::Reply Handle(const http::Request& req) {
    std::lock_guard lock(mutex_);
    if (req.method() == http::Verb::get && req.target().starts_with(kMarkPath) && serve_mark_) {
      return Mark(req);
    }
    if (req.method() != http::Verb::post || req.target() != "/worker/batch") {
      return Answer(http::StatusCode::not_found, "not found\n");
    }
    Received got;
    got.stream = std::string(req[kStreamHeader]);
    got.seq = std::stoull(std::string(req[kSeqHeader]));
    got.body = req.body();
    Result<std::vector<BatchEvent>> events = DecodeBatch(req.body());
    if (!events.ok()) {  // Catch assertions are not thread-safe: answer, let the test see it
      bad_bodies_++;
      return Answer(http::StatusCode::bad_request, events.status().message() + "\n");
    }
    got.lines = events->size();
    received_.push_back(got);

    if (fail_next_ > 0) {
      --fail_next_;
      return Answer(http::StatusCode::service_unavailable, "injected failure\n");
    }
    if (answer_next_ > 0) {
      --answer_next_;
      return Answer(answer_next_code_, "injected transient refusal\n");
    }
    if (refuse_with_) return Answer(*refuse_with_, "line 1: injected refusal\n");
    if (std::optional<FakeHttpServer::Reply> refused = CheckSignature(req)) return *refused;
    const std::string key_id(req[kKeyIdHeader]);
    if (!key_id_) key_id_ = key_id;
    if (*key_id_ != key_id) {
      // Worded so that no "key id" text is there to find: only the header says it.
      FakeHttpServer::Reply reply =
          Answer(http::StatusCode::conflict, "secret differs from the one of my data\n");
      reply.response.set(kErrorHeader, kErrorKeyMismatch);
      return reply;
    }
    uint64_t& mark = marks_[got.stream];
    if (advance_mark_) {
      mark = got.seq + events->size() - 1 + *advance_mark_;
      advance_mark_.reset();
    }
    if (got.seq > mark + 1) return Gap(mark + 1);
    size_t limit = events->size();
    if (apply_prefix_) limit = std::min(limit, *apply_prefix_);
    BatchAck ack;
    std::map<int64_t, SliceStats> touched;
    for (size_t i = 0; i < limit; ++i) {
      const BatchEvent& e = (*events)[i];
      const uint64_t seq = got.seq + i;
      if (seq <= mark) {
        ++ack.duplicates;
        ++duplicates_;
        continue;
      }
      mark = seq;
      applied_.push_back(e);
      SliceStats& s = stats_[e.slice];
      if (users_[e.slice].insert(e.key).second) ++s.unique_users;
      (e.action == Action::kClick ? s.clicks : s.impressions) += 1;
      touched[e.slice] = s;
    }
    if (apply_prefix_) {
      apply_prefix_.reset();
      return Gap(mark + 1);
    }
    ack.acked_seq = mark;
    for (const auto& [slice, s] : touched) ack.slices.emplace_back(slice, s);
    FakeHttpServer::Reply reply = Answer(http::StatusCode::ok, FormatBatchAck(ack));
    if (lose_answer_next_ > 0) {
      --lose_answer_next_;
      reply.answer = false;
    }
    return reply;
  }

  std::unique_ptr<FakeHttpServer> server_;
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  int fail_next_ = 0;
  uint64_t mark_requests_ = 0;
  bool serve_mark_ = true;
  int lose_answer_next_ = 0;
  std::optional<size_t> apply_prefix_;
  std::string gap_reason_;
  int untyped_next_ = 0;
  std::optional<uint64_t> advance_mark_;
  std::optional<http::StatusCode> refuse_with_;
  int answer_next_ = 0;
  http::StatusCode answer_next_code_ = http::StatusCode::too_many_requests;
  std::optional<std::string> key_id_;
  SystemClock system_clock_;
  std::unique_ptr<RequestVerifier> verifier_;
  uint64_t unauthorized_ = 0;
  std::map<std::string, uint64_t> marks_;
  std::vector<BatchEvent> applied_;
  std::vector<Received> received_;
  std::map<int64_t, SliceStats> stats_;
  std::map<int64_t, std::set<UserKey>> users_;
  uint64_t duplicates_ = 0;
  uint64_t bad_bodies_ = 0;
};

}  // namespace rt::testing
