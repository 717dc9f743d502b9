#include "config/source/etcd_client.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "config/source/config_watcher.h"
#include "tests/support/etcd_server.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using testing::EtcdServer;
using testing::WaitFor;

// A loopback port with nothing listening: the first endpoint of the failover test.
constexpr const char* kDeadEndpoint = "127.0.0.1:1";

#define RT_REQUIRE_ETCD()                                                   \
  if (!EtcdServer::Available()) {                                           \
    WARN("SKIPPED: /usr/bin/etcd is absent (apt-get install etcd-server)"); \
    return;                                                                 \
  }

TEST_CASE("base64 round-trips every byte length", "[config][source]") {
  for (const std::string text : {"", "a", "ab", "abc", "abcd", "{\"x\": 1}\n\xff"}) {
    const Result<std::string> back = Base64Decode(Base64Encode(text));
    REQUIRE(back.ok());
    CHECK(*back == text);
  }
}

TEST_CASE("a compare-and-swap put writes only over the revision it read",
          "[config][source][etcd]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  const EtcdClient client({etcd.Endpoint()});

  Result<EtcdValue> missing = client.Get("rt/config");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->exists);

  const Result<int64_t> first = client.CompareAndPut("rt/config", "one", 0);
  REQUIRE(first.ok());
  // Creating again from "absent" loses: the key exists now.
  const Result<int64_t> again = client.CompareAndPut("rt/config", "other", 0);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Status::Code::kConflict);

  const Result<int64_t> second = client.CompareAndPut("rt/config", "two", *first);
  REQUIRE(second.ok());
  CHECK(*second > *first);
  const Result<int64_t> stale = client.CompareAndPut("rt/config", "three", *first);
  CHECK(stale.status().code() == Status::Code::kConflict);

  const Result<EtcdValue> now = client.Get("rt/config");
  REQUIRE(now.ok());
  CHECK(now->value == "two");
  CHECK(now->mod_revision == *second);
  const Result<EtcdValue> old = client.Get("rt/config", *first);
  REQUIRE(old.ok());
  CHECK(old->value == "one");
}

TEST_CASE("the client moves to the next endpoint when one is unreachable",
          "[config][source][etcd]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  const EtcdClient client({kDeadEndpoint, etcd.Endpoint()});
  REQUIRE(client.CompareAndPut("k", "v", 0).ok());
  const Result<EtcdValue> value = client.Get("k");
  REQUIRE(value.ok());
  CHECK(value->value == "v");

  const EtcdClient nobody({kDeadEndpoint});
  const Result<EtcdValue> none = nobody.Get("k");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Status::Code::kUnavailable);
}

TEST_CASE("history lists every kept revision of the key, oldest first", "[config][source][etcd]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  const EtcdClient client({etcd.Endpoint()});
  std::vector<int64_t> written;
  int64_t last = 0;
  for (const char* value : {"a", "b", "c"}) {
    const Result<int64_t> revision = client.CompareAndPut("h", value, last);
    REQUIRE(revision.ok());
    written.push_back(*revision);
    last = *revision;
    REQUIRE(client.CompareAndPut("other", value, 0).ok() == (written.size() == 1));
  }
  const Result<std::vector<EtcdEvent>> history = client.History("h");
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK((*history)[i].mod_revision == written[i]);
  CHECK((*history)[2].value == "c");
}

TEST_CASE("a watcher hands over changes made while etcd was down once it is back",
          "[config][source][etcd]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  const EtcdClient client({etcd.Endpoint()}, std::chrono::milliseconds(500));
  const Result<int64_t> start = client.CompareAndPut("w", "v1", 0);
  REQUIRE(start.ok());

  std::mutex mutex;
  std::vector<std::string> seen;
  std::vector<bool> states;
  {
    ConfigWatcher watcher(
        client, "w", *start,
        [&](const EtcdEvent& event) {
          std::lock_guard lock(mutex);
          seen.push_back(event.value);
        },
        [&](bool up, const std::string&) {
          std::lock_guard lock(mutex);
          states.push_back(up);
        });
    const Result<int64_t> second = client.CompareAndPut("w", "v2", *start);
    REQUIRE(second.ok());
    REQUIRE(WaitFor([&] {
      std::lock_guard lock(mutex);
      return seen.size() == 1;
    }));

    etcd.Stop();
    REQUIRE(WaitFor([&] {
      std::lock_guard lock(mutex);
      return !states.empty() && !states.back();
    }));
    REQUIRE(etcd.Start());
    // Written before the watcher reconnects or after: either way it must arrive.
    REQUIRE(client.CompareAndPut("w", "v3", *second).ok());
    REQUIRE(WaitFor(
        [&] {
          std::lock_guard lock(mutex);
          return seen.size() == 2;
        },
        std::chrono::seconds(15)));
  }
  CHECK(seen == std::vector<std::string>{"v2", "v3"});
  CHECK(states.back());
}

}  // namespace
}  // namespace rt
