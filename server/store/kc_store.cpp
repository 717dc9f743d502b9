#include "server/store/kc_store.h"

#include <kchashdb.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "server/store/batch_log.h"

namespace rt {
namespace {

namespace kc = kyotocabinet;

// Record keys. One-byte prefixes keep the kinds apart; slices are big-endian so
// a key's bytes read like the number.
constexpr char kMarkerPrefix = 'u';   // u be64(slice) key[16] -> ""
constexpr char kCounterPrefix = 's';  // s be64(slice) -> unique, clicks, impressions (u64 LE)
constexpr char kMarkPrefix = 'm';     // m stream -> u64 LE high-water mark
constexpr std::string_view kKeyIdKey = "k";      // -> key id text
constexpr std::string_view kDirectoryKey = "d";  // -> be64 of every slice held
constexpr size_t kMarkerSize = 1 + 8 + UserKey::kSize;
constexpr size_t kCounterKeySize = 1 + 8;
constexpr size_t kCounterValueSize = 24;

void PutBe64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v);
}
uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
void PutLe64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) out[i] = static_cast<char>(v);
}
uint64_t GetLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

void MarkerKey(const BatchEvent& event, char (&key)[kMarkerSize]) {
  key[0] = kMarkerPrefix;
  PutBe64(key + 1, static_cast<uint64_t>(event.slice));
  std::memcpy(key + 9, event.key.bytes.data(), UserKey::kSize);
}

// How many events ahead the read-ahead loads a marker's bucket, and then (reading
// the bucket) its record: far enough to overlap several misses, near enough that
// the lines are still cached when Kyoto gets there.
constexpr size_t kBucketAhead = 12;
constexpr size_t kRecordAhead = 6;

void CounterKey(int64_t slice, char (&key)[kCounterKeySize]) {
  key[0] = kCounterPrefix;
  PutBe64(key + 1, static_cast<uint64_t>(slice));
}

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

// Per-slice changes of one batch. Batches touch very few slices (the current hour
// and a few late ones), so a linear scan beats a map.
struct SliceDelta {
  int64_t slice;
  SliceStats delta;
};

SliceStats& DeltaFor(std::vector<SliceDelta>& deltas, int64_t slice) {
  for (SliceDelta& d : deltas) {
    if (d.slice == slice) return d.delta;
  }
  return deltas.push_back({slice, {}}), deltas.back().delta;
}

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
  // OTRYLOCK: a second process fails at once instead of waiting for the lock.
  if (!db_->open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRYLOCK)) {
    const kc::BasicDB::Error error = db_->error();
    return Status::Unavailable("cannot open " + path + ": " + error.message() +
                               " (is another worker using data dir " + data_dir_ + "?)");
  }
  read_ahead_ = KcReadAhead::For(*db_, path);
  return Status::Ok();
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
      slices_[slice] = {GetLe64(value), GetLe64(value + 8), GetLe64(value + 16)};
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
  auto batches = (*log)->ReadAll();
  if (!batches.ok()) return batches.status();
  for (size_t i = 0; i < batches->size(); ++i) {
    const BatchRequest& b = (*batches)[i];
    auto outcome = ApplyInternal(b.stream, b.first_seq, b.key_id, b.events);
    if (!outcome.ok()) {
      return outcome.status().WithContext("replaying " + path + " record " + std::to_string(i + 1));
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

Result<uint64_t> KcStore::MarkOf(std::string_view stream) {
  auto it = marks_.find(std::string(stream));
  if (it != marks_.end()) return it->second;
  std::string key(1, kMarkPrefix);
  key.append(stream);
  char value[8];
  int32_t n = db_->get(key.data(), key.size(), value, sizeof value);
  uint64_t mark = 0;
  if (n == 8) {
    mark = GetLe64(value);
  } else if (n >= 0 || db_->error().code() != kc::BasicDB::Error::NOREC) {
    return DbError("cannot read the mark of stream \"" + std::string(stream) + "\" in");
  }
  marks_.emplace(std::string(stream), mark);
  return mark;
}

Result<BatchOutcome> KcStore::ApplyBatch(std::string_view stream, uint64_t first_seq,
                                         std::string_view key_id,
                                         std::span<const BatchEvent> events) {
  if (stream.empty()) return Status::InvalidArgument("empty stream name");
  if (stream == kSingleStream) return Status::InvalidArgument("reserved stream name");
  return ApplyInternal(stream, first_seq, key_id, events);
}

Result<BatchOutcome> KcStore::ApplyInternal(std::string_view stream, uint64_t first_seq,
                                            std::string_view key_id,
                                            std::span<const BatchEvent> events) {
  if (first_seq == 0) return Status::InvalidArgument("seqs start at 1");
  auto mark_or = MarkOf(stream);
  if (!mark_or.ok()) return mark_or.status();
  const uint64_t mark = *mark_or;
  if (first_seq > mark + 1) return Status::Conflict("expected seq " + std::to_string(mark + 1));
  // key_id_ is written only by this (the writer) thread: reading it unlocked is safe.
  const bool store_key_id = !key_id.empty() && key_id_.empty();
  if (!key_id.empty() && !store_key_id && key_id != key_id_) {
    return Status::Conflict("key id mismatch: this worker holds data keyed with key id \"" +
                            key_id_ + "\", the batch uses \"" + std::string(key_id) +
                            "\" (every API node must use the same secret)");
  }

  const uint64_t skip = std::min<uint64_t>(mark - first_seq + 1, events.size());
  const std::span<const BatchEvent> fresh = events.subspan(skip);
  BatchOutcome outcome;
  outcome.duplicates = skip;
  outcome.applied = fresh.size();
  outcome.acked_seq = fresh.empty() ? mark : first_seq + events.size() - 1;

  if (!fresh.empty() || store_key_id) {
    std::vector<SliceDelta> deltas;
    std::vector<int64_t> new_slices;
    if (!db_->begin_transaction(false)) return DbError("cannot begin transaction on");
    auto abort = [&](std::string_view what) {
      Status s = DbError(what);
      db_->end_transaction(false);
      return s;
    };
    const size_t count = fresh.size();
    if (read_ahead_.enabled()) {
      marker_hashes_.resize(count);
      char marker[kMarkerSize];
      for (size_t i = 0; i < count; ++i) {
        MarkerKey(fresh[i], marker);
        marker_hashes_[i] = KcReadAhead::Hash(marker, sizeof marker);
      }
      for (size_t i = 0; i < std::min(count, kBucketAhead); ++i) {
        read_ahead_.PrefetchBucket(marker_hashes_[i]);
      }
    }
    for (size_t i = 0; i < count; ++i) {
      if (read_ahead_.enabled()) {
        if (i + kBucketAhead < count) read_ahead_.PrefetchBucket(marker_hashes_[i + kBucketAhead]);
        if (i + kRecordAhead < count) read_ahead_.PrefetchRecord(marker_hashes_[i + kRecordAhead]);
      }
      const BatchEvent& event = fresh[i];
      SliceStats& delta = DeltaFor(deltas, event.slice);
      char marker[kMarkerSize];
      MarkerKey(event, marker);
      // add() fails with DUPREC when the marker exists: a known user.
      if (db_->add(marker, sizeof marker, "", 0)) {
        ++delta.unique_users;
      } else if (db_->error().code() != kc::BasicDB::Error::DUPREC) {
        return abort("cannot add user marker to");
      }
      ++(event.action == Action::kClick ? delta.clicks : delta.impressions);
    }
    for (SliceDelta& d : deltas) {
      auto it = slices_.find(d.slice);
      if (it == slices_.end()) {
        new_slices.push_back(d.slice);
      } else {
        d.delta += it->second;  // now the slice's new totals
      }
      char key[kCounterKeySize];
      CounterKey(d.slice, key);
      char value[kCounterValueSize];
      PutLe64(value, d.delta.unique_users);
      PutLe64(value + 8, d.delta.clicks);
      PutLe64(value + 16, d.delta.impressions);
      if (!db_->set(key, sizeof key, value, sizeof value)) {
        return abort("cannot write slice counter to");
      }
    }
    if (!new_slices.empty()) {
      std::string appended(8 * new_slices.size(), '\0');
      for (size_t i = 0; i < new_slices.size(); ++i) {
        PutBe64(appended.data() + 8 * i, static_cast<uint64_t>(new_slices[i]));
      }
      if (!db_->append(kDirectoryKey.data(), kDirectoryKey.size(), appended.data(),
                       appended.size())) {
        return abort("cannot extend slice directory in");
      }
    }
    std::string mark_key(1, kMarkPrefix);
    mark_key.append(stream);
    char mark_value[8];
    PutLe64(mark_value, outcome.acked_seq);
    if (!db_->set(mark_key.data(), mark_key.size(), mark_value, sizeof mark_value)) {
      return abort("cannot write stream mark to");
    }
    if (store_key_id &&
        !db_->set(kKeyIdKey.data(), kKeyIdKey.size(), key_id.data(), key_id.size())) {
      return abort("cannot write key id to");
    }
    if (!db_->end_transaction(true)) return DbError("cannot commit transaction on");

    {
      std::unique_lock lock(mu_);
      for (const SliceDelta& d : deltas) slices_[d.slice] = d.delta;
      if (store_key_id) key_id_ = key_id;
    }
    marks_[std::string(stream)] = outcome.acked_seq;
    size_bytes_.store(static_cast<uint64_t>(db_->size()), std::memory_order_relaxed);
  }

  // Readers only: slices_ is mutated on this thread alone.
  for (const BatchEvent& event : events) {
    auto it = std::lower_bound(
        outcome.touched.begin(), outcome.touched.end(), event.slice,
        [](const std::pair<int64_t, SliceStats>& p, int64_t s) { return p.first < s; });
    if (it != outcome.touched.end() && it->first == event.slice) continue;
    auto found = slices_.find(event.slice);
    outcome.touched.insert(it,
                           {event.slice, found == slices_.end() ? SliceStats{} : found->second});
  }
  return outcome;
}

Result<SliceStats> KcStore::ApplySingle(int64_t slice, const UserKey& key, Action action,
                                        uint64_t* seq) {
  auto mark = MarkOf(kSingleStream);
  if (!mark.ok()) return mark.status();
  const BatchEvent event{slice, key, action};
  auto outcome = ApplyInternal(kSingleStream, *mark + 1, "", std::span(&event, 1));
  if (!outcome.ok()) return outcome.status();
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
  if (!db_->synchronize(true)) return DbError("cannot synchronize");
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

std::string KcStore::StoredKeyId() const {
  std::shared_lock lock(mu_);
  return key_id_;
}

}  // namespace rt
