#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rt::testing {

// The rtctl binary under test (the compile definition RT_RTCTL_PATH) and the repo
// root (RT_SOURCE_DIR), for tests that start real processes or read examples/.
std::string RtctlPath();
std::string SourceDir();

// A child process with captured stdout and stderr, for integration tests.
// Spawns at construction; a background thread drains both pipes into buffers so the
// child never blocks on a full pipe. The destructor kills (SIGKILL) and reaps a child
// that is still running, so a failed REQUIRE never leaves a server behind.
// Every wait takes a deadline. Thread-safety: one controlling thread; the output
// accessors may be called from any thread.
class Process {
 public:
  // `env` entries "NAME=VALUE" are added to (or replace in) this process's environment.
  Process(const std::string& program, const std::vector<std::string>& args,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // False if the program could not be spawned (see Stderr for why).
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Waits for a stdout line "listening on HOST:PORT" and returns PORT; nullopt if the
  // process exits or the deadline passes first.
  std::optional<uint16_t> WaitForReadyPort(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until `text` appears in stdout (or stderr when `in_stderr`).
  bool WaitForOutput(const std::string& text, bool in_stderr,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

  void Signal(int signal_number);
  void Terminate();  // SIGTERM
  void Kill();       // SIGKILL

  // Waits for the process to exit and returns its exit code, or 128 + the signal
  // number if a signal ended it; nullopt if it is still running at the deadline.
  // Once it returns a code, Stdout and Stderr hold all the output.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running();

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  void DrainPipes(int out_fd, int err_fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mutex_;
  std::condition_variable output_changed_;
  std::string stdout_;
  std::string stderr_;
  bool pipes_closed_ = false;
  std::thread reader_;
};

// Starts rtctl with `args` (without the program name).
std::unique_ptr<Process> StartRtctl(const std::vector<std::string>& args,
                                    const std::vector<std::string>& env = {});

}  // namespace rt::testing
