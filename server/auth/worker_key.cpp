#include "server/auth/worker_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>

namespace rt {
namespace {

constexpr std::string_view kDerivationLabel = "rt worker key v1";

[[noreturn]] void OpenSslBug(const char* what) {
  // Only reachable when OpenSSL itself is broken (no SHA-256, out of memory).
  std::fprintf(stderr, "rt: OpenSSL failure: %s\n", what);
  std::abort();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

WorkerKey WorkerKey::Derive(std::string_view secret) {
  WorkerKey key;
  unsigned int len = 0;
  static const unsigned char kEmpty = 0;
  const auto* secret_bytes =
      secret.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(secret.data());
  if (HMAC(EVP_sha256(), secret_bytes, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(kDerivationLabel.data()), kDerivationLabel.size(),
           key.bytes.data(), &len) == nullptr ||
      len != kSize) {
    OpenSslBug("HMAC()");
  }
  return key;
}

Result<WorkerKey> WorkerKey::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) {
    return Status::InvalidArgument("a worker key is 64 hex characters, got " +
                                   std::to_string(hex.size()) + " characters");
  }
  WorkerKey key;
  for (size_t i = 0; i < kSize; ++i) {
    const int hi = HexDigit(hex[2 * i]);
    const int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("a worker key is 64 hex characters, got a non-hex character");
    }
    key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

std::string WorkerKey::Hex() const { return HexOfBytes(bytes.data(), bytes.size()); }

std::string WorkerKey::KeyId() const { return Sha256HexOf(View()).substr(0, 8); }

std::string HexOfBytes(const uint8_t* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kHex[data[i] >> 4]);
    hex.push_back(kHex[data[i] & 0xf]);
  }
  return hex;
}

std::string Sha256HexOf(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    OpenSslBug("EVP_Digest(SHA256)");
  }
  return HexOfBytes(digest, len);
}

}  // namespace rt
