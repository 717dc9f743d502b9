#pragma once

#include <cstdint>

namespace rt {

class EventSpool;

// What became of an event handed to a worker's forwarder (the POST's answer).
enum class EnqueueResult {
  kQueued,         // accepted: the POST gets 202 (once durable, see EnqueueOutcome)
  kQueueFull,      // the worker's queue (spool) is full: 503 with Retry-After
  kUndeliverable,  // the node knows it cannot deliver to that worker now (it refused
                   // our key id, or its stream was stopped): 503 with the reason
};

// EnqueueResult, and for kQueued where the event is: record `seq` of the worker's
// spool. `wait_on` is set when the 202 must wait for that spool's group fsync
// (--spool-fsync: answer from wait_on->WhenDurable(seq, ...)); null when the event is
// as durable as it gets once Enqueue returns, so the caller answers at once without
// allocating a callback. The spool outlives every request (the node owns it).
struct EnqueueOutcome {
  EnqueueResult result = EnqueueResult::kQueueFull;
  uint64_t seq = 0;
  EventSpool* wait_on = nullptr;
};

}  // namespace rt
