#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rt::testing {

using TestRequest = boost::beast::http::request<boost::beast::http::string_body>;
using TestResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A blocking HTTP/1.1 client connection to 127.0.0.1 for tests, with a deadline on
// every operation (it runs Beast's async operations on its own io_context, because
// Beast's synchronous calls cannot time out). Raw writes allow malformed and
// pipelined input. Thread-safety: one thread.
class HttpTestConnection {
 public:
  explicit HttpTestConnection(uint16_t port,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool connected() const { return connected_; }
  // The last error ("end of stream", "timeout", ...), empty if none.
  const std::string& error() const { return error_; }

  bool WriteRaw(std::string_view bytes);
  bool Write(TestRequest request);
  // Reads one response; nullopt on error, end of stream or timeout (see error()).
  // `to_head`: the answer to a HEAD request, which has no body whatever its
  // Content-Length says.
  std::optional<TestResponse> Read(bool to_head = false);
  // One request and its response on this connection.
  std::optional<TestResponse> Exchange(TestRequest request);
  // True if the server closes the connection (reads reach end of stream) within the
  // timeout; any bytes it still sends are discarded.
  bool WaitClosed();

 private:
  bool RunUntilDone(bool& done);

  boost::asio::io_context context_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
  bool connected_ = false;
  std::string error_;
};

// Builds a request with Host set; `headers` are (name, value) pairs.
TestRequest MakeTestRequest(boost::beast::http::verb method, std::string target,
                            std::string body = "",
                            const std::vector<std::pair<std::string, std::string>>& headers = {});

// One request on a fresh connection; nullopt if it failed (connection refused, timeout).
std::optional<TestResponse> HttpFetch(
    uint16_t port, boost::beast::http::verb method, std::string target, std::string body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace rt::testing
