// `make run` for real: examples/run-local-cluster.sh on free ports (RT_API_PORT,
// RT_WORKER_PORTS) with its data in a temp dir (RT_RUN_DIR). It must print its
// ready text, answer rtctl and the curl commands it prints, stop every node on
// SIGINT with exit 0, keep the data (and the secret) for a second run, and refuse a
// busy port by name.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/local_cluster.h"
#include "tests/support/process.h"
#include "tests/support/slice_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::RtctlRun;

constexpr int64_t kFirstSliceMs = 1577836800000;  // examples/local-cluster.json
constexpr int64_t kHourMs = 3600 * 1000;

using testing::NowMs;

// A loopback socket bound to a free port, optionally listening; closed on scope exit.
class PortHolder {
 public:
  explicit PortHolder(bool listen_on_it = false) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    if (listen_on_it) REQUIRE(listen(fd_, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~PortHolder() { Close(); }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;

  uint16_t port() const { return port_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Three distinct free ports: held together while they are picked, then released
// for the launcher (another process could take one in between; then the launcher
// names the busy port and the test fails loudly, not silently).
std::vector<uint16_t> FreePorts() {
  PortHolder a, b, c;
  return {a.port(), b.port(), c.port()};
}

// The launcher in a session of its own (setsid keeps the pid: a spawned child is
// no group leader), so that the whole process group, nodes included, can be killed
// if the test fails half-way.
class Launcher {
 public:
  Launcher(const std::string& run_dir, const std::vector<uint16_t>& ports) {
    const std::vector<std::string> env = {
        "RT_RUN_DIR=" + run_dir, "RT_API_PORT=" + std::to_string(ports[0]),
        "RT_WORKER_PORTS=" + std::to_string(ports[1]) + "," + std::to_string(ports[2])};
    process_ = std::make_unique<Process>(
        "/usr/bin/setsid",
        std::vector<std::string>{testing::SourceDir() + "/examples/run-local-cluster.sh",
                                 testing::RtctlPath()},
        env);
  }
  ~Launcher() {
    if (process_->pid() > 0) ::kill(-process_->pid(), SIGKILL);
  }
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  Process& process() { return *process_; }
  // True once no process of the launcher's group is left.
  bool GroupGone() const { return ::kill(-process_->pid(), 0) != 0 && errno == ESRCH; }

 private:
  std::unique_ptr<Process> process_;
};

constexpr char kReadyText[] = "rt local cluster is running";

RtctlRun Rtctl(const std::vector<std::string>& args) {
  RtctlRun run = testing::RunRtctl(args);
  INFO("rtctl did not exit in time: " << run.err);
  REQUIRE(run.code >= 0);
  return run;
}

// `rtctl query --fresh` until it prints `expected` (forwarding is asynchronous).
RtctlRun QueryUntil(const std::string& api, int64_t ts, const std::string& expected) {
  RtctlRun run;
  testing::WaitFor(
      [&] {
        run = Rtctl({"query", "--api", api, "--fresh", "--timestamp", std::to_string(ts)});
        return run.code == 0 && run.out == expected;
      },
      60s, 50ms);
  return run;
}

void StopWithSigint(Launcher& launcher) {
  launcher.process().Signal(SIGINT);
  const std::optional<int> code = launcher.process().WaitExit(90s);
  INFO(launcher.process().Stderr());
  CHECK(code == 0);
  CHECK(launcher.process().Stdout().find("run-local-cluster: stopping...") != std::string::npos);
  // The launcher waits for its nodes before it exits; give the kernel a moment to
  // reap them, bounded.
  CHECK(testing::WaitFor([&] { return launcher.GroupGone(); }, 10s, 20ms));
}

}  // namespace

TEST_CASE(
    "the make run launcher serves rtctl and curl, stops on SIGINT with exit 0 and keeps "
    "its data for the next run",
    "[integration][e2e][launcher]") {
  testing::TempDir dir;
  const std::string run_dir = dir.Sub("run");
  // The middle of the previous hour: late events count, and no hour boundary moves it.
  const int64_t ts =
      kFirstSliceMs + ((NowMs() - kFirstSliceMs) / kHourMs - 1) * kHourMs + kHourMs / 2;

  {
    const std::vector<uint16_t> ports = FreePorts();
    const std::string api = "http://127.0.0.1:" + std::to_string(ports[0]);
    Launcher launcher(run_dir, ports);
    REQUIRE(launcher.process().started());
    const bool ready = launcher.process().WaitForOutput(kReadyText, false, 120s);
    INFO(launcher.process().Stdout() << launcher.process().Stderr());
    REQUIRE(ready);
    REQUIRE(launcher.process().WaitForOutput("stops the cluster", false, 10s));
    const std::string info = launcher.process().Stdout();
    CHECK(info.find(run_dir + "/local-cluster.json") != std::string::npos);
    CHECK(info.find(api + "/analytics") != std::string::npos);
    CHECK(info.find("http://127.0.0.1:" + std::to_string(ports[1]) + "/worker") !=
          std::string::npos);
    CHECK(info.find("send --api " + api + " --user alice --click") != std::string::npos);
    CHECK(info.find("query --api " + api + " --fresh") != std::string::npos);

    const RtctlRun sent = Rtctl(
        {"send", "--api", api, "--user", "alice", "--click", "--timestamp", std::to_string(ts)});
    CHECK(sent.code == 0);
    CHECK(sent.out.empty());
    const std::string expected = "unique_users,1\nclicks,1\nimpressions,0\n";
    CHECK(QueryUntil(api, ts, expected).out == expected);

    // The curl commands it prints work as printed.
    std::istringstream lines(info);
    std::string line;
    int curls = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("  curl ", 0) != 0) continue;
      ++curls;
      Process curl("/bin/bash", {"-c", line});
      const std::optional<int> code = curl.WaitExit(60s);
      INFO(line << "\n" << curl.Stdout() << curl.Stderr());
      CHECK(code == 0);
      const std::string out = curl.Stdout();
      CHECK((out.find("HTTP/1.1 202") == 0 || out.find("unique_users,") == 0));
    }
    CHECK(curls == 2);

    StopWithSigint(launcher);
  }

  SECTION("a second run on other ports continues with the data and the secret") {
    const std::vector<uint16_t> ports = FreePorts();
    const std::string api = "http://127.0.0.1:" + std::to_string(ports[0]);
    Launcher launcher(run_dir, ports);
    const bool ready = launcher.process().WaitForOutput(kReadyText, false, 120s);
    INFO(launcher.process().Stdout() << launcher.process().Stderr());
    REQUIRE(ready);
    const std::string kept = "unique_users,1\nclicks,1\nimpressions,0\n";
    CHECK(Rtctl({"query", "--api", api, "--fresh", "--timestamp", std::to_string(ts)}).out == kept);
    // The same secret gives alice the same key: still one unique user.
    REQUIRE(Rtctl({"send", "--api", api, "--user", "alice", "--click", "--timestamp",
                   std::to_string(ts)})
                .code == 0);
    const std::string expected = "unique_users,1\nclicks,2\nimpressions,0\n";
    CHECK(QueryUntil(api, ts, expected).out == expected);
    StopWithSigint(launcher);
  }
}

TEST_CASE("the make run launcher names a busy port and exits 1", "[integration][e2e][launcher]") {
  testing::TempDir dir;
  PortHolder busy(/*listen_on_it=*/true);
  const std::vector<uint16_t> free_ports = FreePorts();
  Launcher launcher(dir.Sub("run"), {busy.port(), free_ports[1], free_ports[2]});
  const std::optional<int> code = launcher.process().WaitExit(60s);
  CHECK(code == 1);
  CHECK(launcher.process().Stderr().find("port " + std::to_string(busy.port()) +
                                         " on 127.0.0.1 is already in use") != std::string::npos);
  CHECK(launcher.process().Stdout().find(kReadyText) == std::string::npos);
}

}  // namespace rt
