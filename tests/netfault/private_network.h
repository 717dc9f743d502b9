#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace rt::netfault {

// Exit code of a run that could not create its namespace (ctest SKIP_RETURN_CODE).
constexpr int kSkipped = 77;

// Runs `body` in a fresh network namespace and PID namespace of its own and returns
// its exit code. The body runs as PID 1 of the new PID namespace, so when it ends —
// returning, crashing, or killed by the `time_limit` alarm — the kernel kills every
// process it started, and with the last of them the network namespace and every
// nftables rule in it go away: nothing is left on the host whatever happens. Loopback
// is brought up before `body` runs. Returns kSkipped, after one line on stderr saying
// why, when this machine cannot make the namespaces (not root, no CAP_SYS_ADMIN, no
// `ip`/`nft`); 1 if the body was killed (its signal is printed).
// REQUIRES: called before this process starts any thread (fork keeps only the caller).
int RunInPrivateNetwork(const std::function<int()>& body, std::chrono::seconds time_limit);

}  // namespace rt::netfault
