#pragma once

#include <optional>
#include <string>

#include "cli/client_options.h"
#include "server/auth/worker_key.h"

namespace rt::cli {

// rtctl slice --config LOC [--timestamp T] [--offline] [--json]: the slice of a time,
// its start and end (UTC), and the first slice from which a routing change is safe
// now (docs/design.md §5 "Config and the safe-change rule"). Split from its CLI11
// setup so that tests can run it with string streams and a fixed clock.
struct SliceOptions {
  std::string config;     // a config file
  std::string timestamp;  // epoch in the config's timestamp-unit, or YYYY-MM-DDTHH:MM:SS; "": now
  bool offline = false;   // do not ask the workers which slices they hold
  std::optional<WorkerKey> worker_key;  // signs the asks; required unless offline
  bool json = false;
  std::string field;  // one of kSliceFields: print only that line's value; "": every line
};

// The keys of RunSlice's lines, in order: the values --field takes.
inline constexpr const char* kSliceFields[] = {"slice", "start", "end", "held-through",
                                               "safe-from"};

// Prints, one `key value` per line (a stable format for scripts):
//   slice 12345
//   start 2026-11-29T15:00:00Z
//   end 2026-11-29T16:00:00Z          (the start of the next slice)
//   held-through 12346                (greatest slice the workers hold; none; unknown)
//   safe-from 12347
// safe-from is the slice after ProtectedSlice(config, config, now) with the workers'
// held slices as the floor: what validate-config --against would accept now. With
// `field`, only that line's value is printed (`$(rtctl slice ... --field safe-from)`). A
// worker that cannot be asked is a warning on io.err. Exit 0; 1 when the config
// does not load; 2 for a bad or too early --timestamp, or no worker key without
// --offline.
int RunSlice(const SliceOptions& options, const ClientIo& io);

}  // namespace rt::cli
