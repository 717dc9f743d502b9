#include "cli/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rt::cli {
namespace {

// The content of `path` (`what`: "secret file"), refused when group or others may
// read it, with one trailing newline (and CR) dropped.
Result<std::string> ReadPrivateFile(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::IoError("cannot read " + what + " " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::IoError("cannot stat " + what + " " + path + ": " + std::strerror(error));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(what + " " + path + " is readable by group or others (mode " +
                                   mode + "); chmod 600 " + path);
  }
  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Status::IoError("cannot read " + what + " " + path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > (1 << 20)) {
      ::close(fd);
      return Status::InvalidArgument(what + " " + path + " is larger than 1 MiB");
    }
  }
  ::close(fd);
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (!content.empty() && content.back() == '\r') content.pop_back();
  return content;
}

// The value of `name`, removed from the environment; nullopt when unset. The value
// is also overwritten where it was: unsetenv only drops the pointer, and the
// process's initial environment block (what /proc/PID/environ shows) would keep it.
std::optional<std::string> TakeEnv(const char* name) {
  char* value = std::getenv(name);
  std::optional<std::string> taken;
  if (value != nullptr) {
    taken = std::string(value);
    std::memset(value, 0, std::strlen(value));
  }
  ::unsetenv(name);
  return taken;
}

}  // namespace

Result<std::optional<std::string>> ReadSecret(const std::string& secret_file) {
  std::optional<std::string> env = TakeEnv("RT_SECRET");
  std::string secret;
  std::string source;
  if (!secret_file.empty()) {
    Result<std::string> content = ReadPrivateFile(secret_file, "secret file");
    if (!content.ok()) return content.status();
    secret = std::move(*content);
    source = "secret file " + secret_file;
  } else if (env) {
    secret = std::move(*env);
    source = "RT_SECRET";
  } else {
    return std::optional<std::string>();
  }
  if (secret.size() < kMinSecretBytes) {
    return Status::InvalidArgument(
        "the secret from " + source + " is " + std::to_string(secret.size()) + " bytes; at least " +
        std::to_string(kMinSecretBytes) + " are required (e.g. head -c 32 /dev/urandom | base64)");
  }
  return std::optional<std::string>(std::move(secret));
}

Result<std::optional<WorkerKey>> ReadWorkerKey(const std::string& key_file) {
  std::optional<std::string> env = TakeEnv("RT_WORKER_KEY");
  std::string hex;
  std::string source;
  if (!key_file.empty()) {
    Result<std::string> content = ReadPrivateFile(key_file, "worker key file");
    if (!content.ok()) return content.status();
    hex = std::move(*content);
    source = "worker key file " + key_file;
  } else if (env) {
    hex = std::move(*env);
    source = "RT_WORKER_KEY";
  } else {
    return std::optional<WorkerKey>();
  }
  Result<WorkerKey> key = WorkerKey::FromHex(hex);
  if (!key.ok()) {
    return Status::InvalidArgument(source + ": " + key.status().message() +
                                   " (print it with rtctl worker-key)");
  }
  return std::optional<WorkerKey>(*key);
}

}  // namespace rt::cli
