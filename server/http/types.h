#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace rt::http {

namespace beast_http = boost::beast::http;

using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Verb = beast_http::verb;
using StatusCode = beast_http::status;

class Session;

// Completes one request with its response. Must be called exactly once; may be
// called from any thread and after the handler has returned (a handler can hand
// the work to another thread, e.g. the worker's single writer, and answer later).
// The server takes care of keep-alive, version and Content-Length.
// A server's responder refers to its session directly: no allocation per request.
// Any callable taking a Response&& converts to one (tests, adapters).
class Responder {
 public:
  Responder() = default;
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, Responder> && std::is_invocable_v<F&, Response&&>)
      Responder(F&& callback)  // NOLINT(google-explicit-constructor): a callable is a responder
      : callback_(std::forward<F>(callback)) {}

  void operator()(Response&& response) const;
  explicit operator bool() const { return session_ != nullptr || callback_ != nullptr; }

 private:
  friend class Session;
  explicit Responder(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  std::shared_ptr<Session> session_;
  std::function<void(Response&&)> callback_;
};

// Handles one request. The request stays valid until the responder is called.
// Handlers run on the server's I/O threads: they must not block.
using Handler = std::function<void(Request& request, Responder respond)>;

// A text/plain response; for errors `body` is the one-line reason (a newline is
// appended).
Response MakeTextResponse(StatusCode status, std::string body);
Response MakeErrorResponse(StatusCode status, std::string_view reason);
// 200 with a rendered Prometheus text exposition and its content type.
Response MakeMetricsResponse(std::string exposition);
// An application/json response.
Response MakeJsonResponse(StatusCode status, std::string body);
// Whether the request's Accept header names application/json (the JSON form of an
// endpoint that answers text by default, e.g. /healthz).
bool AcceptsJson(const Request& request);

}  // namespace rt::http
