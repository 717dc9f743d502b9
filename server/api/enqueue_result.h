#pragma once

namespace rt {

// What became of an event handed to a worker's forwarder (the POST's answer).
enum class EnqueueResult {
  kQueued,         // accepted: the POST gets 202
  kQueueFull,      // the worker's queue is full: 503 with Retry-After
  kUndeliverable,  // the node knows it cannot deliver to that worker now (it refused
                   // our key id, or its stream was stopped): 503 with the reason
};

}  // namespace rt
