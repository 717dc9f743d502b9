#include "server/http/server_options.h"

#include <sys/resource.h>

#include <algorithm>

namespace rt::http {

namespace {
constexpr std::uint64_t kUnknownFdLimit = 1 << 20;
}  // namespace

std::size_t MaxConnectionsForFdLimit(std::uint64_t fd_limit) {
  const std::uint64_t reserve = 128 + fd_limit / 10;
  const std::uint64_t cap = fd_limit > reserve ? fd_limit - reserve : 0;
  return static_cast<std::size_t>(std::max<std::uint64_t>(cap, 16));
}

std::size_t DefaultMaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return MaxConnectionsForFdLimit(kUnknownFdLimit);
  }
  return MaxConnectionsForFdLimit(std::min<std::uint64_t>(limit.rlim_cur, kUnknownFdLimit));
}

}  // namespace rt::http
