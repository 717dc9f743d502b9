#include "server/store/kc_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <set>

#include "server/store/batch_log.h"
#include "server/store/kc_records.h"

namespace rt {
namespace {

using namespace kc_records;  // NOLINT(google-build-using-namespace): this file is their user

// Up to this many distinct slices ReportTouched inserts into a sorted vector; past
// it, it sorts once (a forged batch of 200,000 distinct slices took 33 CPU s with
// the insertion alone).
constexpr size_t kScanSlices = 16;

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

// Each open Kyoto file costs descriptors, a map and thread-specific keys (of which a
// process has 1024); with sealing some 10 are open. A forged batch naming slices
// far apart must not open thousands.
constexpr size_t kMaxOpenPeriods = 256;

constexpr std::string_view kLegacyFile = "rt.kch";
constexpr std::string_view kSummaryFile = "summary.kch";

// Floor division: slice -1 is in period -1, not 0.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

void AddReport(StoreStartReport& total, const StoreStartReport& file) {
  if (!file.repaired()) return;
  total.wal_applied |= file.wal_applied;
  total.rebuilt |= file.rebuilt;
  if (file.records_before >= 0) {
    total.records_before = std::max<int64_t>(total.records_before, 0) + file.records_before;
  }
  total.records_after += file.records_after;
  total.open_seconds += file.open_seconds;
  ++total.files_repaired;
}

PeriodFile::Tuning TuningFor(const KcStoreOptions& options, int64_t buckets) {
  PeriodFile::Tuning tuning;
  tuning.buckets = buckets;
  tuning.map_bytes = options.map_bytes;
  tuning.reserve_step_bytes = options.reserve_step_bytes;
  tuning.read_ahead = options.read_ahead;
  return tuning;
}

}  // namespace

Result<std::unique_ptr<KcStore>> KcStore::Open(const std::string& data_dir,
                                               const KcStoreOptions& options) {
  if (options.period_slices <= 0) return Status::InvalidArgument("period_slices must be > 0");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IoError("cannot create data dir " + data_dir + ": " + ec.message());
  std::string canonical = std::filesystem::canonical(data_dir, ec).string();
  if (ec) return Status::IoError("cannot resolve data dir " + data_dir + ": " + ec.message());
  if (!ClaimDir(canonical)) {
    return Status::Unavailable("data dir " + data_dir + " is already open in this process");
  }
  std::unique_ptr<KcStore> store(new KcStore(canonical, options));
  if (Status s = store->OpenSummary(); !s.ok()) return s;
  if (Status s = store->OpenFiles(); !s.ok()) return s;
  if (Status s = store->LoadState(); !s.ok()) return s;
  if (Status s = store->LoadPublishedMarks(); !s.ok()) return s;
  if (Status s = store->ReplayLog(); !s.ok()) return s;
  if (Status s = store->Maintain(); !s.ok()) return s;
  return store;
}

KcStore::KcStore(std::string data_dir, const KcStoreOptions& options)
    : data_dir_(std::move(data_dir)), options_(options), read_ahead_(options.read_ahead) {}

KcStore::~KcStore() {
  log_.reset();
  files_.clear();
  legacy_.reset();
  summary_.reset();
  ReleaseDir(data_dir_);
}

int64_t KcStore::PeriodOf(int64_t slice) const { return FloorDiv(slice, period_slices_); }

std::string KcStore::PeriodPath(int64_t period) const {
  return data_dir_ + "/p" + std::to_string(period) + ".kch";
}

// The summary store, created with a header on first use. A data dir of an earlier
// version (rt.kch alone) is migrated here: its stream marks and key id are copied
// into the summary store in the same transaction that writes the header, and rt.kch
// stays as the legacy period of the slices it holds.
Status KcStore::OpenSummary() {
  auto summary = SummaryStore::Open(data_dir_ + "/" + std::string(kSummaryFile));
  if (!summary.ok()) return summary.status();
  summary_ = std::move(*summary);
  const std::string legacy_path = data_dir_ + "/" + std::string(kLegacyFile);
  std::error_code ec;
  const bool legacy_exists = std::filesystem::exists(legacy_path, ec);
  SummaryStore::Header header = summary_->header();
  if (header.period_slices == 0) {  // new, or a migration that did not commit
    header.period_slices = options_.period_slices;
    std::vector<std::pair<std::string, uint64_t>> marks;
    if (legacy_exists) {
      auto legacy = PeriodFile::Open(legacy_path, TuningFor(options_, options_.buckets));
      if (!legacy.ok()) return legacy.status();
      legacy_ = std::move(*legacy);
      auto records = legacy_->Scan(kMarkPrefix);
      if (!records.ok()) return records.status();
      for (const auto& [key, value] : *records) {
        if (value.size() == kMarkValueSize)
          marks.emplace_back(key.substr(1), GetLe64(value.data()));
      }
      if (auto key_id = legacy_->Get(kKeyIdKey); key_id.ok()) header.key_id = *key_id;
      header.legacy = true;
    }
    if (Status s = summary_->Init(header, marks); !s.ok()) return s;
  } else if (header.legacy) {
    auto legacy = PeriodFile::Open(legacy_path, TuningFor(options_, options_.buckets));
    if (!legacy.ok()) return legacy.status();
    legacy_ = std::move(*legacy);
  } else if (legacy_exists) {
    std::filesystem::remove(legacy_path, ec);  // sealed; the process died before deleting it
  }
  if (legacy_ != nullptr) {
    AddReport(start_report_, legacy_->report());
    legacy_slices_.insert(legacy_->slices().begin(), legacy_->slices().end());
  }
  period_slices_ = summary_->header().period_slices;
  retained_from_ = summary_->header().retained_from;
  sealed_before_.store(summary_->header().sealed_before, std::memory_order_relaxed);
  return Status::Ok();
}

// Opens every period file not yet sealed, and deletes those a sealing committed
// but did not get to delete. Only these files are repaired after a crash: the open
// periods, whose number the seal horizon bounds, not the history.
Status KcStore::OpenFiles() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name[0] != 'p' || !name.ends_with(".kch")) continue;
    char* end = nullptr;
    const long long period = std::strtoll(name.c_str() + 1, &end, 10);
    if (end != name.c_str() + name.size() - 4) continue;
    if ((period + 1) * period_slices_ <= sealed_before_.load()) {
      std::filesystem::remove(entry.path(), ec);
      continue;
    }
    auto file = PeriodFile::Open(entry.path().string(), TuningFor(options_, options_.buckets));
    if (!file.ok()) return file.status();
    AddReport(start_report_, (*file)->report());
    files_.emplace(period, std::move(*file));
  }
  if (ec) return Status::IoError("cannot list data dir " + data_dir_ + ": " + ec.message());
  return Status::Ok();
}

Status KcStore::LoadState() {
  if (Status s = summary_->LoadSlices(slices_); !s.ok()) return s;
  if (legacy_ != nullptr) {
    if (Status s = legacy_->LoadSlices(slices_); !s.ok()) return s;
  }
  for (const auto& [period, file] : files_) {
    if (Status s = file->LoadSlices(slices_); !s.ok()) return s;
  }
  key_id_ = summary_->header().key_id;
  const auto note_read_ahead = [this](const PeriodFile& file) {
    if (options_.read_ahead && !file.read_ahead() && start_report_.read_ahead_off.empty()) {
      start_report_.read_ahead_off = file.read_ahead_off();
    }
  };
  if (legacy_ != nullptr) note_read_ahead(*legacy_);
  for (const auto& [period, file] : files_) note_read_ahead(*file);
  UpdateSizes();
  return Status::Ok();
}

// Every stream's mark: the largest over the summary and the open files (as ReadMark).
Status KcStore::LoadPublishedMarks() {
  auto summary = summary_->Marks();
  if (!summary.ok()) return summary.status();
  for (const auto& [stream, mark] : *summary) PublishMark(stream, mark);
  const auto take = [this](const PeriodFile& file) -> Status {
    auto marks = file.StreamMarks();
    if (!marks.ok()) return marks.status();
    for (const auto& [stream, mark] : *marks) PublishMark(stream, mark);
    return Status::Ok();
  };
  if (legacy_ != nullptr) {
    if (Status s = take(*legacy_); !s.ok()) return s;
  }
  for (const auto& [period, file] : files_) {
    if (Status s = take(*file); !s.ok()) return s;
  }
  return Status::Ok();
}

void KcStore::PublishMark(std::string_view stream, uint64_t mark) {
  if (mark == 0) return;
  std::lock_guard lock(published_mu_);
  const auto it = published_marks_.find(stream);
  if (it == published_marks_.end()) {
    published_marks_.emplace(std::string(stream), mark);
  } else if (mark > it->second) {
    it->second = mark;
  }
}

std::vector<std::pair<std::string, uint64_t>> KcStore::PublishedMarks(
    std::string_view suffix) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::lock_guard lock(published_mu_);
  for (const auto& [stream, mark] : published_marks_) {
    if (stream.ends_with(suffix)) out.emplace_back(stream, mark);
  }
  return out;
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
  // No sealing while replaying: the clock may have moved past slices the log
  // still holds events of (Open seals afterwards).
  for (size_t i = 0; i < batches->size(); ++i) {
    const BatchRequest& b = (*batches)[i];
    replay_totals_ = contents->totals[i];
    pass_ = replay_totals_.empty() ? Pass::kReplay : Pass::kReplayTotals;
    auto outcome = ApplyInternal(b.stream, b.first_seq, b.key_id, b.events);
    pass_ = Pass::kApply;
    replay_totals_ = {};
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
  // Kyoto may also hold what no record covers: the marks of batches whose events were
  // all sealed (not logged), or a run without --fsync. A retry of such a batch is a
  // duplicate, acknowledged without being logged, so Kyoto is made durable here.
  if (!batches->empty() || options_.fsync) {
    if (Status s = Sync(); !s.ok()) return s;
  }
  if (Status s = (*log)->Truncate(); !s.ok()) return s;
  if (options_.fsync) log_ = std::move(*log);
  return Status::Ok();
}

// Seals and drops what the clock says is due (KcStoreOptions::current_slice). Runs
// before each batch: one clock read when nothing is due.
Status KcStore::Maintain() {
  if (options_.close_idle_after.count() >= 0) {
    if (Status s = CloseIdleFiles(); !s.ok()) return s;
  }
  if (!options_.current_slice) return Status::Ok();
  const int64_t now = options_.current_slice();
  if (options_.seal_after_slices >= 0 && now - options_.seal_after_slices > SealedBefore()) {
    if (Status s = Seal(now - options_.seal_after_slices); !s.ok()) return s;
  }
  if (options_.retain_slices >= 0 && now - options_.retain_slices > retained_from_ &&
      retained_from_ < SealedBefore()) {
    if (Status s = Retain(now - options_.retain_slices); !s.ok()) return s;
  }
  return Status::Ok();
}

// Closes the period files idle for close_idle_after (PeriodFile::CloseIdle), looking
// at most once a second: one clock read per batch otherwise.
Status KcStore::CloseIdleFiles() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_idle_check_) return Status::Ok();
  next_idle_check_ = now + std::min<std::chrono::steady_clock::duration>(options_.close_idle_after,
                                                                         std::chrono::seconds(1));
  bool closed = false;
  for (const auto& [period, file] : files_) {
    if (file->idle_closed() || now - file->last_write() < options_.close_idle_after) continue;
    std::unique_lock lock(files_mu_);  // readers' FileMark switches to memory
    if (Status s = file->CloseIdle(); !s.ok()) return s;
    closed = true;
  }
  if (closed) UpdateSizes();
  return Status::Ok();
}

// The stream's mark: the largest over the summary store (marks of sealed files) and
// the open files' stream marks (the file holding the stream's last batch has it).
Result<uint64_t> KcStore::ReadMark(std::string_view stream) const {
  Result<uint64_t> mark = summary_->Mark(stream);
  if (!mark.ok()) return mark;
  uint64_t best = *mark;
  std::shared_lock lock(files_mu_);
  const auto consider = [&](const PeriodFile& file) -> Status {
    uint64_t global = 0;
    Result<uint64_t> m = file.FileMark(stream, &global);
    if (!m.ok()) return m.status();
    best = std::max(best, global);
    return Status::Ok();
  };
  if (legacy_ != nullptr) {
    if (Status s = consider(*legacy_); !s.ok()) return s;
  }
  for (const auto& [period, file] : files_) {
    if (Status s = consider(*file); !s.ok()) return s;
  }
  return best;
}

// A stream found on disk is cached (it was applied before); an unknown one is not:
// the cache must only grow with streams that were applied, or refused batches with
// made-up stream ids would grow it without bound. While planning, a batch planned
// earlier in the group has the last word.
Result<uint64_t> KcStore::MarkOf(std::string_view stream) {
  if (pass_ == Pass::kPlan) {
    if (const uint64_t planned = plan_.Mark(stream); planned > 0) return planned;
  }
  auto it = marks_.find(std::string(stream));
  if (it != marks_.end()) return it->second;
  Result<uint64_t> mark = ReadMark(stream);
  if (mark.ok() && *mark > 0) marks_.emplace(std::string(stream), *mark);
  return mark;
}

Result<uint64_t> KcStore::StoredMark(std::string_view stream) const { return ReadMark(stream); }

Result<BatchOutcome> KcStore::ApplyBatch(std::string_view stream, uint64_t first_seq,
                                         std::string_view key_id,
                                         std::span<const BatchEvent> events) {
  if (Status s = CheckStreamName(stream); !s.ok()) return s;
  std::lock_guard writing(write_mu_);
  return ApplyInternal(stream, first_seq, key_id, events);
}

Status KcStore::CheckStreamName(std::string_view stream) {
  if (stream.empty()) return Status::InvalidArgument("empty stream name");
  if (stream == kSingleStream) return Status::InvalidArgument("reserved stream name");
  return Status::Ok();
}

// The steps of applying a batch: seal what is due (Maintain), check the batch
// against the stream's mark and the key id (CheckBatch), write the fresh events to
// their period files (CommitBatch, publishing each file's new totals), store a new
// key id, and report the touched slices (ReportTouched). pass_ says which of these
// happen and where the results go (Pass).
Result<BatchOutcome> KcStore::ApplyInternal(std::string_view stream, uint64_t first_seq,
                                            std::string_view key_id,
                                            std::span<const BatchEvent> events) {
  const bool planning = pass_ == Pass::kPlan;
  if (pass_ == Pass::kApply) {
    if (Status s = Maintain(); !s.ok()) return s;
  }
  Result<BatchOutcome> outcome = BatchOutcome{};
  if (pass_ == Pass::kReplayTotals) {
    // The record is the truth about its batch: torn pages may hold its mark without
    // its counters, or the reverse, so the marks must not turn it away.
    outcome->applied = events.size();
    outcome->acked_seq = first_seq + events.size() - 1;
  } else {
    outcome = CheckBatch(stream, first_seq, key_id, events.size());
    if (!outcome.ok() || outcome->refused()) return outcome;
  }
  // key_id_ is written only by this (the writer) thread: reading it unlocked is safe.
  const bool new_key_id = !key_id.empty() && KnownKeyId().empty();
  const std::span<const BatchEvent> fresh = events.subspan(outcome->duplicates);
  if (!fresh.empty()) {
    Result<uint64_t> sealed =
        CommitBatch(stream, fresh, first_seq + outcome->duplicates, outcome->acked_seq);
    if (!sealed.ok()) return sealed.status();
    outcome->sealed = *sealed;
    outcome->applied -= *sealed;
    if (planning) {
      plan_.SetMark(stream, outcome->acked_seq);
    } else {
      uint64_t& cached = marks_[std::string(stream)];
      cached = std::max(cached, outcome->acked_seq);
      PublishMark(stream, outcome->acked_seq);  // after CommitBatch published the numbers
      UpdateSizes();
    }
  }
  if (new_key_id && planning) {
    plan_.set_key_id(key_id);
  } else if (new_key_id) {
    if (Status s = summary_->SetKeyId(key_id); !s.ok()) return s;
    std::unique_lock lock(mu_);
    key_id_ = key_id;
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
  const std::string& stored_key_id = KnownKeyId();
  if (!key_id.empty() && !stored_key_id.empty() && key_id != stored_key_id) {
    outcome.verdict = BatchVerdict::kKeyMismatch;
    outcome.acked_seq = *mark;
    outcome.stored_key_id = stored_key_id;
    outcome.offered_key_id = key_id;
    return outcome;
  }
  outcome.duplicates = std::min<uint64_t>(*mark - first_seq + 1, count);
  outcome.applied = count - outcome.duplicates;
  outcome.acked_seq = outcome.applied == 0 ? *mark : first_seq + count - 1;
  return outcome;
}

// The period file of `slice`, created if new. A new file's bucket count follows the
// load of the periods before it (KcStoreOptions::buckets).
Result<PeriodFile*> KcStore::FileFor(int64_t slice) {
  const int64_t period = PeriodOf(slice);
  if (last_file_ != nullptr && period == last_period_) return last_file_;
  auto it = files_.find(period);
  if (it == files_.end()) {
    if (files_.size() >= kMaxOpenPeriods) {
      return Status::ResourceExhausted(
          "slice " + std::to_string(slice) + " would open period file " +
          std::to_string(files_.size() + 1) + " in data dir " + data_dir_ + " (at most " +
          std::to_string(kMaxOpenPeriods) +
          " are open at once: is max-late-slices unlimited, or are slices forged?)");
    }
    int64_t records = 0;
    for (const auto& [p, file] : files_) records = std::max(records, file->Count());
    const int64_t buckets =
        std::clamp(2 * records, options_.buckets, std::max(options_.buckets, options_.max_buckets));
    auto file = PeriodFile::Open(PeriodPath(period), TuningFor(options_, buckets));
    if (!file.ok()) return file.status();
    (*file)->set_read_ahead(read_ahead_);
    std::unique_lock lock(files_mu_);
    it = files_.emplace(period, std::move(*file)).first;
    open_periods_.store(files_.size() + (legacy_ != nullptr), std::memory_order_relaxed);
  }
  last_period_ = period;
  last_file_ = it->second.get();
  return last_file_;
}

bool KcStore::InReplayTotals(int64_t slice) const {
  return std::binary_search(
      replay_totals_.begin(), replay_totals_.end(), SliceTotal{slice, {}},
      [](const SliceTotal& a, const SliceTotal& b) { return a.first < b.first; });
}

// Which file each fresh event goes to (targets_; null: its slice is sealed), and the
// distinct files in order of first use (batch_files_).
Status KcStore::Target(std::span<const BatchEvent> fresh, uint64_t& sealed) {
  targets_.resize(fresh.size());
  batch_files_.clear();
  const int64_t sealed_before = SealedBefore();
  for (size_t i = 0; i < fresh.size(); ++i) {
    const int64_t slice = fresh[i].slice;
    PeriodFile* file = nullptr;
    if (slice < sealed_before || (pass_ == Pass::kReplayTotals && !InReplayTotals(slice))) {
      // A logged record names no totals for the slices that were sealed when it was
      // planned (a power loss may have taken the seal's horizon back since).
      ++sealed;
    } else if (legacy_ != nullptr && legacy_slices_.contains(slice)) {
      file = legacy_.get();
    } else {
      Result<PeriodFile*> found = FileFor(slice);
      if (!found.ok()) return found.status();
      file = *found;
    }
    targets_[i] = file;
    if (file != nullptr &&
        std::find(batch_files_.begin(), batch_files_.end(), file) == batch_files_.end()) {
      batch_files_.push_back(file);
    }
  }
  return Status::Ok();
}

// Writes the fresh events (seqs first_fresh_seq..acked_seq) to their period files,
// one transaction each; the last file gets the stream's mark, the others a file mark
// (PeriodFile). Returns how many events were skipped as sealed.
Result<uint64_t> KcStore::CommitBatch(std::string_view stream, std::span<const BatchEvent> fresh,
                                      uint64_t first_fresh_seq, uint64_t acked_seq) {
  uint64_t sealed = 0;
  if (Status s = Target(fresh, sealed); !s.ok()) return s;
  if (batch_files_.empty()) {
    // Every event was sealed: the mark still moves, or the sender would resend them.
    if (pass_ != Pass::kPlan) {
      if (Status s = summary_->SetMark(stream, acked_seq); !s.ok()) return s;
    }
    return sealed;
  }
  const bool only_file = batch_files_.size() == 1 && sealed == 0;
  for (size_t k = 0; k < batch_files_.size(); ++k) {
    if (Status s = CommitTo(*batch_files_[k], stream, fresh, first_fresh_seq, acked_seq,
                            k + 1 == batch_files_.size(), only_file);
        !s.ok()) {
      return s;
    }
  }
  return sealed;
}

// One file's share of a batch: its events whose seq is above the file's own mark (a
// crash may have left this file ahead of the stream's mark: see PeriodFile). A
// logged record with totals is replayed whole: its marks on disk may be torn.
Status KcStore::CommitTo(PeriodFile& file, std::string_view stream,
                         std::span<const BatchEvent> fresh, uint64_t first_fresh_seq,
                         uint64_t acked_seq, bool last, bool only_file) {
  uint64_t file_mark = 0;
  if (pass_ != Pass::kReplayTotals) {
    Result<uint64_t> read = file.FileMark(stream, nullptr);
    if (!read.ok()) return read.status();
    file_mark = *read;
  }
  std::span<const BatchEvent> events;
  if (only_file) {
    // The common case: the whole batch goes to one file, as it stands.
    const uint64_t skip = file_mark >= first_fresh_seq
                              ? std::min<uint64_t>(file_mark - first_fresh_seq + 1, fresh.size())
                              : 0;
    events = fresh.subspan(skip);
  } else {
    group_.clear();
    for (size_t i = 0; i < fresh.size(); ++i) {
      if (targets_[i] == &file && first_fresh_seq + i > file_mark) group_.push_back(fresh[i]);
    }
    events = group_;
  }
  if (events.empty() && !last) return Status::Ok();
  if (file.idle_closed()) {
    std::unique_lock lock(files_mu_);
    if (Status s = file.Reopen(); !s.ok()) return s;
  }
  if (pass_ == Pass::kPlan) {
    if (Status s = file.Plan(events, Before(), plan_); !s.ok()) return s;
    for (const PeriodFile::SliceDelta& d : file.deltas()) plan_.SetSlice(d.slice, d.delta);
    return Status::Ok();
  }
  if (options_.fail_commit && options_.fail_commit(file.path())) {
    return Status::IoError("injected failure committing to " + file.path());
  }
  const std::span<const SliceTotal> totals =
      pass_ == Pass::kReplayTotals ? replay_totals_ : std::span<const SliceTotal>{};
  if (Status s = file.Commit(stream, events, acked_seq, last, Before(), totals); !s.ok()) return s;
  Publish(file);
  return Status::Ok();
}

// After a file's commit: readers see its slices' new totals.
void KcStore::Publish(const PeriodFile& file) {
  std::unique_lock lock(mu_);
  for (const PeriodFile::SliceDelta& d : file.deltas()) slices_[d.slice] = d.delta;
}

void KcStore::UpdateSizes() {
  int64_t bytes = legacy_ != nullptr ? legacy_->Size() : 0;
  size_t prefetching = legacy_ != nullptr && legacy_->read_ahead();
  size_t idle_closed = 0;
  for (const auto& [period, file] : files_) {
    bytes += file->Size();
    prefetching += file->read_ahead();
    idle_closed += file->idle_closed();
  }
  idle_closed_files_.store(idle_closed, std::memory_order_relaxed);
  size_bytes_.store(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  open_periods_.store(files_.size() + (legacy_ != nullptr), std::memory_order_relaxed);
  read_ahead_files_.store(prefetching, std::memory_order_relaxed);
}

void KcStore::SetReadAhead(bool on) {
  read_ahead_ = on;
  if (legacy_ != nullptr) legacy_->set_read_ahead(on);
  for (const auto& [period, file] : files_) file->set_read_ahead(on);
  UpdateSizes();
}

Status KcStore::Seal(int64_t before) {
  if (before <= SealedBefore()) return Status::Ok();
  SummaryStore::Seal seal;
  seal.sealed_before = before;
  std::vector<int64_t> periods;
  const auto take = [&](const PeriodFile& file) -> Status {
    for (int64_t slice : file.slices()) seal.slices.emplace_back(slice, slices_[slice]);
    auto marks = file.StreamMarks();
    if (!marks.ok()) return marks.status();
    for (auto& [stream, mark] : *marks) {
      if (mark > 0) seal.marks.emplace_back(std::move(stream), mark);
    }
    return Status::Ok();
  };
  for (const auto& [period, file] : files_) {
    if ((period + 1) * period_slices_ > before) break;  // ascending: the rest are open
    if (Status s = take(*file); !s.ok()) return s;
    periods.push_back(period);
  }
  if (legacy_ != nullptr && (legacy_->slices().empty() || legacy_->slices().back() < before)) {
    if (Status s = take(*legacy_); !s.ok()) return s;
    seal.legacy_left = true;
  }
  if (Status s = summary_->Apply(seal); !s.ok()) return s;
  // With --fsync the summary must be on disk before the file it replaces is gone.
  if (options_.fsync && (!periods.empty() || seal.legacy_left)) {
    if (Status s = summary_->Sync(); !s.ok()) return s;
  }
  sealed_before_.store(before, std::memory_order_relaxed);
  std::error_code ec;
  {
    std::unique_lock lock(files_mu_);
    for (int64_t period : periods) {
      files_.erase(period);
      std::filesystem::remove(PeriodPath(period), ec);
    }
    if (seal.legacy_left) {
      legacy_.reset();
      legacy_slices_.clear();
      std::filesystem::remove(data_dir_ + "/" + std::string(kLegacyFile), ec);
    }
  }
  last_file_ = nullptr;
  UpdateSizes();
  return Status::Ok();
}

Status KcStore::Retain(int64_t from) {
  from = std::min(from, SealedBefore());  // only sealed slices are dropped
  if (from <= retained_from_) return Status::Ok();
  std::vector<int64_t> dropped;
  for (const auto& [slice, stats] : slices_) {
    if (slice >= from) break;
    dropped.push_back(slice);
  }
  if (Status s = summary_->Drop(from, dropped); !s.ok()) return s;
  retained_from_ = from;
  std::unique_lock lock(mu_);
  for (int64_t slice : dropped) slices_.erase(slice);
  return Status::Ok();
}

// The stats of every slice `events` names (duplicates included), ascending: the
// API node refreshes its cache from them.
void KcStore::ReportTouched(std::span<const BatchEvent> events,
                            std::vector<std::pair<int64_t, SliceStats>>& touched) const {
  // Unlocked: slices_ is mutated on this (the writer) thread alone.
  const PeriodFile::TotalsBefore now = Before();
  const auto stats_of = [&now](int64_t slice) {
    const SliceStats* found = now.Find(slice);
    return found == nullptr ? SliceStats{} : *found;
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

Result<SliceStats> KcStore::ApplySingle(int64_t slice, const UserKey& key, Action action) {
  std::lock_guard writing(write_mu_);
  GroupWrite write;
  write.single = BatchEvent{slice, key, action};
  auto outcome = WriteOne(write, 0);
  if (!outcome.ok()) return outcome.status();
  // Cannot happen: the seq continues the mark and no key id is checked.
  if (outcome->refused()) return Status::Internal("single event refused by its own stream");
  return outcome->touched.front().second;
}

Status KcStore::Sync() {
  if (legacy_ != nullptr) {
    if (Status s = legacy_->Sync(); !s.ok()) return s;
  }
  for (const auto& [period, file] : files_) {
    if (Status s = file->Sync(); !s.ok()) return s;
  }
  return summary_->Sync();
}

Result<KcStore::Snapshot> KcStore::TakeSnapshot() {
  std::lock_guard writing(write_mu_);
  const auto start = std::chrono::steady_clock::now();
  if (Status s = Sync(); !s.ok()) return s;
  Snapshot snapshot;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    // The Kyoto files hold everything: the batch log only repeats what is in them
    // (synced above), and STALE and the like are this worker's own state.
    if (entry.is_regular_file() && name.ends_with(".kch")) names.push_back(name);
  }
  if (ec) return Status::IoError("cannot list data dir " + data_dir_ + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::ifstream in(data_dir_ + "/" + name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Status::IoError("cannot read " + data_dir_ + "/" + name);
    snapshot.bytes += bytes.size();
    snapshot.files.emplace_back(name, std::move(bytes));
  }
  snapshot.pause = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  return snapshot;
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
  if (Status s = summary_->SetKeyId(key_id); !s.ok()) return s;
  std::unique_lock lock(mu_);
  key_id_ = key_id;
  return Status::Ok();
}

std::string KcStore::StoredKeyId() const {
  std::shared_lock lock(mu_);
  return key_id_;
}

}  // namespace rt
