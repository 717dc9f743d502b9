#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace rt {

// Where a JSON text (with /* */ and // comments) nests arrays and objects deeper
// than `max_depth`: the 1-based line of the first bracket past the limit, or
// nullopt. Runs before the parser, in one pass with constant stack, so that a
// file of 100,000 `[` cannot exhaust the stack of the recursive steps after the
// parse (the line index, the converter, nlohmann's dump). Strings and comments are
// skipped; on malformed input the scan stays in bounds and the parser reports the
// syntax error.
std::optional<int> LineDeeperThan(std::string_view text, std::size_t max_depth);

}  // namespace rt
