#include "server/api/stream_id.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace rt {

std::string NewStreamId(const std::string& node_id) {
  // Wall time rather than the rt Clock: the epoch must differ from every earlier
  // process's, also in the simulator where the rt Clock is fake and restarts at
  // the same instant.
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t prev = last.load();
  int64_t epoch = 0;
  do {
    epoch = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, epoch));
  return node_id + ":" + std::to_string(epoch);
}

}  // namespace rt
