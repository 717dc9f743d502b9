// Fuzz target: what the API node parses from workers' answers, which it trusts for
// the numbers it serves: GET /worker/slices (ParseWorkerSlices), the POST
// /worker/batch acknowledgement (ParseBatchAck) and the stats text of GET /worker
// (ParseSliceStats). The first byte picks the parser, the rest is the answer.
// Checks that nothing crashes, that a rejection says why, and that what the
// formatters write parses back unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api/slice_fetcher.h"
#include "server/model/batch_ack.h"
#include "server/model/slice_stats.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void FuzzSlices(std::string_view answer) {
  const auto slices = rt::ParseWorkerSlices(answer);
  if (!slices.ok()) RT_FUZZ_CHECK(!slices.status().message().empty());
}

void FuzzBatchAck(std::string_view answer) {
  const rt::Result<rt::BatchAck> ack = rt::ParseBatchAck(answer);
  if (!ack.ok()) {
    RT_FUZZ_CHECK(!ack.status().message().empty());
    return;
  }
  const rt::Result<rt::BatchAck> again = rt::ParseBatchAck(rt::FormatBatchAck(*ack));
  RT_FUZZ_CHECK(again.ok());
  RT_FUZZ_CHECK(*again == *ack);
}

void FuzzSliceStats(std::string_view answer) {
  const rt::Result<rt::SliceStats> stats = rt::ParseSliceStats(answer);
  if (!stats.ok()) {
    RT_FUZZ_CHECK(!stats.status().message().empty());
    return;
  }
  const rt::Result<rt::SliceStats> again = rt::ParseSliceStats(rt::FormatSliceStats(*stats));
  RT_FUZZ_CHECK(again.ok());
  RT_FUZZ_CHECK(*again == *stats);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view answer(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzSlices(answer);
      break;
    case 1:
      FuzzBatchAck(answer);
      break;
    default:
      FuzzSliceStats(answer);
      break;
  }
  return 0;
}
