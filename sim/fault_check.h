#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rt {

class InProcessCluster;
class Oracle;

// The oracle check `rtctl simulate` makes right after each fault (a worker crash,
// a disk loss and reseed, an API-node crash; docs/design.md §10 "Simulator"), with
// every node still running and no request in flight:
//
// 1. Members. Every member of every replica set of the routing (a plain worker is a
//    set of one) must hold, read from its own store, exactly what the other members
//    of its set hold, and the sets together exactly the oracle's numbers (within the
//    slack of unknown outcomes). The spools deliver in the background, so this is
//    waited for, up to `timeout`; the problem reported is the last one seen. A
//    member that restarted, or was reseeded from its peer, is checked on its own,
//    not only through whichever member a read picks.
// 2. Reads. Then a `no-cache` GET /analytics of every slice the oracle or a store
//    knows, through every API node, must answer 200 with the oracle's numbers.
//
// Returns the problems, empty when both hold. `first_slice_s` is the start of slice
// 0 (epoch seconds) and `slice_s` the slice length, to form each read's timestamp.
std::vector<std::string> CheckAfterFault(const InProcessCluster& cluster, const Oracle& oracle,
                                         int64_t first_slice_s, int64_t slice_s,
                                         std::chrono::milliseconds timeout);

}  // namespace rt
