#pragma once

#include <string>

#include "base/status.h"

namespace rt::cli {

// The cluster secret for the keyed user hash: the content of `secret_file` (one
// trailing newline dropped) when given, else the environment variable RT_SECRET,
// else empty. An unreadable or empty file is an error: a node silently keying with
// the wrong secret would count every user twice.
[[nodiscard]] Result<std::string> ReadSecret(const std::string& secret_file);

}  // namespace rt::cli
