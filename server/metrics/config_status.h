#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "server/metrics/metrics.h"

namespace rt {

// Where a node's running config came from and whether that source is reachable
// (docs/design.md §5 "Config and the safe-change rule"), for /metrics and /healthz:
//   rt_config_revision     the etcd revision of the running config (0 for a file);
//   rt_config_source_up    1 while the source can be read (a file, or etcd with a
//                          live watch), 0 while etcd is unreachable.
// A node whose etcd is unreachable keeps serving on the config it runs: that is a
// note on /healthz, not a 503, since taking every node out of a load balancer
// because the config store is down would turn an etcd outage into an rt outage.
// The owner (rtctl serve-*) sets the values; the node's handlers read them.
// Thread-safety: every method from any thread.
class ConfigStatus {
 public:
  struct Snapshot {
    std::string source;  // "file" or "etcd"
    std::string location;
    int64_t revision = 0;
    std::string hash;
    bool source_up = true;
    std::string source_error;  // why it is down; empty while up
  };

  // Registers the two gauges in `registry`, which must outlive this.
  explicit ConfigStatus(MetricsRegistry& registry);

  void SetSource(std::string source, std::string location);
  // The running config's revision and ConfigSourceHash (the hash may be left empty
  // by an owner that does not know it: the API node keeps its own).
  void SetRunning(int64_t revision, std::string hash);
  void SetSourceUp(bool up, std::string why = {});

  Snapshot Get() const;
  // "config source etcd://... unreachable: WHY; running revision N" while down.
  std::optional<std::string> DownNote() const;

 private:
  mutable std::mutex mutex_;
  Snapshot snapshot_;
  Gauge& revision_gauge_;
  Gauge& up_gauge_;
};

}  // namespace rt
