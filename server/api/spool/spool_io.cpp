#include "server/api/spool/spool_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rt::spool {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<Mapping> MapFd(int fd, size_t bytes, const std::string& path) {
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return ErrnoStatus("mmap", path, errno);
  return Mapping(static_cast<char*>(data), bytes);
}

}  // namespace

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  return Status::IoError(what + " " + path + ": " + std::strerror(err));
}

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", dir, errno);
  return Status::Ok();
}

Status EnsureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) == 0) {
    auto slash = dir.find_last_of('/');
    return SyncDir(slash == std::string::npos ? "." : dir.substr(0, slash == 0 ? 1 : slash));
  }
  if (errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::IoError("mkdir " + dir + ": not a directory");
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           const std::string& content) {
  const std::string path = dir + "/" + name;
  const std::string temp = path + ".tmp";
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0) return ErrnoStatus("open", temp, errno);
    if (Status s = WriteAll(fd.get(), content, temp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", temp, errno);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", temp, errno);
  return SyncDir(dir);
}

Result<std::string> ReadSmallFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return ErrnoStatus("open", path, errno);
  }
  std::string content;
  char buffer[4096];
  while (content.size() < (1 << 20)) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

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
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
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
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
  if (st.st_size <= 0) return Status::IoError(path + ": empty file");
  return MapFd(fd.get(), static_cast<size_t>(st.st_size), path);
}

}  // namespace rt::spool
