// Fuzz target: the HTTP session (server/http/session.*), fed the input's bytes in
// process through a connected pair of local sockets: no network. The server end is
// handed to a real Session as its socket; the client end writes the input (in chunks
// whose size the first byte picks, so that requests are split across reads) and then
// reads everything the session answers until it closes.
//
// Checks, besides no crash, leak or sanitizer report:
//  * the requests the handlers were given are exactly the complete requests of the
//    input, in order, with their bodies, as a plain Beast parse of the same bytes
//    (the oracle below) finds them;
//  * every complete request gets exactly one answer, in order: a handler's answer,
//    or the error answer (400/404/405/413/431) the session owes; nothing else is
//    written, except interim "100 Continue" answers;
//  * the session always ends (libFuzzer's timeout catches a hang) and is freed.
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session.h"
#include "server/http/session_registry.h"
#include "server/http/types.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using rt::http::Request;
using rt::http::Responder;
using rt::http::Response;
using rt::http::Router;
using rt::http::Verb;

// Small limits, so that 413 and 431 are within the fuzzer's reach.
constexpr std::size_t kAnalyticsBodyLimit = 64;
constexpr std::size_t kBatchBodyLimit = 2048;
constexpr std::size_t kHeaderLimit = 1024;

// A request as a handler saw it.
struct Seen {
  Verb method;
  std::string target;
  std::string body;
  bool operator==(const Seen&) const = default;
};

// An answer the session owes: a handler's, or an error of the session's own.
struct Owed {
  bool by_handler = false;
  Verb method = Verb::unknown;  // of the request, when its header was read (HEAD: no body)
};

// What a straightforward parse of `input` as consecutive requests says the session
// must do: which requests reach a handler and which answers it owes. A parse error,
// an unroutable request with a body, a too large body or a request that does not
// keep the connection alive ends the connection; an incomplete last request gets
// no answer (the client closed).
void Oracle(std::string_view input, const Router& router, std::vector<Seen>& requests,
            std::vector<Owed>& owed) {
  std::size_t pos = 0;
  while (pos < input.size()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    parser.body_limit(boost::none);
    const Router::Route* route = nullptr;
    while (true) {
      beast::error_code ec;
      const std::size_t used = parser.put(net::buffer(input.data() + pos, input.size() - pos), ec);
      pos += used;
      if (ec == bhttp::error::need_more) return;
      const Verb method = parser.is_header_done() ? parser.get().method() : Verb::unknown;
      if (ec) {
        owed.push_back({false, method});
        return;
      }
      const bool keep_alive = parser.is_header_done() && parser.get().keep_alive();
      if (route == nullptr && parser.is_header_done()) {
        const Router::Match match = router.Find(method, parser.get().target());
        if (match.route == nullptr) {
          owed.push_back({false, method});
          if (!parser.is_done() || !keep_alive) return;
          break;
        }
        const auto length = parser.content_length();
        if (length && *length > match.route->body_limit) {
          owed.push_back({false, method});
          return;
        }
        route = match.route;
        if (!parser.is_done()) parser.body_limit(route->body_limit);
      }
      if (parser.is_done()) {
        const Request& request = parser.get();
        requests.push_back({method, std::string(request.target()), request.body()});
        owed.push_back({true, method});
        if (!keep_alive) return;
        break;
      }
      if (used == 0) return;  // waits for bytes that never come
    }
  }
}

// The routes of the harness, and what the handlers of one input saw.
class Harness {
 public:
  Harness() {
    options_.header_limit = kHeaderLimit;
    const auto answer_now = [this](Request& request, Responder respond) {
      respond(Answer(request));
    };
    router_.Add(Verb::post, "/analytics", answer_now, kAnalyticsBodyLimit);
    router_.Add(Verb::post, "/worker/batch", answer_now, kBatchBodyLimit);
    // Answers after the handler returned, as the worker's writer thread does.
    router_.Add(Verb::get, "/stats", [this](Request& request, Responder respond) {
      net::post(*io_,
                [respond, response = Answer(request)]() mutable { respond(std::move(response)); });
    });
  }

  void Run(const uint8_t* data, std::size_t size);

 private:
  Response Answer(const Request& request) {
    seen_.push_back({request.method(), std::string(request.target()), request.body()});
    Response response = rt::http::MakeTextResponse(rt::http::StatusCode::ok, "ok\n");
    response.set("X-Fuzz-Seq", std::to_string(seen_.size()));
    return response;
  }

  Router router_;
  rt::http::ServerOptions options_;
  net::io_context* io_ = nullptr;
  std::vector<Seen> seen_;
};

// Feeds `input` to the client socket in `chunk`-sized writes, then shuts it down.
struct Writer {
  net::local::stream_protocol::socket& socket;
  std::string_view input;
  std::size_t chunk;
  std::size_t pos = 0;

  void Next() {
    if (pos >= input.size()) {
      beast::error_code ignored;
      socket.shutdown(net::socket_base::shutdown_send, ignored);
      return;
    }
    const std::size_t n = std::min(chunk, input.size() - pos);
    net::async_write(socket, net::buffer(input.data() + pos, n),
                     [this, n](beast::error_code ec, std::size_t) {
                       if (ec) return;  // the session closed: the rest is unread
                       pos += n;
                       Next();
                     });
  }
};

// Reads the client socket until the session closes it.
struct Reader {
  net::local::stream_protocol::socket& socket;
  std::string output;
  char block[4096];

  void Next() {
    socket.async_read_some(net::buffer(block), [this](beast::error_code ec, std::size_t n) {
      output.append(block, n);
      if (!ec) Next();
    });
  }
};

// Parses one answer at `pos` of `output`; false if there is no complete one.
bool ParseAnswer(std::string_view output, std::size_t& pos, Verb method, Response& answer) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.body_limit(boost::none);
  parser.skip(method == Verb::head);
  for (int round = 0; round < 4 && !parser.is_done(); ++round) {
    beast::error_code ec;
    pos += parser.put(net::buffer(output.data() + pos, output.size() - pos), ec);
    if (ec) return false;
  }
  if (!parser.is_done()) return false;
  answer = parser.release();
  return true;
}

bool IsSessionError(unsigned status) {
  return status == 400 || status == 404 || status == 405 || status == 413 || status == 431;
}

void Harness::Run(const uint8_t* data, std::size_t size) {
  const std::size_t chunk = size == 0 || data[0] == 0 ? SIZE_MAX : data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0),
                               size > 0 ? size - 1 : 0);
  std::vector<Seen> expected_requests;
  std::vector<Owed> owed;
  Oracle(input, router_, expected_requests, owed);

  seen_.clear();
  net::io_context io;
  io_ = &io;
  net::local::stream_protocol::socket client(io);
  net::local::stream_protocol::socket server_end(io);
  net::local::connect_pair(client, server_end);
  // The session's socket type is a TCP socket; its operations (read, write,
  // shutdown, close) are the same system calls on a local socket.
  rt::http::Session::Socket socket(io.get_executor());
  socket.assign(net::ip::tcp::v4(), server_end.release());
  auto registry = std::make_shared<rt::http::SessionRegistry>(1);
  std::make_shared<rt::http::Session>(std::move(socket), 0, router_, options_, registry)->Run();

  Writer writer{client, input, chunk};
  Reader reader{client, {}, {}};
  writer.Next();
  reader.Next();
  io.run();
  io_ = nullptr;

  // The session ended and nothing keeps it alive.
  RT_FUZZ_CHECK(registry->WaitEmpty(std::chrono::steady_clock::now()));
  RT_FUZZ_CHECK(seen_ == expected_requests);

  const std::string_view output = reader.output;
  if (std::getenv("RT_FUZZ_VERBOSE") != nullptr) {  // when replaying a reproducer
    std::fprintf(stderr, "owed %zu answers, %zu by handlers; the session wrote:\n%.*s\n",
                 owed.size(), expected_requests.size(), static_cast<int>(output.size()),
                 output.data());
  }
  std::size_t pos = 0;
  std::size_t handler_answers = 0;
  for (const Owed& o : owed) {
    Response answer;
    bool answered = false;
    while ((answered = ParseAnswer(output, pos, o.method, answer)) && answer.result_int() == 100) {
    }
    // Beast validates a header only once its end arrived (or the limit is reached), so
    // a malformed last request may still be waiting for bytes when the input ends: its
    // error answer may be missing, as it is when a client closes mid-request.
    if (!answered && !o.by_handler && &o == &owed.back() && pos == output.size()) break;
    RT_FUZZ_CHECK(answered);
    const bool tagged = answer.find("X-Fuzz-Seq") != answer.end();
    RT_FUZZ_CHECK(tagged == o.by_handler);
    if (o.by_handler) {
      RT_FUZZ_CHECK(answer["X-Fuzz-Seq"] == std::to_string(++handler_answers));
    } else {
      RT_FUZZ_CHECK(IsSessionError(answer.result_int()));
    }
  }
  // Nothing after the owed answers but interim ones.
  while (pos < output.size()) {
    Response answer;
    RT_FUZZ_CHECK(ParseAnswer(output, pos, Verb::get, answer));
    RT_FUZZ_CHECK(answer.result_int() == 100);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness;  // routes built once; never destroyed
  harness->Run(data, size);
  return 0;
}
