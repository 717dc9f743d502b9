#include "config/source/config_watcher.h"

#include <algorithm>

namespace rt {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

}  // namespace

ConfigWatcher::ConfigWatcher(const EtcdClient& client, std::string key, int64_t read_revision,
                             OnChange on_change, OnSourceState on_state)
    : client_(client),
      key_(std::move(key)),
      next_revision_(read_revision + 1),
      on_change_(std::move(on_change)),
      on_state_(std::move(on_state)),
      thread_([this] { Run(); }) {}

ConfigWatcher::~ConfigWatcher() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  stopped_.notify_all();
  thread_.join();
}

void ConfigWatcher::SetUp(bool up, const std::string& why) {
  if (up == up_) return;
  up_ = up;
  on_state_(up, why);
}

bool ConfigWatcher::Pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !stopped_.wait_for(lock, delay, [this] { return stop_.load(); });
}

void ConfigWatcher::Run() {
  std::chrono::milliseconds backoff = kFirstBackoff;
  while (!stop_.load()) {
    int64_t compacted_to = 0;
    const Status status = client_.Watch(
        key_, next_revision_,
        [this](const EtcdEvent& event) {
          next_revision_ = event.mod_revision + 1;
          on_change_(event);
          return !stop_.load();
        },
        stop_,
        [this, &backoff] {
          backoff = kFirstBackoff;
          SetUp(true, "");
        },
        &compacted_to);
    if (stop_.load()) return;
    if (status.code() == Status::Code::kConflict && compacted_to > 0) {
      // The revisions we missed are gone: the newest value stands for them all.
      Result<EtcdValue> now = client_.Get(key_);
      if (now.ok()) {
        if (now->exists && now->mod_revision >= next_revision_) {
          on_change_(EtcdEvent{false, now->value, now->mod_revision});
        } else if (!now->exists) {
          on_change_(EtcdEvent{true, "", now->header_revision});
        }
        next_revision_ = now->header_revision + 1;
        continue;
      }
      SetUp(false, now.status().message());
    } else {
      SetUp(false, status.ok() ? "watch ended" : status.message());
    }
    if (!Pause(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace rt
