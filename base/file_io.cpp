#include "base/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rt {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

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

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  return Status::IoError(what + " " + path + ": " + std::strerror(err));
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", dir, errno);
  return Status::Ok();
}

Status SyncFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  if (::fdatasync(fd.get()) != 0) return ErrnoStatus("fdatasync", path, errno);
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
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0) return ErrnoStatus("open", temp, errno);
    if (Status s = WriteAll(fd.get(), content, temp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", temp, errno);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", temp, errno);
  return SyncDir(dir);
}

Result<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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

}  // namespace rt
