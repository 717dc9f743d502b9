#include "tests/support/worker_signing.h"

#include "server/api/request_signing.h"
#include "server/auth/request_signature.h"

namespace rt::testing {

WorkerKey TestWorkerKey() { return WorkerKey::Derive(kTestSecret); }

std::string TestWorkerKeyHex() { return TestWorkerKey().Hex(); }

void SignTestRequest(TestRequest& request, const WorkerKey& key, const Clock* clock) {
  static const SystemClock system_clock;
  // TestRequest is http::Request: the API node's own signing does it.
  SignRequest(RequestSigner(key, clock != nullptr ? *clock : system_clock), request,
              Sha256HexOf(request.body()));
}

std::optional<TestResponse> SignedFetch(
    uint16_t port, boost::beast::http::verb method, std::string target, std::string body,
    const std::vector<std::pair<std::string, std::string>>& headers, const WorkerKey& key) {
  HttpTestConnection connection(port);
  if (!connection.connected()) return std::nullopt;
  TestRequest request = MakeTestRequest(method, std::move(target), std::move(body), headers);
  SignTestRequest(request, key);
  return connection.Exchange(std::move(request));
}

}  // namespace rt::testing
