#include "server/api/event_admission.h"

#include "config/routing.h"
#include "config/slice_math.h"
#include "server/model/event_query.h"

namespace rt {
namespace {

Admission Reject(RejectReason reason, std::string message) {
  Admission admission;
  admission.rejection = Rejection{reason, std::move(message)};
  return admission;
}

// ParseEventQuery's messages name the parameter they are about; that name is the
// reason's category.
RejectReason ClassifyQueryError(const std::string& message) {
  if (message.find("timestamp") != std::string::npos) return RejectReason::kBadTimestamp;
  if (message.find("\"user\"") != std::string::npos) return RejectReason::kBadUser;
  if (message.find("click") != std::string::npos ||
      message.find("impression") != std::string::npos) {
    return message.find("bad value") != std::string::npos ? RejectReason::kBadQuery
                                                          : RejectReason::kBadAction;
  }
  return RejectReason::kBadQuery;
}

}  // namespace

Admission AdmitEvent(const ClusterConfig& config, const UserKeyer& keyer, std::string_view target,
                     int64_t now_ms) {
  Result<EventQuery> query = ParseEventQuery(target, "timestamp");
  if (!query.ok()) {
    return Reject(ClassifyQueryError(query.status().message()), query.status().message());
  }
  Result<int64_t> timestamp = ParseTimestamp(query->timestamp_text);
  if (!timestamp.ok()) return Reject(RejectReason::kBadTimestamp, timestamp.status().message());

  Result<int64_t> event_ms = TimestampToEpochMillis(config, *timestamp);
  if (!event_ms.ok()) return Reject(RejectReason::kBadTimestamp, event_ms.status().message());
  if (*event_ms - now_ms > config.max_future_s * 1000) {
    std::string reason = "timestamp " + query->timestamp_text + " is more than " +
                         std::to_string(config.max_future_s) + " s ahead of this node's clock";
    // The reverse unit mistake: epoch milliseconds on a seconds cluster read as a
    // time tens of thousands of years ahead; read as milliseconds it would be near now.
    if (config.timestamp_unit == TimestampUnit::kSeconds &&
        *timestamp >= kEpochSecondsMillisSplit &&
        *timestamp / 1000 - now_ms / 1000 <= config.max_future_s) {
      reason +=
          ": it looks like epoch milliseconds; this cluster expects epoch seconds "
          "(timestamp-unit)";
    }
    return Reject(RejectReason::kTooFarInFuture, reason);
  }

  Result<int64_t> slice = SliceOfTimestamp(config, *timestamp);
  if (!slice.ok()) return Reject(RejectReason::kBeforeFirstSlice, slice.status().message());

  if (config.max_late_slices) {
    Result<int64_t> now_slice = SliceOfEpochMillis(config, now_ms);
    if (now_slice.ok() && *now_slice - *slice > *config.max_late_slices) {
      return Reject(RejectReason::kTooLate,
                    "timestamp " + query->timestamp_text + " is more than " +
                        std::to_string(*config.max_late_slices) + " slices old");
    }
  }

  const std::vector<ReplicaSet>* sets = SetsForSlice(config, *slice);
  if (sets == nullptr || sets->empty()) {
    return Reject(RejectReason::kNoRoute,
                  "timestamp: slice " + std::to_string(*slice) + " has no workers in the routing");
  }

  Admission admission;
  admission.event.slice = *slice;
  admission.event.key = keyer.KeyFor(*slice, query->user);
  admission.event.action = query->action;
  admission.event.set = &SetForHash(*sets, admission.event.key.RoutingHash());
  return admission;
}

}  // namespace rt
