#include "server/store/file_reserve.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rt {

Result<std::unique_ptr<FileReserve>> FileReserve::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("cannot open " + path + " to reserve space: " + std::strerror(errno));
  }
  return std::unique_ptr<FileReserve>(new FileReserve(path, fd));
}

FileReserve::~FileReserve() { ::close(fd_); }

Status FileReserve::Allocate(int64_t end) {
  // From 0, not from reserved_to_: a range already allocated costs an extent lookup,
  // and this also fills holes Kyoto left inside the file.
  int rc;
  do {
    rc = ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, end);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    reserved_to_ = end;
    return Status::Ok();
  }
  const int error = errno;
  if (error == EOPNOTSUPP) {
    enabled_ = false;
    return Status::Ok();
  }
  const std::string what = "cannot reserve " + std::to_string(end) + " bytes for " + path_ + ": ";
  if (error == ENOSPC || error == EDQUOT) return Status::ResourceExhausted(what + "no space left");
  return Status::IoError(what + std::strerror(error));
}

Status FileReserve::Ensure(int64_t end, int64_t step) {
  if (!enabled_ || end <= reserved_to_) return Status::Ok();
  Status ahead = Allocate(end + step);
  if (ahead.ok() || ahead.code() != Status::Code::kResourceExhausted || step == 0) return ahead;
  return Allocate(end);  // a nearly full disk still takes what fits
}

void FileReserve::Forget(int64_t valid_to) {
  if (valid_to < reserved_to_) reserved_to_ = valid_to;
}

int64_t FileReserve::FreeBytes() const {
  struct statvfs st;
  if (::fstatvfs(fd_, &st) != 0) return -1;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

}  // namespace rt
