#include "tests/netfault/private_network.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace rt::netfault {
namespace {

// PID 1 of a namespace ignores signals it has no handler for, the alarm's included.
void OnAlarm(int) {
  static const char kMessage[] = "netfault: scenario ran past its time limit; killed\n";
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  _exit(1);
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    std::cerr << "netfault: scenario killed by signal " << WTERMSIG(status) << "\n";
  }
  return 1;
}

// The namespace's own child: creates the namespaces, then forks their PID 1.
[[noreturn]] void Isolate(const std::function<int()>& body, std::chrono::seconds time_limit) {
  if (unshare(CLONE_NEWNET | CLONE_NEWPID) != 0) {
    std::cerr << "SKIP: netfault cannot create a network namespace: " << std::strerror(errno)
              << " (needs root or CAP_SYS_ADMIN)\n";
    _exit(kSkipped);
  }
  const pid_t init = fork();
  if (init < 0) {
    std::cerr << "netfault: fork: " << std::strerror(errno) << "\n";
    _exit(1);
  }
  if (init == 0) {
    // If the harness above dies, so does the namespace.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::signal(SIGALRM, OnAlarm);
    alarm(static_cast<unsigned>(time_limit.count()));
    if (std::system("ip link set lo up") != 0) {
      std::cerr << "SKIP: netfault cannot bring up loopback in its namespace (is iproute2 "
                   "installed?)\n";
      _exit(kSkipped);
    }
    if (std::system("nft list ruleset >/dev/null") != 0) {
      std::cerr << "SKIP: netfault cannot run nft in its namespace (is nftables installed?)\n";
      _exit(kSkipped);
    }
    std::cout.flush();
    const int code = body();
    std::cout.flush();
    std::cerr.flush();
    _exit(code);
  }
  int status = 0;
  while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(ExitCodeOf(status));
}

}  // namespace

int RunInPrivateNetwork(const std::function<int()>& body, std::chrono::seconds time_limit) {
  if (geteuid() != 0) {
    std::cerr << "SKIP: netfault needs root to create a network namespace and run nft (euid "
              << geteuid() << ")\n";
    return kSkipped;
  }
  std::cout.flush();
  std::cerr.flush();
  const pid_t child = fork();
  if (child < 0) {
    std::cerr << "netfault: fork: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (child == 0) Isolate(body, time_limit);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return ExitCodeOf(status);
}

}  // namespace rt::netfault
