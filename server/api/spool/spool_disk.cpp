#include "server/api/spool/spool_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_format.h"
#include "server/api/spool/spool_io.h"

namespace rt {

Result<std::unique_ptr<SpoolDisk>> SpoolDisk::Open(Options options) {
  if (options.segment_bytes < kMinSegmentBytes || options.segment_bytes > kMaxSegmentBytes ||
      options.segment_bytes % 4096 != 0) {
    return Status::InvalidArgument("spool segment size " + std::to_string(options.segment_bytes) +
                                   " is not a multiple of 4096 between " +
                                   std::to_string(kMinSegmentBytes) + " and " +
                                   std::to_string(kMaxSegmentBytes));
  }
  if (Status s = spool::EnsureDir(options.dir); !s.ok()) return s;
  const std::string lock_path = options.dir + "/lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return spool::ErrnoStatus("open", lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Conflict("spool " + options.dir + " is in use by another process");
    }
    return spool::ErrnoStatus("flock", lock_path, err);
  }
  std::vector<std::string> workers;
  if (DIR* dir = ::opendir(options.dir.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      std::string id;
      if (entry->d_type == DT_DIR && spool::ParseWorkerDirName(entry->d_name, id)) {
        workers.push_back(std::move(id));
      }
    }
    ::closedir(dir);
  } else {
    int err = errno;
    ::close(fd);
    return spool::ErrnoStatus("opendir", options.dir, err);
  }
  std::sort(workers.begin(), workers.end());
  return std::unique_ptr<SpoolDisk>(new SpoolDisk(std::move(options), fd, std::move(workers)));
}

SpoolDisk::SpoolDisk(Options options, int lock_fd, std::vector<std::string> workers)
    : options_(std::move(options)), lock_fd_(lock_fd), workers_(std::move(workers)) {
  thread_ = std::thread([this] { Run(); });
}

SpoolDisk::~SpoolDisk() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  ::close(lock_fd_);  // releases the flock
}

uint64_t SpoolDisk::allocated_bytes() const {
  std::lock_guard lock(mu_);
  return allocated_;
}

void SpoolDisk::Abandon() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    queued_.clear();
  }
  cv_.notify_all();
}

bool SpoolDisk::abandoned() const {
  std::lock_guard lock(mu_);
  return abandoned_;
}

void SpoolDisk::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    if (abandoned_) return;  // a crash: no further work, not even a final sync
    // Due WakeAt requests join the queue; until one is due, sleep no longer than it.
    const auto now = std::chrono::steady_clock::now();
    auto earliest = std::chrono::steady_clock::time_point::max();
    std::erase_if(deferred_, [&](const auto& entry) {
      if (entry.second > now) {
        earliest = std::min(earliest, entry.second);
        return false;
      }
      if (std::find(queued_.begin(), queued_.end(), entry.first) == queued_.end()) {
        queued_.push_back(entry.first);
      }
      return true;
    });
    if (queued_.empty()) {
      if (stopping_) return;
      if (earliest == std::chrono::steady_clock::time_point::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, earliest);
      }
      continue;
    }
    FileSpool* spool = queued_.front();
    queued_.erase(queued_.begin());
    running_ = spool;
    lock.unlock();
    spool->Maintain();
    lock.lock();
    running_ = nullptr;
    idle_cv_.notify_all();
  }
}

bool SpoolDisk::TryAllocate(size_t bytes, size_t held_segments) {
  std::lock_guard lock(mu_);
  if (allocated_ + bytes > options_.max_bytes && held_segments >= 2) return false;
  allocated_ += bytes;
  return true;
}

void SpoolDisk::Count(uint64_t bytes) {
  std::lock_guard lock(mu_);
  allocated_ += bytes;
}

void SpoolDisk::Release(uint64_t bytes) {
  std::lock_guard lock(mu_);
  allocated_ -= std::min(allocated_, bytes);
}

void SpoolDisk::Fatal(const Status& status) {
  if (options_.on_fatal) {
    options_.on_fatal(status);
    return;
  }
  std::fprintf(stderr, "rt: spool: %s\n", status.message().c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void SpoolDisk::Wake(FileSpool* spool) {
  {
    std::lock_guard lock(mu_);
    if (abandoned_) return;
    if (std::find(queued_.begin(), queued_.end(), spool) != queued_.end()) return;
    queued_.push_back(spool);
  }
  cv_.notify_one();
}

void SpoolDisk::WakeAt(FileSpool* spool, std::chrono::steady_clock::time_point when) {
  {
    std::lock_guard lock(mu_);
    if (abandoned_) return;
    if (std::find(queued_.begin(), queued_.end(), spool) != queued_.end()) return;
    auto it = std::find_if(deferred_.begin(), deferred_.end(),
                           [&](const auto& entry) { return entry.first == spool; });
    if (it == deferred_.end()) {
      deferred_.emplace_back(spool, when);
    } else if (when < it->second) {
      it->second = when;
    } else {
      return;  // the thread already wakes for it in time
    }
  }
  cv_.notify_one();
}

void SpoolDisk::Unregister(FileSpool* spool) {
  std::unique_lock lock(mu_);
  std::erase(queued_, spool);
  std::erase_if(deferred_, [&](const auto& entry) { return entry.first == spool; });
  idle_cv_.wait(lock, [&] { return running_ != spool; });
}

}  // namespace rt
