#include "sim/load_driver.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace rt {
namespace {

constexpr size_t kMaxProblems = 10;

void AddProblem(SendTally& tally, std::string problem) {
  if (tally.problems.size() < kMaxProblems) tally.problems.push_back(std::move(problem));
}

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 200) line.resize(200);
  return line;
}

// Counts down the answers of one window; the last callback notifies while holding
// the mutex, so the waiting thread cannot destroy the window under it.
struct Window {
  std::mutex mutex;
  std::condition_variable done;
  size_t remaining = 0;
};

struct Outcome {
  Status status;
  unsigned http_status = 0;
  std::string body;
};

// ClientConnection's failure before the request was written (see its Callback): with
// resend_on_stale_close off, the request never left this process.
bool NeverSent(const Status& status) {
  return status.message().find(": connect: ") != std::string::npos ||
         status.message().find(": resolve: ") != std::string::npos;
}

}  // namespace

SendTally& SendTally::operator+=(const SendTally& other) {
  posts += other.posts;
  accepted += other.accepted;
  rejected += other.rejected;
  unanswered += other.unanswered;
  gets += other.gets;
  get_errors += other.get_errors;
  for (const auto& problem : other.problems) {
    if (problems.size() < kMaxProblems) problems.push_back(problem);
  }
  return *this;
}

std::string PercentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() + 8);
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

LoadDriver::LoadDriver(Oracle& oracle, int64_t first_slice_ms, int64_t slice_ms,
                       LoadDriverOptions options)
    : oracle_(oracle),
      first_slice_ms_(first_slice_ms),
      slice_ms_(slice_ms),
      options_(options),
      work_(context_.get_executor()),
      clients_(static_cast<size_t>(std::max(1, options.threads))) {
  for (int i = 0; i < 2; ++i) io_threads_.emplace_back([this] { context_.run(); });
}

LoadDriver::~LoadDriver() {
  CloseConnections();
  work_.reset();
  context_.stop();
  for (auto& thread : io_threads_) thread.join();
}

void LoadDriver::CloseConnections() {
  for (Client& client : clients_) {
    for (auto& [port, connection] : client.connections) connection->Close();
    client.connections.clear();
  }
}

http::ClientConnection& LoadDriver::ConnectionTo(Client& client, uint16_t port) {
  auto& connection = client.connections[port];
  if (!connection) {
    http::ClientOptions options;
    options.request_timeout = options_.request_timeout;
    // A POST is not idempotent: resent after its node crashed with it in flight, it
    // could be counted by the crashed node's spool and by the restarted node.
    options.resend_on_stale_close = false;
    connection = http::ClientConnection::Create(context_, "127.0.0.1", port, options);
  }
  return *connection;
}

SendTally LoadDriver::Send(std::span<const SimRequest> requests,
                           const std::vector<uint16_t>& ports) {
  std::vector<SendTally> tallies(clients_.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients_.size(); ++i) {
    threads.emplace_back([this, i, requests, &ports, &tallies] {
      RunClient(clients_[i], requests, i, clients_.size(), ports, tallies[i]);
    });
  }
  for (auto& thread : threads) thread.join();
  SendTally total;
  for (const auto& tally : tallies) total += tally;
  return total;
}

void LoadDriver::RunClient(Client& client, std::span<const SimRequest> requests, size_t first,
                           size_t step, const std::vector<uint16_t>& ports, SendTally& tally) {
  struct Item {
    const SimRequest* request;
    std::optional<std::chrono::steady_clock::time_point> first_503;
  };
  std::deque<Item> queue;
  for (size_t i = first; i < requests.size(); i += step) queue.push_back({&requests[i], {}});

  auto backoff = std::chrono::milliseconds(1);
  std::vector<Item> window_items;
  std::vector<Outcome> outcomes;
  while (!queue.empty()) {
    if (const uint64_t generation = generation_.load(std::memory_order_relaxed);
        generation != client.generation) {
      for (auto& [port, connection] : client.connections) connection->Close();
      client.connections.clear();
      client.generation = generation;
    }
    const size_t n = std::min(queue.size(), static_cast<size_t>(std::max(1, options_.window)));
    window_items.assign(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
    outcomes.assign(n, Outcome{});

    Window window;
    window.remaining = n;
    for (size_t k = 0; k < n; ++k) {
      const SimRequest& r = *window_items[k].request;
      std::string target = "/analytics?timestamp=" + std::to_string(r.timestamp_ms);
      http::Verb verb = http::Verb::get;
      if (r.kind == SimRequest::Kind::kPost) {
        verb = http::Verb::post;
        target += "&user=" + PercentEncode(TrafficModel::UserName(r.user)) + "&" +
                  std::string(ActionName(r.action));
      }
      http::Request request{verb, target, 11};
      ConnectionTo(client, ports[r.route % ports.size()])
          .Send(std::move(request),
                [&window, &outcome = outcomes[k]](Status status, http::Response response) {
                  outcome.status = std::move(status);
                  outcome.http_status = response.result_int();
                  outcome.body = std::move(response.body());
                  std::lock_guard lock(window.mutex);
                  if (--window.remaining == 0) window.done.notify_one();
                });
    }
    {
      std::unique_lock lock(window.mutex);
      window.done.wait(lock, [&window] { return window.remaining == 0; });
    }

    bool saw_503 = false;
    const auto now = std::chrono::steady_clock::now();
    for (size_t k = 0; k < n; ++k) {
      const SimRequest& r = *window_items[k].request;
      const Outcome& outcome = outcomes[k];
      if (r.kind == SimRequest::Kind::kGet) {
        ++tally.gets;
        if (!outcome.status.ok() || outcome.http_status != 200) ++tally.get_errors;
        continue;
      }
      const int64_t slice = (r.timestamp_ms - first_slice_ms_) / slice_ms_;
      // Refused at connect (its node is restarting): never sent, so sent again.
      const bool not_sent = !outcome.status.ok() && NeverSent(outcome.status);
      if (!outcome.status.ok() && !not_sent) {
        ++tally.posts;
        ++tally.unanswered;
        oracle_.RecordUnknown(slice, TrafficModel::UserName(r.user), r.action);
        AddProblem(tally, "POST without an answer: " + outcome.status.message());
      } else if (outcome.status.ok() && outcome.http_status == 202) {
        ++tally.posts;
        ++tally.accepted;
        accepted_.fetch_add(1, std::memory_order_relaxed);
        oracle_.Record(slice, TrafficModel::UserName(r.user), r.action);
      } else if ((not_sent || outcome.http_status == 503) &&
                 (!window_items[k].first_503 ||
                  now - *window_items[k].first_503 < options_.retry_deadline)) {
        saw_503 = true;
        Item retry = window_items[k];
        if (!retry.first_503) retry.first_503 = now;
        queue.push_back(retry);
      } else {
        ++tally.posts;
        ++tally.rejected;
        AddProblem(tally, not_sent ? "POST not sent: " + outcome.status.message()
                                   : "POST answered " + std::to_string(outcome.http_status) + ": " +
                                         FirstLine(outcome.body));
      }
    }
    if (saw_503) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
    } else {
      backoff = std::chrono::milliseconds(1);
    }
  }
}

}  // namespace rt
