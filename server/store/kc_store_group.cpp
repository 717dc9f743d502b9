// KcStore's group commit in fsync mode: plan, log, then write (docs/design.md §7
// "Store records", --fsync and the batch log). The rest is in kc_store.cpp.
#include <algorithm>
#include <mutex>

#include "server/store/batch_log.h"
#include "server/store/kc_store.h"

namespace rt {
namespace {

// What the writer answers: the numbers and verdict a batch got, which planning and
// writing must agree on.
bool SameOutcome(const BatchOutcome& planned, const BatchOutcome& written) {
  return planned.verdict == written.verdict && planned.acked_seq == written.acked_seq &&
         planned.applied == written.applied && planned.duplicates == written.duplicates &&
         planned.sealed == written.sealed && planned.touched == written.touched;
}

}  // namespace

Status KcStore::WriteGroup(std::span<GroupWrite> writes) {
  std::lock_guard writing(write_mu_);
  if (log_ == nullptr) {
    // Nothing to make durable: each write is applied as it stands.
    for (GroupWrite& write : writes) write.outcome = WriteOne(write, 0);
    return Status::Ok();
  }
  if (Status s = Maintain(); !s.ok()) {
    for (GroupWrite& write : writes) write.outcome = s;
    return Status::Ok();
  }
  for (size_t next = 0; next < writes.size();) {
    Result<size_t> planned = PlanRound(writes.subspan(next));
    if (!planned.ok()) return planned.status();
    if (Status s = ApplyRound(writes.subspan(next, *planned)); !s.ok()) return s;
    next += *planned;
  }
  if (log_->SizeBytes() >= options_.log_checkpoint_bytes) return CheckpointLog();
  return Status::Ok();
}

// Applies (or, in Pass::kPlan, plans) one write; a single event continues its
// stream's mark unless `single_seq` names its seq (planned before).
Result<BatchOutcome> KcStore::WriteOne(const GroupWrite& write, uint64_t single_seq) {
  if (write.batch != nullptr) {
    const BatchRequest& b = *write.batch;
    if (Status s = CheckStreamName(b.stream); !s.ok()) return s;
    return ApplyInternal(b.stream, b.first_seq, b.key_id, b.events);
  }
  if (single_seq == 0) {
    Result<uint64_t> mark = MarkOf(kSingleStream);
    if (!mark.ok()) return mark.status();
    single_seq = *mark + 1;
  }
  return ApplyInternal(kSingleStream, single_seq, "", std::span(&write.single, 1));
}

// Plans writes from the first on, appending each planned batch that counts anything
// to the log with its totals, and fsyncs the log. A write that fails while planned
// ends the round (what it planned before failing would be applied by nobody): the
// round is the writes up to it, and their count is returned. An error is the log's.
Result<size_t> KcStore::PlanRound(std::span<GroupWrite> writes) {
  plan_.Clear();
  pass_ = Pass::kPlan;
  size_t count = 0;
  bool logged = false;
  while (count < writes.size()) {
    GroupWrite& write = writes[count++];
    plan_.totals().clear();
    write.outcome = WriteOne(write, 0);  // the planned outcome, until ApplyRound
    if (!write.outcome.ok()) break;
    const BatchOutcome& outcome = *write.outcome;
    if (outcome.refused() || outcome.applied == 0) continue;
    std::vector<SliceTotal>& totals = plan_.totals();
    std::sort(totals.begin(), totals.end(),
              [](const SliceTotal& a, const SliceTotal& b) { return a.first < b.first; });
    if (write.batch != nullptr) {
      const BatchRequest& b = *write.batch;
      log_->Append(b.stream, b.first_seq + outcome.duplicates, b.key_id,
                   std::span(b.events).subspan(outcome.duplicates), totals);
    } else {
      log_->Append(kSingleStream, outcome.acked_seq, "", std::span(&write.single, 1), totals);
    }
    logged = true;
  }
  pass_ = Pass::kApply;
  if (logged) {
    if (Status s = log_->Flush(); !s.ok()) return s;
  }
  return count;
}

// Writes the round's planned writes to Kyoto. If one fails (or, which would be a
// bug, comes out other than planned), the log holds batches Kyoto lacks and totals
// that no longer follow: the writes from it on are answered with the error
// (nothing of them is acknowledged; their senders resend), and Kyoto is
// hard-synchronized and the log emptied, so that nothing replays them. Only a
// failing hard sync is returned (fatal).
Status KcStore::ApplyRound(std::span<GroupWrite> writes) {
  pass_ = Pass::kApplyPlanned;
  Status failure;
  for (GroupWrite& write : writes) {
    if (!write.outcome.ok() || write.outcome->refused()) continue;
    if (!failure.ok()) {
      write.outcome = failure;
      continue;
    }
    const BatchOutcome& planned = *write.outcome;
    const uint64_t single_seq = write.batch == nullptr ? planned.acked_seq : 0;
    Result<BatchOutcome> written = WriteOne(write, single_seq);
    if (!written.ok()) {
      failure = Status::Unavailable("writing a logged batch failed: " + written.status().message());
      write.outcome = written.status();
    } else if (!SameOutcome(planned, *written)) {
      failure = Status::Internal("a batch was written other than it was planned and logged");
      write.outcome = failure;
    } else {
      write.outcome = std::move(written);
    }
  }
  pass_ = Pass::kApply;
  if (failure.ok()) return Status::Ok();
  return CheckpointLog();
}

// Everything logged is in Kyoto: once Kyoto is on disk the log is redundant.
Status KcStore::CheckpointLog() {
  if (Status s = Sync(); !s.ok()) return s;
  return log_->Truncate();
}

}  // namespace rt
