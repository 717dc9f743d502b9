#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/types.h"

namespace rt::http {

// Maps (method, path) to a handler and the body limit of that route. Paths match
// exactly, without the query string. Built once before the server starts, then
// read concurrently by every session without locking.
// Thread-safety: Add is not thread-safe; Find is, once Add calls have finished.
class Router {
 public:
  struct Route {
    Verb method;
    Handler handler;
    std::size_t body_limit;
  };

  // The outcome of Find: a route, or the error status (404/405) and, for 405,
  // the value of the Allow header.
  struct Match {
    const Route* route = nullptr;
    StatusCode error = StatusCode::not_found;
    std::string_view allow;
  };

  // REQUIRES: no route with the same method and path yet.
  void Add(Verb method, std::string path, Handler handler, std::size_t body_limit = 0);

  // `target` is the request target; anything from '?' on is ignored. HEAD finds the
  // path's GET route unless a HEAD route was added (the session sends no body).
  Match Find(Verb method, std::string_view target) const;

  // The 404/405 response for a failed Match (one-line reason, Allow on 405).
  static Response ErrorResponse(const Match& match, std::string_view target);

 private:
  struct PathRoutes {
    std::string path;
    std::string allow;
    std::vector<Route> routes;
  };

  // A handful of paths per node: a linear scan beats hashing and allocates nothing.
  std::vector<PathRoutes> paths_;
};

// A Handler calling `method` on `object`, for registering a handler class's
// endpoints. `object` must outlive the router.
template <typename T>
Handler BindMethod(T* object, void (T::*method)(Request&, Responder)) {
  return [object, method](Request& request, Responder respond) {
    (object->*method)(request, std::move(respond));
  };
}

// The path part of a request target ("/worker?slice=1" → "/worker").
std::string_view TargetPath(std::string_view target);

// `text` cut to `max_len` bytes with non-printable bytes replaced, for quoting client
// input in one-line error reasons.
std::string QuoteForReason(std::string_view text, std::size_t max_len = 128);

}  // namespace rt::http
