#include "server/http/session.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <utility>
#include <vector>

namespace rt::http {

namespace net = boost::asio;
namespace beast = boost::beast;

void SessionRegistry::Add(Session* session) {
  std::lock_guard lock(mutex_);
  sessions_.insert(session);
}

void SessionRegistry::Remove(Session* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
  if (sessions_.empty()) empty_.notify_all();
}

void SessionRegistry::BeginStop() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<Session>> alive;
  {
    std::lock_guard lock(mutex_);
    // A session whose destructor waits for this lock yields an empty pointer.
    for (Session* session : sessions_) {
      if (auto s = session->weak_from_this().lock()) alive.push_back(std::move(s));
    }
  }
  // Outside the lock: dropping the last reference runs ~Session, which takes it.
  for (auto& session : alive) session->OnServerStop();
}

bool SessionRegistry::WaitEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

namespace {

// Bytes discarded after a final response before the socket is closed: closing with
// unread input makes the kernel send a reset, which can destroy the response before
// the client has read it.
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::chrono::seconds kLingerTimeout{2};

// "HTTP/1.1 202 Accepted\r\n", then "Name: value\r\n" per field and the empty line,
// as Beast's serializer writes them.
void AppendResponseHead(const Response& response, std::string& out) {
  out += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char code[16];
  const auto [end, ec] = std::to_chars(code, code + sizeof code, response.result_int());
  out.append(code, ec == std::errc() ? end : code);
  out += ' ';
  out += response.reason();
  out += "\r\n";
  for (const auto& field : response) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

Session::Session(net::ip::tcp::socket&& socket, const Router& router, const ServerOptions& options,
                 std::shared_ptr<SessionRegistry> registry)
    : stream_(std::move(socket)),
      router_(router),
      options_(options),
      registry_(std::move(registry)) {
  registry_->Add(this);
}

Session::~Session() { registry_->Remove(this); }

void Session::Run() {
  // Start on the strand: OnServerStop may already be queued there.
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoReadRequest(); });
}

void Session::OnServerStop() {
  net::post(stream_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    if (self->state_ == State::kIdle) self->Close();
  });
}

void Session::DoReadRequest() {
  if (registry_->stopping()) return Close();
  state_ = State::kIdle;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
  // The route decides the body limit once the header is known; until then none, so
  // that a large Content-Length is judged against the route's limit, not Beast's default.
  parser_->body_limit(boost::none);
  if (buffer_.size() > 0) return DoReadHeader();  // pipelined request already buffered
  stream_.expires_after(options_.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
}

void Session::OnFirstBytes(beast::error_code ec, std::size_t bytes) {
  if (ec) return Close();
  buffer_.commit(bytes);
  DoReadHeader();
}

void Session::DoReadHeader() {
  state_ = State::kReading;
  stream_.expires_after(options_.header_timeout);
  beast_http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
}

void Session::OnReadHeader(beast::error_code ec, std::size_t) {
  if (ec) return OnReadError(ec);
  Request& request = parser_->get();
  keep_alive_ = request.keep_alive();
  const Router::Match match = router_.Find(request.method(), request.target());
  if (match.route == nullptr) {
    Response response = Router::ErrorResponse(match, request.target());
    // The unread body of a refused request would be parsed as the next request.
    if (!parser_->is_done()) return SendFinal(std::move(response));
    return DoWrite(std::move(response));
  }
  const std::size_t limit = match.route->body_limit;
  const auto length = parser_->content_length();
  if (length && *length > limit) {
    return SendFinal(
        MakeErrorResponse(StatusCode::payload_too_large, "body of " + std::to_string(*length) +
                                                             " bytes exceeds the limit of " +
                                                             std::to_string(limit) + " bytes"));
  }
  if (parser_->is_done()) return CallHandler(*match.route);
  parser_->body_limit(limit);
  stream_.expires_after(options_.io_timeout);
  if (beast::iequals(request[beast_http::field::expect], "100-continue")) {
    // curl waits up to a second for this before sending a large body.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(
        stream_, net::buffer(kContinue.data(), kContinue.size()),
        [self = shared_from_this(), route = match.route](beast::error_code e, std::size_t) {
          if (e) return self->Close();
          self->DoReadBody(*route);
        });
  }
  DoReadBody(*match.route);
}

void Session::DoReadBody(const Router::Route& route) {
  beast_http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this(), route = &route](beast::error_code e, std::size_t) {
        if (e) return self->OnReadError(e);
        self->CallHandler(*route);
      });
}

void Session::CallHandler(const Router::Route& route) {
  state_ = State::kHandling;
  stream_.expires_never();
  Responder respond = [self = shared_from_this()](Response&& response) {
    net::dispatch(self->stream_.get_executor(),
                  [self, r = std::move(response)]() mutable { self->DoWrite(std::move(r)); });
  };
  route.handler(parser_->get(), std::move(respond));
}

void Session::OnReadError(beast::error_code ec) {
  if (ec == beast_http::error::header_limit) {
    return SendFinal(MakeErrorResponse(
        StatusCode::request_header_fields_too_large,
        "request header exceeds " + std::to_string(options_.header_limit) + " bytes"));
  }
  if (ec == beast_http::error::body_limit) {
    return SendFinal(MakeErrorResponse(StatusCode::payload_too_large,
                                       "request body exceeds the limit of this path"));
  }
  if (ec.category() == beast_http::make_error_code(beast_http::error::end_of_stream).category() &&
      ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
    return SendFinal(
        MakeErrorResponse(StatusCode::bad_request, "malformed HTTP request: " + ec.message()));
  }
  Close();
}

void Session::SendFinal(Response&& response) {
  keep_alive_ = false;
  DoWrite(std::move(response));
}

void Session::DoWrite(Response&& response) {
  if (state_ == State::kClosed) return;
  state_ = State::kWriting;
  response_ = std::move(response);
  const bool keep = keep_alive_ && !registry_->stopping();
  keep_alive_ = keep;
  if (parser_ && parser_->is_header_done()) response_.version(parser_->get().version());
  response_.keep_alive(keep);
  response_.prepare_payload();
  // The head is formatted into a buffer this session reuses and written with the
  // body in one gather write. Every response here has a complete string body with
  // a Content-Length, and Beast's generic serializer cost a quarter of the CPU of
  // a small request (bench/run, rt HttpServer with trivial handlers: 120 k → 156 k
  // requests per CPU second).
  head_.clear();
  AppendResponseHead(response_, head_);
  const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(response_.body())};
  stream_.expires_after(options_.io_timeout);
  net::async_write(stream_, buffers,
                   beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
}

void Session::OnWrite(beast::error_code ec, std::size_t) {
  if (ec) return Close();
  if (keep_alive_) return DoReadRequest();
  // Lingering close: stop sending, drain what the client still sends, then close.
  state_ = State::kClosed;
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTimeout);
  buffer_.clear();
  struct Drainer {
    std::shared_ptr<Session> self;
    std::size_t drained;
    void operator()(beast::error_code e, std::size_t n) {
      drained += n;
      if (e || drained > kLingerBytes) return self->Close();
      self->buffer_.clear();
      self->stream_.async_read_some(self->buffer_.prepare(16384), std::move(*this));
    }
  };
  stream_.async_read_some(buffer_.prepare(16384), Drainer{shared_from_this(), 0});
}

void Session::Close() {
  state_ = State::kClosed;
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
}

}  // namespace rt::http
