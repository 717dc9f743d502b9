#include "cli/stream_events.h"

#include <limits>
#include <utility>

namespace rt::cli {

StreamEvents::StreamEvents(uint64_t seed, uint64_t users, std::string fixed_user, bool click,
                           bool impression)
    : random_(seed),
      users_(users),
      fixed_user_(std::move(fixed_user)),
      click_(click),
      impression_(impression) {}

// Uniform in [0, users_): draws above the largest multiple of users_ are redrawn,
// since taking them modulo users_ would favour the small indexes.
uint64_t StreamEvents::PickUser() {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % users_;
  uint64_t draw = random_();
  while (draw >= limit) draw = random_();
  return draw % users_;
}

// The top 53 bits as a double in [0, 1), exact, compared with the share.
bool StreamEvents::PickClick() {
  return static_cast<double>(random_() >> 11) * 0x1.0p-53 < kMixedClickShare;
}

StreamEvent StreamEvents::Next() {
  StreamEvent event;
  event.user = fixed_user_.empty() ? "user" + std::to_string(PickUser()) : fixed_user_;
  event.click = click_ || (!impression_ && PickClick());
  return event;
}

}  // namespace rt::cli
