#include "server/store/kc_store.h"

#include <kchashdb.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>

#include "server/store/batch_log.h"
#include "server/store/file_reserve.h"
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

// Kyoto's file lock is an fcntl lock, which a second open in the same process
// would silently share; this registry makes that case fail too.
std::mutex open_dirs_mu;
std::set<std::string> open_dirs;

bool ClaimDir(const std::string& dir) {
  std::lock_guard lock(open_dirs_mu);
  return open_dirs.insert(dir).second;
}
void ReleaseDir(const std::string& dir) {
  std::lock_guard lock(open_dirs_mu);
  open_dirs.erase(dir);
}

// Up to this many distinct slices a batch's per-slice bookkeeping is a linear scan of
// a small vector; beyond it a hash index takes over. Real batches touch the current
// hour and a few late ones, where the scan beats any map; with the scan alone a
// forged batch of 200,000 distinct slices took 33 CPU seconds (quadratic; 600,000
// took minutes).
constexpr size_t kScanSlices = 16;

// What a batch can add to the file, for the space reserved before it (FileReserve):
// a marker record is ~40 bytes (25-byte key, header, 8-byte alignment); 128 leaves
// room for counter records that move and free-block fragments. Plus the slice
// directory, which may be rewritten whole when it grows, and a fixed slack for
// Kyoto's header and free-block pool.
constexpr int64_t kReserveBytesPerEvent = 128;
constexpr int64_t kReserveSlackBytes = 1 << 20;

}  // namespace

Result<std::unique_ptr<KcStore>> KcStore::Open(const std::string& data_dir,
                                               const KcStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IoError("cannot create data dir " + data_dir + ": " + ec.message());
  std::string canonical = std::filesystem::canonical(data_dir, ec).string();
  if (ec) return Status::IoError("cannot resolve data dir " + data_dir + ": " + ec.message());
  if (!ClaimDir(canonical)) {
    return Status::Unavailable("data dir " + data_dir + " is already open in this process");
  }
  std::unique_ptr<KcStore> store(new KcStore(canonical, options));
  if (Status s = store->OpenDb(); !s.ok()) {
    store.reset();  // releases the claim
    return s;
  }
  if (Status s = store->LoadState(); !s.ok()) return s;
  if (Status s = store->ReplayLog(); !s.ok()) return s;
  return store;
}

KcStore::KcStore(std::string data_dir, const KcStoreOptions& options)
    : data_dir_(std::move(data_dir)), options_(options), db_(std::make_unique<kc::HashDB>()) {}

KcStore::~KcStore() {
  log_.reset();
  if (db_->flags() & kc::HashDB::FOPEN) db_->close();
  reserve_.reset();  // after close: its descriptor's close drops the file's fcntl locks
  ReleaseDir(data_dir_);
}

Status KcStore::DbError(std::string_view what) const {
  const kc::BasicDB::Error error = db_->error();
  return Status::IoError(std::string(what) + " " + data_dir_ + "/rt.kch: " + error.name() + ": " +
                         error.message());
}

Status KcStore::OpenDb() {
  // Applied only when the file is created. Linear collision chains (TLINEAR) are
  // cheaper than Kyoto's trees when buckets are plentiful; no compression (keys
  // are random bytes).
  db_->tune_buckets(options_.buckets);
  db_->tune_map(options_.map_bytes);
  db_->tune_options(kc::HashDB::TLINEAR);
  const std::string path = data_dir_ + "/rt.kch";
  ProbeRecordCount(path);
  const auto start = std::chrono::steady_clock::now();
  // OTRYLOCK: a second process fails at once instead of waiting for the lock.
  if (!db_->open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRYLOCK)) {
    const kc::BasicDB::Error error = db_->error();
    return Status::Unavailable("cannot open " + path + ": " + error.message() +
                               " (is another worker using data dir " + data_dir_ + "?)");
  }
  start_report_.open_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // HashDB::recovered and reorganized are protected; status() reports both.
  std::map<std::string, std::string> status;
  if (db_->status(&status)) {
    start_report_.wal_applied = status["recovered"] == "1";
    start_report_.rebuilt = status["reorganized"] == "1";
  }
  start_report_.records_after = db_->count();
  auto reserve = FileReserve::Open(path);
  if (!reserve.ok()) return reserve.status();
  reserve_ = std::move(*reserve);
  read_ahead_ = KcReadAhead::For(*db_, path);
  return Status::Ok();
}

// The record count Kyoto's header holds before the writer's open repairs anything:
// a reader that neither locks (so it applies no WAL) nor repairs, and maps nothing.
// Before the writer's open, so that closing it drops no lock of ours.
void KcStore::ProbeRecordCount(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  kc::HashDB probe;
  probe.tune_map(0);
  if (!probe.open(path, kc::HashDB::OREADER | kc::HashDB::ONOLOCK | kc::HashDB::ONOREPAIR)) return;
  start_report_.records_before = probe.count();
  probe.close();
}

Status KcStore::LoadState() {
  std::string directory;
  if (db_->get(std::string(kDirectoryKey), &directory)) {
    if (directory.size() % 8 != 0) return DbError("corrupt slice directory in");
    for (size_t i = 0; i < directory.size(); i += 8) {
      auto slice = static_cast<int64_t>(GetBe64(directory.data() + i));
      char key[kCounterKeySize];
      CounterKey(slice, key);
      char value[kCounterValueSize];
      if (db_->get(key, sizeof key, value, sizeof value) != static_cast<int32_t>(sizeof value)) {
        return DbError("missing counter record of slice " + std::to_string(slice) + " in");
      }
      slices_[slice] = ParseCounterValue(value);
    }
  }
  std::string key_id;
  if (db_->get(std::string(kKeyIdKey), &key_id)) key_id_ = key_id;
  size_bytes_.store(static_cast<uint64_t>(db_->size()), std::memory_order_relaxed);
  return Status::Ok();
}

Status KcStore::ReplayLog() {
  const std::string path = data_dir_ + "/batches.log";
  if (!options_.fsync && !std::filesystem::exists(path)) return Status::Ok();
  auto log = BatchLog::Open(path);
  if (!log.ok()) return log.status();
  auto contents = (*log)->ReadAll();
  if (!contents.ok()) return contents.status();
  const std::vector<BatchRequest>* batches = &contents->batches;
  start_report_.log_torn_tail_bytes = contents->torn_tail_bytes;
  start_report_.log_batches_replayed = batches->size();
  for (size_t i = 0; i < batches->size(); ++i) {
    const BatchRequest& b = (*batches)[i];
    auto outcome = ApplyInternal(b.stream, b.first_seq, b.key_id, b.events);
    if (!outcome.ok()) {
      return outcome.status().WithContext("replaying " + path + " record " + std::to_string(i + 1));
    }
    // Only applied batches are logged, in order: a refusal means the log and the
    // database disagree.
    if (outcome->refused()) {
      return Status::Internal("replaying " + path + " record " + std::to_string(i + 1) +
                              ": refused (" +
                              (outcome->verdict == BatchVerdict::kGap ? "gap" : "key mismatch") +
                              ") although it was applied before");
    }
  }
  // In fsync mode Kyoto may also hold batches a killed process applied but never
  // logged (nor acknowledged); a retry of them is a duplicate that is acknowledged
  // without being logged, so they must be made durable here.
  if (!batches->empty() || options_.fsync) {
    if (Status s = Sync(); !s.ok()) return s;
  }
  if (Status s = (*log)->Truncate(); !s.ok()) return s;
  if (options_.fsync) log_ = std::move(*log);
  return Status::Ok();
}

// A stream found on disk is cached (it was applied before); an unknown one is not:
// the cache must only grow with streams that were applied (Publish adds those), or
// refused batches with made-up stream ids would grow it without bound.
Result<uint64_t> KcStore::MarkOf(std::string_view stream) {
  auto it = marks_.find(std::string(stream));
  if (it != marks_.end()) return it->second;
  std::string key(1, kMarkPrefix);
  key.append(stream);
  char value[8];
  int32_t n = db_->get(key.data(), key.size(), value, sizeof value);
  if (n == 8) {
    const uint64_t mark = GetLe64(value);
    marks_.emplace(std::string(stream), mark);
    return mark;
  }
  if (n >= 0 || db_->error().code() != kc::BasicDB::Error::NOREC) {
    return DbError("cannot read the mark of stream \"" + std::string(stream) + "\" in");
  }
  return uint64_t{0};
}

Result<uint64_t> KcStore::StoredMark(std::string_view stream) const {
  std::string key(1, kMarkPrefix);
  key.append(stream);
  char value[8];
  const int32_t n = db_->get(key.data(), key.size(), value, sizeof value);
  if (n == 8) return GetLe64(value);
  if (n >= 0 || db_->error().code() != kc::BasicDB::Error::NOREC) {
    return DbError("cannot read the mark of stream \"" + std::string(stream) + "\" in");
  }
  return uint64_t{0};
}

Result<BatchOutcome> KcStore::ApplyBatch(std::string_view stream, uint64_t first_seq,
                                         std::string_view key_id,
                                         std::span<const BatchEvent> events) {
  if (stream.empty()) return Status::InvalidArgument("empty stream name");
  if (stream == kSingleStream) return Status::InvalidArgument("reserved stream name");
  return ApplyInternal(stream, first_seq, key_id, events);
}

// The steps of applying a batch: check it against the stream's mark and the key id
// (CheckBatch), write the fresh events, counters, directory, mark and key id in one
// transaction (CommitBatch), publish the new state to readers (Publish), and report
// the touched slices (ReportTouched).
Result<BatchOutcome> KcStore::ApplyInternal(std::string_view stream, uint64_t first_seq,
                                            std::string_view key_id,
                                            std::span<const BatchEvent> events) {
  Result<BatchOutcome> outcome = CheckBatch(stream, first_seq, key_id, events.size());
  if (!outcome.ok() || outcome->refused()) return outcome;
  // key_id_ is written only by this (the writer) thread: reading it unlocked is safe.
  const std::string_view new_key_id = !key_id.empty() && key_id_.empty() ? key_id : "";
  const std::span<const BatchEvent> fresh = events.subspan(outcome->duplicates);
  if (!fresh.empty() || !new_key_id.empty()) {
    if (Status s = ReserveFor(fresh.size()); !s.ok()) return s;
    if (Status s = CommitBatch(stream, fresh, outcome->acked_seq, new_key_id); !s.ok()) return s;
    Publish(stream, outcome->acked_seq, new_key_id);
  }
  ReportTouched(events, outcome->touched);
  return outcome;
}

Result<BatchOutcome> KcStore::CheckBatch(std::string_view stream, uint64_t first_seq,
                                         std::string_view key_id, size_t count) {
  if (first_seq == 0) return Status::InvalidArgument("seqs start at 1");
  Result<uint64_t> mark = MarkOf(stream);
  if (!mark.ok()) return mark.status();
  BatchOutcome outcome;
  if (first_seq > *mark + 1) {
    outcome.verdict = BatchVerdict::kGap;
    outcome.acked_seq = *mark;
    outcome.expected_seq = *mark + 1;
    return outcome;
  }
  if (!key_id.empty() && !key_id_.empty() && key_id != key_id_) {
    outcome.verdict = BatchVerdict::kKeyMismatch;
    outcome.acked_seq = *mark;
    outcome.stored_key_id = key_id_;
    outcome.offered_key_id = key_id;
    return outcome;
  }
  outcome.duplicates = std::min<uint64_t>(*mark - first_seq + 1, count);
  outcome.applied = count - outcome.duplicates;
  outcome.acked_seq = outcome.applied == 0 ? *mark : first_seq + count - 1;
  return outcome;
}

// One Kyoto transaction: either all of the batch, its counters and its mark are
// on disk, or none is (that is what makes a retry safe).
Status KcStore::CommitBatch(std::string_view stream, std::span<const BatchEvent> fresh,
                            uint64_t acked_seq, std::string_view new_key_id) {
  deltas_.clear();
  // Assigned, not cleared: clear() would zero the buckets a large batch left behind
  // on every later batch.
  if (!delta_index_.empty()) delta_index_ = {};
  new_slices_.clear();
  if (!db_->begin_transaction(false)) return DbError("cannot begin transaction on");
  Status s = AddMarkers(fresh);
  if (s.ok()) s = WriteCounters();
  if (s.ok()) s = WriteMark(stream, acked_seq);
  if (s.ok() && !new_key_id.empty() &&
      !db_->set(kKeyIdKey.data(), kKeyIdKey.size(), new_key_id.data(), new_key_id.size())) {
    s = DbError("cannot write key id to");
  }
  if (!s.ok()) {
    db_->end_transaction(false);  // after DbError read the cause
    // The abort cut the file back to its size before the transaction, and with it
    // the blocks reserved past that.
    reserve_->Forget(db_->size());
    return NoSpaceOr(s, ReserveNeed(fresh.size()));
  }
  if (!db_->end_transaction(true)) {
    reserve_->Forget(db_->size());
    return NoSpaceOr(DbError("cannot commit transaction on"), ReserveNeed(fresh.size()));
  }
  return Status::Ok();
}

int64_t KcStore::ReserveNeed(size_t fresh_events) const {
  const auto events = static_cast<int64_t>(fresh_events);
  const auto directory = static_cast<int64_t>(8 * (slices_.size() + fresh_events));
  return events * kReserveBytesPerEvent + directory + kReserveSlackBytes;
}

// Before a batch's transaction: the blocks it may write into are allocated, or the
// batch is refused with ResourceExhausted before anything was written (FileReserve
// says why a write into the map must never meet an unallocated block).
Status KcStore::ReserveFor(size_t fresh_events) {
  Status s = reserve_->Ensure(db_->size() + ReserveNeed(fresh_events), options_.reserve_step_bytes);
  return s.WithContext("data dir " + data_dir_);
}

// Kyoto reports a failed write (its WAL is written with pwrite) as a system error
// without errno; when the filesystem has less free space than the batch needed, that
// is what it was.
Status KcStore::NoSpaceOr(Status s, int64_t need) const {
  if (s.code() != Status::Code::kIoError) return s;
  const int64_t free_bytes = reserve_->FreeBytes();
  if (free_bytes < 0 || free_bytes >= need) return s;
  return Status::ResourceExhausted(s.message() + " (" + std::to_string(free_bytes) +
                                   " bytes free: no space left)");
}

// The prefetch pipeline: every marker's hash is computed first, then, while event
// i is added, the bucket of event i + kBucketAhead and the record of event
// i + kRecordAhead are loaded, so that the cache misses overlap.
void KcStore::StartPrefetch(std::span<const BatchEvent> fresh) {
  if (!read_ahead_.enabled()) return;
  marker_hashes_.resize(fresh.size());
  char marker[kMarkerSize];
  for (size_t i = 0; i < fresh.size(); ++i) {
    MarkerKey(fresh[i], marker);
    marker_hashes_[i] = KcReadAhead::Hash(marker, sizeof marker);
  }
  for (size_t i = 0; i < std::min(fresh.size(), kBucketAhead); ++i) {
    read_ahead_.PrefetchBucket(marker_hashes_[i]);
  }
}

void KcStore::AdvancePrefetch(size_t i) {
  if (!read_ahead_.enabled()) return;
  const size_t count = marker_hashes_.size();
  if (i + kBucketAhead < count) read_ahead_.PrefetchBucket(marker_hashes_[i + kBucketAhead]);
  if (i + kRecordAhead < count) read_ahead_.PrefetchRecord(marker_hashes_[i + kRecordAhead]);
}

// Adds a marker per fresh event and sums the batch's per-slice deltas: the first
// insertion of a (slice, user) marker is a new unique user.
Status KcStore::AddMarkers(std::span<const BatchEvent> fresh) {
  StartPrefetch(fresh);
  for (size_t i = 0; i < fresh.size(); ++i) {
    AdvancePrefetch(i);
    const BatchEvent& event = fresh[i];
    SliceStats& delta = DeltaFor(event.slice);
    char marker[kMarkerSize];
    MarkerKey(event, marker);
    // add() fails with DUPREC when the marker exists: a known user.
    if (db_->add(marker, sizeof marker, "", 0)) {
      ++delta.unique_users;
    } else if (db_->error().code() != kc::BasicDB::Error::DUPREC) {
      return DbError("cannot add user marker to");
    }
    ++(event.action == Action::kClick ? delta.clicks : delta.impressions);
  }
  return Status::Ok();
}

// The delta of `slice` in deltas_, appended if new: a scan while the batch has named
// at most kScanSlices slices, then through delta_index_.
SliceStats& KcStore::DeltaFor(int64_t slice) {
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

// Turns deltas_ into the touched slices' new totals and writes their counters;
// slices seen for the first time are appended to the directory.
Status KcStore::WriteCounters() {
  for (SliceDelta& d : deltas_) {
    const auto it = slices_.find(d.slice);  // this thread is the only writer of slices_
    if (it == slices_.end()) {
      new_slices_.push_back(d.slice);
    } else {
      d.delta += it->second;
    }
    char key[kCounterKeySize];
    CounterKey(d.slice, key);
    char value[kCounterValueSize];
    CounterValue(d.delta, value);
    if (!db_->set(key, sizeof key, value, sizeof value)) {
      return DbError("cannot write slice counter to");
    }
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

Status KcStore::WriteMark(std::string_view stream, uint64_t acked_seq) {
  std::string key(1, kMarkPrefix);
  key.append(stream);
  char value[kMarkValueSize];
  PutLe64(value, acked_seq);
  if (!db_->set(key.data(), key.size(), value, sizeof value)) {
    return DbError("cannot write stream mark to");
  }
  return Status::Ok();
}

// After the commit: readers see the new totals, the mark cache follows the disk.
void KcStore::Publish(std::string_view stream, uint64_t acked_seq, std::string_view new_key_id) {
  {
    std::unique_lock lock(mu_);
    for (const SliceDelta& d : deltas_) slices_[d.slice] = d.delta;
    if (!new_key_id.empty()) key_id_ = new_key_id;
  }
  marks_[std::string(stream)] = acked_seq;
  size_bytes_.store(static_cast<uint64_t>(db_->size()), std::memory_order_relaxed);
}

// The stats of every slice `events` names (duplicates included), ascending: the
// API node refreshes its cache from them.
void KcStore::ReportTouched(std::span<const BatchEvent> events,
                            std::vector<std::pair<int64_t, SliceStats>>& touched) const {
  // Unlocked: slices_ is mutated on this (the writer) thread alone.
  const auto stats_of = [this](int64_t slice) {
    const auto found = slices_.find(slice);
    return found == slices_.end() ? SliceStats{} : found->second;
  };
  for (size_t i = 0; i < events.size(); ++i) {
    const int64_t slice = events[i].slice;
    auto it = std::lower_bound(
        touched.begin(), touched.end(), slice,
        [](const std::pair<int64_t, SliceStats>& p, int64_t s) { return p.first < s; });
    if (it != touched.end() && it->first == slice) continue;
    if (touched.size() == kScanSlices) {
      // Many slices: sorting them all once stays O(n log n) where inserting each
      // into the sorted vector would be quadratic.
      std::vector<int64_t> slices;
      slices.reserve(touched.size() + events.size() - i);
      for (const auto& [s, stats] : touched) slices.push_back(s);
      for (size_t j = i; j < events.size(); ++j) slices.push_back(events[j].slice);
      std::sort(slices.begin(), slices.end());
      slices.erase(std::unique(slices.begin(), slices.end()), slices.end());
      touched.clear();
      touched.reserve(slices.size());
      for (int64_t s : slices) touched.emplace_back(s, stats_of(s));
      return;
    }
    touched.insert(it, {slice, stats_of(slice)});
  }
}

Result<SliceStats> KcStore::ApplySingle(int64_t slice, const UserKey& key, Action action,
                                        uint64_t* seq) {
  auto mark = MarkOf(kSingleStream);
  if (!mark.ok()) return mark.status();
  const BatchEvent event{slice, key, action};
  auto outcome = ApplyInternal(kSingleStream, *mark + 1, "", std::span(&event, 1));
  if (!outcome.ok()) return outcome.status();
  // Cannot happen: the seq continues the mark and no key id is checked.
  if (outcome->refused()) return Status::Internal("single event refused by its own stream");
  if (seq != nullptr) *seq = *mark + 1;
  return outcome->touched.front().second;
}

Status KcStore::SyncLog(std::span<const BatchRequest* const> batches) {
  if (log_ == nullptr || batches.empty()) return Status::Ok();
  for (const BatchRequest* batch : batches) log_->Append(*batch);
  if (Status s = log_->Flush(); !s.ok()) return s;
  if (log_->SizeBytes() >= options_.log_checkpoint_bytes) {
    // Everything in the log is in Kyoto; once Kyoto is on disk the log is redundant.
    if (Status s = Sync(); !s.ok()) return s;
    if (Status s = log_->Truncate(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status KcStore::Sync() {
  const bool synced = db_->synchronize(true);
  reserve_->Forget(db_->size());  // Kyoto cut the file to its logical size
  if (!synced) return DbError("cannot synchronize");
  return Status::Ok();
}

SliceStats KcStore::StatsFor(int64_t slice) const {
  std::shared_lock lock(mu_);
  auto it = slices_.find(slice);
  return it == slices_.end() ? SliceStats{} : it->second;
}

std::vector<std::pair<int64_t, SliceStats>> KcStore::AllSlices() const {
  std::shared_lock lock(mu_);
  return {slices_.begin(), slices_.end()};
}

size_t KcStore::SliceCount() const {
  std::shared_lock lock(mu_);
  return slices_.size();
}

Status KcStore::AdoptKeyId(std::string_view key_id) {
  if (key_id.empty()) return Status::InvalidArgument("empty key id");
  {
    std::shared_lock lock(mu_);
    if (key_id_ == key_id) return Status::Ok();
    if (!key_id_.empty()) {
      return Status::Conflict("data dir " + data_dir_ + " holds data written under key id " +
                              key_id_ + ", this worker's key has key id " + std::string(key_id) +
                              ": the data was written under another cluster secret (or by an rt "
                              "that did not sign worker requests yet)");
    }
  }
  if (Status s = ReserveFor(0); !s.ok()) return s;
  if (!db_->set(kKeyIdKey.data(), kKeyIdKey.size(), key_id.data(), key_id.size())) {
    return DbError("cannot write key id to");
  }
  const bool flushed = db_->synchronize(false);
  reserve_->Forget(db_->size());  // Kyoto cut the file to its logical size
  if (!flushed) return DbError("cannot flush");
  std::unique_lock lock(mu_);
  key_id_ = key_id;
  return Status::Ok();
}

std::string KcStore::StoredKeyId() const {
  std::shared_lock lock(mu_);
  return key_id_;
}

}  // namespace rt
