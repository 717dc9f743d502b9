#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "server/http/client_connection.h"
#include "sim/oracle.h"
#include "sim/traffic_model.h"

namespace rt {

// What the clients saw while sending some requests.
struct SendTally {
  uint64_t posts = 0;
  uint64_t accepted = 0;    // 202, recorded in the oracle
  uint64_t rejected = 0;    // any other final answer (after retrying 503s)
  uint64_t unanswered = 0;  // sent, no answer: may or may not have been counted
  uint64_t gets = 0;
  uint64_t get_errors = 0;            // GETs answered other than 200, or not at all
  std::vector<std::string> problems;  // the first few rejections / unanswered, one line each

  SendTally& operator+=(const SendTally& other);
};

struct LoadDriverOptions {
  int threads = 4;  // client threads, each with a keep-alive connection per API node
  // Requests a client thread puts in flight before waiting for their answers.
  int window = 16;
  // A POST answered 503 (queues full) is resent with backoff until this much wall
  // time has passed; then it counts as rejected.
  std::chrono::milliseconds retry_deadline{30'000};
  std::chrono::milliseconds request_timeout{20'000};
};

// The simulator's clients: sends SimRequests to API nodes over real HTTP (keep-alive
// ClientConnections, one per client thread and node) and records in the oracle
// every POST answered 202 — and only those (a POST sent and never answered goes to
// Oracle::RecordUnknown; one refused at connect is sent again). GET answers are not checked here
// (the cache and in-flight events make them approximate during the run); their status is.
// Thread-safety: Send from one controlling thread at a time; it uses its own
// threads internally and returns when every request has its final answer.
class LoadDriver {
 public:
  // `first_slice_ms` and `slice_ms` are the oracle's slicing, computed here
  // independently of the config code under test.
  LoadDriver(Oracle& oracle, int64_t first_slice_ms, int64_t slice_ms, LoadDriverOptions options);
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  // Sends every request; request r goes to ports[r.route % ports.size()] on 127.0.0.1.
  // REQUIRES: !ports.empty().
  SendTally Send(std::span<const SimRequest> requests, const std::vector<uint16_t>& ports);

  // Closes the connections (e.g. before the nodes they point to stop).
  void CloseConnections();

  // The node behind a port was replaced (crashed and restarted): every client
  // thread opens new connections before its next window, so that no request goes
  // out on a connection to the dead node after this. Any thread, during a Send too.
  void Reconnect() { generation_.fetch_add(1, std::memory_order_relaxed); }

  // POSTs answered 202 so far, over every Send (another thread may watch a Send in
  // progress with it).
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  struct Client {
    std::map<uint16_t, std::shared_ptr<http::ClientConnection>> connections;
    uint64_t generation = 0;  // of generation_, when `connections` were opened
  };

  void RunClient(Client& client, std::span<const SimRequest> requests, size_t first, size_t step,
                 const std::vector<uint16_t>& ports, SendTally& tally);
  http::ClientConnection& ConnectionTo(Client& client, uint16_t port);

  Oracle& oracle_;
  int64_t first_slice_ms_;
  int64_t slice_ms_;
  LoadDriverOptions options_;
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> io_threads_;
  std::vector<Client> clients_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> generation_{0};
};

// `value` percent-encoded for a query string (RFC 3986 unreserved bytes kept).
std::string PercentEncode(std::string_view value);

}  // namespace rt
