#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "config/source/etcd_client.h"

namespace rt {

// Follows one etcd key for a serving node (docs/design.md §5 "Config and the
// safe-change rule"): the caller has read the value at some revision R; the watcher
// watches the key from R + 1, so no change between the read and the watch is
// missed, and hands over each change in revision order. When the stream breaks
// (etcd down, a member gone) it reports the source down, retries with backoff
// (100 ms doubling to 5 s, on the next endpoint each time), and resumes from the
// revision after the last one handed over: changes made while disconnected arrive
// when it is back. If etcd compacted those revisions meanwhile, it reads the newest
// value instead and hands that over (the intermediate revisions are gone).
//
// Thread-safety: the callbacks run on the watcher's own thread, one at a time; the
// constructor and the destructor (which stops and joins) on the owner's thread.
class ConfigWatcher {
 public:
  using OnChange = std::function<void(const EtcdEvent&)>;
  // `up` false: the stream is broken, `why` says how; true: watching again.
  using OnSourceState = std::function<void(bool up, const std::string& why)>;

  // REQUIRES: `client` outlives the watcher.
  ConfigWatcher(const EtcdClient& client, std::string key, int64_t read_revision,
                OnChange on_change, OnSourceState on_state);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

 private:
  void Run();
  void SetUp(bool up, const std::string& why);
  // Waits `delay` or until stopped; false when stopped.
  bool Pause(std::chrono::milliseconds delay);

  const EtcdClient& client_;
  const std::string key_;
  int64_t next_revision_;
  OnChange on_change_;
  OnSourceState on_state_;
  bool up_ = true;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable stopped_;
  std::thread thread_;
};

}  // namespace rt
