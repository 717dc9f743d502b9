// Micro-benchmarks of signed worker requests (docs/design.md §3): what signing costs
// the API node per batch and checking costs the worker, for a batch of 1000 events
// (the SHA-256 of the ~40 KB body dominates; the HMAC over the canonical string is
// a few hundred bytes). Signing is per batch, never per event.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "base/clock.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"

namespace rt {
namespace {

// A batch body of `events` lines as the forwarder encodes them.
std::string BatchBody(int events) {
  std::string body;
  char line[64];
  for (int i = 0; i < events; ++i) {
    std::snprintf(line, sizeof line, "480000 %032x %c\n", i * 2654435761u, i % 3 ? 'i' : 'c');
    body += line;
  }
  return body;
}

SignedRequest Parts(const std::string& body_hash) {
  SignedRequest parts;
  parts.method = "POST";
  parts.target = "/worker/batch";
  parts.headers = {{"X-Rt-Stream", "0:1764290000123"}, {"X-Rt-Seq", "123456"}};
  parts.body_sha256_hex = body_hash;
  return parts;
}

// The API node: hash the body once per batch, sign it (a resend re-signs only).
void BM_SignBatch1000(benchmark::State& state) {
  const SystemClock clock;
  const RequestSigner signer(WorkerKey::Derive("a-cluster-secret-of-reasonable-length"), clock);
  const std::string body = BatchBody(1000);
  for (auto _ : state) {
    const std::string hash = Sha256HexOf(body);
    benchmark::DoNotOptimize(signer.Sign(Parts(hash)));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_SignBatch1000);

// The worker: hash the body, check the signature.
void BM_VerifyBatch1000(benchmark::State& state) {
  const SystemClock clock;
  const WorkerKey key = WorkerKey::Derive("a-cluster-secret-of-reasonable-length");
  const std::string body = BatchBody(1000);
  const Signature signature = RequestSigner(key, clock).Sign(Parts(Sha256HexOf(body)));
  const RequestVerifier verifier(key, clock);
  for (auto _ : state) {
    const std::string hash = Sha256HexOf(body);
    const Status ok = verifier.Verify(Parts(hash), signature.timestamp, signature.signature);
    if (!ok.ok()) state.SkipWithError(ok.message().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_VerifyBatch1000);

}  // namespace
}  // namespace rt

BENCHMARK_MAIN();
