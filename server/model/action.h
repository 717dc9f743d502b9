#pragma once

#include <cstdint>
#include <string_view>

namespace rt {

// What an event records.
enum class Action : uint8_t { kClick, kImpression };

// "click" or "impression", the query parameter names.
constexpr std::string_view ActionName(Action action) {
  return action == Action::kClick ? "click" : "impression";
}

}  // namespace rt
