#include "cli/worker_request.h"

#include "cli/http_client.h"
#include "server/auth/request_signature.h"

namespace rt::cli {

std::vector<std::string> SignatureHeaders(const WorkerKey& key, const Clock& clock,
                                          std::string_view method, std::string_view target,
                                          std::string_view body) {
  const std::string body_hash = Sha256HexOf(body);
  SignedRequest parts;
  parts.method = method;
  parts.target = target;
  parts.body_sha256_hex = body_hash;
  const Signature signature = RequestSigner(key, clock).Sign(parts);
  return {std::string(kTimestampHeader) + ": " + signature.timestamp,
          std::string(kSignatureHeader) + ": " + signature.signature};
}

std::string WorkerOrigin(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.ends_with("/worker")) url.remove_suffix(std::string_view("/worker").size());
  return NormalizeBaseUrl(url);
}

}  // namespace rt::cli
