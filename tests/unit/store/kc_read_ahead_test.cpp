#include "server/store/kc_read_ahead.h"

#include <kchashdb.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tests/support/temp_dir.h"

namespace rt {
namespace {

namespace kc = kyotocabinet;

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
  testing::TempDir dir;
  const std::string path = std::filesystem::canonical(dir.path()).string() + "/t.kch";
  kc::HashDB db;
  db.tune_map(int64_t{1} << 24);
  REQUIRE(db.open(path, kc::HashDB::OWRITER | kc::HashDB::OCREATE));
  CHECK_FALSE(KcReadAhead::For(db, path + ".other").enabled());
  CHECK_FALSE(KcReadAhead().enabled());
  KcReadAhead().PrefetchBucket(1);  // no-ops
  KcReadAhead().PrefetchRecord(1);
}

}  // namespace
}  // namespace rt
