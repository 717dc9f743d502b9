#include "server/api/batch_exchange.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "server/model/worker_protocol.h"

namespace rt {
namespace {

// The reason line of an answer, for people: its first line, cut to 200 bytes.
std::string FirstLine(std::string_view text) {
  const size_t end = std::min(text.find('\n'), size_t{200});
  return std::string(text.substr(0, std::min(end, text.size())));
}

// "answered 409 Conflict: <reason line>".
std::string Answered(const http::Response& response) {
  return "answered " + std::to_string(response.result_int()) + " " +
         std::string(response.reason()) + ": " + FirstLine(response.body());
}

// The value of a decimal header, nullopt when absent or not a number >= 1.
std::optional<uint64_t> SeqHeader(const http::Response& response, std::string_view name) {
  const auto it = response.find(name);
  if (it == response.end()) return std::nullopt;
  const std::string_view text = it->value();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n == 0) return std::nullopt;
  return n;
}

BatchReply Reply(ReplyKind kind, int status, std::string problem) {
  BatchReply reply;
  reply.kind = kind;
  reply.status = status;
  reply.problem = std::move(problem);
  return reply;
}

BatchReply ClassifyAck(const http::Response& response, uint64_t first_seq, uint64_t count) {
  Result<BatchAck> ack = ParseBatchAck(response.body());
  if (!ack.ok())
    return Reply(ReplyKind::kRetry, 200, "sent an unreadable ack: " + ack.status().message());
  const uint64_t last = first_seq + count - 1;
  if (ack->acked_seq < last) {
    return Reply(ReplyKind::kRetrySlowly, 200,
                 "BUG: acked seq " + std::to_string(ack->acked_seq) +
                     " below the batch's last seq " + std::to_string(last));
  }
  BatchReply reply;
  reply.status = 200;
  if (ack->acked_seq > last) {
    reply.kind = ReplyKind::kAckBeyondSent;
    reply.problem = "acked seq " + std::to_string(ack->acked_seq) +
                    " beyond the last seq sent on this stream, " + std::to_string(last);
  } else {
    reply.kind = ReplyKind::kAcked;
  }
  reply.ack = std::move(*ack);
  return reply;
}

BatchReply ClassifyConflict(const http::Response& response, uint64_t first_seq, uint64_t count) {
  const auto error = response.find(kErrorHeader);
  if (error != response.end() && error->value() == kErrorKeyMismatch) {
    return Reply(ReplyKind::kKeyMismatch, 409, "refused our key id: " + FirstLine(response.body()));
  }
  const std::optional<uint64_t> expected = SeqHeader(response, kExpectedSeqHeader);
  if (!expected) {
    return Reply(ReplyKind::kRetrySlowly, 409,
                 Answered(response) + " (without a readable " + std::string(kExpectedSeqHeader) +
                     " or " + std::string(kErrorHeader) + " header; the reason text is not read)");
  }
  const uint64_t last = first_seq + count - 1;
  BatchReply reply;
  reply.status = 409;
  reply.expected_seq = *expected;
  if (*expected > first_seq && *expected <= last + 1) {
    reply.kind = ReplyKind::kHeadApplied;
    reply.applied = *expected - first_seq;
  } else if (*expected < first_seq) {
    reply.kind = ReplyKind::kStreamLost;
    reply.problem = "lost " + std::to_string(first_seq - *expected) +
                    " acknowledged events (expects seq " + std::to_string(*expected) +
                    ", we are at " + std::to_string(first_seq) + ")";
  } else {  // == first_seq (no gap at all) or beyond the batch
    reply.kind = ReplyKind::kRetrySlowly;
    reply.problem = "BUG: refused a gap but expects seq " + std::to_string(*expected) +
                    " for our batch " + std::to_string(first_seq) + ".." + std::to_string(last);
  }
  return reply;
}

}  // namespace

http::Request MakeBatchRequest(std::string_view stream, uint64_t seq, std::string_view key_id,
                               const std::string& body) {
  http::Request request{http::Verb::post, "/worker/batch", 11};
  request.set(kStreamHeader, stream);
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
  request.set(kSeqHeader, std::string_view(digits, static_cast<size_t>(end - digits)));
  request.set(kKeyIdHeader, key_id);
  request.set(http::beast_http::field::content_type, "text/plain");
  request.body() = body;
  return request;
}

BatchReply ClassifyBatchReply(const Status& transport, const http::Response& response,
                              uint64_t first_seq, uint64_t count) {
  if (!transport.ok()) return Reply(ReplyKind::kRetry, 0, transport.message());
  const int code = response.result_int();
  if (code == 200) return ClassifyAck(response, first_seq, count);
  if (code == 409) return ClassifyConflict(response, first_seq, count);
  // Not "can never succeed": an operator fixes the worker key or the clock, and the
  // same batch, signed again, then goes through.
  if (code == 401) return Reply(ReplyKind::kUnauthorized, code, Answered(response));
  // 408 and 429 say "later", like a 5xx; every other 4xx refuses the request itself,
  // and the same bytes would be refused again.
  // A stale replica member (docs/design.md §14) refuses until it is reseeded, which
  // takes an operator: ask slowly.
  if (code == 503 && response[kErrorHeader] == kStaleError) {
    return Reply(ReplyKind::kRetrySlowly, code, Answered(response));
  }
  if (code >= 500 || code == 408 || code == 429) {
    return Reply(ReplyKind::kRetry, code, Answered(response));
  }
  if (code >= 400) return Reply(ReplyKind::kRefused, code, Answered(response));
  return Reply(ReplyKind::kRetrySlowly, code, Answered(response));  // 1xx/2xx/3xx: unexpected
}

}  // namespace rt
