#include "tests/netfault/client_history.h"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <optional>

#include "config/replica_set.h"
#include "config/routing.h"

namespace rt::netfault {
namespace {

namespace bhttp = boost::beast::http;

// Longer than any answer rt promises (a read's 2 s deadline), so a slow answer is
// recorded as slow, not as missing.
constexpr std::chrono::seconds kClientTimeout{10};

std::string FirstLine(const std::string& body) { return body.substr(0, body.find('\n')); }

}  // namespace

ClientHistory::ClientHistory(Options options)
    : options_(std::move(options)),
      keyer_(options_.secret),
      start_(std::chrono::steady_clock::now()) {}

ClientHistory::~ClientHistory() { Stop(); }

int64_t ClientHistory::NowUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start_)
      .count();
}

void ClientHistory::Add(Record record) {
  std::lock_guard lock(mutex_);
  records_.push_back(std::move(record));
}

std::vector<Record> ClientHistory::Snapshot() {
  std::lock_guard lock(mutex_);
  return records_;
}

void ClientHistory::Start() {
  for (size_t api = 0; api < options_.api_ports.size(); ++api) {
    writers_.emplace_back([this, api] { Write(static_cast<int>(api)); });
  }
  scheduler_ = std::thread([this] { ScheduleReads(); });
}

void ClientHistory::Stop() {
  stop_ = true;
  for (auto& t : writers_) t.join();
  writers_.clear();
  if (scheduler_.joinable()) scheduler_.join();
  std::vector<std::thread> readers;
  {
    std::lock_guard lock(mutex_);
    readers.swap(readers_);
  }
  for (auto& t : readers) t.join();
}

void ClientHistory::PostOnce(int api, const std::string& user, bool click,
                             std::optional<testing::HttpTestConnection>& connection) {
  Record r;
  r.kind = Record::Kind::kPost;
  r.api = api;
  r.click = click;
  const ReplicaSet& set =
      SetForHash(options_.sets, keyer_.KeyFor(options_.slice, user).RoutingHash());
  r.set = static_cast<int>(std::find(options_.sets.begin(), options_.sets.end(), set) -
                           options_.sets.begin());
  const std::string target = "/analytics?timestamp=" + std::to_string(options_.timestamp_ms) +
                             "&user=" + user + (click ? "&click" : "&impression");
  r.sent_us = NowUs();
  if (!connection || !connection->connected()) {
    connection.emplace(options_.api_ports[api], kClientTimeout);
  }
  std::optional<testing::TestResponse> response =
      connection->Exchange(testing::MakeTestRequest(bhttp::verb::post, target));
  r.done_us = NowUs();
  if (response) {
    r.status = response->result_int();
    if (r.status != 202) r.reason = FirstLine(response->body());
    if (!response->keep_alive()) connection.reset();
  } else {
    r.reason = connection->error();
    connection.reset();
  }
  Add(std::move(r));
}

void ClientHistory::Write(int api) {
  std::optional<testing::HttpTestConnection> connection;
  auto next = std::chrono::steady_clock::now();
  for (int n = 0; n < options_.max_posts && !stop_; ++n) {
    next += options_.post_interval;
    std::this_thread::sleep_until(next);
    PostOnce(api, "a" + std::to_string(api) + "-" + std::to_string(n), n % 3 == 0, connection);
  }
}

Record ClientHistory::ReadOnce(int api, bool no_cache) {
  Record r;
  r.kind = Record::Kind::kRead;
  r.api = api;
  r.no_cache = no_cache;
  std::vector<std::pair<std::string, std::string>> headers;
  if (no_cache) headers.emplace_back("Cache-Control", "no-cache");
  const std::string target = "/analytics?timestamp=" + std::to_string(options_.timestamp_ms);
  r.sent_us = NowUs();
  testing::HttpTestConnection connection(options_.api_ports[api], kClientTimeout);
  std::optional<testing::TestResponse> response;
  if (connection.connected()) {
    response = connection.Exchange(testing::MakeTestRequest(bhttp::verb::get, target, "", headers));
  }
  r.done_us = NowUs();
  if (!response) {
    r.reason = connection.error();
    return r;
  }
  r.status = response->result_int();
  if (r.status == 200) {
    Result<SliceStats> stats = ParseSliceStats(response->body());
    if (stats.ok()) {
      r.stats = *stats;
    } else {
      r.status = -1;  // a 200 that is not the stats text: checked as a broken promise
      r.reason = "unparsable 200: " + stats.status().message();
    }
  } else {
    r.reason = FirstLine(response->body());
  }
  return r;
}

void ClientHistory::ScheduleReads() {
  auto next = std::chrono::steady_clock::now();
  const int apis = static_cast<int>(options_.api_ports.size());
  for (int n = 0; !stop_; ++n) {
    next += options_.read_interval;
    std::this_thread::sleep_until(next);
    if (reads_in_flight_.load() >= kMaxReadsInFlight) {
      ++reads_not_sent_;
      continue;
    }
    ++reads_in_flight_;
    const int api = n % apis;
    const bool no_cache = (n / apis) % 2 == 0;
    std::lock_guard lock(mutex_);
    readers_.emplace_back([this, api, no_cache] {
      Record r = ReadOnce(api, no_cache);
      --reads_in_flight_;
      Add(std::move(r));
    });
  }
}

}  // namespace rt::netfault
