#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace rt::http {

namespace beast_http = boost::beast::http;

using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Verb = beast_http::verb;
using StatusCode = beast_http::status;

// Completes one request with its response. Must be called exactly once; may be
// called from any thread and after the handler has returned (a handler can hand
// the work to another thread, e.g. the worker's single writer, and answer later).
// The server takes care of keep-alive, version and Content-Length.
using Responder = std::function<void(Response&&)>;

// Handles one request. The request stays valid until the responder is called.
// Handlers run on the server's I/O threads: they must not block.
using Handler = std::function<void(Request& request, Responder respond)>;

// A text/plain response; for errors `body` is the one-line reason (a newline is
// appended).
Response MakeTextResponse(StatusCode status, std::string body);
Response MakeErrorResponse(StatusCode status, std::string_view reason);
// 200 with a rendered Prometheus text exposition and its content type.
Response MakeMetricsResponse(std::string exposition);

}  // namespace rt::http
