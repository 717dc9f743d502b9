#include "server/http/router.h"

#include <catch2/catch.hpp>

namespace rt::http {
namespace {

Handler Named(std::string name, std::string* called) {
  return [name, called](Request&, Responder respond) {
    *called = name;
    respond(MakeTextResponse(StatusCode::ok, name));
  };
}

TEST_CASE("the router finds a route by method and path, ignoring the query", "[http][router]") {
  Router router;
  std::string called;
  router.Add(Verb::get, "/worker", Named("get", &called));
  router.Add(Verb::post, "/worker", Named("post", &called), 77);
  const Router::Match match = router.Find(Verb::post, "/worker?slice=3&user=x");
  REQUIRE(match.route != nullptr);
  CHECK(match.route->body_limit == 77);
  Request request;
  match.route->handler(request, [](Response&&) {});
  CHECK(called == "post");
}

TEST_CASE("an unknown path is a 404 naming the path", "[http][router]") {
  Router router;
  std::string called;
  router.Add(Verb::get, "/healthz", Named("h", &called));
  const Router::Match match = router.Find(Verb::get, "/nope?x=1");
  REQUIRE(match.route == nullptr);
  CHECK(match.error == StatusCode::not_found);
  const Response response = Router::ErrorResponse(match, "/nope?x=1");
  CHECK(response.result() == StatusCode::not_found);
  CHECK(response.body() == "no such path: /nope\n");
}

TEST_CASE("a known path with another method is a 405 with Allow", "[http][router]") {
  Router router;
  std::string called;
  router.Add(Verb::get, "/worker", Named("get", &called));
  router.Add(Verb::post, "/worker", Named("post", &called));
  const Router::Match match = router.Find(Verb::delete_, "/worker");
  REQUIRE(match.route == nullptr);
  CHECK(match.error == StatusCode::method_not_allowed);
  CHECK(match.allow == "GET, HEAD, POST");
  const Response response = Router::ErrorResponse(match, "/worker");
  CHECK(response.result() == StatusCode::method_not_allowed);
  CHECK(response[beast_http::field::allow] == "GET, HEAD, POST");
  CHECK(response.body().find("/worker") != std::string::npos);
}

TEST_CASE("HEAD finds the path's GET route, and is a 405 where there is none", "[http][router]") {
  Router router;
  std::string called;
  router.Add(Verb::get, "/healthz", Named("get", &called));
  router.Add(Verb::post, "/worker/batch", Named("post", &called));
  const Router::Match head = router.Find(Verb::head, "/healthz");
  REQUIRE(head.route != nullptr);
  Request request;
  head.route->handler(request, [](Response&&) {});
  CHECK(called == "get");
  const Router::Match none = router.Find(Verb::head, "/worker/batch");
  CHECK(none.route == nullptr);
  CHECK(none.error == StatusCode::method_not_allowed);
  CHECK(none.allow == "POST");
}

TEST_CASE("a path prefix does not match a longer registered path", "[http][router]") {
  Router router;
  std::string called;
  router.Add(Verb::get, "/worker/slices", Named("slices", &called));
  CHECK(router.Find(Verb::get, "/worker").route == nullptr);
  CHECK(router.Find(Verb::get, "/worker/slices/").route == nullptr);
  CHECK(router.Find(Verb::get, "/worker/slices").route != nullptr);
}

TEST_CASE("error reasons are one line and quote input safely", "[http][router]") {
  CHECK(MakeErrorResponse(StatusCode::bad_request, "bad\nthing").body() == "bad thing\n");
  CHECK(QuoteForReason(std::string("a\x01z")) == "a?z");
  CHECK(QuoteForReason(std::string(200, 'x')).size() == 131);
}

}  // namespace
}  // namespace rt::http
