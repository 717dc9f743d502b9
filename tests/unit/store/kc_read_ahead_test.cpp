#include "server/store/kc_read_ahead.h"

#include <fcntl.h>
#include <kchashdb.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/store/kc_store.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

namespace kc = kyotocabinet;

// A HashDB with default tuning and a 16 MiB map, open for writing at a canonical
// temp path (the form KcReadAhead::For looks for in /proc/self/maps).
struct OpenHashDb {
  OpenHashDb() {
    db->tune_map(int64_t{1} << 24);
    REQUIRE(db->open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE));
  }
  testing::TempDir dir;
  const std::string path = std::filesystem::canonical(dir.path()).string() + "/t.kch";
  std::unique_ptr<kc::HashDB> db = std::make_unique<kc::HashDB>();
};

TEST_CASE("read-ahead finds the buckets Kyoto files keys under", "[store][readahead]") {
  testing::TempDir dir;
  const std::string path = std::filesystem::canonical(dir.path()).string() + "/t.kch";
  for (const bool small : {false, true}) {
    kc::HashDB db;
    db.tune_buckets(1000);
    db.tune_map(int64_t{1} << 24);
    db.tune_options(kc::HashDB::TLINEAR | (small ? kc::HashDB::TSMALL : 0));
    REQUIRE(db.open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRUNCATE));
    const KcReadAhead ahead = KcReadAhead::For(db, path);
    REQUIRE(ahead.enabled());
    const std::string key = "u-some-marker-key";
    const uint64_t hash = KcReadAhead::Hash(key.data(), key.size());
    CHECK(ahead.BucketTarget(hash) == 0);
    REQUIRE(db.add(key, ""));
    const uint64_t target = ahead.BucketTarget(hash);
    // The bucket now points at a record that lies in the file.
    CHECK(target > 0);
    CHECK(static_cast<int64_t>(target) < db.size());
    ahead.PrefetchBucket(hash);
    ahead.PrefetchRecord(hash);
    db.close();
  }
}

TEST_CASE("read-ahead is disabled when the database's mapping is not found", "[store][readahead]") {
  const OpenHashDb open;
  const std::string& path = open.path;
  kc::HashDB& db = *open.db;
  CHECK_FALSE(KcReadAhead::For(db, path + ".other").enabled());
  CHECK_FALSE(KcReadAhead().enabled());
  KcReadAhead().PrefetchBucket(1);  // no-ops
  KcReadAhead().PrefetchRecord(1);
}

TEST_CASE("read-ahead stays off for a Kyoto release it was not checked against, saying why",
          "[store][readahead]") {
  const OpenHashDb open;
  const std::string& path = open.path;
  kc::HashDB& db = *open.db;
  std::string why;
  CHECK(KcReadAhead::For(db, path, &why).enabled());  // the release this machine has
  CHECK(why.empty());
  CHECK_FALSE(KcReadAhead::For(db, path, &why, "1.2.80").enabled());
  CHECK(why == "Kyoto Cabinet 1.2.80 is not a release its file layout was checked against (" +
                   std::string(KcReadAhead::kCheckedKyotoVersions[0]) + ")");
}

TEST_CASE("read-ahead stays off when a header field is not where Kyoto's layout puts it",
          "[store][readahead]") {
  const OpenHashDb open;
  const std::string& path = open.path;
  kc::HashDB& db = *open.db;
  // As if a release had moved the alignment power: the byte at its offset (9) no
  // longer says what HashDB::status reports. The file is shared with Kyoto's map.
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  char apow = 0;
  REQUIRE(::pread(fd, &apow, 1, 9) == 1);
  const char other = static_cast<char>(apow + 1);
  REQUIRE(::pwrite(fd, &other, 1, 9) == 1);
  std::string why;
  CHECK_FALSE(KcReadAhead::For(db, path, &why).enabled());
  CHECK(why == "header field apow of " + path + " differs from HashDB::status");
  REQUIRE(::pwrite(fd, &apow, 1, 9) == 1);
  ::close(fd);
  CHECK(KcReadAhead::For(db, path, &why).enabled());
}

TEST_CASE("the store's read-ahead switch: on by default, off with the option, and toggled",
          "[store][readahead]") {
  testing::TempDir dir;
  const std::vector<BatchEvent> events = {{500, UserKey{}, Action::kClick}};
  for (const bool on : {true, false}) {
    KcStoreOptions options;
    options.read_ahead = on;
    auto store = KcStore::Open(dir.Sub(on ? "on" : "off"), options);
    REQUIRE(store.ok());
    REQUIRE((*store)->ApplyBatch("s", 1, "", events).ok());
    CHECK((*store)->OpenPeriods() == 1);
    CHECK((*store)->ReadAheadFiles() == (on ? 1u : 0u));
    // Toggled off, and on again only where the option let it start (bench/scale).
    (*store)->SetReadAhead(!on);
    CHECK((*store)->ReadAheadFiles() == 0u);
    (*store)->SetReadAhead(true);
    CHECK((*store)->ReadAheadFiles() == (on ? 1u : 0u));
    CHECK((*store)->StatsFor(500).clicks == 1);
    CHECK((*store)->start_report().read_ahead_off.empty());  // nothing refused at start
  }
}

}  // namespace
}  // namespace rt
