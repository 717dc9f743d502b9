#include "cli/byte_size.h"

#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <utility>

namespace rt::cli {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  const auto refuse = [&] {
    return Status::InvalidArgument("not a byte count: \"" + std::string(text.substr(0, 64)) +
                                   "\" (digits, optionally K, M, G, KiB, MiB or GiB)");
  };
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return refuse();
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 7> kUnits{{
      {"", 1},
      {"K", 1000},
      {"M", 1000 * 1000},
      {"G", 1000 * 1000 * 1000},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (!EqualsIgnoreCase(unit, name)) continue;
    if (value > UINT64_MAX / factor) return refuse();
    return value * factor;
  }
  return refuse();
}

}  // namespace rt::cli
