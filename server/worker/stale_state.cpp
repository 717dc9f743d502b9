#include "server/worker/stale_state.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "base/file_io.h"

namespace rt {

namespace {

Status ErrnoError(const std::string& what, const std::string& path) {
  return ErrnoStatus(what, path, errno);
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
  if (Status written = WriteFileAtomically(data_dir_, kFileName, reason + "\n"); !written.ok()) {
    return written;
  }
  reason_ = reason;
  stale_.store(true, std::memory_order_relaxed);
  return Status::Ok();
}

}  // namespace rt
