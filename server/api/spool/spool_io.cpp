#include "server/api/spool/spool_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rt::spool {
namespace {

Result<Mapping> MapFd(int fd, size_t bytes, const std::string& path) {
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return ErrnoStatus("mmap", path, errno);
  return Mapping(static_cast<char*>(data), bytes);
}

}  // namespace

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void Mapping::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

Status Mapping::Sync(size_t begin, size_t end, const std::string& path) const {
  if (end <= begin) return Status::Ok();
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t aligned = begin & ~(page - 1);
  if (::msync(data_ + aligned, end - aligned, MS_SYNC) != 0) {
    return ErrnoStatus("msync", path, errno);
  }
  return Status::Ok();
}

Result<Mapping> CreateSegmentFile(const std::string& path, size_t bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  // posix_fallocate returns the error instead of setting errno. Allocating every
  // block now is what turns a full disk into an answer here rather than a SIGBUS on
  // the first store into a hole of the mapping.
  int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes));
  if (err != 0) {
    ::unlink(path.c_str());
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
      return Status::Unavailable("no space left on device for the spool (" + path + ": " +
                                 std::strerror(err) + ")");
    }
    return ErrnoStatus("posix_fallocate", path, err);
  }
  return MapFd(fd.get(), bytes, path);
}

Result<Mapping> MapExistingFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
  if (st.st_size <= 0) return Status::IoError(path + ": empty file");
  return MapFd(fd.get(), static_cast<size_t>(st.st_size), path);
}

}  // namespace rt::spool
