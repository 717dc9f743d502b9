#include "server/model/batch_ack.h"

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

}  // namespace

std::string FormatBatchAck(const BatchAck& ack) {
  nlohmann::json slices = nlohmann::json::array();
  for (const auto& [slice, stats] : ack.slices) {
    slices.push_back({{"slice", slice},
                      {"unique_users", stats.unique_users},
                      {"clicks", stats.clicks},
                      {"impressions", stats.impressions}});
  }
  nlohmann::json json = {{"acked_seq", ack.acked_seq},
                         {"applied", ack.applied},
                         {"duplicates", ack.duplicates},
                         {"slices", std::move(slices)}};
  return json.dump();
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
      ack.slices.emplace_back(entry.at("slice").get<int64_t>(), stats);
    }
    return ack;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("batch ack: ") + e.what());
  }
}

}  // namespace rt
