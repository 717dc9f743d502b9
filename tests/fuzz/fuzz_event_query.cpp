// Fuzz target: the event query of POST /analytics and /worker (ParseEventQuery) and
// the time query of the GETs (ParseTimeQuery). Checks that nothing crashes, that a
// rejected query always says why, and the round trip: a query built from an
// accepted event (values percent-encoded as clients do) parses back to the same
// event.
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/model/event_query.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Encode(std::string_view value) {
  return boost::urls::encode(value, boost::urls::unreserved_chars);
}

std::string BuildQuery(std::string_view time_param, const rt::EventQuery& event) {
  std::string query = "/analytics?";
  query += time_param;
  query += '=';
  query += Encode(event.timestamp_text);
  query += "&user=";
  query += Encode(event.user);
  query += event.action == rt::Action::kClick ? "&click" : "&impression";
  return query;
}

void CheckRoundTrip(std::string_view time_param, const rt::EventQuery& event) {
  const rt::Result<rt::EventQuery> again =
      rt::ParseEventQuery(BuildQuery(time_param, event), time_param);
  RT_FUZZ_CHECK(again.ok());
  RT_FUZZ_CHECK(again->timestamp_text == event.timestamp_text);
  RT_FUZZ_CHECK(again->user == event.user);
  RT_FUZZ_CHECK(again->action == event.action);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly the input's bytes, not NUL-terminated: as a Beast request target is.
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  for (const std::string_view param : {std::string_view("timestamp"), std::string_view("slice")}) {
    const rt::Result<rt::EventQuery> event = rt::ParseEventQuery(target, param);
    if (event.ok()) {
      RT_FUZZ_CHECK(!event->timestamp_text.empty());
      RT_FUZZ_CHECK(!event->user.empty() && event->user.size() <= rt::kMaxUserBytes);
      CheckRoundTrip(param, *event);
    } else {
      RT_FUZZ_CHECK(!event.status().message().empty());
    }
    const rt::Result<std::string> time = rt::ParseTimeQuery(target, param);
    if (time.ok()) {
      RT_FUZZ_CHECK(!time->empty());
      // An accepted event has the same time as the GET parse of the same query.
      if (event.ok()) RT_FUZZ_CHECK(*time == event->timestamp_text);
    } else {
      RT_FUZZ_CHECK(!time.status().message().empty());
    }
  }
  // The encoder side on its own: arbitrary bytes as user and time survive the trip.
  if (size >= 2) {
    const size_t cut = data[0] % size;
    rt::EventQuery event;
    event.timestamp_text.assign(target.substr(1, cut));
    event.user.assign(target.substr(1 + cut));
    event.action = (data[0] & 0x80) != 0 ? rt::Action::kImpression : rt::Action::kClick;
    if (!event.timestamp_text.empty() && !event.user.empty() &&
        event.user.size() <= rt::kMaxUserBytes) {
      CheckRoundTrip("timestamp", event);
    }
  }
  return 0;
}
