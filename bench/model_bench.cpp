// Micro-benchmarks of the model's hot paths: user keying (API node, per POST),
// event query parsing (per POST), batch encode (API node) and decode (worker).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "server/model/batch_codec.h"
#include "server/model/event_query.h"
#include "server/model/user_keyer.h"

namespace rt {
namespace {

std::vector<std::string> Users(size_t n) {
  std::mt19937_64 rng(7);
  std::vector<std::string> users;
  for (size_t i = 0; i < n; ++i) users.push_back("user-" + std::to_string(rng() % 10000000));
  return users;
}

void BM_UserKeyerKeyFor(benchmark::State& state) {
  UserKeyer keyer("a-cluster-secret-of-reasonable-length");
  const auto users = Users(1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(keyer.KeyFor(480000, users[i++ & 1023]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserKeyerKeyFor)->ThreadRange(1, 2);

// The one-call HMAC() the keyer avoids, for comparison.
void BM_OneCallHmac(benchmark::State& state) {
  const std::string secret = "a-cluster-secret-of-reasonable-length";
  const auto users = Users(1024);
  size_t i = 0;
  for (auto _ : state) {
    std::string data(8, '\0');
    data += users[i++ & 1023];
    benchmark::DoNotOptimize(HmacSha256(secret, data));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OneCallHmac);

void BM_ParseEventQuery(benchmark::State& state) {
  const std::vector<std::string> targets = {
      "/analytics?timestamp=1764290000123&user=alice.smith&click",
      "/analytics?timestamp=1764290000456&user=bob%40example.com&impression",
      "/analytics?user=Ann+Lee&timestamp=1764290000789&impression=1",
  };
  size_t i = 0;
  for (auto _ : state) {
    auto event = ParseEventQuery(targets[i++ % targets.size()]);
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseEventQuery);

std::vector<BatchEvent> Events(size_t n) {
  std::mt19937_64 rng(11);
  std::vector<BatchEvent> events(n);
  for (BatchEvent& event : events) {
    event.slice = 480000 - static_cast<int64_t>(rng() % 3);
    for (auto& byte : event.key.bytes) byte = static_cast<uint8_t>(rng());
    event.action = rng() % 10 == 0 ? Action::kClick : Action::kImpression;
  }
  return events;
}

void BM_EncodeBatch1000(benchmark::State& state) {
  const auto events = Events(1000);
  std::string body;
  for (auto _ : state) {
    body.clear();  // the API node reuses its buffer
    for (const BatchEvent& event : events) AppendBatchLine(body, event);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_EncodeBatch1000);

void BM_DecodeBatch1000(benchmark::State& state) {
  std::string body;
  for (const BatchEvent& event : Events(1000)) AppendBatchLine(body, event);
  std::vector<BatchEvent> out;
  for (auto _ : state) {
    Status s = DecodeBatchInto(body, out);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeBatch1000);

}  // namespace
}  // namespace rt

BENCHMARK_MAIN();
