#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// Parses a UTC time `YYYY-MM-DDTHH:MM:SS` (seconds may be left out, as Java's
// LocalDateTime.parse allows, which rt used; a trailing `Z` is accepted) into epoch
// seconds. Calendar-checked: 2021-02-29 is an error, not March 1st.
[[nodiscard]] Result<int64_t> ParseUtcTime(std::string_view text);

// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SS` (UTC).
std::string FormatUtcTime(int64_t epoch_seconds);

}  // namespace rt
