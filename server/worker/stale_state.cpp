#include "server/worker/stale_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

namespace rt {

namespace {

Status ErrnoError(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  const bool synced = ::fsync(fd) == 0;
  const Status status = synced ? Status::Ok() : ErrnoError("fsync", path);
  ::close(fd);
  return status;
}

}  // namespace

Result<std::unique_ptr<StaleState>> StaleState::Load(std::string data_dir, std::string node_id) {
  std::unique_ptr<StaleState> state(new StaleState(std::move(data_dir), std::move(node_id)));
  const std::string path = state->data_dir_ + "/" + kFileName;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return state;
    return ErrnoError("open", path);
  }
  std::string reason;
  std::getline(in, reason);
  if (in.bad()) return ErrnoError("read", path);
  if (reason.empty()) reason = "recorded in " + path;
  state->reason_ = std::move(reason);
  state->stale_.store(true, std::memory_order_relaxed);
  return state;
}

std::optional<std::string> StaleState::Line() const {
  if (!stale()) return std::nullopt;
  std::lock_guard lock(mutex_);
  return "worker " + node_id_ + " is stale: " + reason_ + "; reseed it (rtctl reseed-worker)";
}

Status StaleState::Record(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (stale()) return Status::Ok();
  const std::string path = data_dir_ + "/" + kFileName;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << reason << "\n";
    out.flush();
    if (!out) return ErrnoError("write", temp);
  }
  if (Status synced = SyncPath(temp, O_RDONLY); !synced.ok()) return synced;
  if (std::rename(temp.c_str(), path.c_str()) != 0) return ErrnoError("rename to", path);
  if (Status synced = SyncPath(data_dir_, O_RDONLY | O_DIRECTORY); !synced.ok()) return synced;
  reason_ = reason;
  stale_.store(true, std::memory_order_relaxed);
  return Status::Ok();
}

}  // namespace rt
