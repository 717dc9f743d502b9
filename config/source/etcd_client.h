#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace rt {

// One key's value as etcd holds it at some revision.
struct EtcdValue {
  bool exists = false;
  std::string value;
  int64_t mod_revision = 0;     // the revision that wrote this value; 0 when !exists
  int64_t header_revision = 0;  // the store's revision when it answered
};

// One change of a watched key.
struct EtcdEvent {
  bool deleted = false;
  std::string value;  // empty when deleted
  int64_t mod_revision = 0;
};

// A small etcd v3 client over the JSON gateway that etcd serves on its client port
// (POST /v3/kv/range, /v3/kv/txn, /v3/watch; keys and values base64 in JSON, 64-bit
// numbers as strings). libcurl, blocking: each call runs on the caller's thread.
// Only what a config source needs: read, compare-and-swap write, watch, history.
//
// Failover: the endpoints are members of one etcd cluster; a call starts at the one
// that answered last and moves to the next on a transport failure (no connection,
// timeout, a 5xx), so one dead member costs one timeout per call at most once.
// Errors: Unavailable when no endpoint answered (the message names each failure),
// Internal for an answer that is not what the gateway sends.
// Thread-safety: calls may run concurrently from several threads.
class EtcdClient {
 public:
  // REQUIRES: `endpoints` non-empty, each "host:port".
  explicit EtcdClient(std::vector<std::string> endpoints,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

  // The key's value at `revision` (0: the newest); a missing key is !exists.
  // A revision older than the last compaction is an InvalidArgument.
  [[nodiscard]] Result<EtcdValue> Get(const std::string& key, int64_t revision = 0) const;

  // Writes `value` only if the key's mod_revision is still `expected_mod_revision`
  // (0: only if the key does not exist), in one transaction. Returns the new
  // revision, or Conflict when the key changed meanwhile (nothing written).
  [[nodiscard]] Result<int64_t> CompareAndPut(const std::string& key, const std::string& value,
                                              int64_t expected_mod_revision) const;

  // Streams the key's changes from `start_revision` on (a long-lived request),
  // calling `on_event` for each in order on this thread, until `on_event` returns
  // false (Ok), `stop` becomes true (Ok, noticed within about 100 ms), or the
  // stream ends (Unavailable: the endpoint went away). A start revision already
  // compacted is Conflict, with the oldest revision kept in `*compacted_to` (when
  // given). `on_created` (may be empty) is called once etcd has accepted the watch:
  // from then on no change is missed.
  using EventHandler = std::function<bool(const EtcdEvent&)>;
  [[nodiscard]] Status Watch(const std::string& key, int64_t start_revision,
                             const EventHandler& on_event, const std::atomic<bool>& stop,
                             const std::function<void()>& on_created = {},
                             int64_t* compacted_to = nullptr) const;

  // Every revision of the key that etcd still keeps (writes and deletes since the
  // last compaction), oldest first. Done by watching from revision 1 (from the
  // compaction point when etcd says it compacted) up to the key's current
  // mod_revision: one request, no guessing of revisions. etcd keeps no write time.
  [[nodiscard]] Result<std::vector<EtcdEvent>> History(const std::string& key) const;

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  struct Answer {
    long code = 0;
    std::string body;
  };
  // POSTs `body` to `path` on the endpoints in failover order.
  Result<Answer> Post(const std::string& path, const std::string& body) const;

  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  mutable std::atomic<size_t> preferred_{0};  // the endpoint that answered last
};

// Base64 as the gateway wants it (standard alphabet, padded).
std::string Base64Encode(std::string_view bytes);
[[nodiscard]] Result<std::string> Base64Decode(std::string_view text);

}  // namespace rt
