#pragma once

#include <string_view>

namespace rt {

// The names the batch write path puts on the wire (docs/design.md §3 "Exactly-once
// streams and the worker protocol"), in one place that both ends include: the API
// node's forwarder writes the request headers and reads the answer headers; the
// worker does the opposite.
//
// Every outcome the forwarder acts on is typed: the status code and these headers.
// The one-line body of a refusal is for people and may be reworded freely; no code
// reads it.

// GET /worker/mark?stream=ID (signed): 200 {"stream":"ID","mark":N}, the stream's
// high-water mark (0 for a stream the worker does not know). An API node asks it
// before its first send on a stream, so that a restart resends only what the worker
// lacks (docs/design.md §13 "Spool").
inline constexpr std::string_view kMarkPath = "/worker/mark";
// Replica members (docs/design.md §14): a sender tells a member it fell behind the
// spool (POST, stream/mark/need); a stale worker answers reads and batches with 503
// and this X-Rt-Error value.
inline constexpr std::string_view kStalePath = "/worker/stale";
inline constexpr std::string_view kStaleError = "stale";
// GET /worker?slice=S&marks=TAG (a replica set's SetTag): the answer carries this
// header, the member's marks of the set's streams and whether S is sealed
// (server/model/replica_marks.h). The API node answers a set from one member by them.
inline constexpr std::string_view kMarksHeader = "X-Rt-Marks";
// GET /worker/snapshot (signed): the store's files for `rtctl reseed-worker`
// (server/model/snapshot_format.h); this header gives how long writes were paused, ms.
inline constexpr std::string_view kSnapshotPath = "/worker/snapshot";
inline constexpr std::string_view kSnapshotPauseHeader = "X-Rt-Snapshot-Pause-Ms";

// Request headers of POST /worker/batch.
inline constexpr std::string_view kStreamHeader = "X-Rt-Stream";  // opaque stream id
inline constexpr std::string_view kSeqHeader = "X-Rt-Seq";        // seq of the first event
// The key id of the sender's worker key, for people reading a capture; a worker
// ignores it (the signature proves the key, and the worker applies batches under its
// own key's id). Every worker request but /healthz and /metrics is signed:
// X-Rt-Timestamp and X-Rt-Signature (server/auth/request_signature.h).
inline constexpr std::string_view kKeyIdHeader = "X-Rt-Key-Id";

// On a 409 refusing a batch that would leave a gap: the seq the worker expects next
// (its mark + 1), decimal. The sender resends from there.
inline constexpr std::string_view kExpectedSeqHeader = "X-Rt-Expected-Seq";

// On a 409: which conflict it is, one of the values below. A 409 carrying neither
// this header nor X-Rt-Expected-Seq is not understood (the sender does not guess
// from the text).
inline constexpr std::string_view kErrorHeader = "X-Rt-Error";
// The stream's seqs do not continue the worker's mark (with X-Rt-Expected-Seq).
inline constexpr std::string_view kErrorSeqGap = "seq-gap";
// The worker holds data keyed with another secret: nothing of the batch is applied,
// and nothing will be until the secrets agree (an operator must act).
// Sent by workers before signed requests (their key id came from the first batch);
// a worker that checks signatures never sends it. Senders still treat it as a key
// refusal.
inline constexpr std::string_view kErrorKeyMismatch = "key-mismatch";
// With 401: the request is unsigned, badly signed or its timestamp too far off. The
// sender's worker key (or clock) is wrong; nothing was applied.
inline constexpr std::string_view kErrorUnauthorized = "unauthorized";

}  // namespace rt
