#include "server/api/spool/replica_spool.h"

#include <algorithm>
#include <utility>

namespace rt {

// Member `member_`'s view of the shared spool.
class ReplicaSpool::View final : public EventSpool {
 public:
  View(std::shared_ptr<ReplicaSpool> owner, size_t member)
      : owner_(std::move(owner)), member_(member) {}

  Result<uint64_t> Append(std::string_view payload) override {
    return owner_->spool().Append(payload);
  }
  void WhenDurable(uint64_t seq, std::function<void()> done) override {
    owner_->spool().WhenDurable(seq, std::move(done));
  }
  size_t Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) override {
    return owner_->spool().Read(from, max_records, max_bytes, body);
  }
  std::optional<Gap> GapAt(uint64_t seq) const override { return owner_->spool().GapAt(seq); }
  void Acknowledge(uint64_t seq) override { owner_->Acknowledge(member_, seq); }
  Stream stream() const override { return owner_->spool().stream(); }
  // Every member meets the same events in the same places (a gap, a lost tail at
  // start-up), and the first to get there starts the set's new stream: the others
  // find it started at the same base and go on it too, so that the members' marks
  // stay comparable.
  Status StartNewStream(Stream stream) override {
    const Stream current = owner_->spool().stream();
    if (!current.id.empty() && current.base == stream.base) return Status::Ok();
    return owner_->spool().StartNewStream(std::move(stream));
  }
  uint64_t next_seq() const override { return owner_->spool().next_seq(); }
  uint64_t acknowledged() const override { return owner_->Acknowledged(member_); }
  uint64_t released() const override {
    return std::max(owner_->spool().acknowledged(), acknowledged());
  }
  uint64_t confirmed() const override { return owner_->MaxAcknowledged(); }
  uint64_t events() const override {
    const uint64_t last = next_seq() - 1;
    const uint64_t acked = acknowledged();
    return last > acked ? last - acked : 0;
  }
  uint64_t bytes() const override { return owner_->spool().bytes(); }
  int64_t oldest_unacknowledged_ms() const override {
    return owner_->spool().oldest_unacknowledged_ms();
  }

 private:
  const std::shared_ptr<ReplicaSpool> owner_;
  const size_t member_;
};

ReplicaSpool::ReplicaSpool(std::shared_ptr<EventSpool> spool, size_t members)
    : spool_(std::move(spool)), acked_(members, spool_->acknowledged()), dropped_(members, false) {}

std::shared_ptr<EventSpool> ReplicaSpool::Member(size_t member) {
  return std::make_shared<View>(shared_from_this(), member);
}

uint64_t ReplicaSpool::FloorLocked() const {
  uint64_t floor = UINT64_MAX;
  for (size_t i = 0; i < acked_.size(); ++i) {
    if (!dropped_[i]) floor = std::min(floor, acked_[i]);
  }
  if (floor == UINT64_MAX) floor = *std::min_element(acked_.begin(), acked_.end());
  return floor;
}

void ReplicaSpool::Acknowledge(size_t member, uint64_t seq) {
  std::lock_guard lock(mutex_);
  if (seq <= acked_[member]) return;
  acked_[member] = seq;
  // A dropped member that reached the shared acknowledgement again holds the spool
  // like the others: nothing it needs was deleted.
  if (dropped_[member] && seq >= spool_->acknowledged()) dropped_[member] = false;
  spool_->Acknowledge(FloorLocked());
}

uint64_t ReplicaSpool::Acknowledged(size_t member) const {
  std::lock_guard lock(mutex_);
  return acked_[member];
}

uint64_t ReplicaSpool::MaxAcknowledged() const {
  std::lock_guard lock(mutex_);
  return *std::max_element(acked_.begin(), acked_.end());
}

bool ReplicaSpool::Dropped(size_t member) const {
  std::lock_guard lock(mutex_);
  return dropped_[member];
}

bool ReplicaSpool::ReleaseLaggards() {
  std::lock_guard lock(mutex_);
  const uint64_t last = spool_->next_seq() - 1;
  const uint64_t floor = FloorLocked();
  const uint64_t held = last > floor ? last - floor : 0;
  if (held == 0) return false;
  auto caught_up = [&](size_t i) { return last - std::min(last, acked_[i]) <= held / 2; };
  bool any_caught_up = false;
  for (size_t i = 0; i < acked_.size(); ++i) any_caught_up |= !dropped_[i] && caught_up(i);
  if (!any_caught_up) return false;  // every member is behind: nobody has the records
  bool released = false;
  for (size_t i = 0; i < acked_.size(); ++i) {
    if (!dropped_[i] && !caught_up(i)) {
      dropped_[i] = true;
      released = true;
    }
  }
  if (released) spool_->Acknowledge(FloorLocked());
  return released;
}

}  // namespace rt
