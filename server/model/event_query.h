#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/model/action.h"

namespace rt {

// Longest username accepted, in bytes after percent-decoding.
inline constexpr size_t kMaxUserBytes = 1024;

// One event as given in a query string:
// `timestamp=T&user=U&click` (API node) or `slice=S&user=K&click` (worker).
struct EventQuery {
  std::string timestamp_text;  // raw decoded text of the time parameter; not parsed here
  std::string user;            // decoded, 1..kMaxUserBytes bytes
  Action action = Action::kClick;
};

// Parses an event from a request target ("/analytics?timestamp=...") or a bare
// query string ("timestamp=..."). `time_param` names the time parameter
// ("timestamp", or "slice" at the worker).
//
// Rules (the error texts become 400 reasons, so each names the parameter):
//  * percent-decoding, '+' is a space;
//  * a repeated known parameter is an error (`repeated parameter "user"`): no
//    guessing which of two values the client meant;
//  * unknown parameters and empty segments ("&&") are ignored;
//  * `click` / `impression` count when present with no value, an empty value,
//    "1" or "true"; any other value is an error; exactly one of them is required;
//  * the time parameter must be present and non-empty; the user non-empty and
//    at most kMaxUserBytes.
[[nodiscard]] Result<EventQuery> ParseEventQuery(std::string_view target,
                                                 std::string_view time_param = "timestamp");

// For GETs: the decoded text of `time_param`, which must appear exactly once and
// be non-empty. Other parameters are ignored.
[[nodiscard]] Result<std::string> ParseTimeQuery(std::string_view target,
                                                 std::string_view time_param = "timestamp");

// The decoded text of an optional parameter: nullopt when absent; an error when
// repeated or empty. Other parameters are ignored.
[[nodiscard]] Result<std::optional<std::string>> ParseOptionalQuery(std::string_view target,
                                                                    std::string_view name);

}  // namespace rt
