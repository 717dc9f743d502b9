#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/http/types.h"
#include "server/model/batch_ack.h"

namespace rt {

// The API node's half of one POST /worker/batch exchange (docs/design.md §3
// "Exactly-once streams and the worker protocol"): the request's wire form, and
// what the worker's answer means for the sender. The answer is judged on its status
// code and typed headers (server/model/worker_protocol.h) only; the reason text is
// quoted in `problem` for people and never parsed.

// The request for the events `body` (one line each), the first of them at `seq`.
// `body` is copied: the sender keeps its own for resends.
http::Request MakeBatchRequest(std::string_view stream, uint64_t seq, std::string_view key_id,
                               const std::string& body);

// What the sender does next.
enum class ReplyKind {
  kAcked,          // 200 and the ack covers the batch exactly: `ack` is set
  kHeadApplied,    // 409 gap inside the batch: the worker has its first `applied`
                   // events (all of them when applied == count); send the rest
  kStreamLost,     // 409 gap below the batch: the worker lost acknowledged events;
                   // continue on a new stream (they cannot be recovered)
  kAckBeyondSent,  // 200 acking seqs never sent on this stream: an alarm; resend the
                   // batch on a new stream
  kKeyMismatch,    // 409 X-Rt-Error: key-mismatch: the worker keeps data of another
                   // secret; retry slowly until an operator fixes it
  kUnauthorized,   // 401: the worker refuses our signature (another worker key, or
                   // our clock is off); retry slowly until an operator fixes it
  kRetry,          // transport error, 5xx, 408, 429, unreadable ack: resend with backoff
  kRetrySlowly,    // an answer that should not happen (ack short of the batch, a gap
                   // beyond it, a 409 without typed headers): resend after the max backoff
  kRefused,        // any other 4xx: resending cannot succeed; stop the stream
};

struct BatchReply {
  ReplyKind kind = ReplyKind::kRetry;
  int status = 0;               // the HTTP status, 0 when no answer arrived
  uint64_t expected_seq = 0;    // kHeadApplied, kStreamLost: X-Rt-Expected-Seq
  uint64_t applied = 0;         // kHeadApplied: events of the batch the worker holds
  std::optional<BatchAck> ack;  // kAcked, kAckBeyondSent
  std::string problem;          // one line for logs and /healthz; empty for kAcked
};

// Classifies the answer to a batch of `count` events starting at `first_seq`.
// REQUIRES: count >= 1.
BatchReply ClassifyBatchReply(const Status& transport, const http::Response& response,
                              uint64_t first_seq, uint64_t count);

}  // namespace rt
