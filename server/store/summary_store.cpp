#include "server/store/summary_store.h"

#include <kchashdb.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "server/store/kc_counter_io.h"
#include "server/store/kc_records.h"

namespace rt {
namespace {

namespace kc = kyotocabinet;
using namespace kc_records;  // NOLINT(google-build-using-namespace): this file is their user

std::string MarkKey(std::string_view stream) {
  std::string key(1, kMarkPrefix);
  key.append(stream);
  return key;
}

}  // namespace

Result<std::unique_ptr<SummaryStore>> SummaryStore::Open(const std::string& path) {
  std::unique_ptr<SummaryStore> store(new SummaryStore(path));
  // A few records per slice and stream: small buckets, a small map.
  store->db_->tune_buckets(1 << 16);
  store->db_->tune_map(16 << 20);
  if (!store->db_->open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRYLOCK)) {
    return Status::Unavailable("cannot open " + path + ": " + store->db_->error().message() +
                               " (is another worker using data dir " +
                               std::filesystem::path(path).parent_path().string() + "?)");
  }
  if (Status s = store->LoadHeader(); !s.ok()) return s;
  return store;
}

SummaryStore::SummaryStore(std::string path)
    : path_(std::move(path)), db_(std::make_unique<kc::HashDB>()) {}

SummaryStore::~SummaryStore() {
  if (db_->flags() & kc::HashDB::FOPEN) db_->close();
}

Status SummaryStore::DbError(std::string_view what) const {
  const kc::BasicDB::Error error = db_->error();
  return Status::IoError(std::string(what) + " " + path_ + ": " + error.name() + ": " +
                         error.message());
}

Status SummaryStore::LoadHeader() {
  const auto u64 = [this](std::string_view key, int64_t& out) {
    char value[8];
    if (db_->get(key.data(), key.size(), value, sizeof value) == 8) {
      out = static_cast<int64_t>(GetLe64(value));
    }
  };
  u64(kPeriodSlicesKey, header_.period_slices);
  u64(kSealedBeforeKey, header_.sealed_before);
  u64(kRetainedFromKey, header_.retained_from);
  int64_t legacy = 0;
  u64(kLegacyKey, legacy);
  header_.legacy = legacy != 0;
  std::string key_id;
  if (db_->get(std::string(kKeyIdKey), &key_id)) header_.key_id = key_id;
  return Status::Ok();
}

Status SummaryStore::Transaction(const std::function<Status()>& body) {
  if (!db_->begin_transaction(false)) return DbError("cannot begin transaction on");
  Status s = body();
  if (!s.ok()) {
    db_->end_transaction(false);
    return s;
  }
  if (!db_->end_transaction(true)) return DbError("cannot commit transaction on");
  return Status::Ok();
}

Status SummaryStore::SetU64(std::string_view key, uint64_t value) {
  char bytes[8];
  PutLe64(bytes, value);
  if (!db_->set(key.data(), key.size(), bytes, sizeof bytes)) return DbError("cannot write to");
  return Status::Ok();
}

Status SummaryStore::Init(const Header& header,
                          const std::vector<std::pair<std::string, uint64_t>>& marks) {
  Status s = Transaction([&]() -> Status {
    for (const auto& [stream, mark] : marks) {
      if (Status m = SetU64(MarkKey(stream), mark); !m.ok()) return m;
    }
    if (!header.key_id.empty() &&
        !db_->set(kKeyIdKey.data(), kKeyIdKey.size(), header.key_id.data(), header.key_id.size())) {
      return DbError("cannot write key id to");
    }
    if (Status h = SetU64(kLegacyKey, header.legacy ? 1 : 0); !h.ok()) return h;
    if (Status h = SetU64(kSealedBeforeKey, header.sealed_before); !h.ok()) return h;
    if (Status h = SetU64(kRetainedFromKey, header.retained_from); !h.ok()) return h;
    // Last: a store without it is new, whatever else a crash left in it.
    return SetU64(kPeriodSlicesKey, header.period_slices);
  });
  if (s.ok()) header_ = header;
  return s;
}

Status SummaryStore::Apply(const Seal& seal) {
  Status s = Transaction([&]() -> Status {
    std::string appended;
    for (const auto& [slice, stats] : seal.slices) {
      if (!WriteCounter(*db_, slice, stats)) return DbError("cannot write to");
      char be[8];
      PutBe64(be, static_cast<uint64_t>(slice));
      appended.append(be, 8);
    }
    if (!appended.empty() && !db_->append(kDirectoryKey.data(), kDirectoryKey.size(),
                                          appended.data(), appended.size())) {
      return DbError("cannot extend the sealed-slice directory in");
    }
    for (const auto& [stream, mark] : seal.marks) {
      Result<uint64_t> stored = Mark(stream);
      if (!stored.ok()) return stored.status();
      if (mark > *stored) {
        if (Status m = SetU64(MarkKey(stream), mark); !m.ok()) return m;
      }
    }
    if (seal.legacy_left) {
      if (Status l = SetU64(kLegacyKey, 0); !l.ok()) return l;
    }
    return SetU64(kSealedBeforeKey, static_cast<uint64_t>(seal.sealed_before));
  });
  if (!s.ok()) return s;
  header_.sealed_before = seal.sealed_before;
  if (seal.legacy_left) header_.legacy = false;
  return Status::Ok();
}

Status SummaryStore::Drop(int64_t retained_from, const std::vector<int64_t>& slices) {
  std::map<int64_t, SliceStats> all;
  if (Status s = LoadSlices(all); !s.ok()) return s;
  Status s = Transaction([&]() -> Status {
    for (int64_t slice : slices) {
      char key[kCounterKeySize];
      CounterKey(slice, key);
      db_->remove(key, sizeof key);  // absent is fine
      all.erase(slice);
    }
    std::string directory;
    for (const auto& [slice, stats] : all) {
      char be[8];
      PutBe64(be, static_cast<uint64_t>(slice));
      directory.append(be, 8);
    }
    if (!db_->set(kDirectoryKey.data(), kDirectoryKey.size(), directory.data(), directory.size())) {
      return DbError("cannot rewrite the sealed-slice directory in");
    }
    return SetU64(kRetainedFromKey, static_cast<uint64_t>(retained_from));
  });
  if (s.ok()) header_.retained_from = retained_from;
  return s;
}

Status SummaryStore::SetKeyId(std::string_view key_id) {
  if (!db_->set(kKeyIdKey.data(), kKeyIdKey.size(), key_id.data(), key_id.size())) {
    return DbError("cannot write key id to");
  }
  if (!db_->synchronize(false)) return DbError("cannot flush");
  header_.key_id = key_id;
  return Status::Ok();
}

Status SummaryStore::SetMark(std::string_view stream, uint64_t mark) {
  return SetU64(MarkKey(stream), mark);
}

Result<uint64_t> SummaryStore::Mark(std::string_view stream) const {
  const std::string key = MarkKey(stream);
  char value[kMarkValueSize];
  const int32_t n = db_->get(key.data(), key.size(), value, sizeof value);
  if (n == static_cast<int32_t>(kMarkValueSize)) return GetLe64(value);
  if (n >= 0 || db_->error().code() != kc::BasicDB::Error::NOREC) {
    return DbError("cannot read the mark of stream \"" + std::string(stream) + "\" in");
  }
  return uint64_t{0};
}

Result<std::vector<std::pair<std::string, uint64_t>>> SummaryStore::Marks() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::unique_ptr<kc::DB::Cursor> cursor(db_->cursor());
  if (!cursor->jump()) {
    if (db_->error().code() == kc::BasicDB::Error::NOREC) return out;
    return DbError("cannot scan");
  }
  std::string key, value;
  while (cursor->get(&key, &value, true)) {
    if (key.size() > 1 && key[0] == kMarkPrefix && value.size() == kMarkValueSize) {
      out.emplace_back(key.substr(1), GetLe64(value.data()));
    }
  }
  return out;
}

Status SummaryStore::LoadSlices(std::map<int64_t, SliceStats>& into) const {
  std::string directory;
  if (!db_->get(std::string(kDirectoryKey), &directory)) return Status::Ok();
  if (directory.size() % 8 != 0) return DbError("corrupt sealed-slice directory in");
  for (size_t i = 0; i < directory.size(); i += 8) {
    const auto slice = static_cast<int64_t>(GetBe64(directory.data() + i));
    const std::optional<SliceStats> stats = ReadCounter(*db_, slice);
    if (!stats) return DbError("missing summary of slice " + std::to_string(slice) + " in");
    into[slice] = *stats;
  }
  return Status::Ok();
}

Status SummaryStore::Sync() {
  if (!db_->synchronize(true)) return DbError("cannot synchronize");
  return Status::Ok();
}

}  // namespace rt
