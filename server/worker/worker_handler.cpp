#include "server/worker/worker_handler.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "server/model/batch_ack.h"
#include "server/model/batch_codec.h"
#include "server/model/event_query.h"
#include "server/model/replica_marks.h"
#include "server/model/slice_stats.h"
#include "server/model/snapshot_format.h"
#include "server/model/user_key.h"
#include "server/model/worker_protocol.h"
#include "server/store/batch_writer.h"
#include "server/store/kc_store.h"
#include "server/worker/request_auth.h"
#include "server/worker/stale_state.h"

namespace rt {

namespace {

using http::StatusCode;

Result<int64_t> ParseSlice(std::string_view text) {
  int64_t slice = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), slice);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || slice < 0) {
    return Status::InvalidArgument("parameter \"slice\": not a slice number: \"" +
                                   http::QuoteForReason(text) + "\"");
  }
  return slice;
}

// The required decimal parameter `name` of a query, at least `min`.
Result<uint64_t> SeqParameter(std::string_view target, std::string_view name, uint64_t min) {
  Result<std::string> text = ParseTimeQuery(target, name);
  if (!text.ok()) return text.status();
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < min) {
    return Status::InvalidArgument("parameter \"" + std::string(name) +
                                   "\": not a sequence number >= " + std::to_string(min) + ": \"" +
                                   http::QuoteForReason(*text) + "\"");
  }
  return value;
}

bool IsPrintable(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

// The required `stream` parameter (GET /worker/mark, POST /worker/stale): as printable
// and as long at most as the X-Rt-Stream header of a batch.
Result<std::string> StreamParameter(std::string_view target) {
  Result<std::string> stream = ParseTimeQuery(target, "stream");
  if (!stream.ok()) return stream.status();
  if (stream->size() > WorkerHandler::kMaxStreamBytes || !IsPrintable(*stream)) {
    return Status::InvalidArgument(
        "parameter \"stream\": must be 1 to " + std::to_string(WorkerHandler::kMaxStreamBytes) +
        " printable bytes, got \"" + http::QuoteForReason(*stream) + "\"");
  }
  return stream;
}

// The optional `marks` parameter of GET /worker: a replica set's tag (SetTag, hex).
Result<std::optional<std::string>> MarksParameter(std::string_view target) {
  Result<std::optional<std::string>> tag = ParseOptionalQuery(target, "marks");
  if (!tag.ok() || !*tag) return tag;
  const bool hex = (*tag)->size() <= 64 && std::all_of((*tag)->begin(), (*tag)->end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) {
    return Status::InvalidArgument(
        "parameter \"marks\": not a replica set tag (1 to 64 "
        "lowercase hex digits): \"" +
        http::QuoteForReason(**tag) + "\"");
  }
  return tag;
}

// A required printable header of at most `max_len` bytes.
Result<std::string_view> RequiredHeader(const http::Request& request, std::string_view name,
                                        std::size_t max_len) {
  const auto it = request.find(name);
  if (it == request.end() || it->value().empty()) {
    return Status::InvalidArgument("missing header " + std::string(name));
  }
  const std::string_view value = it->value();
  if (value.size() > max_len || !IsPrintable(value)) {
    return Status::InvalidArgument("header " + std::string(name) + ": must be 1 to " +
                                   std::to_string(max_len) + " printable bytes, got \"" +
                                   http::QuoteForReason(value) + "\"");
  }
  return value;
}

http::Response JsonResponse(std::string body) {
  http::Response response{StatusCode::ok, 11};
  response.set(http::beast_http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

}  // namespace

WorkerHandler::WorkerHandler(KcStore& store, BatchWriter& writer, WorkerMetrics& metrics,
                             const MetricsRegistry& registry, const RequestVerifier& verifier,
                             std::string key_id, std::optional<SliceRange> range)
    : store_(store),
      writer_(writer),
      metrics_(metrics),
      registry_(registry),
      verifier_(verifier),
      key_id_(std::move(key_id)),
      range_(range) {}

void WorkerHandler::Register(http::Router& router) {
  using http::Verb;
  // The signature is checked first: an unsigned request learns nothing (no mark,
  // no key id, not even whether its headers would parse).
  auto signed_only = [this](void (WorkerHandler::*method)(http::Request&, http::Responder)) {
    return [this, method](http::Request& request, http::Responder respond) {
      if (std::optional<http::Response> refusal = CheckSignature(verifier_, request)) {
        metrics_.rejected_unauthorized.Inc();
        return respond(std::move(*refusal));
      }
      (this->*method)(request, std::move(respond));
    };
  };
  router.Add(Verb::post, "/worker", signed_only(&WorkerHandler::PostEvent));
  router.Add(Verb::get, "/worker", signed_only(&WorkerHandler::GetSlice));
  router.Add(Verb::get, "/worker/slices", signed_only(&WorkerHandler::GetSlices));
  router.Add(Verb::post, "/worker/batch", signed_only(&WorkerHandler::PostBatch), kBatchBodyLimit);
  router.Add(Verb::get, "/worker/mark", signed_only(&WorkerHandler::GetMark));      // kMarkPath
  router.Add(Verb::post, "/worker/stale", signed_only(&WorkerHandler::PostStale));  // kStalePath
  router.Add(Verb::get, "/worker/snapshot", signed_only(&WorkerHandler::GetSnapshot));
  router.Add(Verb::get, "/healthz", http::BindMethod(this, &WorkerHandler::GetHealth));
  router.Add(Verb::get, "/metrics", http::BindMethod(this, &WorkerHandler::GetMetrics));
}

http::Response WorkerHandler::Refusal(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      metrics_.rejected_bad_request.Inc();
      return http::MakeErrorResponse(StatusCode::bad_request, status.message());
    case Status::Code::kUnavailable:
      metrics_.rejected_unavailable.Inc();
      return http::MakeErrorResponse(StatusCode::service_unavailable, status.message());
    case Status::Code::kResourceExhausted: {
      // 507, not 503: the sender retries either (any 5xx), but an operator and the
      // metrics can tell a full disk from an overloaded worker.
      metrics_.storage_no_space.Inc();
      http::Response response =
          http::MakeErrorResponse(StatusCode::insufficient_storage,
                                  "insufficient storage, nothing applied: " + status.message());
      response.set(http::beast_http::field::retry_after, "5");
      return response;
    }
    default:
      metrics_.storage_io.Inc();
      return http::MakeErrorResponse(StatusCode::internal_server_error,
                                     "storage error: " + status.message());
  }
}

// A gap: 409 + X-Rt-Expected-Seq, the sender resends from there. Another key id:
// 409 + X-Rt-Error: key-mismatch. Both stay 409 (the batch conflicts with the
// worker's state, and a sender treats any other 4xx as a request that can never
// succeed); the headers, not the reason line, say which conflict it is
// (docs/design.md §3 "Exactly-once streams and the worker protocol").
http::Response WorkerHandler::Conflict(const BatchOutcome& outcome) {
  if (outcome.verdict == BatchVerdict::kGap) {
    metrics_.rejected_gap.Inc();
    const std::string expected = std::to_string(outcome.expected_seq);
    http::Response response =
        http::MakeErrorResponse(StatusCode::conflict, "expected seq " + expected +
                                                          ": the batch would leave a gap in "
                                                          "its stream; resend from there");
    response.set(kErrorHeader, kErrorSeqGap);
    response.set(kExpectedSeqHeader, expected);
    return response;
  }
  metrics_.rejected_key_mismatch.Inc();
  http::Response response = http::MakeErrorResponse(
      StatusCode::conflict, "key id mismatch: this worker holds data keyed with key id \"" +
                                http::QuoteForReason(outcome.stored_key_id) +
                                "\", the batch uses \"" +
                                http::QuoteForReason(outcome.offered_key_id) +
                                "\" (every API node must use the same secret)");
  response.set(kErrorHeader, kErrorKeyMismatch);
  return response;
}

// The writer's queue is bounded (BatchWriter): a worker slower than its senders
// sheds load with a 503 the API node's forwarder retries with backoff, instead of
// growing without bound.
http::Response WorkerHandler::QueueFull() {
  metrics_.rejected_queue_full.Inc();
  const std::string waiting = std::to_string(writer_.QueuedEvents());
  http::Response response = http::MakeErrorResponse(
      StatusCode::service_unavailable,
      "write queue full (" + waiting + " events waiting for the store): retry later");
  response.set(http::beast_http::field::retry_after, "1");
  return response;
}

// Marks stay readable (/worker/mark): the API nodes keep asking them, and a worker
// reseeded under the same id answers with the copied marks and resumes.
std::optional<http::Response> WorkerHandler::StaleRefusal() {
  if (stale_ == nullptr || !stale_->stale()) return std::nullopt;
  metrics_.rejected_stale.Inc();
  http::Response response =
      http::MakeErrorResponse(StatusCode::service_unavailable, stale_->Line().value_or("stale"));
  response.set(kErrorHeader, kStaleError);
  return response;
}

std::optional<http::Response> WorkerHandler::OutOfRange(std::span<const BatchEvent> events) {
  if (!range_) return std::nullopt;
  const int64_t max_slice = range_->MaxSlice();
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].slice <= max_slice) continue;  // >= 0 is checked by the parsers
    metrics_.rejected_out_of_range.Inc();
    Status refused = SliceRange::Check(events[i].slice, max_slice);
    if (events.size() > 1) refused = refused.WithContext("body: line " + std::to_string(i + 1));
    return http::MakeErrorResponse(StatusCode::bad_request, refused.message());
  }
  return std::nullopt;
}

void WorkerHandler::PostEvent(http::Request& request, http::Responder respond) {
  if (auto refused = StaleRefusal()) return respond(std::move(*refused));
  Result<EventQuery> query = ParseEventQuery(request.target(), "slice");
  if (!query.ok()) return respond(Refusal(query.status()));
  Result<int64_t> slice = ParseSlice(query->timestamp_text);
  if (!slice.ok()) return respond(Refusal(slice.status()));
  Result<UserKey> key = UserKey::FromHex(query->user);
  if (!key.ok()) {
    return respond(
        Refusal(Status::InvalidArgument("parameter \"user\": not a 32-hex-digit user key: \"" +
                                        http::QuoteForReason(query->user) + "\"")));
  }
  const BatchEvent event{*slice, *key, query->action};
  if (auto refused = OutOfRange(std::span(&event, 1))) return respond(std::move(*refused));
  const bool taken =
      writer_.SubmitSingle(*slice, *key, query->action, [this, respond](Result<SliceStats> stats) {
        if (!stats.ok()) return respond(Refusal(stats.status()));
        metrics_.single_events.Inc();
        respond(http::MakeTextResponse(StatusCode::accepted, FormatSliceStats(*stats)));
      });
  if (!taken) respond(QueueFull());
}

// The sealed flag and the marks are read before the numbers: a batch applied in
// between makes the numbers newer than the marks say, never older (docs/design.md
// §14 "Replica sets", Read path).
void WorkerHandler::GetSlice(http::Request& request, http::Responder respond) {
  if (auto refused = StaleRefusal()) return respond(std::move(*refused));
  Result<std::string> text = ParseTimeQuery(request.target(), "slice");
  if (!text.ok()) return respond(Refusal(text.status()));
  Result<int64_t> slice = ParseSlice(*text);
  if (!slice.ok()) return respond(Refusal(slice.status()));
  Result<std::optional<std::string>> tag = MarksParameter(request.target());
  if (!tag.ok()) return respond(Refusal(tag.status()));
  ReplicaMarks marks;
  if (*tag) {
    marks.sealed = *slice < store_.SealedBefore();
    marks.streams = store_.PublishedMarks("@" + **tag);
  }
  http::Response response =
      http::MakeTextResponse(StatusCode::ok, FormatSliceStats(store_.StatsFor(*slice)));
  if (*tag) response.set(kMarksHeader, FormatReplicaMarks(marks));
  respond(std::move(response));
}

void WorkerHandler::GetSlices(http::Request& request, http::Responder respond) {
  if (auto refused = StaleRefusal()) return respond(std::move(*refused));
  Result<std::optional<std::string>> wants_marks = ParseOptionalQuery(request.target(), "marks");
  if (!wants_marks.ok()) return respond(Refusal(wants_marks.status()));
  nlohmann::json doc = nlohmann::json::object();
  if (*wants_marks) {
    doc["sealed_before"] = store_.SealedBefore();
    nlohmann::json marks = nlohmann::json::object();
    for (const auto& [stream, mark] : store_.PublishedMarks("")) marks[stream] = mark;
    doc["marks"] = std::move(marks);
  }
  nlohmann::json slices = nlohmann::json::array();
  for (const auto& [slice, stats] : store_.AllSlices()) {
    slices.push_back({{"slice", slice},
                      {"unique_users", stats.unique_users},
                      {"clicks", stats.clicks},
                      {"impressions", stats.impressions}});
  }
  doc["slices"] = std::move(slices);
  respond(JsonResponse(doc.dump()));
}

// Read from the store, not the writer: a batch being applied may move the mark just
// after; the sender then finds its first records skipped as duplicates, which is
// harmless.
void WorkerHandler::GetMark(http::Request& request, http::Responder respond) {
  Result<std::string> stream = StreamParameter(request.target());
  if (!stream.ok()) return respond(Refusal(stream.status()));
  Result<uint64_t> mark = store_.StoredMark(*stream);
  if (!mark.ok()) return respond(Refusal(mark.status()));
  respond(JsonResponse(nlohmann::json{{"stream", *stream}, {"mark", *mark}}.dump()));
}

void WorkerHandler::PostBatch(http::Request& request, http::Responder respond) {
  if (auto refused = StaleRefusal()) return respond(std::move(*refused));
  const auto received = std::chrono::steady_clock::now();
  Result<std::string_view> stream = RequiredHeader(request, kStreamHeader, kMaxStreamBytes);
  if (!stream.ok()) return respond(Refusal(stream.status()));
  Result<std::string_view> seq_text = RequiredHeader(request, kSeqHeader, 20);
  if (!seq_text.ok()) return respond(Refusal(seq_text.status()));
  uint64_t seq = 0;
  const auto [end, ec] =
      std::from_chars(seq_text->data(), seq_text->data() + seq_text->size(), seq);
  if (ec != std::errc() || end != seq_text->data() + seq_text->size() || seq == 0) {
    return respond(
        Refusal(Status::InvalidArgument("header X-Rt-Seq: not a sequence number >= 1: \"" +
                                        http::QuoteForReason(*seq_text) + "\"")));
  }
  BatchRequest batch;
  batch.stream = std::string(*stream);
  batch.first_seq = seq;
  batch.key_id = key_id_;
  if (Status decoded = DecodeBatchInto(request.body(), batch.events); !decoded.ok()) {
    return respond(Refusal(decoded.WithContext("body")));
  }
  if (auto refused = OutOfRange(batch.events)) return respond(std::move(*refused));
  const bool taken =
      writer_.Submit(std::move(batch), [this, received, respond](Result<BatchOutcome> outcome) {
        if (!outcome.ok()) return respond(Refusal(outcome.status()));
        if (outcome->refused()) return respond(Conflict(*outcome));
        metrics_.batches.Inc();
        metrics_.events_applied.Inc(outcome->applied);
        metrics_.duplicates_skipped.Inc(outcome->duplicates);
        metrics_.events_sealed.Inc(outcome->sealed);
        metrics_.batch_apply_seconds.ObserveSeconds(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
        BatchAck ack;
        ack.acked_seq = outcome->acked_seq;
        ack.applied = outcome->applied;
        ack.duplicates = outcome->duplicates;
        ack.slices = std::move(outcome->touched);
        respond(JsonResponse(FormatBatchAck(ack)));
      });
  if (!taken) respond(QueueFull());
}

void WorkerHandler::PostStale(http::Request& request, http::Responder respond) {
  Result<std::string> stream = StreamParameter(request.target());
  if (!stream.ok()) return respond(Refusal(stream.status()));
  Result<uint64_t> mark = SeqParameter(request.target(), "mark", 0);
  if (!mark.ok()) return respond(Refusal(mark.status()));
  Result<uint64_t> need = SeqParameter(request.target(), "need", 1);
  if (!need.ok()) return respond(Refusal(need.status()));
  if (stale_ == nullptr) {
    return respond(
        Refusal(Status::Unavailable("this worker does not keep a stale state (not a replica "
                                    "member started by serve-worker)")));
  }
  Result<uint64_t> own = store_.StoredMark(*stream);
  if (!own.ok()) return respond(Refusal(own.status()));
  if (*own + 1 >= *need) {
    return respond(http::MakeErrorResponse(StatusCode::conflict,
                                           "not stale: stream " + http::QuoteForReason(*stream) +
                                               " is applied up to seq " + std::to_string(*own) +
                                               " here, and the sender's spool starts at seq " +
                                               std::to_string(*need)));
  }
  const std::string reason = "it has stream " + *stream + " up to seq " + std::to_string(*own) +
                             " and an API node's spool of its replica set starts at seq " +
                             std::to_string(*need);
  if (Status recorded = stale_->Record(reason); !recorded.ok()) {
    return respond(Refusal(recorded.WithContext("recording the stale state")));
  }
  respond(http::MakeTextResponse(StatusCode::ok, stale_->Line().value_or("stale") + "\n"));
}

// Runs on the I/O thread that took the request: the copy pauses writes (they wait on
// the store's write mutex) for as long as it reads the files, and this thread for as
// long as the answer is written. A stale worker is no seed: its numbers lack events.
void WorkerHandler::GetSnapshot(http::Request&, http::Responder respond) {
  if (auto refused = StaleRefusal()) return respond(std::move(*refused));
  Result<KcStore::Snapshot> snapshot = store_.TakeSnapshot();
  if (!snapshot.ok()) return respond(Refusal(snapshot.status().WithContext("snapshot")));
  metrics_.snapshots.Inc();
  metrics_.snapshot_pause_seconds.ObserveSeconds(snapshot->pause.count());
  http::Response response{StatusCode::ok, 11};
  response.set(http::beast_http::field::content_type, "application/octet-stream");
  response.set(kSnapshotPauseHeader,
               std::to_string(static_cast<int64_t>(snapshot->pause.count() * 1000.0)));
  response.body() = FormatSnapshot(snapshot->files);
  respond(std::move(response));
}

void WorkerHandler::SetHealthDetails(std::function<std::optional<std::string>()> note,
                                     std::function<std::string()> json) {
  health_note_ = std::move(note);
  health_json_ = std::move(json);
}

void WorkerHandler::GetHealth(http::Request& request, http::Responder respond) {
  if (stale_ != nullptr && stale_->stale()) {
    if (health_json_ && http::AcceptsJson(request)) {
      return respond(http::MakeJsonResponse(StatusCode::service_unavailable, health_json_()));
    }
    http::Response response =
        http::MakeErrorResponse(StatusCode::service_unavailable, stale_->Line().value_or("stale"));
    response.set(kErrorHeader, kStaleError);
    return respond(std::move(response));
  }
  if (health_json_ && http::AcceptsJson(request)) {
    respond(http::MakeJsonResponse(StatusCode::ok, health_json_()));
    return;
  }
  // Still 200 after a repair: Kyoto's transaction log keeps the data consistent; the
  // line tells an operator that a repair happened (docs/http.md).
  std::string body = "ok\n";
  const std::string repair = RepairSummary(store_.start_report());
  if (!repair.empty()) body += repair + "\n";
  if (health_note_) {
    if (std::optional<std::string> note = health_note_()) body += *note + "\n";
  }
  respond(http::MakeTextResponse(StatusCode::ok, std::move(body)));
}

void WorkerHandler::GetMetrics(http::Request&, http::Responder respond) {
  respond(http::MakeMetricsResponse(registry_.Render()));
}

}  // namespace rt
