#include "server/auth/request_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace rt {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSignedHeader(const std::string& lower_name) {
  return lower_name.starts_with("x-rt-") && lower_name != "x-rt-signature" &&
         lower_name != "x-rt-timestamp";
}

std::string Mac(const WorkerKey& key, std::string_view canonical) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()),
           reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac,
           &len) == nullptr) {
    std::fprintf(stderr, "rt: OpenSSL failure: HMAC()\n");
    std::abort();
  }
  return HexOfBytes(mac, len);
}

int64_t NowSeconds(const Clock& clock) {
  const int64_t ms = clock.NowMillis();
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

}  // namespace

std::string CanonicalString(const SignedRequest& request, std::string_view timestamp) {
  std::vector<std::pair<std::string, std::string_view>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    if (IsSignedHeader(lower)) headers.emplace_back(std::move(lower), value);
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "rt-sig-v1\n";
  out.append(request.method).push_back('\n');
  out.append(request.target).push_back('\n');
  for (const auto& [name, value] : headers) {
    out.append(name).push_back(':');
    out.append(value).push_back('\n');
  }
  out.append(timestamp).push_back('\n');
  out.append(request.body_sha256_hex).push_back('\n');
  return out;
}

Signature RequestSigner::Sign(const SignedRequest& request) const {
  Signature signature;
  signature.timestamp = std::to_string(NowSeconds(clock_));
  signature.signature = Mac(key_, CanonicalString(request, signature.timestamp));
  return signature;
}

Status RequestVerifier::Verify(const SignedRequest& request, std::string_view timestamp,
                               std::string_view signature) const {
  if (timestamp.empty() || signature.empty()) return Status::InvalidArgument("missing signature");
  int64_t when = 0;
  const auto [end, ec] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), when);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return Status::InvalidArgument("bad signature timestamp");
  }
  // The MAC first: an unsigned request learns nothing, not even the worker's clock.
  const std::string expected = Mac(key_, CanonicalString(request, timestamp));
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Status::InvalidArgument("bad signature");
  }
  const int64_t now = NowSeconds(clock_);
  if (when > now + kMaxSignatureSkewSeconds || when < now - kMaxSignatureSkewSeconds) {
    // Unsigned arithmetic: the difference of any two int64 fits in a uint64.
    const uint64_t skew = when > now ? static_cast<uint64_t>(when) - static_cast<uint64_t>(now)
                                     : static_cast<uint64_t>(now) - static_cast<uint64_t>(when);
    return Status::InvalidArgument("signature timestamp " + std::to_string(skew) +
                                   " s from this worker's clock (at most " +
                                   std::to_string(kMaxSignatureSkewSeconds) + " s allowed)");
  }
  return Status::Ok();
}

}  // namespace rt
