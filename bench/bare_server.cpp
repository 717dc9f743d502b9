// bare_server: the ceilings rt's load benchmark (bench/run) is measured against.
//
//   bare_server --mode beast|rt [--port P] [--threads N]
//
// Both modes answer every POST with 202 and an empty body and every GET with 200
// and a fixed body shaped like rt's stats answer, do nothing else, and print the
// ready line `listening on 127.0.0.1:PORT`; SIGINT/SIGTERM stop them.
//
// * beast: a plain Boost.Beast server as in Beast's async server example (one
//   io_context run by N threads, a strand per connection, beast::tcp_stream with a
//   read timeout per request, keep-alive). What HTTP costs on this stack, written
//   the way Beast teaches, with nothing of rt in it.
// * rt: rt's own http::HttpServer (listener, sessions, router) with trivial
//   handlers. The difference to `beast` is what rt's plumbing costs; the difference
//   between `rt` and the real API node is what the API node's work costs.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/http/http_server.h"
#include "server/http/router.h"
#include "server/http/stop_signal.h"
#include "server/http/types.h"

namespace rt::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

constexpr std::string_view kStatsBody = "unique_users,1000\nclicks,100\nimpressions,900\n";

struct Options {
  std::string mode = "beast";
  uint16_t port = 0;
  int threads = 1;
};

// One keep-alive connection of the plain Beast server.
class BeastSession : public std::enable_shared_from_this<BeastSession> {
 public:
  explicit BeastSession(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_read(stream_, buffer_, request_,
                      beast::bind_front_handler(&BeastSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Close();
    response_ = {};
    response_.version(request_.version());
    response_.keep_alive(request_.keep_alive());
    if (request_.method() == bhttp::verb::post) {
      response_.result(bhttp::status::accepted);
    } else {
      response_.result(bhttp::status::ok);
      response_.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      response_.body() = kStatsBody;
    }
    response_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_write(stream_, response_,
                       beast::bind_front_handler(&BeastSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive()) return Close();
    DoRead();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response<bhttp::string_body> response_;
};

class BeastListener : public std::enable_shared_from_this<BeastListener> {
 public:
  explicit BeastListener(net::io_context& ioc) : ioc_(ioc), acceptor_(net::make_strand(ioc)) {}

  bool Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) std::fprintf(stderr, "bare_server: cannot listen: %s\n", ec.message().c_str());
    return !ec;
  }
  tcp::endpoint LocalEndpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&BeastListener::OnAccept, shared_from_this()));
  }
  void Close() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<BeastSession>(std::move(socket))->Run();
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

int RunBeast(const Options& options) {
  net::io_context ioc(options.threads);
  auto listener = std::make_shared<BeastListener>(ioc);
  if (!listener->Open(tcp::endpoint(net::ip::make_address("127.0.0.1"), options.port))) return 1;
  listener->DoAccept();
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  std::printf("listening on %s\n", http::FormatEndpoint(listener->LocalEndpoint()).c_str());
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return 0;
}

int RunRt(const Options& options) {
  http::Router router;
  router.Add(http::Verb::post, "/analytics", [](http::Request&, http::Responder respond) {
    respond(http::Response{http::StatusCode::accepted, 11});
  });
  router.Add(http::Verb::get, "/analytics", [](http::Request&, http::Responder respond) {
    respond(http::MakeTextResponse(http::StatusCode::ok, std::string(kStatsBody)));
  });
  http::ServerOptions server_options;
  server_options.threads = options.threads;
  http::HttpServer server(std::move(router), server_options);
  if (Status status = server.Listen("127.0.0.1", options.port); !status.ok()) {
    std::fprintf(stderr, "bare_server: %s\n", status.message().c_str());
    return 1;
  }
  server.Start();
  http::AnnounceAndWaitForStopSignal(server.LocalEndpoint());
  server.Stop();
  return 0;
}

bool ParseInt(const char* text, int& out) {
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && ptr == end;
}

// Returns 0 on success, 2 on a usage error (printed).
int ParseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    int n = 0;
    if (arg == "--mode" && value != nullptr) {
      options.mode = value;
    } else if (arg == "--port" && value != nullptr && ParseInt(value, n) && n >= 0 && n < 65536) {
      options.port = static_cast<uint16_t>(n);
    } else if (arg == "--threads" && value != nullptr && ParseInt(value, n) && n > 0) {
      options.threads = n;
    } else {
      std::fprintf(stderr, "usage: bare_server --mode beast|rt [--port P] [--threads N]\n");
      return 2;
    }
    ++i;
  }
  if (options.mode != "beast" && options.mode != "rt") {
    std::fprintf(stderr, "bare_server: --mode must be beast or rt\n");
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace rt::bench

int main(int argc, char** argv) {
  rt::bench::Options options;
  if (int rc = rt::bench::ParseArgs(argc, argv, options); rc != 0) return rc;
  return options.mode == "beast" ? rt::bench::RunBeast(options) : rt::bench::RunRt(options);
}
