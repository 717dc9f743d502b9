#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "server/auth/worker_key.h"

namespace rt::cli {

// rtctl's side of signed worker requests (server/auth/request_signature.h): the
// header lines that sign a request for HttpClient, and a worker's origin from its
// URL.

// "X-Rt-Timestamp: …" and "X-Rt-Signature: …" for a request with no other X-Rt-*
// header, signed with `key` at `clock`'s time.
std::vector<std::string> SignatureHeaders(const WorkerKey& key, const Clock& clock,
                                          std::string_view method, std::string_view target,
                                          std::string_view body);

// "http://host:port" from a worker's URL as the config names it
// ("http://host:port/worker"), or as an operator writes it ("host:port").
std::string WorkerOrigin(std::string_view url);

}  // namespace rt::cli
