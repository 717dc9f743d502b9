#include "server/store/period_file.h"

#include <kchashdb.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/file_io.h"
#include "server/store/file_reserve.h"
#include "server/store/kc_counter_io.h"
#include "server/store/kc_records.h"

namespace rt {
namespace {

namespace kc = kyotocabinet;
using namespace kc_records;  // NOLINT(google-build-using-namespace): this file is their user

// How many events ahead the read-ahead loads a marker's bucket, and then (reading
// the bucket) its record: far enough to overlap several misses, near enough that
// the lines are still cached when Kyoto gets there.
constexpr size_t kBucketAhead = 12;
constexpr size_t kRecordAhead = 6;

// Up to this many distinct slices a batch's per-slice bookkeeping is a linear scan of
// a small vector; beyond it a hash index takes over. Real batches touch the current
// hour and a few late ones, where the scan beats any map; with the scan alone a
// forged batch of 200,000 distinct slices took 33 CPU seconds (quadratic).
constexpr size_t kScanSlices = 16;

// What a batch can add to the file, for the space reserved before it (FileReserve):
// a marker record is ~40 bytes (25-byte key, header, 8-byte alignment); 128 leaves
// room for counter records that move and free-block fragments. Plus the slice
// directory and a fixed slack for Kyoto's header and free-block pool.
constexpr int64_t kReserveBytesPerEvent = 128;
constexpr int64_t kReserveSlackBytes = 1 << 20;

std::string MarkKey(char prefix, std::string_view stream) {
  std::string key(1, prefix);
  key.append(stream);
  return key;
}

}  // namespace

Result<std::unique_ptr<PeriodFile>> PeriodFile::Open(const std::string& path,
                                                     const Tuning& tuning) {
  std::unique_ptr<PeriodFile> file(new PeriodFile(path, tuning));
  if (Status s = file->OpenDb(/*reopening=*/false); !s.ok()) return s;
  if (Status s = file->LoadDirectory(); !s.ok()) return s;
  return file;
}

PeriodFile::PeriodFile(std::string path, const Tuning& tuning)
    : path_(std::move(path)), tuning_(tuning), db_(std::make_unique<kc::HashDB>()) {}

PeriodFile::~PeriodFile() {
  if (db_->flags() & kc::HashDB::FOPEN) db_->close();
  reserve_.reset();  // after close: its descriptor's close drops the file's fcntl locks
}

Status PeriodFile::DbError(std::string_view what) const {
  const kc::BasicDB::Error error = db_->error();
  return Status::IoError(std::string(what) + " " + path_ + ": " + error.name() + ": " +
                         error.message());
}

Status PeriodFile::OpenDb(bool reopening) {
  // Applied only when the file is created. Linear collision chains (TLINEAR) are
  // cheaper than Kyoto's trees when buckets are plentiful; no compression (keys
  // are random bytes).
  db_->tune_buckets(tuning_.buckets);
  db_->tune_map(tuning_.map_bytes);
  db_->tune_options(kc::HashDB::TLINEAR);
  if (!reopening) ProbeRecordCount();
  const auto start = std::chrono::steady_clock::now();
  // OTRYLOCK: a second process fails at once instead of waiting for the lock.
  if (!db_->open(path_, kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRYLOCK)) {
    const kc::BasicDB::Error error = db_->error();
    return Status::Unavailable("cannot open " + path_ + ": " + error.message() +
                               " (is another worker using data dir " +
                               std::filesystem::path(path_).parent_path().string() + "?)");
  }
  last_write_ = std::chrono::steady_clock::now();
  if (!reopening) {
    report_.open_seconds = std::chrono::duration<double>(last_write_ - start).count();
    // HashDB::recovered and reorganized are protected; status() reports both.
    std::map<std::string, std::string> status;
    if (db_->status(&status)) {
      report_.wal_applied = status["recovered"] == "1";
      report_.rebuilt = status["reorganized"] == "1";
    }
    report_.records_after = db_->count();
  }
  auto reserve = FileReserve::Open(path_);
  if (!reserve.ok()) return reserve.status();
  reserve_ = std::move(*reserve);
  if (tuning_.read_ahead) {
    read_ahead_ = KcReadAhead::For(*db_, path_, &read_ahead_off_);
  } else {
    read_ahead_off_ = "switched off (--no-read-ahead)";
  }
  prefetch_ = read_ahead_wanted_ && read_ahead_.enabled();
  return Status::Ok();
}

// The record count Kyoto's header holds before the writer's open repairs anything:
// a reader that neither locks (so it applies no WAL) nor repairs, and maps nothing.
// Before the writer's open, so that closing it drops no lock of ours.
void PeriodFile::ProbeRecordCount() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return;
  kc::HashDB probe;
  probe.tune_map(0);
  if (!probe.open(path_, kc::HashDB::OREADER | kc::HashDB::ONOLOCK | kc::HashDB::ONOREPAIR)) return;
  report_.records_before = probe.count();
  probe.close();
}

Status PeriodFile::LoadDirectory() {
  std::string directory;
  if (db_->get(std::string(kDirectoryKey), &directory)) {
    if (directory.size() % 8 != 0) return DbError("corrupt slice directory in");
    for (size_t i = 0; i < directory.size(); i += 8) {
      slices_.push_back(static_cast<int64_t>(GetBe64(directory.data() + i)));
    }
    std::sort(slices_.begin(), slices_.end());
  }
  std::string streams;
  if (db_->get(std::string(kStreamsKey), &streams)) {
    for (size_t at = 0; at + 4 <= streams.size();) {
      uint32_t n = 0;
      for (int i = 3; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(streams[at + i]);
      if (at + 4 + n > streams.size()) return DbError("corrupt stream list in");
      streams_.emplace(streams.substr(at + 4, n));
      at += 4 + n;
    }
  }
  return Status::Ok();
}

Status PeriodFile::LoadSlices(std::map<int64_t, SliceStats>& into) const {
  for (int64_t slice : slices_) {
    const std::optional<SliceStats> stats = ReadCounter(*db_, slice);
    if (!stats) return DbError("missing counter record of slice " + std::to_string(slice) + " in");
    into[slice] = *stats;
  }
  return Status::Ok();
}

Result<uint64_t> PeriodFile::FileMark(std::string_view stream, uint64_t* global) const {
  if (closed_) {
    const auto it = closed_marks_.find(std::string(stream));
    const std::pair<uint64_t, uint64_t> marks =
        it == closed_marks_.end() ? std::pair<uint64_t, uint64_t>{0, 0} : it->second;
    if (global != nullptr) *global = marks.first;
    return marks.second;
  }
  uint64_t marks[2] = {0, 0};
  const char prefixes[2] = {kMarkPrefix, kFileMarkPrefix};
  for (int i = 0; i < 2; ++i) {
    const std::string key = MarkKey(prefixes[i], stream);
    char value[kMarkValueSize];
    const int32_t n = db_->get(key.data(), key.size(), value, sizeof value);
    if (n == static_cast<int32_t>(kMarkValueSize)) {
      marks[i] = GetLe64(value);
    } else if (n >= 0 || db_->error().code() != kc::BasicDB::Error::NOREC) {
      return DbError("cannot read the mark of stream \"" + std::string(stream) + "\" in");
    }
  }
  if (global != nullptr) *global = marks[0];
  return std::max(marks[0], marks[1]);
}

int64_t PeriodFile::ReserveNeed(size_t events) const {
  const auto n = static_cast<int64_t>(events);
  const auto directory = static_cast<int64_t>(8 * (slices_.size() + events));
  return n * kReserveBytesPerEvent + directory + kReserveSlackBytes;
}

// Kyoto reports a failed write (its WAL is written with pwrite) as a system error
// without errno; when the filesystem has less free space than the batch needed, that
// is what it was.
Status PeriodFile::NoSpaceOr(Status s, int64_t need) const {
  if (s.code() != Status::Code::kIoError) return s;
  const int64_t free_bytes = reserve_->FreeBytes();
  if (free_bytes < 0 || free_bytes >= need) return s;
  return Status::ResourceExhausted(s.message() + " (" + std::to_string(free_bytes) +
                                   " bytes free: no space left)");
}

// Reserves the blocks a batch of `events` may write into (FileReserve says why a
// write into the map must never meet a hole); `need` receives the bytes asked for.
Status PeriodFile::Reserve(size_t events, int64_t& need) {
  need = ReserveNeed(events);
  if (Status s = reserve_->Ensure(db_->size() + need, tuning_.reserve_step_bytes); !s.ok()) {
    return s.WithContext(path_);
  }
  return Status::Ok();
}

void PeriodFile::ResetDeltas() {
  deltas_.clear();
  // Assigned, not cleared: clear() would zero the buckets a large batch left behind
  // on every later batch.
  if (!delta_index_.empty()) delta_index_ = {};
  new_slices_.clear();
}

// One Kyoto transaction: either all of the events, their counters and the mark are
// on disk, or none is (that is what makes a retry safe). Before it, the blocks it may
// write into are allocated, or it is refused with ResourceExhausted before anything
// was written.
Status PeriodFile::Commit(std::string_view stream, std::span<const BatchEvent> events,
                          uint64_t acked_seq, bool last_file, const TotalsBefore& before,
                          std::span<const SliceTotal> totals_after) {
  if (closed_) return Status::Internal(path_ + " is closed while idle: Reopen before Commit");
  last_write_ = std::chrono::steady_clock::now();
  int64_t need = 0;
  if (Status s = Reserve(events.size(), need); !s.ok()) return s;
  ResetDeltas();
  if (!db_->begin_transaction(false)) return DbError("cannot begin transaction on");
  // add() fails with DUPREC when the marker exists: a known user.
  Status s = CountMarkers(events, [this](const char(&marker)[kMarkerSize]) -> int {
    if (db_->add(marker, sizeof marker, "", 0)) return 1;
    return db_->error().code() == kc::BasicDB::Error::DUPREC ? 0 : -1;
  });
  if (s.ok()) s = SumTotals(before, totals_after);
  if (s.ok()) s = WriteCounters();
  if (s.ok()) s = WriteMark(stream, acked_seq, last_file);
  if (!s.ok()) {
    db_->end_transaction(false);  // after DbError read the cause
    // The abort cut the file back to its size before the transaction, and with it
    // the blocks reserved past that.
    reserve_->Forget(db_->size());
    return NoSpaceOr(s, need);
  }
  if (!db_->end_transaction(true)) {
    reserve_->Forget(db_->size());
    return NoSpaceOr(DbError("cannot commit transaction on"), need);
  }
  // One merge, not an insert per slice: a batch naming many new slices in
  // descending order would otherwise move the directory once per slice.
  std::sort(new_slices_.begin(), new_slices_.end());
  const auto old_end = static_cast<std::ptrdiff_t>(slices_.size());
  slices_.insert(slices_.end(), new_slices_.begin(), new_slices_.end());
  std::inplace_merge(slices_.begin(), slices_.begin() + old_end, slices_.end());
  streams_.emplace(stream);
  return Status::Ok();
}

Status PeriodFile::Plan(std::span<const BatchEvent> events, const TotalsBefore& before,
                        GroupPlan& plan) {
  if (closed_) return Status::Internal(path_ + " is closed while idle: Reopen before Plan");
  int64_t need = 0;
  if (Status s = Reserve(events.size(), need); !s.ok()) return s;
  ResetDeltas();
  // check() is the lookup add() would make, without the insertion.
  Status s = CountMarkers(events, [this, &plan](const char(&marker)[kMarkerSize]) -> int {
    if (db_->check(marker, sizeof marker) >= 0) return 0;
    if (db_->error().code() != kc::BasicDB::Error::NOREC) return -1;
    return plan.AddMarker(marker) ? 1 : 0;
  });
  if (s.ok()) s = SumTotals(before, {});
  return s;
}

// The prefetch pipeline: every marker's hash is computed first, then, while event
// i is added, the bucket of event i + kBucketAhead and the record of event
// i + kRecordAhead are loaded, so that the cache misses overlap.
void PeriodFile::StartPrefetch(std::span<const BatchEvent> events) {
  if (!prefetch_) return;
  marker_hashes_.resize(events.size());
  char marker[kMarkerSize];
  for (size_t i = 0; i < events.size(); ++i) {
    MarkerKey(events[i], marker);
    marker_hashes_[i] = KcReadAhead::Hash(marker, sizeof marker);
  }
  for (size_t i = 0; i < std::min(events.size(), kBucketAhead); ++i) {
    read_ahead_.PrefetchBucket(marker_hashes_[i]);
  }
}

void PeriodFile::AdvancePrefetch(size_t i) {
  if (!prefetch_) return;
  const size_t count = marker_hashes_.size();
  if (i + kBucketAhead < count) read_ahead_.PrefetchBucket(marker_hashes_[i + kBucketAhead]);
  if (i + kRecordAhead < count) read_ahead_.PrefetchRecord(marker_hashes_[i + kRecordAhead]);
}

// Counts each event into its slice's delta; `is_new_user(marker)` inserts (or looks
// up) the event's marker: 1 for a new (slice, user), 0 for a known one, -1 on error.
template <typename IsNewUser>
Status PeriodFile::CountMarkers(std::span<const BatchEvent> events, IsNewUser is_new_user) {
  StartPrefetch(events);
  for (size_t i = 0; i < events.size(); ++i) {
    AdvancePrefetch(i);
    const BatchEvent& event = events[i];
    SliceStats& delta = DeltaFor(event.slice);
    char marker[kMarkerSize];
    MarkerKey(event, marker);
    const int is_new = is_new_user(marker);
    if (is_new < 0) return DbError("cannot look up or add a user marker in");
    delta.unique_users += static_cast<uint64_t>(is_new);
    ++(event.action == Action::kClick ? delta.clicks : delta.impressions);
  }
  return Status::Ok();
}

// The delta of `slice` in deltas_, appended if new: a scan while the batch has named
// at most kScanSlices slices, then through delta_index_.
SliceStats& PeriodFile::DeltaFor(int64_t slice) {
  if (delta_index_.empty()) {
    for (SliceDelta& d : deltas_) {
      if (d.slice == slice) return d.delta;
    }
    if (deltas_.size() < kScanSlices) return deltas_.push_back({slice, {}}), deltas_.back().delta;
    for (size_t i = 0; i < deltas_.size(); ++i) delta_index_.emplace(deltas_[i].slice, i);
  }
  const auto [it, inserted] = delta_index_.try_emplace(slice, deltas_.size());
  if (inserted) deltas_.push_back({slice, {}});
  return deltas_[it->second].delta;
}

// Turns deltas_ into the touched slices' new totals: the totals before plus the
// delta, or (replay) the logged totals after. Slices the directory lacks are noted
// in new_slices_.
Status PeriodFile::SumTotals(const TotalsBefore& before, std::span<const SliceTotal> totals_after) {
  for (SliceDelta& d : deltas_) {
    if (!std::binary_search(slices_.begin(), slices_.end(), d.slice))
      new_slices_.push_back(d.slice);
    if (!totals_after.empty()) {
      // Sorted by slice (KcStore::WriteGroup logs them so).
      const auto it =
          std::lower_bound(totals_after.begin(), totals_after.end(), d.slice,
                           [](const SliceTotal& t, int64_t slice) { return t.first < slice; });
      if (it == totals_after.end() || it->first != d.slice) {
        return Status::Internal("the logged batch lacks the totals of slice " +
                                std::to_string(d.slice) + " for " + path_);
      }
      d.delta = it->second;
    } else if (const SliceStats* base = before.Find(d.slice)) {
      d.delta += *base;
    }
  }
  return Status::Ok();
}

// Writes the touched slices' counters and appends new slices to the directory.
Status PeriodFile::WriteCounters() {
  for (const SliceDelta& d : deltas_) {
    if (!WriteCounter(*db_, d.slice, d.delta)) return DbError("cannot write slice counter to");
  }
  if (new_slices_.empty()) return Status::Ok();
  std::string appended(8 * new_slices_.size(), '\0');
  for (size_t i = 0; i < new_slices_.size(); ++i) {
    PutBe64(appended.data() + 8 * i, static_cast<uint64_t>(new_slices_[i]));
  }
  if (!db_->append(kDirectoryKey.data(), kDirectoryKey.size(), appended.data(), appended.size())) {
    return DbError("cannot extend slice directory in");
  }
  return Status::Ok();
}

Status PeriodFile::WriteMark(std::string_view stream, uint64_t acked_seq, bool last_file) {
  const std::string key = MarkKey(last_file ? kMarkPrefix : kFileMarkPrefix, stream);
  char value[kMarkValueSize];
  PutLe64(value, acked_seq);
  if (!db_->set(key.data(), key.size(), value, sizeof value)) {
    return DbError("cannot write stream mark to");
  }
  if (streams_.contains(std::string(stream))) return Status::Ok();
  std::string entry(4, '\0');
  char length[8];
  PutLe64(length, stream.size());
  entry.replace(0, 4, length, 4);
  entry.append(stream);
  if (!db_->append(kStreamsKey.data(), kStreamsKey.size(), entry.data(), entry.size())) {
    return DbError("cannot extend the stream list in");
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, uint64_t>>> PeriodFile::StreamMarks() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const std::string& stream : streams_) {
    uint64_t global = 0;
    Result<uint64_t> mark = FileMark(stream, &global);
    if (!mark.ok()) return mark.status();
    out.emplace_back(stream, global);
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> PeriodFile::Scan(char prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<kc::DB::Cursor> cursor(db_->cursor());
  if (!cursor->jump()) {
    if (db_->error().code() == kc::BasicDB::Error::NOREC) return out;
    return DbError("cannot scan");
  }
  std::string key, value;
  while (cursor->get(&key, &value, true)) {
    if (!key.empty() && key[0] == prefix) out.emplace_back(key, value);
  }
  return out;
}

Result<std::string> PeriodFile::Get(std::string_view key) const {
  std::string value;
  if (db_->get(std::string(key), &value)) return value;
  if (db_->error().code() == kc::BasicDB::Error::NOREC) {
    return Status::NotFound(std::string(key) + " not in " + path_);
  }
  return DbError("cannot read");
}

Status PeriodFile::Sync() {
  // Kyoto's close wrote everything but synced nothing: flush it as a hard sync would.
  if (closed_) return SyncFile(path_);
  const bool synced = db_->synchronize(true);
  reserve_->Forget(db_->size());  // Kyoto cut the file to its logical size
  if (!synced) return DbError("cannot synchronize");
  return Status::Ok();
}

Status PeriodFile::CloseIdle() {
  if (closed_) return Status::Ok();
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> marks;
  for (const std::string& stream : streams_) {
    uint64_t global = 0;
    Result<uint64_t> mark = FileMark(stream, &global);
    if (!mark.ok()) return mark.status();
    marks.emplace(stream, std::pair{global, *mark});
  }
  closed_size_ = db_->size();
  closed_count_ = db_->count();
  if (!db_->close()) return DbError("cannot close idle file");
  reserve_.reset();  // after close, as in the destructor
  closed_marks_ = std::move(marks);
  closed_ = true;
  return Status::Ok();
}

Status PeriodFile::Reopen() {
  if (!closed_) return Status::Ok();
  db_ = std::make_unique<kc::HashDB>();
  if (Status s = OpenDb(/*reopening=*/true); !s.ok()) return s;
  closed_ = false;
  closed_marks_.clear();
  return Status::Ok();
}

int64_t PeriodFile::Size() const { return closed_ ? closed_size_ : db_->size(); }
int64_t PeriodFile::Count() const { return closed_ ? closed_count_ : db_->count(); }

}  // namespace rt
