#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "server/model/batch_codec.h"
#include "server/model/slice_stats.h"
#include "server/store/group_plan.h"
#include "server/store/kc_read_ahead.h"
#include "server/store/start_report.h"

namespace kyotocabinet {
class HashDB;
}

namespace rt {

class FileReserve;

// One Kyoto Cabinet HashDB holding the markers and counters of one period of slices
// (docs/design.md §7 "Store records"), or the legacy single file `rt.kch` of a
// data dir written before periods existed.
//
// Records (server/store/kc_records.h): markers, slice counters, the directory of the
// slices held, and per stream either the stream's mark `m` (this file holds the
// stream's newest batch) or its file mark `f` (a batch spanning several files was
// applied to this one before its last file). Events of a stream whose seq is <= the
// larger of the two were applied to this file already: that is what keeps a batch
// spanning two files exactly-once across a crash between their commits. `M` lists
// the streams with a mark here, so sealing can carry them to the summary store.
//
// Not thread-safe for writing: owned by the store's single writer. Mark and Size may
// be called from any thread (Kyoto locks internally).
class PeriodFile {
 public:
  struct Tuning {
    int64_t buckets = 1 << 20;  // fixed when the file is created
    int64_t map_bytes = int64_t{1} << 30;
    int64_t reserve_step_bytes = 64 << 20;
    bool read_ahead = true;  // KcReadAhead, if its fence allows (false: --no-read-ahead)
  };
  // A batch's change to one slice; after Commit the slice's new totals.
  struct SliceDelta {
    int64_t slice;
    SliceStats delta;
  };
  // A slice's totals before a batch: those an earlier batch of the group planned
  // (fsync mode), else the store's.
  struct TotalsBefore {
    const std::map<int64_t, SliceStats>& current;
    const GroupPlan* plan = nullptr;
    const SliceStats* Find(int64_t slice) const {
      if (plan != nullptr) {
        if (const SliceStats* planned = plan->Slice(slice)) return planned;
      }
      const auto it = current.find(slice);
      return it == current.end() ? nullptr : &it->second;
    }
  };

  // Opens (creating if missing) the file at `path`; what Kyoto repaired goes to
  // report(). Unavailable when another process has it open.
  [[nodiscard]] static Result<std::unique_ptr<PeriodFile>> Open(const std::string& path,
                                                                const Tuning& tuning);
  ~PeriodFile();  // closes the database
  PeriodFile(const PeriodFile&) = delete;
  PeriodFile& operator=(const PeriodFile&) = delete;

  // Adds the slices this file holds, with their counters, to `into`.
  [[nodiscard]] Status LoadSlices(std::map<int64_t, SliceStats>& into) const;

  // The seq up to which `stream`'s events were applied to this file: max(m, f);
  // 0 if none. `global` receives the `m` record alone (0 if none).
  [[nodiscard]] Result<uint64_t> FileMark(std::string_view stream, uint64_t* global) const;

  // In one transaction: a marker per event (a first insertion is a unique user), the
  // touched slices' counters (their totals before from `before`), the directory,
  // and `stream`'s mark (`last_file`: the `m` record, else `f`) = acked_seq. A full
  // disk is ResourceExhausted with nothing applied. Afterwards deltas() holds the
  // touched slices' new totals. Replaying a logged batch, `totals_after` holds
  // them already, sorted by slice (the counters on disk may be torn): they are
  // written as they are, and every touched slice must be among them.
  [[nodiscard]] Status Commit(std::string_view stream, std::span<const BatchEvent> events,
                              uint64_t acked_seq, bool last_file, const TotalsBefore& before,
                              std::span<const SliceTotal> totals_after = {});
  // What Commit would count, writing nothing to the file (fsync mode plans a batch
  // before logging it): a marker is a new user when neither the file nor `plan`
  // holds it, and joins `plan`. Reserves the disk space the Commit will need, so a
  // full disk is refused here, before the batch is logged. Afterwards deltas()
  // holds the totals the Commit will leave.
  [[nodiscard]] Status Plan(std::span<const BatchEvent> events, const TotalsBefore& before,
                            GroupPlan& plan);
  std::span<const SliceDelta> deltas() const { return deltas_; }

  // Every stream with a mark here and its `m` (0 if only `f`).
  [[nodiscard]] Result<std::vector<std::pair<std::string, uint64_t>>> StreamMarks() const;
  // Every (key, value) with `prefix` (a full scan: migration only).
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> Scan(char prefix) const;
  [[nodiscard]] Result<std::string> Get(std::string_view key) const;  // NotFound if absent

  [[nodiscard]] Status Sync();  // hard-synchronizes (Kyoto synchronize(true); fdatasync if closed)

  // Closes the Kyoto file while it is idle (KcStore does so for a file that got no
  // event for KcStoreOptions::close_idle_after): a kill -9 then leaves it closed
  // cleanly, and the next open does not rebuild it (docs/design.md §7 "Store records",
  // restart after kill -9). Its marks, size, count and directory stay answerable from memory;
  // Reopen before the next Commit. Not for the legacy file (Scan and Get need it).
  [[nodiscard]] Status CloseIdle();
  [[nodiscard]] Status Reopen();  // nothing to do when open
  bool idle_closed() const { return closed_; }
  // When the file was opened or last committed to (KcStore's idle rule).
  std::chrono::steady_clock::time_point last_write() const { return last_write_; }
  const std::vector<int64_t>& slices() const { return slices_; }  // ascending
  int64_t Size() const;
  int64_t Count() const;
  const StoreStartReport& report() const { return report_; }
  // Whether the batch path prefetches (KcReadAhead), and if not, why.
  bool read_ahead() const { return prefetch_; }
  const std::string& read_ahead_off() const { return read_ahead_off_; }
  // Turns the prefetching off, or on again if the fence allowed it at open (for
  // bench/scale, which compares both on the same files).
  void set_read_ahead(bool on) {
    read_ahead_wanted_ = on;
    prefetch_ = on && read_ahead_.enabled();
  }
  const std::string& path() const { return path_; }

 private:
  PeriodFile(std::string path, const Tuning& tuning);
  Status OpenDb(bool reopening);
  void ProbeRecordCount();
  Status LoadDirectory();
  void StartPrefetch(std::span<const BatchEvent> events);
  void AdvancePrefetch(size_t i);
  Status Reserve(size_t events, int64_t& need);
  void ResetDeltas();
  template <typename IsNewUser>
  Status CountMarkers(std::span<const BatchEvent> events, IsNewUser is_new_user);
  SliceStats& DeltaFor(int64_t slice);
  Status SumTotals(const TotalsBefore& before, std::span<const SliceTotal> totals_after);
  Status WriteCounters();
  Status WriteMark(std::string_view stream, uint64_t acked_seq, bool last_file);
  Status DbError(std::string_view what) const;
  int64_t ReserveNeed(size_t events) const;
  Status NoSpaceOr(Status s, int64_t need) const;

  const std::string path_;
  const Tuning tuning_;
  std::unique_ptr<kyotocabinet::HashDB> db_;
  std::unique_ptr<FileReserve> reserve_;  // closed after db_ (see FileReserve)
  StoreStartReport report_;
  KcReadAhead read_ahead_;
  bool prefetch_ = false;                            // read_ahead_ is enabled and used
  std::string read_ahead_off_;                       // why not, when !prefetch_
  std::vector<int64_t> slices_;                      // the directory, ascending
  std::unordered_set<std::string> streams_;          // in `M`
  std::vector<uint64_t> marker_hashes_;              // of the batch being applied, reused
  std::vector<SliceDelta> deltas_;                   // of the batch being applied, reused
  std::unordered_map<int64_t, size_t> delta_index_;  // slice → deltas_ past a few slices
  std::vector<int64_t> new_slices_;                  // of the batch being applied, reused
  bool read_ahead_wanted_ = true;                    // set_read_ahead
  std::chrono::steady_clock::time_point last_write_;

  // While closed idle (CloseIdle): what the open file would answer.
  bool closed_ = false;
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> closed_marks_;  // (m, max(m, f))
  int64_t closed_size_ = 0;
  int64_t closed_count_ = 0;
};

}  // namespace rt
