#include "server/model/replica_marks.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rt {

void ReplicaMarks::Raise(std::string_view stream, uint64_t mark) {
  const auto it =
      std::lower_bound(streams.begin(), streams.end(), stream,
                       [](const auto& entry, std::string_view s) { return entry.first < s; });
  if (it != streams.end() && it->first == stream) {
    it->second = std::max(it->second, mark);
  } else {
    streams.emplace(it, std::string(stream), mark);
  }
}

std::string FormatReplicaMarks(const ReplicaMarks& marks) {
  nlohmann::json streams = nlohmann::json::object();
  for (const auto& [stream, mark] : marks.streams) streams[stream] = mark;
  return nlohmann::json{{"sealed", marks.sealed}, {"streams", std::move(streams)}}.dump();
}

Result<ReplicaMarks> ParseReplicaMarks(std::string_view json) {
  try {
    const nlohmann::json doc = nlohmann::json::parse(json);
    ReplicaMarks marks;
    const nlohmann::json& sealed = doc.at("sealed");
    if (!sealed.is_boolean()) return Status::InvalidArgument("X-Rt-Marks: sealed is not a boolean");
    marks.sealed = sealed.get<bool>();
    const nlohmann::json& streams = doc.at("streams");
    if (!streams.is_object())
      return Status::InvalidArgument("X-Rt-Marks: streams is not an object");
    for (const auto& [stream, mark] : streams.items()) {
      if (!mark.is_number_unsigned()) {
        return Status::InvalidArgument("X-Rt-Marks: the mark of \"" + stream +
                                       "\" is not an unsigned integer");
      }
      marks.streams.emplace_back(stream, mark.get<uint64_t>());
    }
    // nlohmann's objects iterate in key order already; sorting states the invariant.
    std::sort(marks.streams.begin(), marks.streams.end());
    return marks;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad X-Rt-Marks JSON: ") + e.what());
  }
}

}  // namespace rt
