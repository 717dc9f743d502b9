#pragma once

#include <optional>

#include "server/auth/request_signature.h"
#include "server/http/types.h"

namespace rt {

// The worker's check of a signed request (server/auth/request_signature.h): nullopt
// when `request` is signed by the worker's key within the allowed skew, else the
// 401 to answer: a one-line reason and `X-Rt-Error: unauthorized`, nothing else
// (no key id, no mark: an unsigned caller learns nothing of the worker's state).
std::optional<http::Response> CheckSignature(const RequestVerifier& verifier,
                                             const http::Request& request);

}  // namespace rt
