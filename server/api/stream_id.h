#pragma once

#include <string>

namespace rt {

// A stream id "<node_id>:<epoch millis>" never returned before by this process:
// the epoch is the wall clock, bumped past the last one handed out. A worker keeps
// one high-water mark per stream, so a new Forwarder (or a restarted stream) must
// never reuse a stream whose seqs it does not continue
// (docs/design.md §3 "Exactly-once streams and the worker protocol").
// Thread-safe.
std::string NewStreamId(const std::string& node_id);

}  // namespace rt
