#include "cli/client_commands.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "cli/commands.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/fixed_clock.h"

namespace rt::cli {
namespace {

using testing::ClosedPortUrl;
using testing::FakeHttpServer;
using testing::FixedClock;
using testing::SeenRequest;

constexpr int64_t kNowMs = 1764290000123;
constexpr const char* kStats = "unique_users,3\nclicks,4\nimpressions,5\n";
constexpr const char* kPerWorker =
    "slice,7\nworker,http://127.0.0.1:9000/worker\nunique_users,1\nclicks,1\nimpressions,2\n"
    "slice,7\nworker,http://127.0.0.1:9001/worker\nunique_users,2\nclicks,3\nimpressions,3\n";

// Captures what a runner prints, with a clock fixed at kNowMs.
struct Capture {
  std::ostringstream out;
  std::ostringstream err;
  FixedClock clock{kNowMs};
  ClientIo io{out, err, clock, false};
};

FakeHttpServer::Handler Answer(int status, std::string body) {
  return FakeHttpServer::Always(status, std::move(body));
}

TEST_CASE("query prints the three lines of the slice of now, in milliseconds", "[cli][query]") {
  FakeHttpServer server(Answer(200, kStats));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url() + "/analytics";
  CHECK(RunQuery(options, capture.io) == kExitOk);
  CHECK(capture.out.str() == kStats);
  CHECK(capture.err.str().empty());
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].target == "/analytics?timestamp=1764290000123");
  CHECK(server.seen()[0].cache_control.empty());
}

TEST_CASE("query --fresh --seconds --json sends no-cache and prints JSON", "[cli][query]") {
  FakeHttpServer server(Answer(200, "unqiue_users,3\nclicks,4\nimpressions,5\n"));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url();
  options.fresh = options.seconds = options.json = true;
  CHECK(RunQuery(options, capture.io) == kExitOk);
  CHECK(capture.out.str() == "{\"unique_users\":3,\"clicks\":4,\"impressions\":5}\n");
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].target == "/analytics?timestamp=1764290000");
  CHECK(server.seen()[0].cache_control == "no-cache");
}

TEST_CASE("query --timestamp asks for that timestamp", "[cli][query]") {
  FakeHttpServer server(Answer(200, kStats));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url();
  options.timestamp = "42";
  CHECK(RunQuery(options, capture.io) == kExitOk);
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].target == "/analytics?timestamp=42");
}

TEST_CASE("query --timestamp takes a UTC time and sends it in the cluster's unit", "[cli][query]") {
  FakeHttpServer server(Answer(200, kStats));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url();
  options.timestamp = "2025-11-28T00:40:00";  // 1764290400 s
  CHECK(RunQuery(options, capture.io) == kExitOk);
  options.seconds = true;
  CHECK(RunQuery(options, capture.io) == kExitOk);
  REQUIRE(server.seen().size() == 2);
  CHECK(server.seen()[0].target == "/analytics?timestamp=1764290400000");
  CHECK(server.seen()[1].target == "/analytics?timestamp=1764290400");
}

TEST_CASE("a --timestamp that is neither a number nor a UTC time is a usage error",
          "[cli][query]") {
  for (const char* bad : {"yesterday", "2025-13-01T00:00:00", "12x"}) {
    CLI::App app;
    CommandRunner run = SetupQuery(app);
    const char* argv[] = {"rtctl", "query", "--api", "http://127.0.0.1:1", "--timestamp", bad};
    INFO(bad);
    CHECK_THROWS_AS(app.parse(6, argv), CLI::ValidationError);
  }
  CLI::App app;
  CommandRunner run = SetupQuery(app);
  const char* argv[] = {"rtctl", "query", "--timestamp", "2025-11-28T00:40:00"};
  CHECK_NOTHROW(app.parse(4, argv));
}

TEST_CASE("query prints the server's one-line reason for a 400 and fails", "[cli][query]") {
  FakeHttpServer server(Answer(400, "timestamp: before the first slice\n"));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url();
  CHECK(RunQuery(options, capture.io) == kExitFailure);
  CHECK(capture.out.str().empty());
  CHECK(capture.err.str() == "rtctl query: 400 timestamp: before the first slice\n");
}

TEST_CASE("query fails with one line when the server is unreachable", "[cli][query]") {
  Capture capture;
  QueryOptions options;
  options.client.api = ClosedPortUrl();
  CHECK(RunQuery(options, capture.io) == kExitFailure);
  CHECK(capture.out.str().empty());
  CHECK_THAT(capture.err.str(),
             Catch::StartsWith("rtctl query: cannot reach " + options.client.api + ": "));
  CHECK(capture.err.str().find('\n') == capture.err.str().size() - 1);
}

TEST_CASE("query fails on an answer that is not stats", "[cli][query]") {
  FakeHttpServer server(Answer(200, "<html>\n"));
  Capture capture;
  QueryOptions options;
  options.client.api = server.url();
  CHECK(RunQuery(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.err.str(),
             Catch::StartsWith("rtctl query: unexpected answer: stats line 1: "));
}

TEST_CASE("the API URL comes from RT_API when --api is absent, else it is a usage error",
          "[cli][query]") {
  FakeHttpServer server(Answer(200, kStats));
  QueryOptions options;
  {
    ::setenv("RT_API", server.url().c_str(), 1);
    Capture capture;
    CHECK(RunQuery(options, capture.io) == kExitOk);
    CHECK(capture.out.str() == kStats);
  }
  {
    ::unsetenv("RT_API");
    Capture capture;
    CHECK(RunQuery(options, capture.io) == kExitUsage);
    CHECK(capture.err.str() == "rtctl query: no API node given: pass --api URL or set RT_API\n");
  }
}

TEST_CASE("send posts one event and prints nothing on 202", "[cli][send]") {
  FakeHttpServer server(Answer(202, ""));
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.user = "ann lee";
  options.click = true;
  CHECK(RunSend(options, capture.io) == kExitOk);
  CHECK(capture.out.str().empty());
  CHECK(capture.err.str().empty());
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].method == "POST");
  CHECK(server.seen()[0].target == "/analytics?timestamp=1764290000123&user=ann%20lee&click");
}

TEST_CASE("send --impression --timestamp posts that event", "[cli][send]") {
  FakeHttpServer server(Answer(202, ""));
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.user = "u";
  options.impression = true;
  options.timestamp = "7";
  CHECK(RunSend(options, capture.io) == kExitOk);
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].target == "/analytics?timestamp=7&user=u&impression");
}

TEST_CASE("send without a user or an action is a usage error", "[cli][send]") {
  SendOptions options;
  options.client.api = ClosedPortUrl();
  {
    Capture capture;
    options.click = true;
    CHECK(RunSend(options, capture.io) == kExitUsage);
    CHECK(capture.err.str() == "rtctl send: --user is required (or --count N for a stream)\n");
  }
  {
    Capture capture;
    options.click = false;
    options.user = "u";
    CHECK(RunSend(options, capture.io) == kExitUsage);
    CHECK(capture.err.str() == "rtctl send: one of --click or --impression is required\n");
  }
}

TEST_CASE("send reports a rejected event with the server's reason", "[cli][send]") {
  FakeHttpServer server(Answer(400, "user: empty\n"));
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.user = "u";
  options.click = true;
  CHECK(RunSend(options, capture.io) == kExitFailure);
  CHECK(capture.err.str() == "rtctl send: 400 user: empty\n");
}

TEST_CASE("send fails with one line when the server is unreachable", "[cli][send]") {
  Capture capture;
  SendOptions options;
  options.client.api = ClosedPortUrl();
  options.user = "u";
  options.click = true;
  CHECK(RunSend(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.err.str(),
             Catch::StartsWith("rtctl send: cannot reach " + options.client.api + ": "));
}

TEST_CASE("send --count streams events from the user pool with a click mix and a summary",
          "[cli][send]") {
  FakeHttpServer server(Answer(202, ""));
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.count = 200;
  options.users = 3;
  options.seed = 5;
  CHECK(RunSend(options, capture.io) == kExitOk);
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == 200);
  int clicks = 0;
  for (const SeenRequest& request : seen) {
    const std::string& target = request.target;
    CHECK_THAT(target, Catch::StartsWith("/analytics?timestamp=1764290000123&user=user"));
    const bool known_user = target.find("user=user0&") != std::string::npos ||
                            target.find("user=user1&") != std::string::npos ||
                            target.find("user=user2&") != std::string::npos;
    CHECK(known_user);
    if (target.ends_with("&click")) ++clicks;
  }
  // Seeded: a mix, not all of one kind (30% expected).
  CHECK(clicks > 20);
  CHECK(clicks < 120);
  const std::string out = capture.out.str();
  CHECK_THAT(out, Catch::StartsWith("sent,200\naccepted,200\nrejected,0\nfailed,0\n"));
  CHECK_THAT(out, Catch::Contains("\nlatency_p99_ms,"));
  CHECK_THAT(out, Catch::EndsWith("\nseed,5\n"));
  CHECK(server.connections() == 1);
}

TEST_CASE("send --count with a seed sends the same events every time", "[cli][send]") {
  auto targets = [] {
    FakeHttpServer server(Answer(202, ""));
    Capture capture;
    SendOptions options;
    options.client.api = server.url();
    options.count = 30;
    options.seed = 11;
    REQUIRE(RunSend(options, capture.io) == kExitOk);
    std::vector<std::string> result;
    for (const SeenRequest& request : server.seen()) result.push_back(request.target);
    return result;
  };
  CHECK(targets() == targets());
}

TEST_CASE("send --count --user --impression sends only that user's impressions", "[cli][send]") {
  FakeHttpServer server(Answer(202, ""));
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.count = 5;
  options.user = "bob";
  options.impression = true;
  options.timestamp = "99";
  CHECK(RunSend(options, capture.io) == kExitOk);
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == 5);
  for (const SeenRequest& request : seen) {
    CHECK(request.target == "/analytics?timestamp=99&user=bob&impression");
  }
}

TEST_CASE("send --count counts rejections by status and fails", "[cli][send]") {
  int calls = 0;
  FakeHttpServer server([&calls](const testing::TestRequest&) {
    return ++calls % 2 == 0 ? FakeHttpServer::Text(503, "queue full\n")
                            : FakeHttpServer::Text(202, "");
  });
  Capture capture;
  SendOptions options;
  options.client.api = server.url();
  options.count = 10;
  options.seed = 1;
  CHECK(RunSend(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.out.str(),
             Catch::StartsWith("sent,10\naccepted,5\nrejected,5\nrejected_503,5\nfailed,0\n"));
  CHECK(capture.err.str() == "rtctl send: 5 rejected, first: 503 queue full\n");
}

TEST_CASE("send --count stops at an unreachable server and fails", "[cli][send]") {
  Capture capture;
  SendOptions options;
  options.client.api = ClosedPortUrl();
  options.count = 1000;
  CHECK(RunSend(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.out.str(), Catch::StartsWith("sent,1\naccepted,0\nrejected,0\nfailed,1\n"));
  CHECK_THAT(capture.err.str(), Catch::StartsWith("rtctl send: cannot reach "));
}

TEST_CASE("perworker prints the server's answer as is", "[cli][perworker]") {
  FakeHttpServer server(Answer(200, kPerWorker));
  Capture capture;
  PerWorkerOptions options;
  options.client.api = server.url();
  options.timestamp = "25200000";
  CHECK(RunPerWorker(options, capture.io) == kExitOk);
  CHECK(capture.out.str() == kPerWorker);
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].target == "/analytics/perworker?timestamp=25200000");
}

TEST_CASE("perworker --json and --table reshape the answer", "[cli][perworker]") {
  FakeHttpServer server(Answer(200, kPerWorker));
  PerWorkerOptions options;
  options.client.api = server.url();
  {
    Capture capture;
    options.json = true;
    CHECK(RunPerWorker(options, capture.io) == kExitOk);
    CHECK(capture.out.str() ==
          R"([{"slice":7,"worker":"http://127.0.0.1:9000/worker","unique_users":1,"clicks":1,)"
          R"("impressions":2},{"slice":7,"worker":"http://127.0.0.1:9001/worker",)"
          R"("unique_users":2,"clicks":3,"impressions":3}])"
          "\n");
  }
  {
    Capture capture;
    options.json = false;
    options.table = true;
    CHECK(RunPerWorker(options, capture.io) == kExitOk);
    CHECK(capture.out.str() ==
          "slice  worker                        unique_users  clicks  impressions\n"
          "7      http://127.0.0.1:9000/worker             1       1            2\n"
          "7      http://127.0.0.1:9001/worker             2       3            3\n"
          "total                                           3       4            5\n");
  }
}

TEST_CASE("perworker prints a 503's reason and fails", "[cli][perworker]") {
  FakeHttpServer server(Answer(503, "worker 1 (http://127.0.0.1:9001/worker) unreachable\n"));
  Capture capture;
  PerWorkerOptions options;
  options.client.api = server.url();
  CHECK(RunPerWorker(options, capture.io) == kExitFailure);
  CHECK(capture.err.str() ==
        "rtctl perworker: 503 worker 1 (http://127.0.0.1:9001/worker) unreachable\n");
}

TEST_CASE("allslices prints the answer as is or as JSON", "[cli][allslices]") {
  const std::string answer = "slice,0\nunique_users,1\nclicks,0\nimpressions,1\n";
  FakeHttpServer server(Answer(200, answer));
  AllSlicesOptions options;
  options.client.api = server.url();
  {
    Capture capture;
    CHECK(RunAllSlices(options, capture.io) == kExitOk);
    CHECK(capture.out.str() == answer);
  }
  {
    Capture capture;
    options.json = true;
    CHECK(RunAllSlices(options, capture.io) == kExitOk);
    CHECK(capture.out.str() == R"([{"slice":0,"unique_users":1,"clicks":0,"impressions":1}])"
                               "\n");
  }
  REQUIRE(server.seen().size() == 2);
  CHECK(server.seen()[0].target == "/analytics/allslices");
}

TEST_CASE("allslices fails with one line when the server is unreachable", "[cli][allslices]") {
  Capture capture;
  AllSlicesOptions options;
  options.client.api = ClosedPortUrl();
  CHECK(RunAllSlices(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.err.str(), Catch::StartsWith("rtctl allslices: cannot reach "));
}

// Parses `args` (without the program name) with every client subcommand set up.
void Parse(std::vector<std::string> args) {
  CLI::App app;
  // The runners own the options the parser writes into: keep them alive.
  const std::vector<CommandRunner> runners = {SetupSend(app), SetupQuery(app), SetupPerWorker(app),
                                              SetupAllSlices(app)};
  std::reverse(args.begin(), args.end());
  app.parse(args);
}

TEST_CASE("client command lines that contradict themselves are parse errors", "[cli][send]") {
  CHECK_NOTHROW(Parse({"send", "--api", "x", "--user", "u", "--click"}));
  CHECK_NOTHROW(Parse({"send", "--count", "5", "--rate", "10", "--users", "3", "--seed", "1"}));
  CHECK_THROWS_AS(Parse({"send", "--user", "u", "--click", "--impression"}), CLI::ParseError);
  CHECK_THROWS_AS(Parse({"send", "--user", "u", "--click", "--rate", "5"}), CLI::ParseError);
  CHECK_THROWS_AS(Parse({"send", "--count", "0"}), CLI::ParseError);
  CHECK_THROWS_AS(Parse({"send", "--count", "5", "--user", "u", "--users", "3"}), CLI::ParseError);
  CHECK_THROWS_AS(Parse({"query", "--timestamp", "soon"}), CLI::ParseError);
  CHECK_THROWS_AS(Parse({"perworker", "--json", "--table"}), CLI::ParseError);
}

}  // namespace
}  // namespace rt::cli
