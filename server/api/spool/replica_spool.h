#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/spool/event_spool.h"

namespace rt {

// The spool of one replica set of more than one worker (docs/design.md §14 "Replica
// sets", Write path): the set's events are appended once, and every member's sender reads them
// from it at its own pace, by seq, on the same stream, so that the members' marks are
// comparable. Member(i) is member i's view, an EventSpool that a Forwarder uses as
// if it were its own: Read, GapAt and the stream go to the shared spool; Acknowledge
// records the member's own progress, and the shared spool is acknowledged up to the
// minimum over the members that hold it.
//
// Laggards. A member that is down keeps the minimum, so a long outage would fill the
// spool and refuse every POST of the set although its other members take them. When
// an Append finds the spool full, ReleaseLaggards lets go of the members that hold it
// back: if some member is caught up (its unacknowledged records are at most half of
// what the spool holds) every member that is not is dropped from the minimum, and the
// records only it lacks may be deleted. A dropped member that comes back finds the
// records it needs gone (released() is above its position): its sender declares it
// stale (POST /worker/stale) and it waits to be reseeded. A dropped member that
// catches up anyway (the records were still on disk) takes part in the minimum again.
//
// Thread-safety: as EventSpool: Append and the accessors from any thread; each view's
// reader calls (Read, Acknowledge, ...) from its own sender's strand. A mutex guards
// the members' positions; the shared spool does its own locking.
class ReplicaSpool : public std::enable_shared_from_this<ReplicaSpool> {
 public:
  ReplicaSpool(std::shared_ptr<EventSpool> spool, size_t members);

  EventSpool& spool() const { return *spool_; }
  const std::shared_ptr<EventSpool>& shared() const { return spool_; }
  // Member i's view (0 <= i < members). The view keeps this object alive.
  std::shared_ptr<EventSpool> Member(size_t member);

  // After an Append found the spool full: drops the laggards from the minimum (see
  // the class comment). True if it released records (an Append may then succeed once
  // the spool reclaimed them).
  bool ReleaseLaggards();
  // True while member i is dropped from the minimum.
  bool Dropped(size_t member) const;
  size_t members() const { return acked_.size(); }

 private:
  class View;

  void Acknowledge(size_t member, uint64_t seq);
  uint64_t Acknowledged(size_t member) const;
  uint64_t MaxAcknowledged() const;
  // The minimum over the members still held (all of them if every one is dropped).
  // REQUIRES: mutex_ held.
  uint64_t FloorLocked() const;

  const std::shared_ptr<EventSpool> spool_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> acked_;  // per member: the highest seq it acknowledged
  std::vector<bool> dropped_;    // per member: let go by ReleaseLaggards
};

}  // namespace rt
