#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/cluster_config.h"
#include "server/api/reject_reason.h"
#include "server/model/action.h"
#include "server/model/user_key.h"
#include "server/model/user_keyer.h"

namespace rt {

// An event that passed every check of POST /analytics and knows where it goes.
struct AdmittedEvent {
  int64_t slice = 0;
  UserKey key;
  Action action = Action::kClick;
  // The replica set from the config's routing list (a set of one: a worker);
  // points into the ClusterConfig the event was admitted with, so it lives as long
  // as that config.
  const ReplicaSet* set = nullptr;
};

// Why an event was refused: the metric label and the one-line 400 reason.
struct Rejection {
  RejectReason reason = RejectReason::kBadQuery;
  std::string message;
};

// The outcome of AdmitEvent: `rejection.message` is empty when the event is admitted.
struct Admission {
  AdmittedEvent event;
  Rejection rejection;

  bool ok() const { return rejection.message.empty(); }
};

// Checks a POST /analytics request target against the config at the node's clock
// `now_ms` (docs/design.md §2 "Write path"; every 400 case of docs/http.md),
// pseudonymizes the user and picks the worker by the slice's routing list.
// Pure: no I/O, no locking; thread-safe as long as its arguments are.
Admission AdmitEvent(const ClusterConfig& config, const UserKeyer& keyer, std::string_view target,
                     int64_t now_ms);

}  // namespace rt
