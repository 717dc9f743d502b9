// rtctl send, query, perworker and allslices as real processes against a real local
// cluster: their stdout, stderr and exit codes on success, on a rejected event, with
// the node unreachable, with a worker down, with RT_API, and on usage errors.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/stream_events.h"
#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"
#include "sim/oracle.h"
#include "tests/support/local_cluster.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::NowMs;

// The middle of the slice `slices_ago` before the one holding now: late events are
// accepted (no max-late-slices), and the cluster's first-slice puts now in the middle
// of an hour, so no hour boundary can move anything mid-test.
int64_t PastTimestamp(const LocalCluster& cluster, int slices_ago) {
  return cluster.clock().Middle(cluster.clock().now_slice - slices_ago);
}

using Run = testing::RtctlRun;

// Runs rtctl to completion (bounded) and returns its exit code and output.
Run Rtctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  Run run = testing::RunRtctl(args, env);
  INFO("rtctl did not exit in time: " << run.err);
  REQUIRE(run.code >= 0);
  return run;
}

bool IsOneLine(const std::string& text) {
  return !text.empty() && text.find('\n') == text.size() - 1;
}

// `rtctl query --fresh` until it prints `expected` (the API node forwards events in
// batches, so a query right after a 202 may not see them yet); returns the last run.
Run QueryUntil(const std::string& api, std::optional<int64_t> ts, const std::string& expected,
               const std::vector<std::string>& env = {}) {
  std::vector<std::string> args = {"query", "--fresh"};
  if (!api.empty()) args.insert(args.end(), {"--api", api});
  if (ts) args.insert(args.end(), {"--timestamp", std::to_string(*ts)});
  Run run;
  testing::WaitFor(
      [&] {
        run = testing::RunRtctl(args, env);
        return run.code == 0 && run.out == expected;
      },
      60s, 50ms);
  return run;
}

// What `rtctl send --count N --seed S --users K [--click|--impression]` sends, counted
// exactly (all in one slice).
struct StreamExpectation {
  SliceStats stats;
};
StreamExpectation StreamOracle(uint64_t count, uint64_t seed, uint64_t users, bool click,
                               bool impression) {
  cli::StreamEvents events(seed, users, "", click, impression);
  Oracle oracle;
  for (uint64_t i = 0; i < count; ++i) {
    const cli::StreamEvent event = events.Next();
    oracle.Record(0, event.user, event.click ? Action::kClick : Action::kImpression);
  }
  return {oracle.StatsFor(0)};
}

SliceStats StatsFromJson(const nlohmann::json& object) {
  return SliceStats{object.at("unique_users").get<uint64_t>(), object.at("clicks").get<uint64_t>(),
                    object.at("impressions").get<uint64_t>()};
}

// A loopback port with nothing listening on it: bound to port 0, then closed.
uint16_t ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("rtctl send of one event prints nothing and rtctl query --fresh then shows it",
          "[integration][cli]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();

  SECTION("with --timestamp") {
    const int64_t ts = PastTimestamp(cluster, 2);
    const Run sent = Rtctl({"send", "--api", api, "--user", "alice smith", "--click", "--timestamp",
                            std::to_string(ts)});
    CHECK(sent.code == 0);
    CHECK(sent.out.empty());
    CHECK(sent.err.empty());

    const std::string expected = "unique_users,1\nclicks,1\nimpressions,0\n";
    const Run query = QueryUntil(api, ts, expected);
    CHECK(query.code == 0);
    CHECK(query.out == expected);
    CHECK(query.err.empty());

    const Run json =
        Rtctl({"query", "--api", api, "--fresh", "--json", "--timestamp", std::to_string(ts)});
    REQUIRE(json.code == 0);
    CHECK(StatsFromJson(nlohmann::json::parse(json.out)) == SliceStats{1, 1, 0});
  }

  SECTION("with the default timestamp, now") {
    // Now is mid-slice (LocalCluster's first-slice): send and query see the same slice.
    const Run sent = Rtctl({"send", "--api", api, "--user", "bob", "--impression"});
    CHECK(sent.code == 0);
    CHECK(sent.out.empty());
    CHECK(sent.err.empty());
    const std::string expected = "unique_users,1\nclicks,0\nimpressions,1\n";
    const Run query = QueryUntil(api, std::nullopt, expected);
    CHECK(query.code == 0);
    CHECK(query.out == expected);
  }
}

TEST_CASE("rtctl send --count with a seed is counted exactly as the same seed predicts",
          "[integration][cli]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();
  const int64_t ts = PastTimestamp(cluster, 3);
  const int64_t slice = cluster.clock().SliceOf(ts);

  const Run sent = Rtctl({"send", "--api", api, "--count", "600", "--seed", "42", "--users", "80",
                          "--timestamp", std::to_string(ts)});
  INFO(sent.err);
  CHECK(sent.code == 0);
  CHECK(sent.out.rfind("sent,600\naccepted,600\nrejected,0\nfailed,0\nelapsed_s,", 0) == 0);
  CHECK(sent.out.find("\nlatency_p99_ms,") != std::string::npos);
  CHECK(sent.out.find("\nseed,42\n") != std::string::npos);
  CHECK(sent.err.empty());  // no progress line: stderr is not a terminal

  const SliceStats expected = StreamOracle(600, 42, 80, false, false).stats;
  REQUIRE(expected.clicks > 0);
  REQUIRE(expected.impressions > 0);
  const Run query = QueryUntil(api, ts, FormatSliceStats(expected));
  CHECK(query.code == 0);
  CHECK(query.out == FormatSliceStats(expected));

  const Run json =
      Rtctl({"query", "--api", api, "--fresh", "--json", "--timestamp", std::to_string(ts)});
  REQUIRE(json.code == 0);
  CHECK(StatsFromJson(nlohmann::json::parse(json.out)) == expected);

  // perworker: the two workers' shares add up to the query's answer.
  const Run perworker = Rtctl({"perworker", "--api", api, "--timestamp", std::to_string(ts)});
  REQUIRE(perworker.code == 0);
  CHECK(perworker.err.empty());
  const Result<std::vector<StatsRecord>> records = ParseStatsRecords(perworker.out);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  SliceStats sum;
  std::set<std::string> workers;
  for (const StatsRecord& record : *records) {
    CHECK(record.slice == slice);
    workers.insert(record.worker);
    sum += record.stats;
  }
  CHECK(workers == std::set<std::string>{cluster.worker_url(0), cluster.worker_url(1)});
  CHECK(sum == expected);

  const Run perworker_json =
      Rtctl({"perworker", "--api", api, "--json", "--timestamp", std::to_string(ts)});
  REQUIRE(perworker_json.code == 0);
  const nlohmann::json array = nlohmann::json::parse(perworker_json.out);
  REQUIRE(array.size() == 2);
  CHECK(StatsFromJson(array[0]) + StatsFromJson(array[1]) == expected);
  CHECK(array[0].at("slice").get<int64_t>() == slice);
  // The slice's start as the cluster's config places it (UTC).
  const std::string slice_start = testing::FormatUtc(cluster.clock().Start(slice) / 1000);
  CHECK(array[0].at("start").get<std::string>() == slice_start);

  const Run table =
      Rtctl({"perworker", "--api", api, "--table", "--timestamp", std::to_string(ts)});
  REQUIRE(table.code == 0);
  INFO(table.out);
  std::istringstream lines(table.out);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  REQUIRE(rows.size() == 4);  // header, two workers, total
  CHECK_THAT(rows[0], Catch::StartsWith("slice  start_utc  "));
  for (int i = 1; i <= 2; ++i) {
    std::istringstream row(rows[i]);
    std::string row_slice, row_start;
    row >> row_slice >> row_start;
    CHECK(row_slice == std::to_string(slice));
    CHECK(row_start == slice_start);
  }
  std::istringstream total_row(rows.back());
  std::string label;
  SliceStats total;
  total_row >> label >> total.unique_users >> total.clicks >> total.impressions;
  CHECK(label == "total");
  CHECK(total == expected);

  SECTION("a --click stream of one seed counts only clicks, and allslices lists both") {
    const int64_t click_ts = PastTimestamp(cluster, 5);
    const Run clicks = Rtctl({"send", "--api", api, "--count", "50", "--seed", "7", "--users", "5",
                              "--click", "--timestamp", std::to_string(click_ts)});
    CHECK(clicks.code == 0);
    CHECK(clicks.out.rfind("sent,50\naccepted,50\n", 0) == 0);
    const SliceStats click_expected = StreamOracle(50, 7, 5, true, false).stats;
    CHECK(click_expected.impressions == 0);
    CHECK(QueryUntil(api, click_ts, FormatSliceStats(click_expected)).out ==
          FormatSliceStats(click_expected));

    const Run all = Rtctl({"allslices", "--api", api});
    REQUIRE(all.code == 0);
    CHECK(all.out == "slice," + std::to_string(cluster.clock().SliceOf(click_ts)) + "\n" +
                         FormatSliceStats(click_expected) + "slice," + std::to_string(slice) +
                         "\n" + FormatSliceStats(expected));
    const Run all_json = Rtctl({"allslices", "--api", api, "--json"});
    REQUIRE(all_json.code == 0);
    const nlohmann::json slices = nlohmann::json::parse(all_json.out);
    REQUIRE(slices.size() == 2);
    CHECK(slices[1].at("slice").get<int64_t>() == slice);
    CHECK(slices[1].at("start").get<std::string>() == slice_start);
    CHECK(StatsFromJson(slices[1]) == expected);
    // The table: each slice with its start beside its number, ascending.
    const Run all_table = Rtctl({"allslices", "--api", api, "--table"});
    REQUIRE(all_table.code == 0);
    const int64_t click_slice = cluster.clock().SliceOf(click_ts);
    const auto row = [](int64_t s, const std::string& start, const SliceStats& stats) {
      return std::to_string(s) + "  " + start + "  " + std::to_string(stats.unique_users) + " " +
             std::to_string(stats.clicks) + " " + std::to_string(stats.impressions);
    };
    std::istringstream table_lines(all_table.out);
    std::vector<std::string> got;
    std::string table_line;
    while (std::getline(table_lines, table_line)) {
      std::istringstream fields(table_line);
      std::string s_field, start_field, n_users, n_clicks, n_impressions;
      fields >> s_field >> start_field >> n_users >> n_clicks >> n_impressions;
      got.push_back(s_field + "  " + start_field + "  " + n_users + " " + n_clicks + " " +
                    n_impressions);
    }
    CHECK(got == std::vector<std::string>{
                     "slice  start_utc  unique_users clicks impressions",
                     row(click_slice, testing::FormatUtc(cluster.clock().Start(click_slice) / 1000),
                         click_expected),
                     row(slice, slice_start, expected)});
  }
}

TEST_CASE("send and query --seconds on a milliseconds cluster say the unit is wrong",
          "[integration][cli]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"send", "--api", api, "--user", "u", "--click", "--seconds"},
        std::vector<std::string>{"query", "--api", api, "--seconds"}}) {
    const Run run = Rtctl(args);
    INFO(run.err);
    CHECK(run.code == 1);
    CHECK(IsOneLine(run.err));
    CHECK_THAT(run.err, Catch::Contains("400 ") && Catch::Contains("looks like epoch seconds") &&
                            Catch::Contains("expects epoch milliseconds"));
  }
}

TEST_CASE("a rejected event is exit 1 with the node's 400 reason on stderr", "[integration][cli]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();

  // 1000 ms after the epoch is long before the first slice (2020).
  const Run early = Rtctl({"send", "--api", api, "--user", "u", "--click", "--timestamp", "1000"});
  CHECK(early.code == 1);
  CHECK(early.out.empty());
  CHECK(early.err.rfind("rtctl send: 400 ", 0) == 0);
  CHECK(IsOneLine(early.err));

  // Two hours ahead is beyond the default max-future-s of 300.
  const Run future = Rtctl({"send", "--api", api, "--user", "u", "--impression", "--timestamp",
                            std::to_string(NowMs() + 2 * cluster.clock().slice_ms)});
  CHECK(future.code == 1);
  CHECK(future.err.rfind("rtctl send: 400 ", 0) == 0);
  CHECK(IsOneLine(future.err));

  const Run stream = Rtctl(
      {"send", "--api", api, "--count", "5", "--users", "2", "--seed", "1", "--timestamp", "1000"});
  CHECK(stream.code == 1);
  CHECK(stream.out.find("sent,5\naccepted,0\nrejected,5\nrejected_400,5\n") == 0);
  CHECK(stream.err.rfind("rtctl send: 5 rejected, first: 400 ", 0) == 0);
  CHECK(IsOneLine(stream.err));

  const Run query = Rtctl({"query", "--api", api, "--timestamp", "1000"});
  CHECK(query.code == 1);
  CHECK(query.out.empty());
  CHECK(query.err.rfind("rtctl query: 400 ", 0) == 0);
  CHECK(IsOneLine(query.err));

  // Nothing of the above was counted.
  const Run all = Rtctl({"allslices", "--api", api});
  CHECK(all.code == 0);
  CHECK(all.out.empty());
}

TEST_CASE("an unreachable API node is exit 1 with 'cannot reach URL: reason'",
          "[integration][cli]") {
  SECTION("a closed port") {
    const std::string api = "http://127.0.0.1:" + std::to_string(ClosedPort());
    for (const std::string command : {"query", "perworker", "allslices"}) {
      const Run run = Rtctl({command, "--api", api});
      INFO(command << ": " << run.err);
      CHECK(run.code == 1);
      CHECK(run.out.empty());
      const std::string prefix = "rtctl " + command + ": cannot reach " + api + ": ";
      CHECK(run.err.rfind(prefix, 0) == 0);
      CHECK(run.err.size() > prefix.size() + 1);  // a reason follows
      CHECK(IsOneLine(run.err));
    }
    const Run send = Rtctl({"send", "--api", api, "--user", "u", "--click"});
    CHECK(send.code == 1);
    CHECK(send.err.rfind("rtctl send: cannot reach " + api + ": ", 0) == 0);
  }

  SECTION("a stopped API node") {
    LocalCluster cluster({});
    REQUIRE(cluster.Start());
    const std::string api = cluster.api_url();
    REQUIRE(Rtctl({"query", "--api", api}).code == 0);
    REQUIRE(cluster.StopApi() == 0);
    const Run run = Rtctl({"query", "--api", api, "--fresh"});
    CHECK(run.code == 1);
    CHECK(run.out.empty());
    CHECK(run.err.rfind("rtctl query: cannot reach " + api + ": ", 0) == 0);
    CHECK(IsOneLine(run.err));

    // A stream stops at the first event without an answer.
    const Run stream = Rtctl({"send", "--api", api, "--count", "100", "--users", "3"});
    CHECK(stream.code == 1);
    CHECK(stream.out.rfind("sent,1\naccepted,0\nrejected,0\nfailed,1\n", 0) == 0);
    CHECK(stream.err.rfind("rtctl send: cannot reach " + api + ": ", 0) == 0);
  }
}

TEST_CASE("with a worker down, query --fresh is exit 1 with the 503 naming the worker",
          "[integration][cli][faults]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();
  const int64_t ts = PastTimestamp(cluster, 1);
  REQUIRE(Rtctl({"send", "--api", api, "--count", "200", "--seed", "3", "--users", "50",
                 "--timestamp", std::to_string(ts)})
              .code == 0);
  const SliceStats expected = StreamOracle(200, 3, 50, false, false).stats;
  REQUIRE(QueryUntil(api, ts, FormatSliceStats(expected)).out == FormatSliceStats(expected));

  const std::string worker_url = cluster.worker_url(1);
  cluster.KillWorker(1);
  const Run query = Rtctl({"query", "--api", api, "--fresh", "--timestamp", std::to_string(ts)});
  CHECK(query.code == 1);
  CHECK(query.out.empty());
  CHECK(query.err.rfind("rtctl query: 503 ", 0) == 0);
  CHECK(query.err.find("worker 1 (" + worker_url + ")") != std::string::npos);
  CHECK(IsOneLine(query.err));

  // perworker --fresh asks every worker of the slice, past the cache.
  const Run per = Rtctl({"perworker", "--api", api, "--fresh", "--timestamp", std::to_string(ts)});
  CHECK(per.code == 1);
  CHECK(per.err.rfind("rtctl perworker: 503 ", 0) == 0);
  CHECK(per.err.find(worker_url) != std::string::npos);

  // allslices asks every worker, with no cache to fall back on.
  const Run all = Rtctl({"allslices", "--api", api});
  CHECK(all.code == 1);
  CHECK(all.out.empty());
  CHECK(all.err.rfind("rtctl allslices: 503 ", 0) == 0);
  CHECK(all.err.find(worker_url) != std::string::npos);
  CHECK(IsOneLine(all.err));

  // Back on the same port and data: the same exact answer.
  REQUIRE(cluster.RestartWorker(1));
  const Run again = QueryUntil(api, ts, FormatSliceStats(expected));
  CHECK(again.code == 0);
  CHECK(again.out == FormatSliceStats(expected));
}

TEST_CASE("the client commands take the API node from RT_API when --api is absent",
          "[integration][cli]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const std::vector<std::string> env = {"RT_API=" + cluster.api_url() + "/analytics"};
  const int64_t ts = PastTimestamp(cluster, 4);

  const Run sent =
      Rtctl({"send", "--user", "carol", "--click", "--timestamp", std::to_string(ts)}, env);
  CHECK(sent.code == 0);
  CHECK(sent.err.empty());
  const std::string expected = "unique_users,1\nclicks,1\nimpressions,0\n";
  const Run query = QueryUntil("", ts, expected, env);
  CHECK(query.code == 0);
  CHECK(query.out == expected);
  const Run all = Rtctl({"allslices"}, env);
  CHECK(all.code == 0);
  CHECK(all.out == "slice," + std::to_string(cluster.clock().SliceOf(ts)) + "\n" + expected);

  // --api wins over RT_API.
  const Run wrong_env = Rtctl({"allslices", "--api", cluster.api_url()},
                              {"RT_API=http://127.0.0.1:" + std::to_string(ClosedPort())});
  CHECK(wrong_env.code == 0);
  CHECK(wrong_env.out == all.out);
}

TEST_CASE("client usage errors are exit 2 with one line on stderr", "[integration][cli]") {
  // Nothing listens here: a usage error must be found before any request.
  const std::string api = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const std::vector<std::string> no_env = {"RT_API="};
  struct Case {
    std::vector<std::string> args;
    std::string err_prefix;
  };
  const std::vector<Case> cases = {
      {{"query"}, "rtctl query: no API node given: pass --api URL or set RT_API"},
      {{"perworker"}, "rtctl perworker: no API node given"},
      {{"allslices"}, "rtctl allslices: no API node given"},
      {{"send", "--user", "u", "--click"}, "rtctl send: no API node given"},
      {{"send", "--api", api, "--user", "u"}, "rtctl send: one of --click or --impression"},
      {{"send", "--api", api, "--click"}, "rtctl send: --user is required"},
      {{"send", "--api", api, "--user", "u", "--click", "--impression"}, "rtctl send: "},
      {{"send", "--api", api, "--count", "0"}, "rtctl send: "},
      {{"send", "--api", api, "--rate", "5", "--user", "u", "--click"}, "rtctl send: "},
      {{"send", "--api", api, "--count", "3", "--users", "2", "--user", "u"}, "rtctl send: "},
      {{"query", "--api", api, "--timestamp", "abc"}, "rtctl query: "},
      {{"query", "--api", api, "--bogus"}, "rtctl query: "},
      {{"query", "--api", api, "--timeout", "-1"}, "rtctl query: "},
      {{"perworker", "--api", api, "--json", "--table"}, "rtctl perworker: "},
      {{"allslices", "--api", api, "extra"}, "rtctl allslices: "},
  };
  for (const Case& c : cases) {
    const Run run = Rtctl(c.args, no_env);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO(joined << "-> " << run.err);
    CHECK(run.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.rfind(c.err_prefix, 0) == 0);
    CHECK(IsOneLine(run.err));
  }

  for (const std::string command : {"send", "query", "perworker", "allslices"}) {
    const Run help = Rtctl({command, "--help"});
    INFO(command);
    CHECK(help.code == 0);
    CHECK(help.out.find("--api") != std::string::npos);
    CHECK(help.out.find("--timeout") != std::string::npos);
  }
}

}  // namespace rt
