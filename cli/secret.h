#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "server/auth/worker_key.h"

namespace rt::cli {

// Secrets handled like secrets (docs/design.md §3): read from a file that only its
// owner can read (refused like ssh refuses a private key readable by group or
// others) or from the environment, which is then cleared so that child processes
// and /proc/PID/environ do not show it.

// The shortest cluster secret accepted, in bytes.
inline constexpr size_t kMinSecretBytes = 16;

// The cluster secret: the content of `secret_file` (one trailing newline dropped)
// when given, else the environment variable RT_SECRET; nullopt when neither is set.
// Errors: the file cannot be read (with strerror), its mode has a group or other
// bit, or the secret is shorter than kMinSecretBytes. RT_SECRET is removed from the
// environment in every case.
[[nodiscard]] Result<std::optional<std::string>> ReadSecret(const std::string& secret_file);

// The worker key: the content of `key_file` when given, else RT_WORKER_KEY; 64 hex
// characters (one trailing newline dropped); nullopt when neither is set. Errors as
// for ReadSecret, and for anything but 64 hex characters. RT_WORKER_KEY is removed
// from the environment in every case.
[[nodiscard]] Result<std::optional<WorkerKey>> ReadWorkerKey(const std::string& key_file);

}  // namespace rt::cli
