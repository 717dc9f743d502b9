#include "server/metrics/config_status.h"

namespace rt {

ConfigStatus::ConfigStatus(MetricsRegistry& registry)
    : revision_gauge_(registry.AddGauge(
          "rt_config_revision",
          "The etcd revision of the running config (0 when it was read from a file)")),
      up_gauge_(registry.AddGauge("rt_config_source_up",
                                  "1 while the config source can be read (a file, or etcd "
                                  "with a live watch), 0 while etcd is unreachable")) {
  snapshot_.source = "file";
  up_gauge_.Set(1);
}

void ConfigStatus::SetSource(std::string source, std::string location) {
  std::lock_guard lock(mutex_);
  snapshot_.source = std::move(source);
  snapshot_.location = std::move(location);
}

void ConfigStatus::SetRunning(int64_t revision, std::string hash) {
  std::lock_guard lock(mutex_);
  snapshot_.revision = revision;
  if (!hash.empty()) snapshot_.hash = std::move(hash);
  revision_gauge_.Set(revision);
}

void ConfigStatus::SetSourceUp(bool up, std::string why) {
  std::lock_guard lock(mutex_);
  snapshot_.source_up = up;
  snapshot_.source_error = up ? "" : std::move(why);
  up_gauge_.Set(up ? 1 : 0);
}

ConfigStatus::Snapshot ConfigStatus::Get() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::optional<std::string> ConfigStatus::DownNote() const {
  std::lock_guard lock(mutex_);
  if (snapshot_.source_up) return std::nullopt;
  return "config source " + snapshot_.location + " unreachable: " + snapshot_.source_error +
         "; running revision " + std::to_string(snapshot_.revision);
}

}  // namespace rt
