// Fuzz target: the API node → worker batch body (DecodeBatchInto, the worker's parse
// of untrusted POST /worker/batch bodies) and its encoder (AppendBatchLine). Checks
// that nothing crashes, that a rejected body always says why, and both round trips:
// an accepted body re-encoded decodes to the same events, and events encoded from
// arbitrary bytes decode back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "server/model/batch_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Encode(const std::vector<rt::BatchEvent>& events) {
  std::string body;
  for (const rt::BatchEvent& event : events) rt::AppendBatchLine(body, event);
  return body;
}

void CheckDecodesTo(const std::string& body, const std::vector<rt::BatchEvent>& events) {
  std::vector<rt::BatchEvent> again;
  const rt::Status status = rt::DecodeBatchInto(body, again);
  RT_FUZZ_CHECK(status.ok());
  RT_FUZZ_CHECK(again == events);
}

// Events from raw bytes: 8 bytes of slice (made non-negative), 16 of key, 1 of action.
std::vector<rt::BatchEvent> EventsFromBytes(const uint8_t* data, size_t size) {
  constexpr size_t kRecord = 8 + rt::UserKey::kSize + 1;
  std::vector<rt::BatchEvent> events;
  for (size_t at = 0; at + kRecord <= size; at += kRecord) {
    rt::BatchEvent& event = events.emplace_back();
    uint64_t slice = 0;
    std::memcpy(&slice, data + at, 8);
    event.slice = static_cast<int64_t>(slice >> 1);
    std::memcpy(event.key.bytes.data(), data + at + 8, rt::UserKey::kSize);
    event.action = (data[at + kRecord - 1] & 1) != 0 ? rt::Action::kImpression : rt::Action::kClick;
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<rt::BatchEvent> events;
  const rt::Status status = rt::DecodeBatchInto(body, events);
  if (status.ok()) {
    for (const rt::BatchEvent& event : events) RT_FUZZ_CHECK(event.slice >= 0);
    CheckDecodesTo(Encode(events), events);
    // DecodeBatch is the same decoder.
    const rt::Result<std::vector<rt::BatchEvent>> same = rt::DecodeBatch(body);
    RT_FUZZ_CHECK(same.ok() && *same == events);
  } else {
    RT_FUZZ_CHECK(!status.message().empty());
    RT_FUZZ_CHECK(status.message().rfind("line ", 0) == 0);  // names its line
    RT_FUZZ_CHECK(!rt::DecodeBatch(body).ok());
  }
  const std::vector<rt::BatchEvent> built = EventsFromBytes(data, size);
  CheckDecodesTo(Encode(built), built);
  return 0;
}
