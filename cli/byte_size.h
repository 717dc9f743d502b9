#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace rt::cli {

// A byte count as an operator writes it: digits, optionally followed by a unit:
// K, M, G (powers of 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive,
// e.g. "8GiB", "500M", "1048576". InvalidArgument quoting the text otherwise, or
// when the value overflows 64 bits.
[[nodiscard]] Result<uint64_t> ParseByteSize(std::string_view text);

}  // namespace rt::cli
