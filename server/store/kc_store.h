#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/model/action.h"
#include "server/model/batch_codec.h"
#include "server/model/slice_stats.h"
#include "server/model/user_key.h"
#include "server/store/batch_request.h"
#include "server/store/group_plan.h"
#include "server/store/period_file.h"
#include "server/store/start_report.h"
#include "server/store/summary_store.h"

namespace rt {

class BatchLog;

struct KcStoreOptions {
  // --fsync: acknowledged batches survive power loss through the batch log
  // (see WriteGroup). Without it a commit survives a killed process.
  bool fsync = false;
  // Slices per period file, for a new data dir (an existing one keeps the length it
  // was created with). 6 slices: a quarter of a day at hourly slices, so with the
  // default seal horizon some 9 period files are open (docs/design.md §7).
  int64_t period_slices = 6;
  // Kyoto hash buckets of a new period file (fixed when it is created): the first
  // file gets `buckets`, a later one twice the largest record count of the open files
  // (the load of a period), clamped to [buckets, max_buckets]. Kyoto recommends
  // 0.5-4x the record count.
  int64_t buckets = 1 << 20;
  int64_t max_buckets = 64 << 20;
  // Bytes of each file Kyoto memory-maps; writes inside it are memcpy instead of
  // pwrite. Address space; only touched pages cost memory.
  int64_t map_bytes = int64_t{1} << 30;
  // Prefetch Kyoto buckets and records ahead of a batch (KcReadAhead, fenced by the
  // Kyoto version and header checks); false: serve-worker --no-read-ahead.
  bool read_ahead = true;
  // A period file that got no event for this long is closed (PeriodFile::CloseIdle)
  // and reopened by its next event: a kill -9 then leaves only the recently written
  // files to Kyoto's repair at the next open. Negative: never.
  std::chrono::milliseconds close_idle_after{30'000};
  // In fsync mode, once the log holds this many bytes the next WriteGroup
  // hard-synchronizes Kyoto and truncates the log.
  uint64_t log_checkpoint_bytes = 64 << 20;
  // Disk blocks are reserved ahead of a file's growth (FileReserve: a full disk is
  // then an error, not a SIGBUS inside the map) this many bytes at a time.
  int64_t reserve_step_bytes = 64 << 20;
  // The slice "now" falls in, for sealing and retention; null: neither happens on its
  // own (Seal and Retain may still be called).
  std::function<int64_t()> current_slice;
  // Slices older than current_slice() - seal_after_slices are sealed; < 0: never.
  int64_t seal_after_slices = -1;
  // Counts of slices older than current_slice() - retain_slices are dropped; < 0:
  // kept forever (--retain-slices). Only sealed slices are dropped.
  int64_t retain_slices = -1;
  // Fault injection for tests: a commit to the period file at this path fails (as a
  // crash between two files' commits would leave it) when this returns true.
  std::function<bool(const std::string& path)> fail_commit;
};

// The worker's storage in a data directory (docs/design.md §7 "Store records"):
// one Kyoto file per period of slices (PeriodFile: markers and counters), and a
// small summary store (SummaryStore: sealed slices' final counts, stream marks of
// sealed files, the key id).
//
// Exactly once: a batch's events are applied, per period file, in one transaction
// together with the stream's mark in that file; a batch spanning two files marks the
// first with a file mark and the last with the stream's mark, so a crash between
// them is resumed by the retry without losing or doubling anything (PeriodFile).
// The stream's mark is the largest over the summary and the open files.
//
// Sealing: a slice older than the seal horizon gets no more events (they are counted
// in BatchOutcome::sealed and skipped); once every slice of a period file is past
// it, its counters move to the summary store and the file is deleted.
//
// Migration: a data dir with the single file `rt.kch` of earlier versions keeps that
// file as a legacy period holding the slices it has, sealed like any other.
//
// Per-slice stats are mirrored in memory, so reads never touch the disk.
//
// Thread-safety: one writer at a time (ApplyBatch, ApplySingle, WriteGroup, Seal,
// Retain; the BatchWriter is that writer); StatsFor, AllSlices, SizeBytes,
// SliceCount, StoredMark, OpenPeriods and StoredKeyId may be called from any thread
// concurrently with the writer. Only one KcStore per directory may be open, in this
// process or any other.
class KcStore {
 public:
  // Opens (creating if missing) the store in `data_dir`, loads the slice stats,
  // and in fsync mode replays the batch log. Fails with a clear error if the
  // directory is already open elsewhere, or if the batch log is damaged before its
  // end (BatchLog::ReadAll). What the open repaired: start_report().
  [[nodiscard]] static Result<std::unique_ptr<KcStore>> Open(const std::string& data_dir,
                                                             const KcStoreOptions& options = {});
  ~KcStore();  // closes the database
  KcStore(const KcStore&) = delete;
  KcStore& operator=(const KcStore&) = delete;

  // Applies events first_seq.. of `stream` (see the class comment). Refuses,
  // applying nothing, with a typed outcome (ok, `refused()`): a gap after the mark
  // (verdict kGap, expected_seq = mark + 1), a key id other than the stored one
  // (kKeyMismatch, stored_key_id). Fails with InvalidArgument for first_seq 0 or a
  // bad stream name, IoError when Kyoto fails. The first non-empty key id seen is
  // stored; an empty `key_id` skips the check (internal use only; the HTTP layer
  // requires the header). A full disk is ResourceExhausted, and then nothing of the
  // batch is applied to the file that met it (a retry completes the batch).
  [[nodiscard]] Result<BatchOutcome> ApplyBatch(std::string_view stream, uint64_t first_seq,
                                                std::string_view key_id,
                                                std::span<const BatchEvent> events);
  [[nodiscard]] Result<BatchOutcome> ApplyBatch(const BatchRequest& request) {
    return ApplyBatch(request.stream, request.first_seq, request.key_id, request.events);
  }

  // rt's single-event write (POST /worker). Internally a one-event batch of a
  // reserved stream, so that fsync-mode replay stays idempotent. Returns the
  // slice's stats afterwards.
  [[nodiscard]] Result<SliceStats> ApplySingle(int64_t slice, const UserKey& key, Action action);

  // One write of an fsync group (WriteGroup): a batch, or a single event.
  struct GroupWrite {
    const BatchRequest* batch = nullptr;  // null: `single`
    BatchEvent single{};
    // Set by WriteGroup: the batch's outcome (a single event's stats are
    // touched.front()), or why it was not applied.
    Result<BatchOutcome> outcome = Status::Internal("not written");
  };
  // Fsync mode's group commit (docs/design.md §7 "Store records", --fsync and the
  // batch log): plans every write without touching Kyoto, appends each planned
  // batch with the totals it leads to to the batch log, fsyncs the log once, and
  // only then writes the batches to Kyoto; a write's outcome may be acknowledged
  // once this returned ok. A write refused or failed while planning (a gap, a full
  // disk) is not logged and keeps its outcome. A Kyoto write failing after its
  // batch was logged fails it and the group's later writes, and Kyoto is then
  // hard-synchronized and the log emptied. Returned (fatal: acknowledge nothing): a
  // failed log append or fsync, or a failed hard sync. Now and then
  // (log_checkpoint_bytes) hard-synchronizes Kyoto and truncates the log. Without
  // fsync mode each write is simply applied.
  [[nodiscard]] Status WriteGroup(std::span<GroupWrite> writes);

  // Seals every slice below `before` (see the class comment): later events of them
  // are skipped, and each period file holding only such slices is moved to the
  // summary store and deleted. A `before` at or below the current horizon does nothing.
  [[nodiscard]] Status Seal(int64_t before);
  // Drops the counts of sealed slices below `from` (--retain-slices).
  [[nodiscard]] Status Retain(int64_t from);

  // Binds the store to the key id of the worker key it serves under: stores
  // `key_id` if none is stored yet; Conflict naming both ids if another is. Called
  // once at start, before the writer runs (docs/design.md §3: the key id comes
  // from the worker's own key, never from a request).
  [[nodiscard]] Status AdoptKeyId(std::string_view key_id);

  // Hard-synchronizes every file (Kyoto synchronize(true)). Writer only.
  [[nodiscard]] Status Sync();

  // A consistent copy of the store (docs/design.md §14 "Replica sets", Reseeding):
  // every Kyoto file of the data dir, read whole while no write runs (the writer
  // waits on a mutex meanwhile) after a hard sync. Held in memory: the worker needs
  // free memory of the size of its data. Any thread.
  struct Snapshot {
    std::vector<std::pair<std::string, std::string>> files;  // name, bytes; by name
    uint64_t bytes = 0;
    std::chrono::duration<double> pause{0};  // how long writes waited
  };
  [[nodiscard]] Result<Snapshot> TakeSnapshot();

  // The high-water mark of `stream` as stored (0 for a stream never applied), read
  // from the files, not the writer's cache: any thread (GET /worker/mark).
  [[nodiscard]] Result<uint64_t> StoredMark(std::string_view stream) const;

  // The marks of the streams whose id ends with `suffix` (every stream for ""),
  // ascending by id. Published after each applied batch's numbers, so that marks read
  // before StatsFor are each a lower bound of what the numbers include (the X-Rt-Marks
  // of a replica member's answer, docs/design.md §14). Any thread; one lock, no I/O.
  std::vector<std::pair<std::string, uint64_t>> PublishedMarks(std::string_view suffix) const;

  SliceStats StatsFor(int64_t slice) const;
  std::vector<std::pair<int64_t, SliceStats>> AllSlices() const;  // ascending
  size_t SliceCount() const;
  uint64_t SizeBytes() const { return size_bytes_.load(std::memory_order_relaxed); }
  // Period files open (the legacy file included).
  size_t OpenPeriods() const { return open_periods_.load(std::memory_order_relaxed); }
  // Period files closed while idle (rt_worker_store_periods_closed_idle).
  size_t IdleClosedFiles() const { return idle_closed_files_.load(std::memory_order_relaxed); }
  // Open files whose batch path prefetches (rt_worker_store_read_ahead_files).
  size_t ReadAheadFiles() const { return read_ahead_files_.load(std::memory_order_relaxed); }
  // Turns the read-ahead of every open and later file off, or on again where the
  // option and the fence allowed it at the file's open (bench/scale compares both on
  // the same store). Writer only.
  void SetReadAhead(bool on);
  int64_t SealedBefore() const { return sealed_before_.load(std::memory_order_relaxed); }
  int64_t period_slices() const { return period_slices_; }
  // Set by Open, constant afterwards: safe from any thread.
  const StoreStartReport& start_report() const { return start_report_; }
  std::string StoredKeyId() const;
  bool fsync() const { return options_.fsync; }
  // Streams in the in-memory mark cache: only streams with an applied batch (a refused
  // batch of an unknown stream adds none). For tests; call only while no batch is
  // being applied (the cache belongs to the writer).
  size_t MarkCacheSize() const { return marks_.size(); }
  const std::string& data_dir() const { return data_dir_; }

  // The stream name ApplySingle uses; refused from outside.
  static constexpr std::string_view kSingleStream = "\x01single";

 private:
  KcStore(std::string data_dir, const KcStoreOptions& options);
  Status OpenFiles();
  Status OpenSummary();
  Status LoadState();
  Status ReplayLog();
  Status LoadPublishedMarks();
  void PublishMark(std::string_view stream, uint64_t mark);
  Status Maintain();
  Status CloseIdleFiles();
  Result<uint64_t> MarkOf(std::string_view stream);
  Result<uint64_t> ReadMark(std::string_view stream) const;
  // How ApplyInternal treats a batch (writer only; kApply but inside WriteGroup and
  // ReplayLog).
  enum class Pass {
    kApply,         // seal what is due, check, commit
    kPlan,          // check and count against plan_, write nothing (WriteGroup)
    kApplyPlanned,  // check and commit what was planned and logged (no sealing between)
    kReplay,        // a logged record without totals: check and commit
    kReplayTotals,  // a logged record with totals: commit it whatever the marks say
  };
  Result<BatchOutcome> ApplyInternal(std::string_view stream, uint64_t first_seq,
                                     std::string_view key_id, std::span<const BatchEvent> events);
  Result<BatchOutcome> WriteOne(const GroupWrite& write, uint64_t single_seq);
  Result<size_t> PlanRound(std::span<GroupWrite> writes);
  Status ApplyRound(std::span<GroupWrite> writes);
  Status CheckpointLog();
  Result<BatchOutcome> CheckBatch(std::string_view stream, uint64_t first_seq,
                                  std::string_view key_id, size_t count);
  Result<uint64_t> CommitBatch(std::string_view stream, std::span<const BatchEvent> fresh,
                               uint64_t first_fresh_seq, uint64_t acked_seq);
  Status Target(std::span<const BatchEvent> fresh, uint64_t& sealed);
  bool InReplayTotals(int64_t slice) const;
  // The key id as this pass sees it: while planning, one a planned batch brought.
  const std::string& KnownKeyId() const {
    return pass_ == Pass::kPlan && key_id_.empty() ? plan_.key_id() : key_id_;
  }
  static Status CheckStreamName(std::string_view stream);
  Result<PeriodFile*> FileFor(int64_t slice);
  Status CommitTo(PeriodFile& file, std::string_view stream, std::span<const BatchEvent> fresh,
                  uint64_t first_fresh_seq, uint64_t acked_seq, bool last, bool only_file);
  void Publish(const PeriodFile& file);
  void UpdateSizes();
  void ReportTouched(std::span<const BatchEvent> events,
                     std::vector<std::pair<int64_t, SliceStats>>& touched) const;
  PeriodFile::TotalsBefore Before() const {
    return {slices_, pass_ == Pass::kPlan ? &plan_ : nullptr};
  }
  int64_t PeriodOf(int64_t slice) const;
  std::string PeriodPath(int64_t period) const;

  const std::string data_dir_;
  const KcStoreOptions options_;
  std::unique_ptr<SummaryStore> summary_;
  std::unique_ptr<PeriodFile> legacy_;  // rt.kch while it holds open slices
  std::unordered_set<int64_t> legacy_slices_;
  // period → its file; changed by the writer under files_mu_ (StoredMark reads it).
  std::map<int64_t, std::unique_ptr<PeriodFile>> files_;
  mutable std::shared_mutex files_mu_;
  std::unique_ptr<BatchLog> log_;
  StoreStartReport start_report_;
  int64_t period_slices_ = 0;
  int64_t retained_from_ = 0;

  // Writer-only state.
  std::unordered_map<std::string, uint64_t> marks_;  // cache of the streams' marks
  std::vector<PeriodFile*> targets_;                 // per fresh event of the batch being applied
  std::vector<PeriodFile*> batch_files_;             // the distinct files of targets_, in order
  std::vector<BatchEvent> group_;                    // a multi-file batch's events of one file
  Pass pass_ = Pass::kApply;
  GroupPlan plan_;                             // kPlan: the group's batches planned so far
  std::span<const SliceTotal> replay_totals_;  // kReplayTotals: the record's totals
  std::vector<BatchOutcome> planned_;          // WriteGroup: the round's planned outcomes
  int64_t last_period_ = 0;                    // FileFor's one-entry cache
  PeriodFile* last_file_ = nullptr;

  // Shared with readers.
  mutable std::shared_mutex mu_;
  std::map<int64_t, SliceStats> slices_;  // guarded by mu_
  std::string key_id_;                    // guarded by mu_
  std::atomic<uint64_t> size_bytes_{0};
  std::atomic<size_t> open_periods_{0};
  std::atomic<size_t> read_ahead_files_{0};
  std::atomic<size_t> idle_closed_files_{0};
  std::chrono::steady_clock::time_point next_idle_check_;  // writer only
  bool read_ahead_ = true;                                 // SetReadAhead; writer only
  std::atomic<int64_t> sealed_before_{0};
  // Held by every write (ApplyBatch, ApplySingle, WriteGroup) and by TakeSnapshot:
  // uncontended but for a snapshot.
  std::mutex write_mu_;
  mutable std::mutex published_mu_;
  std::map<std::string, uint64_t, std::less<>> published_marks_;  // guarded by published_mu_
};

}  // namespace rt
