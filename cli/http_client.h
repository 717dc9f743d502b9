#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rt::cli {

// The answer to one HTTP request that reached the server, whatever its status.
struct HttpResponse {
  long status = 0;
  std::string body;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{10000};
};

// A small blocking HTTP/1.1 client over libcurl for rtctl's client commands; the
// only code of rt that includes curl.
//
// `base_url` is the API node's address as an operator writes it: `host:port`,
// `http://host:port`, or the node's URL from the config
// (`http://host:port/analytics`); a trailing `/analytics` (and `/`) is dropped so
// that requests name their full path (`/analytics?timestamp=…`).
//
// One easy handle is reused for every request, so a loop of requests keeps one
// keep-alive connection open instead of reconnecting each time.
// Not thread-safe: one HttpClient per thread.
class HttpClient {
 public:
  explicit HttpClient(std::string_view base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Both return the response for any HTTP status; an error Status (kUnavailable,
  // "cannot reach URL: reason") only when no response arrived: refused, timed
  // out, reset, malformed. `headers` are whole lines: "Cache-Control: no-cache".
  [[nodiscard]] Result<HttpResponse> Get(std::string_view path_and_query,
                                         const std::vector<std::string>& headers = {});
  [[nodiscard]] Result<HttpResponse> Post(std::string_view path_and_query,
                                          const std::vector<std::string>& headers = {},
                                          std::string_view body = {});

  // The server's origin without the trailing /analytics, e.g. "http://127.0.0.1:8080".
  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;

  Result<HttpResponse> Perform(bool post, std::string_view path_and_query,
                               const std::vector<std::string>& headers, std::string_view body);

  std::string base_url_;
  HttpClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Returns `url` normalized as HttpClient's base URL (see above).
std::string NormalizeBaseUrl(std::string_view url);

// `value` percent-encoded for a query string (RFC 3986 unreserved bytes kept).
std::string EncodeQueryValue(std::string_view value);

// "400 timestamp: not a number" from a response: the status and the first line of
// the server's reason (cut to 200 bytes), for one-line CLI errors.
std::string DescribeHttpError(const HttpResponse& response);

}  // namespace rt::cli
