#include "cli/stream_events.h"

#include <utility>

namespace rt::cli {

StreamEvents::StreamEvents(uint64_t seed, uint64_t users, std::string fixed_user, bool click,
                           bool impression)
    : random_(seed),
      pick_user_(0, users - 1),
      pick_click_(kMixedClickShare),
      fixed_user_(std::move(fixed_user)),
      click_(click),
      impression_(impression) {}

StreamEvent StreamEvents::Next() {
  StreamEvent event;
  event.user = fixed_user_.empty() ? "user" + std::to_string(pick_user_(random_)) : fixed_user_;
  event.click = click_ || (!impression_ && pick_click_(random_));
  return event;
}

}  // namespace rt::cli
