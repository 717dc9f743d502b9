#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/model/action.h"
#include "server/model/batch_codec.h"
#include "server/model/slice_stats.h"
#include "server/model/user_key.h"
#include "server/store/batch_request.h"
#include "server/store/kc_read_ahead.h"
#include "server/store/start_report.h"

namespace kyotocabinet {
class HashDB;
}

namespace rt {

class BatchLog;
class FileReserve;

struct KcStoreOptions {
  // --fsync: acknowledged batches survive power loss through the batch log
  // (see SyncLog). Without it a commit survives a killed process.
  bool fsync = false;
  // Kyoto hash buckets, fixed when the file is created. Kyoto recommends 0.5-4x
  // the record count; 8 M buckets (64 MiB of bucket array) keeps chains short up
  // to tens of millions of user markers.
  int64_t buckets = 8 << 20;
  // Bytes of the file Kyoto memory-maps; writes inside it are memcpy instead of
  // pwrite. 1 GiB of address space; only touched pages cost memory.
  int64_t map_bytes = int64_t{1} << 30;
  // In fsync mode, once the log holds this many bytes the next SyncLog
  // hard-synchronizes Kyoto and truncates the log.
  uint64_t log_checkpoint_bytes = 64 << 20;
  // Disk blocks are reserved ahead of the file's growth (FileReserve: a full disk is
  // then an error, not a SIGBUS inside the map) this many bytes at a time.
  int64_t reserve_step_bytes = 64 << 20;
};

// The worker's storage: one Kyoto Cabinet HashDB (`rt.kch`) in a data directory.
//
// Records: a marker per (slice, user_key) whose first insertion counts a unique
// user, a 24-byte counter record per slice, a high-water mark per stream, the key
// id of the secret the cluster uses, and a directory of the slices held (so Open
// loads the stats without scanning every marker).
//
// Exactly once: a batch is applied in one Kyoto transaction together with its
// stream's mark, so either all of it and the new mark are on disk or none is; a
// retry of the same seqs then finds them <= the mark and skips them.
//
// Per-slice stats are mirrored in memory, so reads never touch the disk.
//
// Thread-safety: one writer at a time (ApplyBatch, ApplySingle, SyncLog; the
// BatchWriter is that writer); StatsFor, AllSlices, SizeBytes, SliceCount and
// StoredKeyId may be called from any thread concurrently with the writer.
// Only one KcStore per directory may be open, in this process or any other.
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
  // batch is applied: disk space for it is reserved before the transaction begins
  // (FileReserve), and a Kyoto write failing inside it aborts the transaction.
  [[nodiscard]] Result<BatchOutcome> ApplyBatch(std::string_view stream, uint64_t first_seq,
                                                std::string_view key_id,
                                                std::span<const BatchEvent> events);
  [[nodiscard]] Result<BatchOutcome> ApplyBatch(const BatchRequest& request) {
    return ApplyBatch(request.stream, request.first_seq, request.key_id, request.events);
  }

  // rt's single-event write (POST /worker). Internally a one-event batch of a
  // reserved stream, so that fsync-mode replay stays idempotent. Returns the
  // slice's stats afterwards; `seq`, if given, receives the event's seq in that
  // stream (the BatchWriter logs it as a batch in fsync mode).
  [[nodiscard]] Result<SliceStats> ApplySingle(int64_t slice, const UserKey& key, Action action,
                                               uint64_t* seq = nullptr);

  // Fsync mode: appends the batches (as applied) to the batch log and fsyncs
  // it once; a batch may be acknowledged only after this returned ok. Now and
  // then (log_checkpoint_bytes) hard-synchronizes Kyoto and truncates the log.
  // Without fsync mode: does nothing.
  [[nodiscard]] Status SyncLog(std::span<const BatchRequest* const> batches);

  // Binds the store to the key id of the worker key it serves under: stores
  // `key_id` if none is stored yet; Conflict naming both ids if another is. Called
  // once at start, before the writer runs (docs/design.md §3: the key id comes
  // from the worker's own key, never from a request).
  [[nodiscard]] Status AdoptKeyId(std::string_view key_id);

  // Hard-synchronizes the database file (Kyoto synchronize(true)).
  [[nodiscard]] Status Sync();

  // The high-water mark of `stream` as stored (0 for a stream never applied), read
  // from the database, not the writer's cache: any thread (GET /worker/mark).
  [[nodiscard]] Result<uint64_t> StoredMark(std::string_view stream) const;

  SliceStats StatsFor(int64_t slice) const;
  std::vector<std::pair<int64_t, SliceStats>> AllSlices() const;  // ascending
  size_t SliceCount() const;
  uint64_t SizeBytes() const { return size_bytes_.load(std::memory_order_relaxed); }
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

  // A batch's change to one slice; after WriteCounters the slice's new totals.
  struct SliceDelta {
    int64_t slice;
    SliceStats delta;
  };

 private:
  KcStore(std::string data_dir, const KcStoreOptions& options);
  Status OpenDb();
  Status LoadState();
  Status ReplayLog();
  Result<uint64_t> MarkOf(std::string_view stream);
  Result<BatchOutcome> ApplyInternal(std::string_view stream, uint64_t first_seq,
                                     std::string_view key_id, std::span<const BatchEvent> events);
  // The steps of ApplyInternal, in order.
  Result<BatchOutcome> CheckBatch(std::string_view stream, uint64_t first_seq,
                                  std::string_view key_id, size_t count);
  Status CommitBatch(std::string_view stream, std::span<const BatchEvent> fresh, uint64_t acked_seq,
                     std::string_view new_key_id);
  void StartPrefetch(std::span<const BatchEvent> fresh);
  void AdvancePrefetch(size_t i);
  Status AddMarkers(std::span<const BatchEvent> fresh);
  SliceStats& DeltaFor(int64_t slice);
  Status WriteCounters();
  Status WriteMark(std::string_view stream, uint64_t acked_seq);
  void Publish(std::string_view stream, uint64_t acked_seq, std::string_view new_key_id);
  void ReportTouched(std::span<const BatchEvent> events,
                     std::vector<std::pair<int64_t, SliceStats>>& touched) const;
  Status DbError(std::string_view what) const;
  int64_t ReserveNeed(size_t fresh_events) const;
  Status ReserveFor(size_t fresh_events);
  Status NoSpaceOr(Status s, int64_t need) const;
  void ProbeRecordCount(const std::string& path);

  const std::string data_dir_;
  const KcStoreOptions options_;
  std::unique_ptr<kyotocabinet::HashDB> db_;
  std::unique_ptr<BatchLog> log_;
  std::unique_ptr<FileReserve> reserve_;  // closed after db_ (see FileReserve)
  StoreStartReport start_report_;

  // Writer-only state.
  std::unordered_map<std::string, uint64_t> marks_;  // cache of the streams' marks
  KcReadAhead read_ahead_;
  std::vector<uint64_t> marker_hashes_;  // of the batch being applied, reused
  std::vector<SliceDelta> deltas_;       // of the batch being applied, reused
  // slice → index in deltas_, used once a batch names more than a few slices.
  std::unordered_map<int64_t, size_t> delta_index_;
  std::vector<int64_t> new_slices_;  // of the batch being applied, reused

  // Shared with readers.
  mutable std::shared_mutex mu_;
  std::map<int64_t, SliceStats> slices_;  // guarded by mu_
  std::string key_id_;                    // guarded by mu_
  std::atomic<uint64_t> size_bytes_{0};
};

}  // namespace rt
