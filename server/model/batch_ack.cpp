#include "server/model/batch_ack.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace rt {
namespace {

// nlohmann converts -1 to a huge unsigned without complaint; counts must not.
uint64_t Unsigned(const nlohmann::json& object, const char* name) {
  const nlohmann::json& value = object.at(name);
  if (!value.is_number_unsigned()) {
    throw nlohmann::json::type_error::create(302, std::string(name) + " is not an unsigned integer",
                                             &value);
  }
  return value.get<uint64_t>();
}

// get<int64_t> of a float out of range is undefined behaviour (and 1.5 would be
// slice 1): a slice is an integer 0..INT64_MAX, as in the batch body.
int64_t Slice(const nlohmann::json& entry) {
  const nlohmann::json& value = entry.at("slice");
  if (!value.is_number_unsigned() || value.get<uint64_t>() > INT64_MAX) {
    throw nlohmann::json::type_error::create(302, "slice is not an integer 0..2^63-1", &value);
  }
  return static_cast<int64_t>(value.get<uint64_t>());
}

}  // namespace

// Formatted by hand: it is written once per batch on the worker's hot path, where
// building an nlohmann tree cost 5-8% of the worker's CPU (bench/README.md). The
// fields are numbers only, so there is nothing to escape.
std::string FormatBatchAck(const BatchAck& ack) {
  std::string out;
  out.reserve(64 + ack.slices.size() * 80);
  const auto append_number = [&out](auto value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, end);
  };
  out += "{\"acked_seq\":";
  append_number(ack.acked_seq);
  out += ",\"applied\":";
  append_number(ack.applied);
  out += ",\"duplicates\":";
  append_number(ack.duplicates);
  out += ",\"slices\":[";
  for (size_t i = 0; i < ack.slices.size(); ++i) {
    const auto& [slice, stats] = ack.slices[i];
    out += i == 0 ? "{\"slice\":" : ",{\"slice\":";
    append_number(slice);
    out += ",\"unique_users\":";
    append_number(stats.unique_users);
    out += ",\"clicks\":";
    append_number(stats.clicks);
    out += ",\"impressions\":";
    append_number(stats.impressions);
    out += '}';
  }
  out += "]}";
  return out;
}

Result<BatchAck> ParseBatchAck(std::string_view text) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    BatchAck ack;
    ack.acked_seq = Unsigned(json, "acked_seq");
    ack.applied = json.contains("applied") ? Unsigned(json, "applied") : 0;
    ack.duplicates = Unsigned(json, "duplicates");
    for (const auto& entry : json.at("slices")) {
      SliceStats stats;
      stats.unique_users = Unsigned(entry, "unique_users");
      stats.clicks = Unsigned(entry, "clicks");
      stats.impressions = Unsigned(entry, "impressions");
      ack.slices.emplace_back(Slice(entry), stats);
    }
    return ack;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("batch ack: ") + e.what());
  }
}

}  // namespace rt
