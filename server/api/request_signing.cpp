#include "server/api/request_signing.h"

namespace rt {

void SignRequest(const RequestSigner& signer, http::Request& request,
                 std::string_view body_sha256_hex) {
  request.erase(kTimestampHeader);
  request.erase(kSignatureHeader);
  SignedRequest parts;
  parts.method = request.method_string();
  parts.target = request.target();
  for (const auto& field : request) parts.headers.emplace_back(field.name_string(), field.value());
  parts.body_sha256_hex = body_sha256_hex;
  const Signature signature = signer.Sign(parts);
  request.set(kTimestampHeader, signature.timestamp);
  request.set(kSignatureHeader, signature.signature);
}

std::string_view EmptyBodySha256() {
  return "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}

}  // namespace rt
