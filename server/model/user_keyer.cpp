#include "server/model/user_keyer.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rt {
namespace {

std::atomic<uint64_t> next_keyer_id{1};

[[noreturn]] void OpenSslBug(const char* what) {
  // Only reachable when OpenSSL itself is broken (no SHA-256, out of memory).
  std::fprintf(stderr, "rt: OpenSSL failure: %s\n", what);
  std::abort();
}

EVP_MAC_CTX* NewKeyedHmac(std::string_view key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) OpenSslBug("EVP_MAC_fetch(HMAC)");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  if (ctx == nullptr) OpenSslBug("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // A zero-length key still needs a non-null pointer to count as "set".
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx, key_bytes, key.size(), params) != 1) OpenSslBug("EVP_MAC_init");
  return ctx;
}

// The calling thread's copies of keyers' contexts. A thread usually serves one
// keyer; a few slots cover the in-process simulator's several API nodes and keyers
// replaced on reload. Copies are independent of the template, so an entry of a
// destroyed keyer is merely stale (its id is never reused) and freed on eviction
// or thread exit.
class ThreadContexts {
 public:
  ~ThreadContexts() {
    for (auto& slot : slots_) EVP_MAC_CTX_free(slot.ctx);
  }

  EVP_MAC_CTX* Get(uint64_t id, const EVP_MAC_CTX* templ) {
    for (auto& slot : slots_) {
      if (slot.id == id) return slot.ctx;
    }
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(templ);
    if (ctx == nullptr) OpenSslBug("EVP_MAC_CTX_dup");
    if (slots_.size() >= kSlots) {
      EVP_MAC_CTX_free(slots_.front().ctx);
      slots_.erase(slots_.begin());
    }
    slots_.push_back({id, ctx});
    return ctx;
  }

 private:
  static constexpr size_t kSlots = 4;
  struct Slot {
    uint64_t id;
    EVP_MAC_CTX* ctx;
  };
  std::vector<Slot> slots_;
};

}  // namespace

struct UserKeyer::Template {
  EVP_MAC_CTX* ctx;
};

UserKeyer::UserKeyer(std::string secret)
    : secret_(std::move(secret)),
      key_id_(Sha256Hex(secret_).substr(0, 8)),
      id_(next_keyer_id.fetch_add(1, std::memory_order_relaxed)),
      template_(new Template{NewKeyedHmac(secret_)}) {}

UserKeyer::~UserKeyer() {
  EVP_MAC_CTX_free(template_->ctx);
  delete template_;
}

UserKey UserKeyer::KeyFor(int64_t slice, std::string_view user) const {
  thread_local ThreadContexts contexts;
  EVP_MAC_CTX* ctx = contexts.Get(id_, template_->ctx);
  unsigned char prefix[8];
  auto s = static_cast<uint64_t>(slice);
  for (int i = 7; i >= 0; --i, s >>= 8) prefix[i] = static_cast<unsigned char>(s);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  // A null key re-initializes HMAC with the key already set: no re-keying cost.
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, prefix, sizeof prefix) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(user.data()), user.size()) != 1 ||
      EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) != 1) {
    OpenSslBug("HMAC-SHA256");
  }
  UserKey key;
  std::memcpy(key.bytes.data(), mac, UserKey::kSize);
  return key;
}

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    OpenSslBug("HMAC()");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    OpenSslBug("EVP_Digest(SHA256)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace rt
