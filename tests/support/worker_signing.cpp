#include "tests/support/worker_signing.h"

#include "server/auth/request_signature.h"

namespace rt::testing {

WorkerKey TestWorkerKey() { return WorkerKey::Derive(kTestSecret); }

std::string TestWorkerKeyHex() { return TestWorkerKey().Hex(); }

void SignTestRequest(TestRequest& request, const WorkerKey& key, const Clock* clock) {
  static const SystemClock system_clock;
  request.erase(std::string(kTimestampHeader));
  request.erase(std::string(kSignatureHeader));
  const std::string body_hash = Sha256HexOf(request.body());
  SignedRequest parts;
  parts.method = request.method_string();
  parts.target = request.target();
  for (const auto& field : request) parts.headers.emplace_back(field.name_string(), field.value());
  parts.body_sha256_hex = body_hash;
  const Signature signature =
      RequestSigner(key, clock != nullptr ? *clock : system_clock).Sign(parts);
  request.set(std::string(kTimestampHeader), signature.timestamp);
  request.set(std::string(kSignatureHeader), signature.signature);
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
