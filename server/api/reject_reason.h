#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace rt {

// Why the API node refused an event with a 400 or 503. Every rejection is counted by
// reason in /metrics (`rt_api_rejected_total{reason="..."}`), never dropped silently.
enum class RejectReason : size_t {
  kBadQuery,          // malformed query string, unknown click/impression value
  kBadTimestamp,      // missing, empty, not an integer, out of range
  kBadUser,           // missing, empty or longer than 1024 bytes
  kBadAction,         // neither or both of click/impression
  kBeforeFirstSlice,  // timestamp before first-slice
  kTooFarInFuture,    // more than max-future-s ahead of the node's clock
  kTooLate,           // older than max-late-slices slices
  kNoRoute,           // the slice has no workers (before the first routing entry)
  kQueueFull,         // the worker's forwarding queue is full (503)
  kUndeliverable,     // the worker refused our key id or its stream was stopped (503)
  kCount,
};

inline constexpr std::array<std::string_view, static_cast<size_t>(RejectReason::kCount)>
    kRejectReasonNames = {"bad_query",          "bad_timestamp",     "bad_user", "bad_action",
                          "before_first_slice", "too_far_in_future", "too_late", "no_route",
                          "queue_full",         "undeliverable"};

constexpr std::string_view RejectReasonName(RejectReason reason) {
  return kRejectReasonNames[static_cast<size_t>(reason)];
}

}  // namespace rt
