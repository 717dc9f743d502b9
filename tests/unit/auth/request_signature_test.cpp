#include "server/auth/request_signature.h"

#include <catch2/catch.hpp>
#include <string>

#include "server/auth/worker_key.h"
#include "tests/support/fixed_clock.h"

namespace rt {
namespace {

constexpr int64_t kNowMs = 1'764'000'000'000;

// Known vectors, computed independently of this code:
//   printf 'rt worker key v1' | openssl dgst -sha256 -mac HMAC -macopt key:integration-test-secret
// and, for the key id and signature, Python's hmac/hashlib over the bytes below.
constexpr const char* kSecret = "integration-test-secret";
constexpr const char* kWorkerKeyHex =
    "288742589f58f29f6bf6c604d244cb3abd45d00cddcba50ffec6fd96c61d8a6b";
constexpr const char* kKeyId = "df654668";
constexpr const char* kBatchSignature =
    "1e6d6e41621fd072af274d52e8a1d230a9da1047d50994f652c5d46517115cb4";

SignedRequest Batch(const std::string& body_hash) {
  SignedRequest request;
  request.method = "POST";
  request.target = "/worker/batch";
  // Any case, any order, non-X-Rt headers mixed in: only X-Rt-* ones count.
  request.headers = {{"X-Rt-Stream", "0:17"},
                     {"Content-Type", "text/plain"},
                     {"x-rt-seq", "1"},
                     {"X-Rt-Signature", "ignored"},
                     {"X-Rt-Timestamp", "ignored"}};
  request.body_sha256_hex = body_hash;
  return request;
}

TEST_CASE("the worker key and key id match independently computed vectors", "[auth]") {
  const WorkerKey key = WorkerKey::Derive(kSecret);
  CHECK(key.Hex() == kWorkerKeyHex);
  CHECK(key.KeyId() == kKeyId);
  CHECK(WorkerKey::Derive("another secret").Hex() != kWorkerKeyHex);
}

TEST_CASE("a worker key parses from 64 hex chars of either case and nothing else", "[auth]") {
  const Result<WorkerKey> lower = WorkerKey::FromHex(kWorkerKeyHex);
  REQUIRE(lower.ok());
  CHECK(lower->Hex() == kWorkerKeyHex);
  std::string upper = kWorkerKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  REQUIRE(WorkerKey::FromHex(upper).ok());
  CHECK(WorkerKey::FromHex(upper)->Hex() == kWorkerKeyHex);
  CHECK_FALSE(WorkerKey::FromHex(std::string(kWorkerKeyHex).substr(1)).ok());
  CHECK_FALSE(WorkerKey::FromHex(std::string(kWorkerKeyHex) + "0").ok());
  const Result<WorkerKey> bad = WorkerKey::FromHex(std::string(63, 'a') + "g");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("aaaa") == std::string::npos);  // never quotes the text
}

TEST_CASE("the canonical string has one field a line, X-Rt headers lowercased and sorted",
          "[auth]") {
  const std::string hash = Sha256HexOf("1 k c\n");
  CHECK(CanonicalString(Batch(hash), "1764000000") ==
        "rt-sig-v1\nPOST\n/worker/batch\nx-rt-seq:1\nx-rt-stream:0:17\n1764000000\n" + hash + "\n");
  SignedRequest repeated = Batch(hash);
  repeated.headers.emplace_back("X-Rt-Seq", "2");  // a repeat keeps its order after the first
  CHECK(CanonicalString(repeated, "1").find("x-rt-seq:1\nx-rt-seq:2\nx-rt-stream") !=
        std::string::npos);
}

TEST_CASE("a signature matches an independently computed vector and verifies", "[auth]") {
  const WorkerKey key = WorkerKey::Derive(kSecret);
  const testing::FixedClock clock(kNowMs);
  const std::string hash = Sha256HexOf("1 k c\n");
  const Signature signature = RequestSigner(key, clock).Sign(Batch(hash));
  CHECK(signature.timestamp == "1764000000");
  CHECK(signature.signature == kBatchSignature);
  const RequestVerifier verifier(key, clock);
  CHECK(verifier.Verify(Batch(hash), signature.timestamp, signature.signature).ok());
}

TEST_CASE("the verifier refuses a missing, altered or foreign signature", "[auth]") {
  const WorkerKey key = WorkerKey::Derive(kSecret);
  const testing::FixedClock clock(kNowMs);
  const RequestVerifier verifier(key, clock);
  const std::string hash = Sha256HexOf("1 k c\n");
  const Signature good = RequestSigner(key, clock).Sign(Batch(hash));
  auto reason = [&](const SignedRequest& r, std::string_view ts, std::string_view sig) {
    const Status s = verifier.Verify(r, ts, sig);
    return s.ok() ? std::string("ok") : s.message();
  };
  CHECK(reason(Batch(hash), "", good.signature) == "missing signature");
  CHECK(reason(Batch(hash), good.timestamp, "") == "missing signature");
  CHECK(reason(Batch(hash), "12x", good.signature) == "bad signature timestamp");
  CHECK(reason(Batch(Sha256HexOf("other")), good.timestamp, good.signature) == "bad signature");
  SignedRequest get = Batch(hash);
  get.method = "GET";
  CHECK(reason(get, good.timestamp, good.signature) == "bad signature");
  CHECK(reason(Batch(hash), good.timestamp, good.signature.substr(0, 63)) == "bad signature");
  const Signature foreign =
      RequestSigner(WorkerKey::Derive("another secret of 16+ bytes"), clock).Sign(Batch(hash));
  CHECK(reason(Batch(hash), foreign.timestamp, foreign.signature) == "bad signature");
}

TEST_CASE("the verifier allows 300 s of skew either way and no more", "[auth]") {
  const WorkerKey key = WorkerKey::Derive(kSecret);
  const testing::FixedClock worker_clock(kNowMs);
  const RequestVerifier verifier(key, worker_clock);
  const std::string hash = Sha256HexOf("");
  for (const int64_t offset_s : {-300, -299, 0, 299, 300}) {
    const testing::FixedClock sender(kNowMs + offset_s * 1000);
    const Signature s = RequestSigner(key, sender).Sign(Batch(hash));
    CHECK(verifier.Verify(Batch(hash), s.timestamp, s.signature).ok());
  }
  for (const int64_t offset_s : {-301, 301, 100000}) {
    const testing::FixedClock sender(kNowMs + offset_s * 1000);
    const Signature s = RequestSigner(key, sender).Sign(Batch(hash));
    const Status refused = verifier.Verify(Batch(hash), s.timestamp, s.signature);
    CHECK(refused.message() == "signature timestamp " + std::to_string(std::abs(offset_s)) +
                                   " s from this worker's clock (at most 300 s allowed)");
  }
}

}  // namespace
}  // namespace rt
