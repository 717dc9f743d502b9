#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

extern char** environ;

namespace rt::testing {

#ifndef RT_RTCTL_PATH
#define RT_RTCTL_PATH "rtctl"
#endif
#ifndef RT_SOURCE_DIR
#define RT_SOURCE_DIR "."
#endif

std::string RtctlPath() { return RT_RTCTL_PATH; }
std::string SourceDir() { return RT_SOURCE_DIR; }

namespace {

std::vector<std::string> MergedEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& o : overrides) replaced |= o.substr(0, o.find('=')) == name;
    if (!replaced) merged.push_back(entry);
  }
  merged.insert(merged.end(), overrides.begin(), overrides.end());
  return merged;
}

std::vector<char*> PointerArray(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 const std::vector<std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    stderr_ = std::string("pipe: ") + std::strerror(errno);
    pipes_closed_ = true;
    return;
  }
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(env);
  std::vector<char*> argv = PointerArray(argv_strings);
  std::vector<char*> envp = PointerArray(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    stderr_ = "posix_spawn " + program + ": " + std::strerror(rc);
    pipes_closed_ = true;
    return;
  }
  pid_ = pid;
  reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { DrainPipes(out, err); });
}

Process::~Process() {
  if (running()) {
    Kill();
    (void)WaitExit(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
  // A child's sanitizer report would otherwise stay in this buffer, unseen; on the
  // test's stderr it fails the test (FAIL_REGULAR_EXPRESSION in tests/CMakeLists.txt).
  if (stderr_.find("Sanitizer") != std::string::npos ||
      stderr_.find("runtime error: ") != std::string::npos) {
    std::cerr << "child process " << pid_ << " reported:\n" << stderr_ << std::flush;
  }
}

void Process::DrainPipes(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  char buffer[4096];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      std::lock_guard lock(mutex_);
      (i == 0 ? stdout_ : stderr_).append(buffer, static_cast<std::size_t>(n));
      output_changed_.notify_all();
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  std::lock_guard lock(mutex_);
  pipes_closed_ = true;
  output_changed_.notify_all();
}

std::optional<uint16_t> Process::WaitForReadyPort(std::chrono::milliseconds timeout) {
  static const std::string kPrefix = "listening on ";
  std::optional<uint16_t> port;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  output_changed_.wait_until(lock, deadline, [&] {
    const auto at = stdout_.find(kPrefix);
    if (at != std::string::npos) {
      const auto end = stdout_.find('\n', at);
      if (end != std::string::npos) {
        const std::string address = stdout_.substr(at + kPrefix.size(), end - at - kPrefix.size());
        const auto colon = address.rfind(':');
        if (colon != std::string::npos) {
          port = static_cast<uint16_t>(std::stoul(address.substr(colon + 1)));
        }
        return true;
      }
    }
    return pipes_closed_;
  });
  return port;
}

bool Process::WaitForOutput(const std::string& text, bool in_stderr,
                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return output_changed_.wait_for(lock, timeout, [&] {
    return (in_stderr ? stderr_ : stdout_).find(text) != std::string::npos || pipes_closed_;
  }) && (in_stderr ? stderr_ : stdout_).find(text) != std::string::npos;
}

void Process::Signal(int signal_number) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal_number);
}
void Process::Terminate() { Signal(SIGTERM); }
void Process::Kill() { Signal(SIGKILL); }

std::optional<int> Process::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Let the reader catch up, so that Stdout/Stderr hold everything once this
      // returns (the pipes close when the child is gone, unless it left children).
      std::unique_lock lock(mutex_);
      output_changed_.wait_for(lock, std::chrono::seconds(5), [this] { return pipes_closed_; });
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Process::running() {
  if (pid_ <= 0 || exit_code_) return false;
  return !WaitExit(std::chrono::milliseconds(0)).has_value();
}

std::string Process::Stdout() const {
  std::lock_guard lock(mutex_);
  return stdout_;
}

std::string Process::Stderr() const {
  std::lock_guard lock(mutex_);
  return stderr_;
}

std::unique_ptr<Process> StartRtctl(const std::vector<std::string>& args,
                                    const std::vector<std::string>& env) {
  return std::make_unique<Process>(RtctlPath(), args, env);
}

}  // namespace rt::testing
