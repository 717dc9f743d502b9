#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "server/auth/worker_key.h"
#include "tests/support/http_test_client.h"

namespace rt::testing {

// Signed requests to workers for tests (server/auth/request_signature.h): every
// worker endpoint but /healthz and /metrics answers only those.

// The cluster secret tests use unless they test secrets, and its worker key.
inline constexpr const char* kTestSecret = "integration-test-secret";
WorkerKey TestWorkerKey();
std::string TestWorkerKeyHex();

// Adds X-Rt-Timestamp and X-Rt-Signature for `request` as it stands (method,
// target, X-Rt-* headers, body), with `key` at `clock`'s time (null: the system's).
void SignTestRequest(TestRequest& request, const WorkerKey& key = TestWorkerKey(),
                     const Clock* clock = nullptr);

// HttpFetch of a request signed with `key`.
std::optional<TestResponse> SignedFetch(
    uint16_t port, boost::beast::http::verb method, std::string target, std::string body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const WorkerKey& key = TestWorkerKey());

}  // namespace rt::testing
