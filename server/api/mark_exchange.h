#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/http/types.h"

namespace rt {

// The API node's half of GET /worker/mark?stream=ID (docs/http.md): how far the
// worker has applied a stream, asked before a Forwarder's first send so that a
// restarted node resends only what the worker lacks (docs/design.md §13 "Spool").
// Judged on the status code and the JSON's typed fields only.

// The request for `stream`'s mark (the caller signs it).
http::Request MakeMarkRequest(std::string_view stream);

// POST /worker/stale?stream=ID&mark=M&need=N: tells a replica member that stream
// ID's records after wire seq M, which it lacks, are no longer in this node's spool;
// the oldest it could be sent is N (docs/design.md §14). The caller signs it.
http::Request MakeStaleRequest(std::string_view stream, uint64_t mark, uint64_t need);

enum class MarkKind {
  kMark,          // 200 {"stream":ID,"mark":N}: `mark` is set (0: a stream it does not know)
  kNoEndpoint,    // 404: a worker older than the endpoint; resume from the local cursor
  kUnauthorized,  // 401: the worker refuses our signature (as for batches)
  kRetry,         // transport error, 5xx, 408, 429: ask again after a backoff
  kRetrySlowly,   // a 200 that does not parse or names another stream
  kRefused,       // any other 4xx: asking again cannot succeed
};

struct MarkReply {
  MarkKind kind = MarkKind::kRetry;
  uint64_t mark = 0;
  std::string problem;  // one line for logs; empty for kMark
};

MarkReply ClassifyMarkReply(const Status& transport, const http::Response& response,
                            std::string_view stream);

}  // namespace rt
