#include "tests/support/http_test_client.h"

#include <boost/asio/ip/address.hpp>

namespace rt::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

HttpTestConnection::HttpTestConnection(uint16_t port, std::chrono::milliseconds timeout)
    : stream_(context_), timeout_(timeout) {
  bool done = false;
  stream_.expires_after(timeout_);
  stream_.async_connect(net::ip::tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port),
                        [&](beast::error_code ec) {
                          done = true;
                          if (ec) error_ = ec.message();
                          connected_ = !ec;
                        });
  RunUntilDone(done);
}

bool HttpTestConnection::RunUntilDone(bool& done) {
  context_.restart();
  // The stream's own expiry bounds every operation; run() returns when it completes.
  while (!done && context_.run_one() > 0) {
  }
  return done;
}

bool HttpTestConnection::WriteRaw(std::string_view bytes) {
  bool done = false;
  bool ok = false;
  stream_.expires_after(timeout_);
  net::async_write(stream_, net::buffer(bytes.data(), bytes.size()),
                   [&](beast::error_code ec, std::size_t) {
                     done = true;
                     ok = !ec;
                     if (ec) error_ = ec.message();
                   });
  RunUntilDone(done);
  return ok;
}

bool HttpTestConnection::Write(TestRequest request) {
  request.prepare_payload();
  bool done = false;
  bool ok = false;
  stream_.expires_after(timeout_);
  bhttp::async_write(stream_, request, [&](beast::error_code ec, std::size_t) {
    done = true;
    ok = !ec;
    if (ec) error_ = ec.message();
  });
  RunUntilDone(done);
  return ok;
}

std::optional<TestResponse> HttpTestConnection::Read(bool to_head) {
  bool done = false;
  bool ok = false;
  TestResponse response;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(to_head);
  stream_.expires_after(timeout_);
  bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
    done = true;
    ok = !ec;
    if (ec) error_ = ec.message();
  });
  RunUntilDone(done);
  if (!ok) return std::nullopt;
  return parser.release();
}

std::optional<TestResponse> HttpTestConnection::Exchange(TestRequest request) {
  if (!Write(std::move(request))) return std::nullopt;
  return Read();
}

bool HttpTestConnection::WaitClosed() {
  for (;;) {
    bool done = false;
    beast::error_code result;
    buffer_.clear();
    stream_.expires_after(timeout_);
    stream_.async_read_some(buffer_.prepare(65536), [&](beast::error_code ec, std::size_t) {
      done = true;
      result = ec;
    });
    RunUntilDone(done);
    if (result == net::error::eof || result == net::error::connection_reset) return true;
    if (result) {
      error_ = result.message();
      return false;
    }
  }
}

TestRequest MakeTestRequest(bhttp::verb method, std::string target, std::string body,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
  TestRequest request{method, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::optional<TestResponse> HttpFetch(
    uint16_t port, bhttp::verb method, std::string target, std::string body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpTestConnection connection(port);
  if (!connection.connected()) return std::nullopt;
  return connection.Exchange(MakeTestRequest(method, std::move(target), std::move(body), headers));
}

}  // namespace rt::testing
