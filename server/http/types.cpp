#include "server/http/types.h"

#include <utility>

#include "server/http/session.h"

namespace rt::http {

void Responder::operator()(Response&& response) const {
  if (session_) {
    session_->Respond(std::move(response));
  } else {
    callback_(std::move(response));
  }
}

Response MakeTextResponse(StatusCode status, std::string body) {
  Response response{status, 11};
  response.set(beast_http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(body);
  return response;
}

Response MakeErrorResponse(StatusCode status, std::string_view reason) {
  std::string body;
  body.reserve(reason.size() + 1);
  // A reason is one line: a stray newline from quoted input would split it.
  for (char c : reason) body.push_back(c == '\n' || c == '\r' ? ' ' : c);
  body.push_back('\n');
  return MakeTextResponse(status, std::move(body));
}

Response MakeMetricsResponse(std::string exposition) {
  Response response = MakeTextResponse(StatusCode::ok, std::move(exposition));
  response.set(beast_http::field::content_type, "text/plain; version=0.0.4");
  return response;
}

Response MakeJsonResponse(StatusCode status, std::string body) {
  Response response{status, 11};
  response.set(beast_http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

bool AcceptsJson(const Request& request) {
  const auto it = request.find(beast_http::field::accept);
  return it != request.end() && it->value().find("application/json") != std::string_view::npos;
}

}  // namespace rt::http
