#include "config/utc_time.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "config/config_problem.h"

namespace rt {
namespace {

// Reads exactly `width` digits at text[pos]; false if any is not a digit.
bool ReadDigits(std::string_view text, size_t pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

Result<int64_t> ParseUtcTime(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("not a UTC time YYYY-MM-DDTHH:MM:SS: " + QuoteForMessage(text));
  };
  std::string_view body = text;
  if (!body.empty() && body.back() == 'Z') body.remove_suffix(1);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (body.size() != 16 && body.size() != 19) return bad();
  if (!ReadDigits(body, 0, 4, year) || body[4] != '-' || !ReadDigits(body, 5, 2, month) ||
      body[7] != '-' || !ReadDigits(body, 8, 2, day) || body[10] != 'T' ||
      !ReadDigits(body, 11, 2, hour) || body[13] != ':' || !ReadDigits(body, 14, 2, minute)) {
    return bad();
  }
  if (body.size() == 19 && (body[16] != ':' || !ReadDigits(body, 17, 2, second))) return bad();
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return bad();
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

std::string FormatUtcTime(int64_t epoch_seconds) {
  const int64_t days =
      epoch_seconds >= 0 ? epoch_seconds / 86400 : -((-epoch_seconds + 86399) / 86400);
  // Beyond year ±10000 there is no calendar form worth printing.
  if (days > 3652425 || days < -3652425) return std::to_string(epoch_seconds) + "s";
  const int64_t rest = epoch_seconds - days * 86400;
  const std::chrono::year_month_day date{
      std::chrono::sys_days(std::chrono::days(static_cast<int>(days)))};
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02d:%02d:%02d",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(rest / 3600),
                static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60));
  return buffer;
}

}  // namespace rt
