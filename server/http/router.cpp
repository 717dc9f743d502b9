#include "server/http/router.h"

#include <cassert>
#include <stdexcept>
#include <utility>

namespace rt::http {

std::string_view TargetPath(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

std::string QuoteForReason(std::string_view text, std::size_t max_len) {
  std::string out;
  const std::size_t n = std::min(text.size(), max_len);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (text.size() > max_len) out += "...";
  return out;
}

void Router::Add(Verb method, std::string path, Handler handler, std::size_t body_limit) {
  PathRoutes* entry = nullptr;
  for (auto& p : paths_) {
    if (p.path == path) entry = &p;
  }
  if (entry == nullptr) {
    entry = &paths_.emplace_back();
    entry->path = std::move(path);
  }
  for (const auto& r : entry->routes) {
    if (r.method == method) throw std::logic_error("router: duplicate route " + entry->path);
  }
  entry->routes.push_back(Route{method, std::move(handler), body_limit});
  if (!entry->allow.empty()) entry->allow += ", ";
  entry->allow += std::string(beast_http::to_string(method));
  // Every GET route answers HEAD too (below).
  if (method == Verb::get) entry->allow += ", HEAD";
}

Router::Match Router::Find(Verb method, std::string_view target) const {
  const std::string_view path = TargetPath(target);
  for (const auto& p : paths_) {
    if (p.path != path) continue;
    for (const auto& r : p.routes) {
      if (r.method == method) return Match{&r, StatusCode::ok, {}};
    }
    // HEAD is GET without the body (RFC 9110 §9.3.2): the GET handler answers and
    // the session sends only the head, Content-Length included. So monitoring and
    // load balancers that probe with HEAD get the status GET would give.
    if (method == Verb::head) {
      for (const auto& r : p.routes) {
        if (r.method == Verb::get) return Match{&r, StatusCode::ok, {}};
      }
    }
    return Match{nullptr, StatusCode::method_not_allowed, p.allow};
  }
  return Match{};
}

Response Router::ErrorResponse(const Match& match, std::string_view target) {
  const std::string path = QuoteForReason(TargetPath(target));
  if (match.error == StatusCode::method_not_allowed) {
    Response response = MakeErrorResponse(
        StatusCode::method_not_allowed,
        "method not allowed on " + path + " (allowed: " + std::string(match.allow) + ")");
    response.set(beast_http::field::allow, match.allow);
    return response;
  }
  return MakeErrorResponse(StatusCode::not_found, "no such path: " + path);
}

}  // namespace rt::http
