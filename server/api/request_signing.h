#pragma once

#include <string_view>

#include "server/auth/request_signature.h"
#include "server/http/types.h"

namespace rt {

// Signs `request` for a worker (docs/design.md §3 "Exactly-once streams and the
// worker protocol"): adds X-Rt-Timestamp (the signer's clock, now) and
// X-Rt-Signature over its method, target, X-Rt-* headers and `body_sha256_hex`
// (lowercase hex SHA-256 of its body, passed in so that a resent batch is not
// hashed again). Call it at each send: a resend after a clock jump gets a fresh
// timestamp. A signature already on the request is replaced.
void SignRequest(const RequestSigner& signer, http::Request& request,
                 std::string_view body_sha256_hex);

// The lowercase hex SHA-256 of an empty body, for GETs.
std::string_view EmptyBodySha256();

}  // namespace rt
