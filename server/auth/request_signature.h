#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "server/auth/worker_key.h"

namespace rt {

// Signed requests from API nodes (and rtctl) to workers (docs/design.md §3
// "Exactly-once streams and the worker protocol"). Without them anyone who can reach
// a worker could inflate counts, or advance a stream's mark so that the real API
// node's next events are skipped as duplicates.
//
// A signed request carries X-Rt-Timestamp (unix seconds) and X-Rt-Signature: 64 hex
// chars of HMAC-SHA256(worker key, canonical string), where the canonical string is
// one field per line, each ended by "\n":
//
//   rt-sig-v1
//   <method>                      e.g. POST
//   <target>                      path and query exactly as sent
//   <name>:<value>                each X-Rt-* header but X-Rt-Signature and
//   ...                           X-Rt-Timestamp, name lowercased, sorted by name
//                                 (repeats in the order sent)
//   <timestamp>                   the X-Rt-Timestamp value
//   <hex SHA-256 of the body>
//
// So the signature covers everything a worker acts on. Replaying a signed request
// within the skew window is harmless: a batch's seqs are skipped as duplicates, and
// the other endpoints are reads (or rt's single-event POST, which never was
// exactly-once).

inline constexpr std::string_view kTimestampHeader = "X-Rt-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-Rt-Signature";
// The most a signature's timestamp may differ from the verifier's clock, either way.
inline constexpr int64_t kMaxSignatureSkewSeconds = 300;

// What is signed of one request. Header names in any case; callers pass every
// header (only X-Rt-* ones are taken) or just the X-Rt-* ones.
struct SignedRequest {
  std::string_view method;
  std::string_view target;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body_sha256_hex;  // lowercase hex of SHA-256(body)
};

// The canonical string above, for `timestamp`.
std::string CanonicalString(const SignedRequest& request, std::string_view timestamp);

// The headers a signer adds.
struct Signature {
  std::string timestamp;  // X-Rt-Timestamp
  std::string signature;  // X-Rt-Signature
};

// Signs requests with a worker key at the time of `clock`. Signing is per request
// (per batch on the write path, never per event), so the one-call HMAC is cheap
// enough next to hashing the body. Thread-safe; `clock` must outlive the signer.
class RequestSigner {
 public:
  RequestSigner(const WorkerKey& key, const Clock& clock) : key_(key), clock_(clock) {}
  Signature Sign(const SignedRequest& request) const;
  const WorkerKey& key() const { return key_; }

 private:
  const WorkerKey key_;
  const Clock& clock_;
};

// Checks signatures with the worker's key against the worker's clock. Thread-safe;
// `clock` must outlive the verifier.
class RequestVerifier {
 public:
  RequestVerifier(const WorkerKey& key, const Clock& clock) : key_(key), clock_(clock) {}

  // Ok, or Unauthenticated-style InvalidArgument with a one-line reason for people:
  // "missing signature", "bad signature", "bad signature timestamp", or "signature
  // timestamp N s from this worker's clock". The reason never names a key id or
  // anything of the worker's data. `timestamp` / `signature` are the header values
  // (empty when absent).
  [[nodiscard]] Status Verify(const SignedRequest& request, std::string_view timestamp,
                              std::string_view signature) const;

 private:
  const WorkerKey key_;
  const Clock& clock_;
};

}  // namespace rt
